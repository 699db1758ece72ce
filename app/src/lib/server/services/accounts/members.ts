/**
 * Team management: the members of an org with their roles, invites (by link and by email), role
 * changes, removal, leaving, ownership transfer (an org always keeps exactly one owner), project
 * overrides, and the org's audit log. Every change is audited (with names, as they were at the time)
 * and, once committed, published as an AccessChange so open editors and review pages re-check access.
 */
import { and, desc, eq, gt, inArray, isNull } from 'drizzle-orm';
import { z } from 'zod';
import { schema } from '@clipmaker/db';
import { publishAccessChange } from '../../access-events.ts';
import type { AppContext } from '../../context.ts';
import { findUserById, inTransaction, type Queryable } from '../../repositories/accounts.ts';
import { audit } from '../audit.ts';
import { ServiceError } from '../errors.ts';
import { renderMinuteBalance } from '../render-minutes.ts';
import { CreateInviteInput, createInvite } from './invites.ts';
import { requireOrgRole } from './orgs.ts';
import { MANAGE_ROLES, VIEW_ROLES, type Role } from './roles.ts';
import { emailSchema, parseInput, roleSchema } from './validation.ts';

const { users, memberships, invites, projects, projectMembers, orgs, auditLog } = schema;

type Actor = { id: string; name: string };

async function actorOf(db: Queryable, userId: string): Promise<Actor> {
  const u = await findUserById(db, userId);
  if (!u) throw new ServiceError('unauthorized');
  return { id: u.id, name: u.name };
}

async function userLabel(db: Queryable, userId: string) {
  const u = await findUserById(db, userId);
  return u ? { name: u.name, email: u.email } : { name: 'deleted user', email: '' };
}

async function auditOrg(db: Queryable, orgId: string, actor: Actor, action: string, targetId: string, details: Record<string, unknown>, projectId: string | null = null) {
  await audit(db as never, { orgId, projectId, actorUserId: actor.id, actorName: actor.name, action, targetType: 'user', targetId, details });
}

const Uuid = z.string().uuid();

// ------------------------------------------------------------------ reading

export interface OrgSettings {
  org: { id: string; name: string; renderMinutesLeft: number };
  myRole: Role;
  members: Array<{ userId: string; name: string; email: string; role: Role; joinedAt: string; isMe: boolean }>;
  /** Managers only (empty otherwise). */
  invites: Array<{ id: string; email: string | null; role: Role; projectId: string | null; projectName: string | null; maxUses: number | null; uses: number; expiresAt: string; createdAt: string; invitedByName: string | null }>;
  overrides: Array<{ projectId: string; projectName: string; userId: string; name: string; email: string; role: Role }>;
  projects: Array<{ id: string; name: string }>;
}

