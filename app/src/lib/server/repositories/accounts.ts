/**
 * Account I/O: users, orgs, memberships, invites and the project-membership lookup behind access
 * checks. Only this file (and sessions.ts) touch those tables; rules live in services/accounts.
 *
 * Every function takes a `Queryable` — the root database or a transaction — so services can compose
 * several calls in one transaction.
 */
import { and, asc, eq, gt, isNull, lt, or, sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { schema, type Schema } from '@clipmaker/db';

const { users, orgs, memberships, invites, projects, projectMembers } = schema;

/** The root database (either driver) or a transaction opened on it. */
export type Queryable = PgDatabase<PgQueryResultHKT, Schema>;

export type MemberRole = schema.MemberRole;
export type UserRow = typeof users.$inferSelect;
export type OrgRow = typeof orgs.$inferSelect;
export type MembershipRow = typeof memberships.$inferSelect;
export type InviteRow = typeof invites.$inferSelect;
export type ProjectRow = typeof projects.$inferSelect;

/** What callers outside the auth code may see of a user (never the password hash). */
export interface PublicUser {
  id: string;
  email: string;
  name: string;
  isFarmAdmin: boolean;
  isInstanceAdmin: boolean;
}

export const publicUserColumns = {
  id: users.id,
  email: users.email,
  name: users.name,
  isFarmAdmin: users.isFarmAdmin,
  isInstanceAdmin: users.isInstanceAdmin,
} as const;

/**
 * A query built once per root database handle (drizzle prepares its SQL), for the hot paths that run
 * on every request; inside a transaction (short-lived) it is built on the spot.
 */
export function preparedPerHandle<Q>(build: (db: Queryable) => Q): (db: Queryable) => Q {
  const byHandle = new WeakMap<Queryable, Q>();
  return (db) => {
    if ('rollback' in db) return build(db);
    let q = byHandle.get(db);
    if (!q) byHandle.set(db, (q = build(db)));
    return q;
  };
}

/** Runs `fn` in a transaction on the root database (nested calls use a savepoint). */
export function inTransaction<T>(db: Queryable, fn: (tx: Queryable) => Promise<T>): Promise<T> {
  return db.transaction((tx) => fn(tx));
}

// ---- users ----

/** Inserts a user; returns null when the (already normalised) email is taken. */
export async function insertUser(
  db: Queryable,
  values: { email: string; name: string; passwordHash: string; isInstanceAdmin?: boolean },
): Promise<PublicUser | null> {
  const rows = await db
    .insert(users)
    .values(values)
    .onConflictDoNothing({ target: users.email })
    .returning(publicUserColumns);
  return rows[0] ?? null;
}

export async function findUserByEmail(db: Queryable, email: string): Promise<UserRow | null> {
  const rows = await db.select().from(users).where(eq(users.email, email)).limit(1);
  return rows[0] ?? null;
}

export async function findUserById(db: Queryable, id: string): Promise<PublicUser | null> {
  const rows = await db.select(publicUserColumns).from(users).where(eq(users.id, id)).limit(1);
  return rows[0] ?? null;
}

export async function updatePasswordHash(db: Queryable, userId: string, passwordHash: string): Promise<void> {
  await db.update(users).set({ passwordHash }).where(eq(users.id, userId));
}

// ---- orgs and memberships ----

export async function insertOrg(db: Queryable, values: { name: string }): Promise<OrgRow> {
  const rows = await db.insert(orgs).values(values).returning();
  return rows[0]!;
}

/** Adds a membership; returns null when the user is already a member (the existing row is kept). */
export async function insertMembership(
  db: Queryable,
  values: { orgId: string; userId: string; role: MemberRole },
): Promise<MembershipRow | null> {
  const rows = await db.insert(memberships).values(values).onConflictDoNothing().returning();
  return rows[0] ?? null;
}

export async function findMembership(db: Queryable, userId: string, orgId: string): Promise<MembershipRow | null> {
  const rows = await db
    .select()
    .from(memberships)
    .where(and(eq(memberships.userId, userId), eq(memberships.orgId, orgId)))
    .limit(1);
  return rows[0] ?? null;
}

export async function listMembershipsWithOrgs(
  db: Queryable,
  userId: string,
): Promise<Array<{ org: OrgRow; role: MemberRole; joinedAt: Date }>> {
  return db
    .select({ org: orgs, role: memberships.role, joinedAt: memberships.createdAt })
    .from(memberships)
    .innerJoin(orgs, eq(orgs.id, memberships.orgId))
    .where(eq(memberships.userId, userId))
    .orderBy(asc(memberships.createdAt), asc(orgs.name));
}

// ---- invites ----

export async function insertInvite(
  db: Queryable,
  values: { orgId: string; email: string | null; projectId?: string | null; role: MemberRole; tokenHash: Uint8Array; invitedBy: string; expiresAt: Date; maxUses: number | null },
): Promise<InviteRow> {
  const rows = await db.insert(invites).values(values).returning();
  return rows[0]!;
}

export async function findInviteByTokenHash(db: Queryable, tokenHash: Uint8Array): Promise<InviteRow | null> {
  const rows = await db.select().from(invites).where(eq(invites.tokenHash, tokenHash)).limit(1);
  return rows[0] ?? null;
}

/**
 * Marks an invite accepted if it still is open and unexpired. The conditional update is what makes an
 * invite single-use under concurrency: only one caller gets the row back.
 */
export async function markInviteAccepted(db: Queryable, inviteId: string, now: Date): Promise<boolean> {
  const rows = await db
    .update(invites)
    .set({ acceptedAt: now, uses: sql`${invites.uses} + 1` })
    .where(
      and(
        eq(invites.id, inviteId),
        isNull(invites.revokedAt),
        gt(invites.expiresAt, now),
        or(isNull(invites.maxUses), lt(invites.uses, invites.maxUses)),
      ),
    )
    .returning({ id: invites.id });
  return rows.length === 1;
}

// ---- projects (access checks only) ----

/**
 * The project and the user's role on it: a project override (project_members) wins over the org
 * role; role null when the user has neither. Every project-scoped call runs it: prepared once per handle.
 */
const projectWithRoleQuery = preparedPerHandle((db) =>
  db
    .select({ project: projects, role: sql<MemberRole | null>`coalesce(${projectMembers.role}, ${memberships.role})` })
    .from(projects)
    .leftJoin(memberships, and(eq(memberships.orgId, projects.orgId), eq(memberships.userId, sql.placeholder('userId'))))
    .leftJoin(projectMembers, and(eq(projectMembers.projectId, projects.id), eq(projectMembers.userId, sql.placeholder('userId'))))
    .where(eq(projects.id, sql.placeholder('projectId')))
    .limit(1)
    .prepare('find_project_with_role'),
);

export async function findProjectWithRole(
  db: Queryable,
  userId: string,
  projectId: string,
): Promise<{ project: ProjectRow; role: MemberRole | null } | null> {
  const query = projectWithRoleQuery(db);
  const rows = await query.execute({ userId, projectId });
  const row = rows[0];
  return row ? { project: row.project, role: row.role } : null;
}
