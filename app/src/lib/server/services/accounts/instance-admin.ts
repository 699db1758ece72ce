/**
 * Instance roles: instance admin (manages users and instance roles) and farm admin (the render-farm
 * console). The first account of an instance is its instance admin (users.ts signUp); after that,
 * instance admins grant and revoke both here (Admin > Users) or with `pnpm admin` from a shell.
 * The last instance admin cannot be revoked: an instance always keeps one.
 */
import { asc, count, eq, ilike, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { schema } from '@clipmaker/db';
import type { Queryable } from '../../repositories/accounts.ts';
import { publishAccessChange, type AccessPublisher } from '../../access-events.ts';
import { audit } from '../audit.ts';
import { ServiceError } from '../errors.ts';
import { emailSchema, parseInput } from './validation.ts';

const { users } = schema;

export const INSTANCE_FLAGS = ['farmAdmin', 'instanceAdmin'] as const;
export type InstanceFlag = (typeof INSTANCE_FLAGS)[number];

/** The caller, re-read from the database (a revoked admin loses access at once); 'not-found' otherwise. */
export async function requireInstanceAdmin(db: Queryable, userId: string | null | undefined): Promise<{ id: string; name: string }> {
  if (!userId) throw new ServiceError('not-found');
  const [u] = await db.select({ id: users.id, name: users.name, ok: users.isInstanceAdmin }).from(users).where(eq(users.id, userId));
  if (!u?.ok) throw new ServiceError('not-found');
  return { id: u.id, name: u.name };
}

export interface InstanceUser {
  id: string;
  email: string;
  name: string;
  isFarmAdmin: boolean;
  isInstanceAdmin: boolean;
  createdAt: string;
  teams: number;
  lastSeenAt: string | null;
}

export async function listInstanceUsers(db: Queryable, opts: { search?: string; limit?: number } = {}): Promise<InstanceUser[]> {
  const q = opts.search?.trim().slice(0, 100);
  const like = q ? `%${q.replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null;
  const rows = await db
    .select({
      id: users.id,
      email: users.email,
      name: users.name,
      isFarmAdmin: users.isFarmAdmin,
      isInstanceAdmin: users.isInstanceAdmin,
      createdAt: users.createdAt,
      teams: sql<number>`(select count(*)::int from memberships m where m.user_id = "users"."id")`,
      lastSeenAt: sql<Date | string | null>`(select max(s.last_verified_at) from sessions s where s.user_id = "users"."id")`,
    })
    .from(users)
    .where(like ? or(ilike(users.email, like), ilike(users.name, like)) : undefined)
    .orderBy(asc(users.createdAt))
    .limit(Math.min(opts.limit ?? 500, 2000));
  return rows.map((r) => ({ ...r, createdAt: r.createdAt.toISOString(), teams: Number(r.teams), lastSeenAt: r.lastSeenAt ? new Date(r.lastSeenAt).toISOString() : null }));
}

const SetFlagInput = z.object({ userId: z.string().uuid(), flag: z.enum(INSTANCE_FLAGS), value: z.boolean() });

/**
 * Grants or revokes an instance role. `actor` null: the shell (`pnpm admin`), which needs no account.
 * Refuses to revoke the last instance admin. `announce` (the app's context): once committed, every app
 * process drops its cached sessions of that user (auth/session-cache.ts), so the change bites on the
 * next request; the shell has none, and its change is seen within SESSION_CACHE_MS.
 */
export async function setInstanceFlag(db: Queryable, actor: { id: string; name: string } | null, raw: z.input<typeof SetFlagInput>, announce?: AccessPublisher) {
  const input = parseInput(SetFlagInput, raw);
  const result = await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(7120002)`);
    const [target] = await tx.select().from(users).where(eq(users.id, input.userId));
    if (!target) throw new ServiceError('not-found');
    if (input.flag === 'instanceAdmin' && !input.value && target.isInstanceAdmin) {
      const [{ n } = { n: 0 }] = await tx.select({ n: count() }).from(users).where(eq(users.isInstanceAdmin, true));
      if (Number(n) <= 1) throw new ServiceError('conflict', 'This is the last instance admin: grant someone else first.');
    }
    const set = input.flag === 'farmAdmin' ? { isFarmAdmin: input.value } : { isInstanceAdmin: input.value };
    await tx.update(users).set(set).where(eq(users.id, input.userId));
    await audit(tx as never, { orgId: null, projectId: null, actorUserId: actor?.id ?? null, actorName: actor?.name ?? 'pnpm admin (shell)', action: `instance.${input.value ? 'grant' : 'revoke'}.${input.flag}`, targetType: 'user', targetId: target.id, details: { name: target.name, email: target.email } });
    // A privilege change rotates nothing by itself, but a revoke must bite at once: the session
    // lookup re-reads the flags once the cached sessions are dropped (below), so no session needs ending.
    return { id: target.id, isFarmAdmin: input.flag === 'farmAdmin' ? input.value : target.isFarmAdmin, isInstanceAdmin: input.flag === 'instanceAdmin' ? input.value : target.isInstanceAdmin };
  });
  if (announce) await publishAccessChange(announce, { kind: 'user-account', userId: result.id });
  return result;
}

export async function findUserIdByEmail(db: Queryable, email: string): Promise<string | null> {
  const e = parseInput(emailSchema, email);
  const [u] = await db.select({ id: users.id }).from(users).where(eq(users.email, e));
  return u?.id ?? null;
}



