/** Glue shared by the log-in and sign-up actions: session rotation. */
import type { Cookies } from '@sveltejs/kit';
import { rotateSession, sessionCookie } from './auth/session.ts';
import type { AppContext } from './context.ts';

/** A new session on every log-in; the previous one (if any) is deleted: no session fixation. */
export async function startSession(ctx: AppContext, cookies: Cookies, url: URL, userId: string, previousSessionId: string | null): Promise<void> {
  const { token, session } = await rotateSession(ctx.db.db, { userId, previousSessionId });
  const c = sessionCookie(token, session.expiresAt, { secure: url.protocol === 'https:' });
  cookies.set(c.name, c.value, c.options);
}
