/** The tRPC API. Procedures are thin: validate input, call a service, return its view. */
import { z } from 'zod';
import { COLLAB_TOKEN_TTL_SECONDS, signCollabToken } from '@clipmaker/shared/collab';
import { authedProcedure, router } from './init.ts';
import { createProject, listProjects, openProject, CreateProjectInput, watchProjectAccess } from '../services/projects.ts';
import { requireProjectRole } from '../services/accounts/index.ts';
import { deleteProjectForever, duplicateProject, DuplicateProjectInput, listProjectCards, ProjectIdInput, renameProject, RenameProjectInput, restoreProject, trashProject } from '../services/project-library.ts';
import { versionsRouter } from './routers/versions.ts';
import { rendersRouter } from './routers/renders.ts';
import { transcriptsRouter } from './routers/transcripts.ts';
import { instanceRouter, teamRouter } from './routers/team.ts';
import { accountRouter } from './routers/account.ts';
import { makeEditProxy, watchEditProxy } from '../services/edit-proxies.ts';

const ProjectId = z.object({ projectId: z.string().uuid() });

export const appRouter = router({
  projects: router({
    list: authedProcedure.query(({ ctx }) => listProjects(ctx.app, ctx.user.id)),
    create: authedProcedure.input(CreateProjectInput).mutation(({ ctx, input }) => createProject(ctx.app, ctx.user.id, input)),
    open: authedProcedure.input(ProjectId).query(({ ctx, input }) => openProject(ctx.app, ctx.user.id, input.projectId)),
    /**
     * Live over SSE: the caller's role in the project now, then on every change, ending with
     * { role: null } when they lose access (the review page closes itself).
     */
    onAccess: authedProcedure.input(ProjectId).subscription(({ ctx, input, signal }) => watchProjectAccess(ctx.app, ctx.user.id, input.projectId, signal)),
    /** The projects page: every project (trashed ones flagged) with its thumbnail. */
    cards: authedProcedure.query(({ ctx }) => listProjectCards(ctx.app, ctx.user.id)),
    rename: authedProcedure.input(RenameProjectInput).mutation(({ ctx, input }) => renameProject(ctx.app, ctx.user, input)),
    duplicate: authedProcedure.input(DuplicateProjectInput).mutation(({ ctx, input }) => duplicateProject(ctx.app, ctx.user, input)),
    trash: authedProcedure.input(ProjectIdInput).mutation(({ ctx, input }) => trashProject(ctx.app, ctx.user, input.projectId)),
    restore: authedProcedure.input(ProjectIdInput).mutation(({ ctx, input }) => restoreProject(ctx.app, ctx.user, input.projectId)),
    /** Owners, trashed projects only: frees the files and removes the project for good. */
    deleteForever: authedProcedure.input(ProjectIdInput).mutation(({ ctx, input }) => deleteProjectForever(ctx.app, ctx.user, input.projectId)),
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
  assets: router({
    /** Live over SSE: an asset's edit proxy (status, percent) now, then on every change until ready or failed. */
    onProxyUpdate: authedProcedure.input(z.object({ assetId: z.string().uuid() })).subscription(({ ctx, input, signal }) => watchEditProxy(ctx.app, ctx.user.id, input.assetId, signal)),
    /** Editors: make the edit proxy of a video that has none (older uploads) or retry a failed one; a no-op while one is on the way. */
    makeProxy: authedProcedure.input(z.object({ assetId: z.string().uuid() })).mutation(({ ctx, input }) => makeEditProxy(ctx.app, ctx.user.id, input.assetId)),
  }),
  versions: versionsRouter,
  admin: (await import('./routers/admin.ts')).adminRouter, review: (await import('./routers/review.ts')).reviewRouter, notifications: (await import('./routers/notifications.ts')).notificationsRouter,
  renders: rendersRouter,
  transcripts: transcriptsRouter,
  team: teamRouter,
  account: accountRouter,
  instance: instanceRouter,
});

export type AppRouter = typeof appRouter;
