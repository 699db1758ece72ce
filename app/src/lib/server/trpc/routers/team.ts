/**
 * Teams: org settings (members, invites, roles, overrides, audit) and instance administration.
 * Who may call what comes from the role table (services/accounts/roles.ts); the services check it.
 */
import { z } from 'zod';
import { authedProcedure, router } from '../init.ts';
import { CreateInviteInput } from '../../services/accounts/invites.ts';
import { listMyOrgs } from '../../services/accounts/orgs.ts';
import {
  changeMemberRole,
  inviteMember,
  leaveOrg,
  orgAudit,
  orgSettings,
  removeMember,
  revokeInvite,
  setProjectOverride,
  transferOwnership,
} from '../../services/accounts/members.ts';
import { INSTANCE_FLAGS, listInstanceUsers, requireInstanceAdmin, setInstanceFlag } from '../../services/accounts/instance-admin.ts';
import { deliverInvite } from '../../services/mail.ts';

const OrgId = z.object({ orgId: z.string().uuid() });
const OrgMember = z.object({ orgId: z.string().uuid(), userId: z.string().uuid() });

export const teamRouter = router({
  mine: authedProcedure.query(({ ctx }) => listMyOrgs(ctx.app.db.db, ctx.user.id)),
  settings: authedProcedure.input(OrgId).query(({ ctx, input }) => orgSettings(ctx.app, ctx.user.id, input.orgId)),
  audit: authedProcedure.input(OrgId).query(({ ctx, input }) => orgAudit(ctx.app, ctx.user.id, input.orgId)),
  /** Returns the link to copy; for an email invite it is also mailed when SMTP_URL is set. */
  invite: authedProcedure.input(CreateInviteInput).mutation(async ({ ctx, input }) => {
    const created = await inviteMember(ctx.app, ctx.user.id, input);
    const delivery = await deliverInvite(ctx.app, { token: created.token, invite: created.invite, inviterName: ctx.user.name, orgName: created.orgName, projectName: created.projectName });
    return { id: created.invite.id, url: delivery.url, mailed: delivery.mailed, expiresAt: created.invite.expiresAt.toISOString() };
  }),
  revokeInvite: authedProcedure.input(z.object({ inviteId: z.string().uuid() })).mutation(({ ctx, input }) => revokeInvite(ctx.app, ctx.user.id, input.inviteId)),
  changeRole: authedProcedure.input(OrgMember.extend({ role: z.string() })).mutation(({ ctx, input }) => changeMemberRole(ctx.app, ctx.user.id, input as never)),
  remove: authedProcedure.input(OrgMember).mutation(({ ctx, input }) => removeMember(ctx.app, ctx.user.id, input)),
  leave: authedProcedure.input(OrgId).mutation(({ ctx, input }) => leaveOrg(ctx.app, ctx.user.id, input.orgId)),
  transfer: authedProcedure.input(OrgMember).mutation(({ ctx, input }) => transferOwnership(ctx.app, ctx.user.id, input)),
  setOverride: authedProcedure
    .input(z.object({ projectId: z.string().uuid(), email: z.string().max(254), role: z.string().nullable() }))
    .mutation(({ ctx, input }) => setProjectOverride(ctx.app, ctx.user.id, input as never)),
});

/** Instance admins only; everyone else gets NOT_FOUND (the page does not exist for them). */
const instanceAdminProcedure = authedProcedure.use(async ({ ctx, next }) => {
  const admin = await requireInstanceAdmin(ctx.app.db.db, ctx.user.id);
  return next({ ctx: { ...ctx, admin } });
});

export const instanceRouter = router({
  users: instanceAdminProcedure.input(z.object({ search: z.string().max(100).optional() }).default({})).query(({ ctx, input }) => listInstanceUsers(ctx.app.db.db, input)),
  setFlag: instanceAdminProcedure
    .input(z.object({ userId: z.string().uuid(), flag: z.enum(INSTANCE_FLAGS), value: z.boolean() }))
    .mutation(({ ctx, input }) => setInstanceFlag(ctx.app.db.db, ctx.admin, input, ctx.app)),
});
