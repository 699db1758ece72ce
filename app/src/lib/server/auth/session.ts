/**
 * Sessions as lucia-auth.com now describes them (no lucia package): the token is `${id}.${secret}`,
 * both crypto-random and base32 (lowercase, no padding). The database keeps the id and SHA-256 of the
 * secret only, so a leaked sessions table cannot be replayed; validation looks the row up by id and
 * compares the secret hash in constant time, so the id lookup's timing reveals nothing about the
 * secret.
 *
 * Lifetime: 30 days, slid forward to 30 days again when fewer than 15 remain (the caller re-sets the
 * cookie when `renewed` is true). Expired rows are deleted when presented.
 */
import { constantTimeEqual } from '@oslojs/crypto/subtle';
import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';
import type { PublicUser, Queryable } from '../repositories/accounts.ts';
import type { SessionCache } from './session-cache.ts';
import {
  deleteSession,
  deleteUserSessions,
  findSessionWithUser,
  insertSession,
  updateSessionTimes,
} from '../repositories/sessions.ts';

const DAY_MS = 24 * 60 * 60 * 1000;

export const SESSION_COOKIE_NAME = 'cm_session';
export const SESSION_DURATION_MS = 30 * DAY_MS;
/** Renew when less than this remains. */
export const SESSION_RENEW_BELOW_MS = 15 * DAY_MS;
/** last_verified_at is written at most this often (not on every request). */
export const SESSION_ACTIVITY_WRITE_INTERVAL_MS = 60 * 60 * 1000;

/** 15 bytes = 120 bits (>= 80 required of an id); 24 base32 characters. */
const ID_BYTES = 15;
/** 20 bytes = 160 bits (>= 120 required of a secret); 32 base32 characters. */
const SECRET_BYTES = 20;
const TOKEN_PATTERN = /^([a-z2-7]{24})\.([a-z2-7]{32})$/;

export interface Session {
  id: string;
  userId: string;
  createdAt: Date;
  lastVerifiedAt: Date;
  expiresAt: Date;
}

export type SessionUser = PublicUser;

export interface SessionValidationResult {
  session: Session;
  user: SessionUser;
  /** expiresAt moved forward on this request: set the cookie again with the new expiry. */
  renewed: boolean;
}

export interface NewSession {
  /** Give this to the client (cookie); it is never stored. */
  token: string;
  session: Session;
}

export interface ClockOptions {
  /** For tests; defaults to the current time. */
  now?: Date;
}

function randomBase32(bytes: number): string {
  const buf = new Uint8Array(bytes);
  crypto.getRandomValues(buf);
  return encodeBase32LowerCaseNoPadding(buf);
}

export function hashSessionSecret(secret: string): Uint8Array {
  return sha256(new TextEncoder().encode(secret));
}

/** Splits a token into id and secret; null for anything not shaped like one of ours. */
export function parseSessionToken(token: string): { id: string; secret: string } | null {
  const m = TOKEN_PATTERN.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : null;
}

/** A fresh token and the row to store for it (pure: no I/O). */
export function generateSessionToken(): { token: string; id: string; secretHash: Uint8Array } {
  const id = randomBase32(ID_BYTES);
  const secret = randomBase32(SECRET_BYTES);
  return { token: `${id}.${secret}`, id, secretHash: hashSessionSecret(secret) };
}

function toSession(row: Session): Session {
  return {
    id: row.id,
    userId: row.userId,
    createdAt: row.createdAt,
    lastVerifiedAt: row.lastVerifiedAt,
    expiresAt: row.expiresAt,
  };
}

export async function createSession(db: Queryable, userId: string, opts: ClockOptions = {}): Promise<NewSession> {
  const now = opts.now ?? new Date();
  const { token, id, secretHash } = generateSessionToken();
  const row = await insertSession(db, {
    id,
    secretHash,
    userId,
    createdAt: now,
    lastVerifiedAt: now,
    expiresAt: new Date(now.getTime() + SESSION_DURATION_MS),
  });
  return { token, session: toSession(row) };
}

/**
 * The session and user for a token, or null (malformed, unknown, wrong secret, expired). Expired
 * sessions are deleted; sessions with less than 15 days left are extended to 30. With `cache`
 * (the request path: hooks.server.ts) the row may come from the process's short-lived session cache
 * (session-cache.ts); the secret and the expiry are checked against it all the same.
 */