/** Every member may see who is in the team; invites and overrides are for managers. */
export async function orgSettings(ctx: AppContext, userId: string, orgId: string): Promise<OrgSettings> {
  const db = ctx.db.db;
  const me = await requireOrgRole(db, userId, parseInput(Uuid, orgId), VIEW_ROLES);
  const [org] = await db.select().from(orgs).where(eq(orgs.id, orgId));
  const rows = await db
    .select({ userId: memberships.userId, name: users.name, email: users.email, role: memberships.role, joinedAt: memberships.createdAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.orgId, orgId))
    .orderBy(memberships.createdAt);
  const order: Record<Role, number> = { owner: 0, editor: 1, reviewer: 2, viewer: 3 };
  const members = rows
    .map((r) => ({ ...r, joinedAt: r.joinedAt.toISOString(), isMe: r.userId === userId }))
    .sort((a, b) => order[a.role] - order[b.role] || a.name.localeCompare(b.name));
  const orgProjects = await db.select({ id: projects.id, name: projects.name }).from(projects).where(eq(projects.orgId, orgId)).orderBy(projects.name);
  let inviteRows: OrgSettings['invites'] = [];
  let overrides: OrgSettings['overrides'] = [];
  if (MANAGE_ROLES.includes(me.role)) {
    const now = new Date();
    const open = await db
      .select({ invite: invites, projectName: projects.name, invitedByName: users.name })
      .from(invites)
      .leftJoin(projects, eq(projects.id, invites.projectId))
      .leftJoin(users, eq(users.id, invites.invitedBy))
      .where(and(eq(invites.orgId, orgId), isNull(invites.revokedAt), gt(invites.expiresAt, now)))
      .orderBy(desc(invites.createdAt));
    inviteRows = open
      .filter(({ invite: i }) => i.maxUses == null || i.uses < i.maxUses)
      .map(({ invite: i, projectName, invitedByName }) => ({ id: i.id, email: i.email, role: i.role, projectId: i.projectId, projectName, maxUses: i.maxUses, uses: i.uses, expiresAt: i.expiresAt.toISOString(), createdAt: i.createdAt.toISOString(), invitedByName }));
    const ids = orgProjects.map((p) => p.id);
    if (ids.length) {
      overrides = await db
        .select({ projectId: projectMembers.projectId, projectName: projects.name, userId: projectMembers.userId, name: users.name, email: users.email, role: projectMembers.role })
        .from(projectMembers)
        .innerJoin(projects, eq(projects.id, projectMembers.projectId))
        .innerJoin(users, eq(users.id, projectMembers.userId))
        .where(inArray(projectMembers.projectId, ids))
        .orderBy(projects.name, users.name);
    }
  }
  return { org: { id: org!.id, name: org!.name, renderMinutesLeft: await renderMinuteBalance(db, orgId) }, myRole: me.role, members, invites: inviteRows, overrides, projects: orgProjects };
}

/** The org's audit log, newest first, with names (managers only). */
export async function orgAudit(ctx: AppContext, userId: string, orgId: string, limit = 200) {
  const db = ctx.db.db;
  await requireOrgRole(db, userId, parseInput(Uuid, orgId), MANAGE_ROLES);
  const rows = await db.select().from(auditLog).where(eq(auditLog.orgId, orgId)).orderBy(desc(auditLog.id)).limit(limit);
  return rows.map((r) => ({ id: r.id, actorName: r.actorName, action: r.action, targetType: r.targetType, details: (r.details ?? {}) as Record<string, unknown>, at: r.at.toISOString() }));
}

// ------------------------------------------------------------------ invites

export async function inviteMember(ctx: AppContext, userId: string, raw: Omit<z.input<typeof CreateInviteInput>, 'role'> & { role: Role }) {
  const db = ctx.db.db;
  const actor = await actorOf(db, userId);
  const created = await createInvite(db, { ...raw, invitedBy: userId });
  const i = created.invite;
  const [org] = await db.select({ name: orgs.name }).from(orgs).where(eq(orgs.id, i.orgId));
  const projectName = i.projectId ? ((await db.select({ name: projects.name }).from(projects).where(eq(projects.id, i.projectId)))[0]?.name ?? null) : null;
  await auditOrg(db, i.orgId, actor, i.email ? 'invite.email' : 'invite.link', i.id, { email: i.email, role: i.role, projectId: i.projectId, projectName, maxUses: i.maxUses, expiresAt: i.expiresAt.toISOString() }, i.projectId);
  return { ...created, orgName: org?.name ?? '', projectName };
}

export async function revokeInvite(ctx: AppContext, userId: string, inviteId: string) {
  const db = ctx.db.db;
  const [invite] = await db.select().from(invites).where(eq(invites.id, parseInput(Uuid, inviteId)));
  if (!invite) throw new ServiceError('not-found');
  await requireOrgRole(db, userId, invite.orgId, MANAGE_ROLES);
  const actor = await actorOf(db, userId);
  await db.update(invites).set({ revokedAt: new Date() }).where(and(eq(invites.id, invite.id), isNull(invites.revokedAt)));
  await auditOrg(db, invite.orgId, actor, 'invite.revoke', invite.id, { email: invite.email, role: invite.role });
  return { ok: true as const };
}

// ------------------------------------------------------------------ members

