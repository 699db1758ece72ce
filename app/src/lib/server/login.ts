/** Glue shared by the log-in, sign-up and log-out actions: session rotation and ending. */
import type { Cookies } from '@sveltejs/kit';
import { eq } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { invalidateSession, rotateSession, sessionCookie } from './auth/session.ts';
import { publishAccessChange } from './access-events.ts';
import type { AppContext } from './context.ts';

/** A new session on every log-in; the previous one (if any) is deleted: no session fixation. */
export async function startSession(ctx: AppContext, cookies: Cookies, url: URL, userId: string, previousSessionId: string | null, userAgent?: string | null): Promise<void> {
  const { token, session, previousUserId } = await rotateSession(ctx.db.db, { userId, previousSessionId });
  // The previous session is gone: no process may keep serving it from its session cache.
  if (previousUserId) await publishAccessChange(ctx, { kind: 'user-account', userId: previousUserId });
  // Display only (Settings > Account lists your sessions by device).
  if (userAgent) await ctx.db.db.update(schema.sessions).set({ userAgent: userAgent.slice(0, 400) }).where(eq(schema.sessions.id, session.id));
  const c = sessionCookie(token, session.expiresAt, { secure: url.protocol === 'https:' });
  cookies.set(c.name, c.value, c.options);
}

/** Log-out: the session row goes, and every app process drops its cached copy (auth/session-cache.ts) before its next request. */
export async function endSession(ctx: AppContext, sessionId: string, userId: string): Promise<void> {
  await invalidateSession(ctx.db.db, sessionId);
  await publishAccessChange(ctx, { kind: 'user-account', userId });
}
