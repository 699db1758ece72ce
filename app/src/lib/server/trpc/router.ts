/** The tRPC API. Procedures are thin: validate input, call a service, return its view. */
import { z } from 'zod';
import { COLLAB_TOKEN_TTL_SECONDS, signCollabToken } from '@clipmaker/shared/collab';
import { authedProcedure, router } from './init.ts';
import { createProject, listProjects, openProject, CreateProjectInput } from '../services/projects.ts';
import { createRender, getRender, listRenders } from '../services/renders.ts';
import { requireProjectRole } from '../services/accounts/index.ts';
import type { RenderUpdate } from '../render-events.ts';
import { versionsRouter } from './routers/versions.ts';

const ProjectId = z.object({ projectId: z.string().uuid() });

export const appRouter = router({
  projects: router({
    list: authedProcedure.query(({ ctx }) => listProjects(ctx.app, ctx.user.id)),
    create: authedProcedure.input(CreateProjectInput).mutation(({ ctx, input }) => createProject(ctx.app, ctx.user.id, input)),
    open: authedProcedure.input(ProjectId).query(({ ctx, input }) => openProject(ctx.app, ctx.user.id, input.projectId)),
  }),
  collab: router({
    /** A short-lived token for the collab-server, carrying the caller's role in this project. */
    token: authedProcedure.input(ProjectId).query(async ({ ctx, input }) => {
      const { role } = await requireProjectRole(ctx.app.db.db, ctx.user.id, input.projectId, ['owner', 'editor', 'reviewer', 'viewer']);
      const token = await signCollabToken(
        { sub: ctx.user.id, name: ctx.user.name, projectId: input.projectId, role, exp: Math.floor(Date.now() / 1000) + COLLAB_TOKEN_TTL_SECONDS },
        ctx.app.config.COLLAB_SECRET,
      );
      return { token, url: ctx.app.config.COLLAB_PUBLIC_URL, role };
    }),
  }),
  versions: versionsRouter,
  admin: (await import('./routers/admin.ts')).adminRouter, review: (await import('./routers/review.ts')).reviewRouter, notifications: (await import('./routers/notifications.ts')).notificationsRouter,
  renders: router({
    create: authedProcedure
      .input(ProjectId.extend({ stateVector: z.string().max(1_000_000).nullable(), priority: z.enum(['high', 'normal', 'low']).default('normal') }))
      .mutation(({ ctx, input }) => createRender(ctx.app, ctx.user.id, input)),
    list: authedProcedure.input(ProjectId).query(({ ctx, input }) => listRenders(ctx.app, ctx.user.id, input.projectId)),
    get: authedProcedure.input(z.object({ renderId: z.string().uuid() })).query(({ ctx, input }) => getRender(ctx.app, ctx.user.id, input.renderId)),
    /** Live progress over SSE: the current state first, then every update until it finishes. */
    onUpdate: authedProcedure.input(z.object({ renderId: z.string().uuid() })).subscription(async function* ({ ctx, input, signal }) {
      const updates = ctx.app.renderEvents.subscribe(input.renderId, signal);
      const current = await getRender(ctx.app, ctx.user.id, input.renderId);
      const first: RenderUpdate = { renderId: current.id, status: current.status, stage: current.stage, percent: current.percent, fps: current.fps, etaSeconds: current.etaSeconds, error: current.error };
      yield first;
      if (['succeeded', 'failed', 'cancelled'].includes(current.status)) {
        await updates.return(undefined);
        return;
      }
      for await (const update of updates) {
        yield update;
        if (['succeeded', 'failed', 'cancelled'].includes(update.status)) return;
      }
    }),
  }),
});

export type AppRouter = typeof appRouter;
