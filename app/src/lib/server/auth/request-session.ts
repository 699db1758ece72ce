/**
 * Who a request is, from its session cookie: the one place both request paths resolve it
 * (hooks.server.ts for everything SvelteKit serves, trpc/node.ts for the tRPC calls answered at the
 * Node level). The secret is checked in constant time against its hash (session.ts); with the
 * process's session cache (session-cache.ts) the row may be up to SESSION_CACHE_MS old, invalidated
 * at once on a log-out or a role change.
 */
import { getContext } from '../context.ts';
import { blankSessionCookie, sessionCookie, validateSessionToken, type SessionCookie } from './session.ts';

export interface RequestSession {
  user: App.Locals['user'];
  session: App.Locals['session'];
  /** Set-Cookie to send: the renewed session, or a blank one for a token that is no longer valid. */
  cookie: SessionCookie | null;
}

const ANONYMOUS: RequestSession = Object.freeze({ user: null, session: null, cookie: null });

/** `token`: the session cookie's value, if any; `secure`: the app is served over https (the cookie's Secure flag). */
export async function requestSession(token: string | undefined, secure: boolean): Promise<RequestSession> {
  if (!token) return ANONYMOUS;
  const ctx = await getContext();
  const result = await validateSessionToken(ctx.db.db, token, { cache: ctx.sessions });
  if (!result) return { user: null, session: null, cookie: blankSessionCookie({ secure }) };
  const { user, session } = result;
  return {
    user: { id: user.id, email: user.email, name: user.name, isFarmAdmin: user.isFarmAdmin, isInstanceAdmin: user.isInstanceAdmin },
    session: { id: session.id, expiresAt: session.expiresAt },
    cookie: result.renewed ? sessionCookie(token, session.expiresAt, { secure }) : null,
  };
}

/**
 * A cookie's value from a Cookie header, read as SvelteKit's `cookies.get` reads it (the `cookie`
 * package's parse: pairs split at `;`, the first occurrence of a name wins, surrounding quotes
 * dropped, percent-decoded when that is valid).
 */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  let index = 0;
  while (index < header.length) {
    const eq = header.indexOf('=', index);
    if (eq === -1) return undefined;
    let end = header.indexOf(';', index);
    if (end === -1) end = header.length;
    else if (end < eq) {
      index = header.lastIndexOf(';', eq - 1) + 1; // a pair without `=`: start again after its `;`
      continue;
    }
    if (header.slice(index, eq).trim() === name) {
      let value = header.slice(eq + 1, end).trim();
      if (value.charCodeAt(0) === 0x22) value = value.slice(1, -1);
      if (value.indexOf('%') === -1) return value;
      try {
        return decodeURIComponent(value);
      } catch {
        return value;
      }
    }
    index = end + 1;
  }
  return undefined;
}
