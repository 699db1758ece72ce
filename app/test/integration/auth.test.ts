/** Sign-up, log-in and sessions against real Postgres. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import {
  SESSION_DURATION_MS,
  createSession,
  invalidateAllUserSessions,
  invalidateSession,
  rotateSession,
  validateSessionToken,
} from '../../src/lib/server/auth/session.ts';
import { Redis } from 'ioredis';
import { ServiceError as AccountError } from '../../src/lib/server/services/errors.ts';
import { Throttles } from '../../src/lib/server/throttle.ts';
import { SIGN_UP_REFUSED, logIn, signUp, signUpOrLogIn } from '../../src/lib/server/services/accounts/users.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { listMyOrgs } from '../../src/lib/server/services/accounts/orgs.ts';
import type { Queryable } from '../../src/lib/server/repositories/accounts.ts';

const DAY = 24 * 60 * 60 * 1000;

let t: TestDb;
let db: Queryable;

let redis: Redis;
beforeAll(async () => {
  t = await createTestDb();
  db = t.handle.db;
  redis = new Redis(TEST_REDIS_URL);
});
afterAll(async () => {
  redis?.disconnect();
  await t?.dispose();
});

async function accountError(p: Promise<unknown>): Promise<AccountError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(AccountError);
  return e as AccountError;
}

async function sessionRow(id: string) {
  const rows = await db.select().from(schema.sessions).where(eq(schema.sessions.id, id));
  return rows[0] ?? null;
}

describe('sign-up', () => {
  it('creates the user, a personal team and the owner membership; email normalised', async () => {
    const { user, org } = await signUp(db, { email: '  Ada@Example.COM ', name: ' Ada ', password: 'correct horse' });
    expect(user).toMatchObject({ email: 'ada@example.com', name: 'Ada', isFarmAdmin: false });
    expect(user).not.toHaveProperty('passwordHash');
    expect(org.name).toBe("Ada's team");
    expect(await listMyOrgs(db, user.id)).toEqual([expect.objectContaining({ id: org.id, name: "Ada's team", role: 'owner' })]);
    const [stored] = await db.select().from(schema.users).where(eq(schema.users.id, user.id));
    expect(stored!.passwordHash).toMatch(/^\$argon2id\$/);
  });

  it('refuses a taken email (any case) with email-taken and leaves nothing behind', async () => {
    const orgsBefore = (await db.select().from(schema.orgs)).length;
    const e = await accountError(signUp(db, { email: 'ADA@example.com', name: 'Other', password: 'another pass' }));
    expect(e.code).toBe('email-taken');
    expect(e.message).toBe('An account with this email already exists.');
    expect(e.status).toBe(409);
    expect((await db.select().from(schema.orgs)).length).toBe(orgsBefore);
  });

  it('validates input', async () => {
    const short = await accountError(signUp(db, { email: 'b@example.com', name: 'B', password: 'short' }));
    expect(short.code).toBe('invalid-input');
    expect(short.details.fieldErrors?.password).toBeDefined();
    const email = await accountError(signUp(db, { email: 'nope', name: 'B', password: 'long enough' }));
    expect(email.details.fieldErrors?.email).toEqual(['Enter a valid email address.']);
  });
});

describe('log-in', () => {
  beforeAll(async () => {
    await signUp(db, { email: 'grace@example.com', name: 'Grace', password: 'hopper-1906' });
  });

  it('returns the user for the right password, email case-insensitive', async () => {
    const user = await logIn(db, { email: ' Grace@Example.com', password: 'hopper-1906' });
    expect(user).toMatchObject({ email: 'grace@example.com', name: 'Grace' });
    expect(user).not.toHaveProperty('passwordHash');
  });

  it('gives the same error for a wrong password and an unknown email', async () => {
    const wrong = await accountError(logIn(db, { email: 'grace@example.com', password: 'hopper-1907' }));
    const unknown = await accountError(logIn(db, { email: 'nobody@example.com', password: 'hopper-1906' }));
    for (const e of [wrong, unknown]) {
      expect(e.code).toBe('invalid-credentials');
      expect(e.message).toBe('Incorrect email or password.');
      expect(e.status).toBe(401);
    }
    const empty = await accountError(logIn(db, { email: '', password: '' }));
    expect(empty.code).toBe('invalid-credentials');
  });

  it('does argon2 work for unknown emails too', async () => {
    // Warm the dummy hash, then compare: an unknown email must not return much faster than a known one.
    await accountError(logIn(db, { email: 'warm@example.com', password: 'whatever1' }));
    const time = async (email: string) => {
      const start = performance.now();
      await accountError(logIn(db, { email, password: 'wrong-password' }));
      return performance.now() - start;
    };
    const known = Math.min(await time('grace@example.com'), await time('grace@example.com'));
    const unknown = Math.min(await time('nobody@example.com'), await time('nobody@example.com'));
    expect(unknown).toBeGreaterThan(known * 0.5);
  });

  it('rate-limits per email and address in Redis, and a success resets the count', async () => {
    const throttles = new Throttles(redis, uniquePrefix('auth'), { login: { points: 3, windowSeconds: 60, message: 'Too many log-in attempts. Try again later.' } } as never);
    const throttle = { throttles, address: '203.0.113.7' };
    for (let i = 0; i < 2; i++) {
      expect((await accountError(logIn(db, { email: 'grace@example.com', password: 'nope-nope' }, { throttle }))).code).toBe('invalid-credentials');
    }
    await logIn(db, { email: 'grace@example.com', password: 'hopper-1906' }, { throttle });
    for (let i = 0; i < 3; i++) {
      await accountError(logIn(db, { email: 'GRACE@example.com', password: 'nope-nope' }, { throttle }));
    }
    const limited = await accountError(logIn(db, { email: 'grace@example.com', password: 'hopper-1906' }, { throttle }));
    expect(limited.code).toBe('rate-limited');
    expect(limited.details.retryAfterSeconds).toBeGreaterThan(50);
    expect(limited.details.retryAfterSeconds).toBeLessThanOrEqual(60);
    // Another address is counted apart.
    await logIn(db, { email: 'grace@example.com', password: 'hopper-1906' }, { throttle: { throttles, address: '198.51.100.1' } });
  });
});

describe('sign-up form (signUpOrLogIn)', () => {
  it('never says an email is taken: the owner\'s password logs in, any other gets the log-in-like refusal', async () => {
    const created = await signUpOrLogIn(db, { email: 'hedy@example.com', name: 'Hedy', password: 'frequency-hop' });
    expect(created.created).toBe(true);
    const again = await signUpOrLogIn(db, { email: 'HEDY@example.com', name: 'Someone', password: 'frequency-hop' });
    expect(again).toEqual({ user: created.user, created: false });
    const other = await accountError(signUpOrLogIn(db, { email: 'hedy@example.com', name: 'Mallory', password: 'guessing-123' }));
    expect(other.code).toBe('invalid-credentials');
    expect(other.message).toBe(SIGN_UP_REFUSED);
    expect(other.message).not.toMatch(/exist/i);
  });
});

describe('sessions', () => {
  let userId: string;
  beforeAll(async () => {
    const { user } = await signUp(db, { email: 'linus@example.com', name: 'Linus', password: 'penguins!' });
    userId = (await logIn(db, { email: 'linus@example.com', password: 'penguins!' })).id;
    expect(userId).toBe(user.id);
  });

  it('validates a fresh token and stores only the hash of its secret', async () => {
    const { token, session } = await createSession(db, userId);
    const result = await validateSessionToken(db, token);
    expect(result?.user).toEqual({ id: userId, email: 'linus@example.com', name: 'Linus', isFarmAdmin: false, isInstanceAdmin: false });
    expect(result?.session.id).toBe(session.id);
    expect(result?.renewed).toBe(false);
    expect(session.expiresAt.getTime() - session.createdAt.getTime()).toBe(SESSION_DURATION_MS);
    const row = await sessionRow(session.id);
    const secret = token.split('.')[1]!;
    expect(row!.secretHash).toHaveLength(32);
    expect(Buffer.from(row!.secretHash).toString()).not.toContain(secret);
    expect(JSON.stringify(row)).not.toContain(secret);
  });

  it('refuses a tampered secret with the same id, and malformed or unknown tokens', async () => {
    const { token } = await createSession(db, userId);
    const [id, secret] = token.split('.') as [string, string];
    const flipped = secret.slice(0, -1) + (secret.endsWith('a') ? 'b' : 'a');
    expect(await validateSessionToken(db, `${id}.${flipped}`)).toBeNull();
    expect(await validateSessionToken(db, `${id}.`)).toBeNull();
    expect(await validateSessionToken(db, id)).toBeNull();
    expect(await validateSessionToken(db, `${'a'.repeat(24)}.${secret}`)).toBeNull();
    expect(await validateSessionToken(db, `${id}.${secret}'; drop table sessions; --`)).toBeNull();
    // The real token still works.
    expect(await validateSessionToken(db, token)).not.toBeNull();
  });

  it('refuses an expired session and deletes it', async () => {
    const { token, session } = await createSession(db, userId);
    const later = new Date(session.expiresAt.getTime() + 1);
    expect(await validateSessionToken(db, token, { now: later })).toBeNull();
    expect(await sessionRow(session.id)).toBeNull();
    expect(await validateSessionToken(db, token)).toBeNull();
  });

  it('slides the expiry forward when less than 15 days remain', async () => {
    const start = new Date(Date.now() - 1000);
    const { token, session } = await createSession(db, userId, { now: start });

    const day10 = new Date(start.getTime() + 10 * DAY);
    const early = await validateSessionToken(db, token, { now: day10 });
    expect(early?.renewed).toBe(false);
    expect(early?.session.expiresAt).toEqual(session.expiresAt);
    expect(early?.session.lastVerifiedAt).toEqual(day10);
    expect((await sessionRow(session.id))!.lastVerifiedAt).toEqual(day10);

    const day16 = new Date(start.getTime() + 16 * DAY);
    const renewed = await validateSessionToken(db, token, { now: day16 });
    expect(renewed?.renewed).toBe(true);
    const newExpiry = new Date(day16.getTime() + SESSION_DURATION_MS);
    expect(renewed?.session.expiresAt).toEqual(newExpiry);
    expect((await sessionRow(session.id))!.expiresAt).toEqual(newExpiry);
    // Past the original expiry, the renewed session is still good.
    const day35 = new Date(start.getTime() + 35 * DAY);
    expect(await validateSessionToken(db, token, { now: day35 })).not.toBeNull();
  });

  it('log-out invalidates the session', async () => {
    const { token, session } = await createSession(db, userId);
    await invalidateSession(db, session.id);
    expect(await validateSessionToken(db, token)).toBeNull();
    expect(await sessionRow(session.id)).toBeNull();
  });

  it('rotation replaces the previous token', async () => {
    const before = await createSession(db, userId);
    const after = await rotateSession(db, { userId, previousSessionId: before.session.id });
    expect(after.token).not.toBe(before.token);
    expect(await validateSessionToken(db, before.token)).toBeNull();
    expect((await validateSessionToken(db, after.token))?.user.id).toBe(userId);
    // With no previous session it is simply a new one.
    const fresh = await rotateSession(db, { userId, previousSessionId: null });
    expect(await validateSessionToken(db, fresh.token)).not.toBeNull();
  });

  it('log-out everywhere, optionally keeping the current session', async () => {
    const a = await createSession(db, userId);
    const b = await createSession(db, userId);
    const c = await createSession(db, userId);
    expect(await invalidateAllUserSessions(db, userId, { exceptSessionId: c.session.id })).toBeGreaterThanOrEqual(2);
    expect(await validateSessionToken(db, a.token)).toBeNull();
    expect(await validateSessionToken(db, b.token)).toBeNull();
    expect(await validateSessionToken(db, c.token)).not.toBeNull();
    await invalidateAllUserSessions(db, userId);
    expect(await validateSessionToken(db, c.token)).toBeNull();
  });
});