const ChangeRoleInput = z.object({ orgId: Uuid, userId: Uuid, role: z.enum(['editor', 'reviewer', 'viewer'], { message: 'Ownership moves by transfer; pick editor, reviewer or viewer.' }) });

export async function changeMemberRole(ctx: AppContext, actorId: string, raw: z.input<typeof ChangeRoleInput>) {
  const input = parseInput(ChangeRoleInput, raw);
  const db = ctx.db.db;
  await requireOrgRole(db, actorId, input.orgId, MANAGE_ROLES);
  const actor = await actorOf(db, actorId);
  const [m] = await db.select().from(memberships).where(and(eq(memberships.orgId, input.orgId), eq(memberships.userId, input.userId)));
  if (!m) throw new ServiceError('not-found');
  if (m.role === 'owner') throw new ServiceError('conflict', 'The owner keeps the owner role; transfer ownership to change it.');
  if (m.role === input.role) return { role: m.role };
  await inTransaction(db, async (tx) => {
    await tx.update(memberships).set({ role: input.role }).where(and(eq(memberships.orgId, input.orgId), eq(memberships.userId, input.userId)));
    await auditOrg(tx, input.orgId, actor, 'member.role', input.userId, { ...(await userLabel(tx, input.userId)), from: m.role, to: input.role });
  });
  await publishAccessChange(ctx, { kind: 'org-member', orgId: input.orgId, userId: input.userId, newRole: input.role });
  return { role: input.role };
}

/** Deletes the membership and the user's overrides on the org's projects, then tells open sockets. */
async function dropMember(ctx: AppContext, orgId: string, userId: string, actor: Actor, action: 'member.remove' | 'member.leave') {
  const db = ctx.db.db;
  const dropped = await inTransaction(db, async (tx) => {
    const label = await userLabel(tx, userId);
    const gone = await tx.delete(memberships).where(and(eq(memberships.orgId, orgId), eq(memberships.userId, userId))).returning();
    if (gone.length === 0) throw new ServiceError('not-found');
    const orgProjectIds = (await tx.select({ id: projects.id }).from(projects).where(eq(projects.orgId, orgId))).map((p) => p.id);
    const overrides = orgProjectIds.length
      ? await tx.delete(projectMembers).where(and(eq(projectMembers.userId, userId), inArray(projectMembers.projectId, orgProjectIds))).returning()
      : [];
    await auditOrg(tx, orgId, actor, action, userId, { ...label, role: gone[0]!.role });
    return overrides.map((o) => o.projectId);
  });
  await publishAccessChange(ctx, { kind: 'org-member', orgId, userId, newRole: null });
  for (const projectId of dropped) await publishAccessChange(ctx, { kind: 'project-member', projectId, userId, newRole: null });
}

export async function removeMember(ctx: AppContext, actorId: string, raw: { orgId: string; userId: string }) {
  const input = parseInput(z.object({ orgId: Uuid, userId: Uuid }), raw);
  const db = ctx.db.db;
  await requireOrgRole(db, actorId, input.orgId, MANAGE_ROLES);
  const [m] = await db.select().from(memberships).where(and(eq(memberships.orgId, input.orgId), eq(memberships.userId, input.userId)));
  if (!m) throw new ServiceError('not-found');
  if (m.role === 'owner') throw new ServiceError('conflict', 'The owner cannot be removed; transfer ownership first.');
  await dropMember(ctx, input.orgId, input.userId, await actorOf(db, actorId), 'member.remove');
  return { ok: true as const };
}

export async function leaveOrg(ctx: AppContext, userId: string, orgId: string) {
  const db = ctx.db.db;
  const me = await requireOrgRole(db, userId, parseInput(Uuid, orgId), VIEW_ROLES);
  if (me.role === 'owner') throw new ServiceError('conflict', 'You own this team: transfer ownership to someone else before you leave.');
  await dropMember(ctx, orgId, userId, await actorOf(db, userId), 'member.leave');
  return { ok: true as const };
}

