/**
 * The session cache (auth/session-cache.ts) against real Postgres and Redis: a session is served from
 * the cache only while nothing changed it; a log-out or a farm-admin revoke on this process is seen
 * by the very next validation, and one on another process (another context: its own cache and its
 * own Redis subscriber, same database and channel) as soon as its message arrives.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { eq } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { loadConfig } from '../../src/lib/server/config.ts';
import type { AppContext } from '../../src/lib/server/context.ts';
import { LocalStorage } from '../../src/lib/server/storage.ts';
import { closeAccessWatch, forgetSessionsOnAccessChange, onAccessChange } from '../../src/lib/server/access-watch.ts';
import { SessionCache } from '../../src/lib/server/auth/session-cache.ts';
import { createSession, validateSessionToken } from '../../src/lib/server/auth/session.ts';
import { endSession } from '../../src/lib/server/login.ts';
import { signUp } from '../../src/lib/server/services/accounts/users.ts';
import { setInstanceFlag } from '../../src/lib/server/services/accounts/instance-admin.ts';
import { testContext } from '../support/context.ts';

let t: TestDb;
/** Two app processes, as far as sessions go. */
let a: AppContext;
let b: AppContext;
let n = 0;

function processContext(prefix: string): AppContext {
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: mkdtempSync(path.join(tmpdir(), 'cm-sessions-')), REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix });
  const ctx = testContext({ config, db: t.handle, storage: new LocalStorage(config.storageDir) });
  ctx.redis = new Redis(config.REDIS_URL);
  ctx.sessions = new SessionCache();
  return ctx;
}

async function loggedIn(opts: { farmAdmin?: boolean } = {}) {
  n += 1;
  const { user } = await signUp(t.handle.db, { email: `cache${n}@example.com`, name: `Cache ${n}`, password: 'password-123' });
  if (opts.farmAdmin) await t.handle.db.update(schema.users).set({ isFarmAdmin: true }).where(eq(schema.users.id, user.id));
  const { token, session } = await createSession(t.handle.db, user.id);
  return { userId: user.id, token, sessionId: session.id };
}

const validate = (ctx: AppContext, token: string) => validateSessionToken(ctx.db.db, token, { cache: ctx.sessions });

/** Resolves when `ctx`'s subscriber has seen a change about `userId` (after its cache forgot it: listeners run in order). */
function seen(ctx: AppContext, userId: string): Promise<void> {
  return new Promise((resolve) => void onAccessChange(ctx, (c) => 'userId' in c && c.userId === userId && resolve()));
}

beforeAll(async () => {
  t = await createTestDb();
  const prefix = uniquePrefix('sessions');
  a = processContext(prefix);
  b = processContext(prefix);
  await Promise.all([forgetSessionsOnAccessChange(a), forgetSessionsOnAccessChange(b)]);
});

afterAll(async () => {
  for (const ctx of [a, b]) {
    closeAccessWatch(ctx);
    ctx.redis.disconnect();
  }
  await t?.dispose();
});

describe('session cache', () => {
  it('serves a session from the cache until something announces a change', async () => {
    const s = await loggedIn();
    expect((await validate(a, s.token))?.user.id).toBe(s.userId);
    // Deleted behind the app's back (nothing announced): the cached row still answers...
    await t.handle.db.delete(schema.sessions).where(eq(schema.sessions.id, s.sessionId));
    expect((await validate(a, s.token))?.user.id).toBe(s.userId);
    // ...a wrong secret for the cached id does not...
    expect(await validate(a, `${s.token.split('.')[0]}.${'a'.repeat(32)}`)).toBeNull();
    // ...and without the cache the database says no.
    expect(await validateSessionToken(t.handle.db, s.token)).toBeNull();
  });

  it('refuses a session logged out on this process at once', async () => {
    const s = await loggedIn();
    expect(await validate(a, s.token)).not.toBeNull();
    expect(await validate(a, s.token)).not.toBeNull(); // cached now
    await endSession(a, s.sessionId, s.userId);
    expect(await validate(a, s.token)).toBeNull();
  });

  it('sees a farm-admin revoke on this process on the next request', async () => {
    const s = await loggedIn({ farmAdmin: true });
    expect((await validate(a, s.token))?.user.isFarmAdmin).toBe(true);
    await setInstanceFlag(t.handle.db, null, { userId: s.userId, flag: 'farmAdmin', value: false }, a);
    expect((await validate(a, s.token))?.user.isFarmAdmin).toBe(false);
  });

  it('refuses a session logged out on another process once its message arrives', async () => {
    const s = await loggedIn();
    expect(await validate(a, s.token)).not.toBeNull();
    expect(await validate(b, s.token)).not.toBeNull();
    const arrived = seen(a, s.userId);
    await endSession(b, s.sessionId, s.userId);
    expect(await validate(b, s.token)).toBeNull();
    await arrived;
    expect(await validate(a, s.token)).toBeNull();
  });

  it('sees a revoke made on another process once its message arrives', async () => {
    const s = await loggedIn({ farmAdmin: true });
    expect((await validate(a, s.token))?.user.isFarmAdmin).toBe(true);
    const arrived = seen(a, s.userId);
    await setInstanceFlag(t.handle.db, null, { userId: s.userId, flag: 'farmAdmin', value: false }, b);
    await arrived;
    expect((await validate(a, s.token))?.user.isFarmAdmin).toBe(false);
  });
});
