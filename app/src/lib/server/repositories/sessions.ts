/** Session rows (see auth/session.ts for the token design). Only this file touches `sessions`. */
import { and, eq, ne, sql } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { preparedPerHandle, publicUserColumns, type PublicUser, type Queryable } from './accounts.ts';

const { sessions, users } = schema;

export type SessionRow = typeof sessions.$inferSelect;

export async function insertSession(
  db: Queryable,
  values: { id: string; secretHash: Uint8Array; userId: string; createdAt: Date; lastVerifiedAt: Date; expiresAt: Date },
): Promise<SessionRow> {
  const rows = await db.insert(sessions).values(values).returning();
  return rows[0]!;
}

/** Every request with a session cookie runs it: prepared once per handle. */
const sessionWithUserQuery = preparedPerHandle((db) =>
  db
    .select({ session: sessions, user: publicUserColumns })
    .from(sessions)
    .innerJoin(users, eq(users.id, sessions.userId))
    .where(eq(sessions.id, sql.placeholder('sessionId')))
    .limit(1)
    .prepare('find_session_with_user'),
);

/** The session and its user in one round trip. */
export async function findSessionWithUser(
  db: Queryable,
  sessionId: string,
): Promise<{ session: SessionRow; user: PublicUser } | null> {
  const query = sessionWithUserQuery(db);
  const rows = await query.execute({ sessionId });
  return rows[0] ?? null;
}

export async function updateSessionTimes(
  db: Queryable,
  sessionId: string,
  values: { lastVerifiedAt: Date; expiresAt: Date },
): Promise<void> {
  await db.update(sessions).set(values).where(eq(sessions.id, sessionId));
}

/** Deletes one session; returns its user id, or null when there was none. */
export async function deleteSession(db: Queryable, sessionId: string): Promise<string | null> {
  const rows = await db.delete(sessions).where(eq(sessions.id, sessionId)).returning({ userId: sessions.userId });
  return rows[0]?.userId ?? null;
}

/** Deletes every session of a user, optionally sparing one (e.g. the one changing the password). */
export async function deleteUserSessions(db: Queryable, userId: string, exceptSessionId?: string): Promise<number> {
  const where = exceptSessionId
    ? and(eq(sessions.userId, userId), ne(sessions.id, exceptSessionId))
    : eq(sessions.userId, userId);
  const rows = await db.delete(sessions).where(where).returning({ id: sessions.id });
  return rows.length;
}
