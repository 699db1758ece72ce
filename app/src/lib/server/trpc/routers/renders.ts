/** Renders: thin procedures over services/renders.ts. */
import { z } from 'zod';
import { EXPORT_PRESET_IDS } from '@clipmaker/shared/render-spec';
import { authedProcedure, router } from '../init.ts';
import { cancelRender, createRender, deleteRender, getRender, listMyRenders, listRenders } from '../../services/renders.ts';
import type { RenderUpdate } from '../../render-events.ts';

const RenderId = z.object({ renderId: z.string().uuid() });
const FINISHED = ['succeeded', 'failed', 'cancelled'];

export const rendersRouter = router({
  create: authedProcedure
    .input(z.object({ projectId: z.string().uuid(), stateVector: z.string().max(1_000_000).nullable(), priority: z.enum(['high', 'normal', 'low']).default('normal'), preset: z.enum(EXPORT_PRESET_IDS).optional() }))
    .mutation(({ ctx, input }) => createRender(ctx.app, ctx.user.id, input)),
  list: authedProcedure.input(z.object({ projectId: z.string().uuid() })).query(({ ctx, input }) => listRenders(ctx.app, ctx.user.id, input.projectId)),
  /** Any signed-in user: their own renders (running, or finished in the last day) across projects, for the tray on every page. */
  mine: authedProcedure.query(({ ctx }) => listMyRenders(ctx.app, ctx.user.id)),
  get: authedProcedure.input(RenderId).query(({ ctx, input }) => getRender(ctx.app, ctx.user.id, input.renderId)),
  /** Owners and editors: marks it cancelled, refunds, aborts the running ffmpeg. */
  cancel: authedProcedure.input(RenderId).mutation(({ ctx, input }) => cancelRender(ctx.app, ctx.user.id, input.renderId)),
  /** Owners and editors: removes the render and its output files. */
  delete: authedProcedure.input(RenderId).mutation(({ ctx, input }) => deleteRender(ctx.app, ctx.user.id, input.renderId)),
  /**
   * Live progress over SSE: the current state first, then every update until it finishes. The access
   * check runs before the stream is returned, so an outsider is refused (NOT_FOUND) like a query.
   */
  onUpdate: authedProcedure.input(RenderId).subscription(async ({ ctx, input, signal }) => {
    // Listen first, then read the current state: nothing published in between is missed.
    const updates = ctx.app.renderEvents.subscribe(input.renderId, signal);
    let current: Awaited<ReturnType<typeof getRender>>;
    try {
      current = await getRender(ctx.app, ctx.user.id, input.renderId);
    } catch (err) {
      await updates.return(undefined);
      throw err;
    }
    return (async function* () {
      const first: RenderUpdate = { renderId: current.id, status: current.status, stage: current.stage, percent: current.percent, fps: current.fps, etaSeconds: current.etaSeconds, error: current.error };
      yield first;
      if (FINISHED.includes(current.status)) {
        await updates.return(undefined);
        return;
      }
      for await (const update of updates) {
        yield update;
        if (FINISHED.includes(update.status)) return;
      }
    })();
  }),
});
