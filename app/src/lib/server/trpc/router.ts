/** The tRPC API. Procedures are thin: validate input, call a service, return its view. */
import { z } from 'zod';
import { COLLAB_TOKEN_TTL_SECONDS, signCollabToken } from '@clipmaker/shared/collab';
import { authedProcedure, router } from './init.ts';
import { createProject, listProjects, openProject, CreateProjectInput } from '../services/projects.ts';
import { requireProjectRole } from '../services/accounts/index.ts';
import { versionsRouter } from './routers/versions.ts';
import { rendersRouter } from './routers/renders.ts';

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
  renders: rendersRouter,
});

export type AppRouter = typeof appRouter;
