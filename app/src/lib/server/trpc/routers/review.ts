/** Review for project members: share links, comments, approvals, the version stack, the audit log. */
import { z } from 'zod';
import { authedProcedure, router } from '../init.ts';
import {
  APPROVAL_STATES,
  AddCommentInput,
  CreateShareLinkInput,
  addComment,
  commentTarget,
  createShareLink,
  decide,
  listComments,
  listShareLinks,
  listVersionStack,
  openCommentsForProject,
  projectShareLinks,
  projectAudit,
  revokeShareLink,
  setResolved,
  setSelfApproval,
  type Reviewer,
} from '../../services/review.ts';

const RenderId = z.object({ renderId: z.string().uuid() });
const ProjectId = z.object({ projectId: z.string().uuid() });
const me = (u: { id: string; name: string }): Reviewer => ({ kind: 'user', userId: u.id, name: u.name });

export const reviewRouter = router({
  createShareLink: authedProcedure.input(CreateShareLinkInput).mutation(({ ctx, input }) => createShareLink(ctx.app, ctx.user, input)),
  listShareLinks: authedProcedure.input(RenderId).query(({ ctx, input }) => listShareLinks(ctx.app, ctx.user.id, input.renderId)),
  /** Every link of the project and the versions to share (the Share dialog). */
  projectShareLinks: authedProcedure.input(ProjectId).query(({ ctx, input }) => projectShareLinks(ctx.app, ctx.user.id, input.projectId)),
  revokeShareLink: authedProcedure.input(z.object({ linkId: z.string().uuid() })).mutation(({ ctx, input }) => revokeShareLink(ctx.app, ctx.user, input.linkId)),
  comments: authedProcedure.input(RenderId).query(({ ctx, input }) => listComments(ctx.app, me(ctx.user), input.renderId)),
  /** Throttled per author (throttle.ts 'comment'), like the guests' form on the review page. */
  addComment: authedProcedure.input(AddCommentInput).mutation(async ({ ctx, input }) => {
    await ctx.app.throttles.hit('comment', 'user', ctx.user.id);
    return addComment(ctx.app, me(ctx.user), input);
  }),
  setResolved: authedProcedure
    .input(z.object({ commentId: z.string().uuid(), resolved: z.boolean() }))
    .mutation(({ ctx, input }) => setResolved(ctx.app, me(ctx.user), input.commentId, input.resolved)),
  /** The project's approve-own-work rule (owners). */
  setSelfApproval: authedProcedure
    .input(ProjectId.extend({ allow: z.boolean() }))
    .mutation(({ ctx, input }) => setSelfApproval(ctx.app, ctx.user, input.projectId, input.allow)),
  decide: authedProcedure.input(RenderId.extend({ state: z.enum(APPROVAL_STATES) })).mutation(({ ctx, input }) => decide(ctx.app, me(ctx.user), input.renderId, input.state)),
  versions: authedProcedure.input(ProjectId).query(({ ctx, input }) => listVersionStack(ctx.app, ctx.user.id, input.projectId)),
  openComments: authedProcedure.input(ProjectId).query(({ ctx, input }) => openCommentsForProject(ctx.app, ctx.user.id, input.projectId)),
  commentTarget: authedProcedure.input(z.object({ commentId: z.string().uuid() })).query(({ ctx, input }) => commentTarget(ctx.app, ctx.user.id, input.commentId)),
  audit: authedProcedure.input(ProjectId).query(({ ctx, input }) => projectAudit(ctx.app, ctx.user.id, input.projectId)),
});