/** The owner hands the org to another member; the old owner becomes an editor. Exactly one owner, always. */
export async function transferOwnership(ctx: AppContext, actorId: string, raw: { orgId: string; userId: string }) {
  const input = parseInput(z.object({ orgId: Uuid, userId: Uuid }), raw);
  const db = ctx.db.db;
  await requireOrgRole(db, actorId, input.orgId, ['owner']);
  if (input.userId === actorId) throw new ServiceError('conflict', 'You already own this team.');
  const actor = await actorOf(db, actorId);
  await inTransaction(db, async (tx) => {
    // Lock both rows: two concurrent transfers cannot leave two owners (or none).
    const rows = await tx.select().from(memberships).where(and(eq(memberships.orgId, input.orgId), inArray(memberships.userId, [actorId, input.userId]))).for('update');
    const mine = rows.find((r) => r.userId === actorId);
    const theirs = rows.find((r) => r.userId === input.userId);
    if (mine?.role !== 'owner') throw new ServiceError('forbidden');
    if (!theirs) throw new ServiceError('not-found', 'That person is not a member of this team.');
    await tx.update(memberships).set({ role: 'editor' }).where(and(eq(memberships.orgId, input.orgId), eq(memberships.userId, actorId)));
    await tx.update(memberships).set({ role: 'owner' }).where(and(eq(memberships.orgId, input.orgId), eq(memberships.userId, input.userId)));
    await auditOrg(tx, input.orgId, actor, 'org.transfer', input.userId, { ...(await userLabel(tx, input.userId)), from: theirs.role });
  });
  await publishAccessChange(ctx, { kind: 'org-member', orgId: input.orgId, userId: input.userId, newRole: 'owner' });
  await publishAccessChange(ctx, { kind: 'org-member', orgId: input.orgId, userId: actorId, newRole: 'editor' });
  return { ok: true as const };
}

// ------------------------------------------------------------------ project overrides

const OverrideInput = z.object({ projectId: Uuid, email: emailSchema, role: roleSchema.nullable() });

/**
 * Gives the account with `email` a role on this one project (or, with role null, removes the
 * override). The account must exist; for someone without one, send a project invite instead.
 */
export async function setProjectOverride(ctx: AppContext, actorId: string, raw: z.input<typeof OverrideInput>) {
  const input = parseInput(OverrideInput, raw);
  const db = ctx.db.db;
  const [project] = await db.select().from(projects).where(eq(projects.id, input.projectId));
  if (!project) throw new ServiceError('not-found');
  await requireOrgRole(db, actorId, project.orgId, MANAGE_ROLES);
  if (input.role === 'owner') throw new ServiceError('invalid-input', 'A project override can be editor, reviewer or viewer.');
  const actor = await actorOf(db, actorId);
  const [user] = await db.select({ id: users.id, name: users.name, email: users.email }).from(users).where(eq(users.email, input.email));
  if (!user) throw new ServiceError('not-found', 'No account has that email yet: send them a project invite instead.');
  await inTransaction(db, async (tx) => {
    if (input.role == null) {
      await tx.delete(projectMembers).where(and(eq(projectMembers.projectId, project.id), eq(projectMembers.userId, user.id)));
    } else {
      await tx.insert(projectMembers).values({ projectId: project.id, userId: user.id, role: input.role }).onConflictDoUpdate({ target: [projectMembers.projectId, projectMembers.userId], set: { role: input.role } });
    }
    await auditOrg(tx, project.orgId, actor, input.role ? 'project.override' : 'project.override-remove', user.id, { name: user.name, email: user.email, role: input.role, projectName: project.name }, project.id);
  });
  await publishAccessChange(ctx, { kind: 'project-member', projectId: project.id, userId: user.id, newRole: input.role });
  return { ok: true as const };
}

/** Projects a user reaches through an override only (not through an org membership). */
export async function overrideProjectIds(db: Queryable, userId: string): Promise<Array<{ projectId: string; role: Role }>> {
  const rows = await db.select({ projectId: projectMembers.projectId, role: projectMembers.role }).from(projectMembers).where(eq(projectMembers.userId, userId));
  return rows;
}