export async function validateSessionToken(
  db: Queryable,
  token: string,
  opts: ClockOptions & { cache?: SessionCache } = {},
): Promise<SessionValidationResult | null> {
  const now = opts.now ?? new Date();
  const { cache } = opts;
  const parsed = parseSessionToken(token);
  if (!parsed) return null;
  const readAt = cache?.generation() ?? 0;
  const cached = cache?.get(parsed.id, now.getTime()) ?? null;
  const found = cached ?? (await findSessionWithUser(db, parsed.id));
  if (!found) return null;
  const { session: row, user } = found;
  if (!constantTimeEqual(hashSessionSecret(parsed.secret), row.secretHash)) return null;
  if (row.expiresAt.getTime() <= now.getTime()) {
    cache?.forgetUser(user.id);
    await deleteSession(db, row.id);
    return null;
  }
  const session = toSession(row);
  const renewed = row.expiresAt.getTime() - now.getTime() < SESSION_RENEW_BELOW_MS;
  if (renewed) session.expiresAt = new Date(now.getTime() + SESSION_DURATION_MS);
  if (renewed || now.getTime() - row.lastVerifiedAt.getTime() >= SESSION_ACTIVITY_WRITE_INTERVAL_MS) {
    cache?.forgetUser(user.id); // the row changes: the next request reads it again
    session.lastVerifiedAt = now;
    await updateSessionTimes(db, session.id, { lastVerifiedAt: now, expiresAt: session.expiresAt });
  } else if (cache && !cached) {
    cache.fill(parsed.id, found, readAt, now.getTime());
  }
  return { session, user, renewed };
}

/** Log out one session. */
export async function invalidateSession(db: Queryable, sessionId: string): Promise<void> {
  await deleteSession(db, sessionId);
}

/** Log out everywhere (password change, account compromise); optionally keep the caller's session. */
export async function invalidateAllUserSessions(
  db: Queryable,
  userId: string,
  opts: { exceptSessionId?: string } = {},
): Promise<number> {
  return deleteUserSessions(db, userId, opts.exceptSessionId);
}

/**
 * Session rotation: a new token whenever privilege changes (log-in, role or password change). The
 * previous session, if any, is deleted in the same transaction, whoever it belonged to, so a token
 * planted before log-in (session fixation) is worthless afterwards.
 */
export async function rotateSession(
  db: Queryable,
  args: { userId: string; previousSessionId?: string | null | undefined },
  opts: ClockOptions = {},
): Promise<NewSession & { previousUserId: string | null }> {
  return db.transaction(async (tx) => {
    const previousUserId = args.previousSessionId ? await deleteSession(tx, args.previousSessionId) : null;
    return { ...(await createSession(tx, args.userId, opts)), previousUserId };
  });
}

// ---- cookies ----

export interface SessionCookieOptions {
  path: '/';
  httpOnly: true;
  sameSite: 'lax';
  secure: boolean;
  expires: Date;
  maxAge?: number;
}

/** `cookies.set(c.name, c.value, c.options)` in a SvelteKit handler. */
export interface SessionCookie {
  name: typeof SESSION_COOKIE_NAME;
  value: string;
  options: SessionCookieOptions;
}

/** `secure` should be true everywhere but plain-http localhost development. */
export function sessionCookie(token: string, expiresAt: Date, opts: { secure: boolean }): SessionCookie {
  return {
    name: SESSION_COOKIE_NAME,
    value: token,
    options: { path: '/', httpOnly: true, sameSite: 'lax', secure: opts.secure, expires: expiresAt },
  };
}

/**
 * The Set-Cookie header value for a session cookie, as SvelteKit's `cookies.set` writes it, for an
 * answer that does not pass through SvelteKit's resolve (tRPC, answered by hooks.server.ts). The
 * name and value need no encoding: the name is fixed and a token is base32 (or empty).
 */
export function sessionCookieHeader(c: SessionCookie): string {
  const o = c.options;
  const parts = [`${c.name}=${c.value}`];
  if (o.maxAge !== undefined) parts.push(`Max-Age=${Math.floor(o.maxAge)}`);
  parts.push(`Path=${o.path}`, `Expires=${o.expires.toUTCString()}`);
  if (o.httpOnly) parts.push('HttpOnly');
  if (o.secure) parts.push('Secure');
  parts.push('SameSite=Lax'); // the only value SessionCookieOptions allows
  return parts.join('; ');
}

/** Deletes the cookie in the browser (log-out, invalid token). */
export function blankSessionCookie(opts: { secure: boolean }): SessionCookie {
  return {
    name: SESSION_COOKIE_NAME,
    value: '',
    options: { path: '/', httpOnly: true, sameSite: 'lax', secure: opts.secure, expires: new Date(0), maxAge: 0 },
  };
}
