/**
 * Two collab servers (in this process, each with its own Redis connections) on one database and one
 * Redis prefix: presence crosses between them and leaves with its client; /metrics needs the bearer
 * token and reports rooms, clients, updates/s, the store histogram and the fan-out lag.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { startCollabServer, type CollabServer } from '../../src/index.ts';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { SECRET, connectClient, newProject, synced, token, waitFor, type Client } from './support.ts';
import { getJson } from './cluster-support.ts';

describe('fan-out between collab servers', () => {
  let t: TestDb;
  let s1: CollabServer;
  let s2: CollabServer;
  const clients: Client[] = [];

  beforeAll(async () => {
    t = await createTestDb();
    const prefix = uniquePrefix('fanout');
    const opts = { db: t.handle, secret: SECRET, port: 0, logger: pino({ level: 'silent' }), redis: { url: TEST_REDIS_URL, prefix }, metricsToken: 'metrics-secret-token' };
    s1 = await startCollabServer(opts);
    s2 = await startCollabServer(opts);
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await s1?.close();
    await s2?.close();
    await t?.dispose();
  });

  it('presence and edits cross processes; presence leaves with its client', async () => {
    const p = await newProject(t.handle.db);
    const a = connectClient(`ws://127.0.0.1:${s1.port}`, p, await token(p, 'editor'));
    const b = connectClient(`ws://127.0.0.1:${s2.port}`, p, await token(p, 'viewer'));
    clients.push(a, b);
    await Promise.all([synced(a), synced(b)]);
    a.provider.awareness.setLocalStateField('user', { name: 'Ada' });
    const hasAda = () => [...b.provider.awareness.getStates().values()].some((s) => (s as { user?: { name?: string } }).user?.name === 'Ada');
    await waitFor(hasAda, 5_000, 'presence from the other process');
    for (let i = 0; i < 5; i++) a.push(`x${i}`);
    await waitFor(() => b.items().length === 5, 5_000, 'edits from the other process');

    a.provider.disconnect();
    await waitFor(() => !hasAda(), 5_000, 'presence removed when its client leaves');
  });

  it('/metrics: bearer token, rooms, clients, updates/s, store histogram, fan-out lag', async () => {
    expect((await getJson(s2.port, '/metrics')).status).toBe(401);
    expect((await getJson(s2.port, '/metrics', { authorization: 'Bearer wrong-token-xxxxxxxx' })).status).toBe(401);
    const m1 = await getJson(s1.port, '/metrics', { authorization: 'Bearer metrics-secret-token' });
    const m2 = await getJson(s2.port, '/metrics', { authorization: 'Bearer metrics-secret-token' });
    expect(m1.status).toBe(200);
    expect(m1.body).toMatch(/^collab_rooms 1$/m);
    expect(m1.body).toMatch(/^collab_updates_per_second 0\.5$/m);
    expect(m1.body).toMatch(/^collab_store_seconds_count [1-5]$/m);
    expect(m2.body).toMatch(/^collab_connections 1$/m);
    expect(m2.body).toMatch(/^collab_remote_updates_total 5$/m);
    expect(Number(/^collab_fanout_lag_seconds_count (\d+)$/m.exec(m2.body)?.[1])).toBeGreaterThanOrEqual(6);
  });
});
