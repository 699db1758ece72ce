/** Named versions: thin procedures over services/versions.ts. */
import { z } from 'zod';
import { authedProcedure, router } from '../init.ts';
import { CreateVersionInput, createVersion, getVersion, listVersions } from '../../services/versions.ts';

export const versionsRouter = router({
  create: authedProcedure.input(CreateVersionInput).mutation(({ ctx, input }) => createVersion(ctx.app, ctx.user.id, input)),
  list: authedProcedure.input(z.object({ projectId: z.string().uuid() })).query(({ ctx, input }) => listVersions(ctx.app, ctx.user.id, input.projectId)),
  get: authedProcedure
    .input(z.object({ projectId: z.string().uuid(), versionId: z.string().uuid() }))
    .query(({ ctx, input }) => getVersion(ctx.app, ctx.user.id, input.projectId, input.versionId)),
});
