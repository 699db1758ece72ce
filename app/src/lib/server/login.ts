/** Glue shared by the log-in and sign-up actions: session rotation. */
import type { Cookies } from '@sveltejs/kit';
import { eq } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { rotateSession, sessionCookie } from './auth/session.ts';
import type { AppContext } from './context.ts';

/** A new session on every log-in; the previous one (if any) is deleted: no session fixation. */
export async function startSession(ctx: AppContext, cookies: Cookies, url: URL, userId: string, previousSessionId: string | null, userAgent?: string | null): Promise<void> {
  const { token, session } = await rotateSession(ctx.db.db, { userId, previousSessionId });
  // Display only (Settings > Account lists your sessions by device).
  if (userAgent) await ctx.db.db.update(schema.sessions).set({ userAgent: userAgent.slice(0, 400) }).where(eq(schema.sessions.id, session.id));
  const c = sessionCookie(token, session.expiresAt, { secure: url.protocol === 'https:' });
  cookies.set(c.name, c.value, c.options);
}
