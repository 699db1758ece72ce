/**
 * Live revocation on open sockets, with real y-websocket clients (BroadcastChannel off), real
 * Postgres and Redis: an expired token stops writing at once (the client is told, refreshes its
 * token, reconnects, and its refused edit is stored then); a role lowered in the database plus an
 * AccessChange on Redis turns the socket read-only within 2 s without dropping it; removal closes it
 * for good (4403, y-websocket does not reconnect).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { and, eq } from 'drizzle-orm';
import { accessChannel, type AccessChange } from '@clipmaker/shared/collab/access-events';
import { ACCESS_MESSAGE_TYPE, decodeAccessNotice, type AccessNotice } from '@clipmaker/shared/collab/access-message';
import { memberships, orgs, projects, users } from '@clipmaker/db/schema';
import { startCollabServer, type CollabServer } from '../../src/index.ts';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { pino } from 'pino';
import { SECRET, connectClient, savedItems, sleep, synced, token, waitFor, type Client } from './support.ts';

function watchNotices(c: Client): AccessNotice[] {
  const seen: AccessNotice[] = [];
  c.provider.messageHandlers[ACCESS_MESSAGE_TYPE] = (_enc, decoder) => {
    const d = decoder as unknown as { arr: Uint8Array; pos: number };
    const n = decodeAccessNotice(d.arr, d.pos);
    d.pos = d.arr.length;
    if (n) seen.push(n);
  };
  return seen;
}

describe('live revocation on open collab sockets', () => {
  let t: TestDb;
  let server: CollabServer;
  let url: string;
  const prefix = uniquePrefix('revoke');
  const pub = new Redis(TEST_REDIS_URL);
  const clients: Client[] = [];

  const publish = (change: AccessChange) => pub.publish(accessChannel(prefix), JSON.stringify(change));

  async function member(role: 'owner' | 'editor' | 'viewer'): Promise<{ userId: string; projectId: string; orgId: string }> {
    const [u] = await t.handle.db.insert(users).values({ email: `${randomUUID()}@example.com`, name: 'M', passwordHash: 'x' }).returning();
    const [o] = await t.handle.db.insert(orgs).values({ name: 'Org' }).returning();
    await t.handle.db.insert(memberships).values({ orgId: o!.id, userId: u!.id, role });
    const [p] = await t.handle.db.insert(projects).values({ orgId: o!.id, name: 'P' }).returning();
    return { userId: u!.id, projectId: p!.id, orgId: o!.id };
  }

  beforeAll(async () => {
    t = await createTestDb();
    server = await startCollabServer({ db: t.handle, secret: SECRET, port: 0, redis: { url: TEST_REDIS_URL, prefix }, expiredGraceMs: 400, logger: pino({ level: 'silent' }) });
    url = `ws://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await server?.close();
    pub.disconnect();
    await t?.dispose();
  });

  it('an expired token stops writing at once; the client refreshes and its edit is stored', async () => {
    const m = await member('editor');
    const exp = Math.floor(Date.now() / 1000) + 2;
    const c = connectClient(url, m.projectId, await token(m.projectId, 'editor', { sub: m.userId, exp }), { maxBackoffTime: 200 });
    clients.push(c);
    const notices = watchNotices(c);
    await synced(c);
    c.push('before-expiry');
    await waitFor(async () => (await savedItems(t.handle.db, m.projectId)).includes('before-expiry'), 5_000, 'stored before expiry');

    await waitFor(() => notices.length > 0, 4_000, 'expiry notice');
    expect(notices[0]).toEqual({ role: 'editor', canWrite: false, reason: 'token-expired' });
    c.push('after-expiry');
    await sleep(300);
    expect(await savedItems(t.handle.db, m.projectId)).not.toContain('after-expiry');

    // The client refreshes (what the editor does on the notice); the server closes with 4511, the
    // reconnect uses the new token and y-websocket's sync resends the refused edit.
    c.provider.params = { token: await token(m.projectId, 'editor', { sub: m.userId }) };
    await waitFor(async () => (await savedItems(t.handle.db, m.projectId)).includes('after-expiry'), 5_000, 'refused edit stored after refresh');
  });

  it('a role lowered in the database turns the socket read-only within 2 s, without dropping it', async () => {
    const m = await member('editor');
    const c = connectClient(url, m.projectId, await token(m.projectId, 'editor', { sub: m.userId }));
    const peer = connectClient(url, m.projectId, await token(m.projectId, 'viewer'));
    clients.push(c, peer);
    const notices = watchNotices(c);
    await Promise.all([synced(c), synced(peer)]);
    c.push('as-editor');
    await waitFor(() => peer.items().includes('as-editor'), 5_000, 'edit reaches the peer');
    let closes = 0;
    c.provider.on('connection-close', () => closes++);

    await t.handle.db.update(memberships).set({ role: 'viewer' }).where(and(eq(memberships.orgId, m.orgId), eq(memberships.userId, m.userId)));
    const t0 = Date.now();
    await publish({ kind: 'org-member', orgId: m.orgId, userId: m.userId, newRole: 'viewer' });
    await waitFor(() => notices.length > 0, 2_000, 'read-only notice within 2 s');
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(notices[0]).toEqual({ role: 'viewer', canWrite: false, reason: 'role-changed' });

    c.push('as-viewer');
    await sleep(500);
    expect(peer.items()).not.toContain('as-viewer');
    expect(await savedItems(t.handle.db, m.projectId)).not.toContain('as-viewer');
    expect(c.provider.wsconnected).toBe(true);
    expect(closes).toBe(0);

    // Reconnecting with the old (still unexpired) editor token does not bring write access back.
    c.provider.disconnect();
    c.provider.connect();
    await waitFor(() => c.provider.synced, 5_000, 'reconnected');
    expect(server.engine.connections((i) => i.userId === m.userId).map((x) => [x.role, x.canWrite])).toEqual([['viewer', false]]);
    c.push('stale-token');
    await sleep(500);
    expect(await savedItems(t.handle.db, m.projectId)).not.toContain('stale-token');
  });

  it('removal from the org closes the socket for good (4403), and its old token is refused', async () => {
    const m = await member('editor');
    const c = connectClient(url, m.projectId, await token(m.projectId, 'editor', { sub: m.userId }));
    clients.push(c);
    await synced(c);
    const closed = new Promise<number>((resolve) => c.provider.on('closed', (e: { code: number }) => resolve(e.code)));
    await t.handle.db.delete(memberships).where(and(eq(memberships.orgId, m.orgId), eq(memberships.userId, m.userId)));
    const t0 = Date.now();
    await publish({ kind: 'org-member', orgId: m.orgId, userId: m.userId, newRole: null });
    expect(await closed).toBe(4403);
    expect(Date.now() - t0).toBeLessThan(2_000);
    await sleep(500);
    expect(c.provider.wsconnected).toBe(false);
    expect(server.engine.connections((i) => i.userId === m.userId)).toHaveLength(0);
    const again = connectClient(url, m.projectId, await token(m.projectId, 'editor', { sub: m.userId }));
    clients.push(again);
    await sleep(600);
    expect(again.provider.synced).toBe(false);
  });

  it('a project moved to the trash closes its sockets, and a still-valid token cannot reopen it', async () => {
    const m = await member('editor');
    const c = connectClient(url, m.projectId, await token(m.projectId, 'editor', { sub: m.userId }));
    clients.push(c);
    await synced(c);
    const closed = new Promise<number>((resolve) => c.provider.on('closed', (e: { code: number }) => resolve(e.code)));
    const oldToken = await token(m.projectId, 'editor', { sub: m.userId });
    await sleep(1_100); // minted well before the change
    await t.handle.db.update(projects).set({ trashedAt: new Date() }).where(eq(projects.id, m.projectId));
    await publish({ kind: 'project-closed', projectId: m.projectId });
    expect(await closed).toBeGreaterThanOrEqual(4000);
    const again = connectClient(url, m.projectId, oldToken);
    clients.push(again);
    await sleep(600);
    expect(again.provider.synced).toBe(false);
  });

  it('a message that lies (role still editor in the database) changes nothing', async () => {
    const m = await member('editor');
    const c = connectClient(url, m.projectId, await token(m.projectId, 'editor', { sub: m.userId }));
    clients.push(c);
    const notices = watchNotices(c);
    await synced(c);
    await publish({ kind: 'org-member', orgId: m.orgId, userId: m.userId, newRole: null });
    await sleep(400);
    expect(notices).toHaveLength(0);
    expect(c.provider.wsconnected).toBe(true);
    c.push('still-editor');
    await waitFor(async () => (await savedItems(t.handle.db, m.projectId)).includes('still-editor'), 5_000, 'still writes');
  });
});
