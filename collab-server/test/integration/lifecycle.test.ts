/**
 * Room lifecycle (memory): a room whose last client left unloads completely after its grace period
 * (out of the engine, its Redis subscription gone), and the next clients get a freshly loaded room
 * that is encoded until an edit hydrates it, with nothing lost: not what was stored before the
 * unload, not what a client made offline meanwhile, not the edits after it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Redis } from 'ioredis';
import * as Y from 'yjs';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { startCollabServer, type CollabServer } from '../../src/index.ts';
import type { RedisFanout } from '../../src/fanout.ts';
import { SECRET, connectClient, newProject, savedItems, sleep, sorted, synced, token, waitFor, type Client } from './support.ts';

describe('room lifecycle', () => {
  let t: TestDb;
  let server: CollabServer;
  let redis: Redis;
  const clients: Client[] = [];

  beforeAll(async () => {
    t = await createTestDb();
    redis = new Redis(TEST_REDIS_URL);
    server = await startCollabServer({
      db: t.handle,
      secret: SECRET,
      port: 0,
      logger: pino({ level: 'silent' }),
      unloadDelayMs: 300,
      dehydrateAfterMs: 100,
      keepaliveAfterMs: 300,
      redis: { url: TEST_REDIS_URL, prefix: uniquePrefix('lifecycle') },
    });
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await server.close();
    redis.disconnect();
    await t.dispose();
  });

  it('echoes a lone client’s presence renewal as a keep-alive, so an idle client is not timed out', async () => {
    const p = await newProject(t.handle.db);
    const lone = connectClient(`ws://127.0.0.1:${server.port}`, p, await token(p, 'editor'));
    clients.push(lone);
    await synced(lone);
    await sleep(400); // longer than keepaliveAfterMs with nothing sent to it
    const heardAt = lone.provider.wsLastMessageReceived;
    lone.provider.awareness.setLocalStateField('user', { name: 'alone' }); // what a renewal sends
    // Nobody else is in the room: only the echo can reach it (without it y-websocket reconnects after 30 s).
    await waitFor(() => lone.provider.wsLastMessageReceived > heardAt, 5_000, 'keep-alive echo');
    expect(lone.provider.wsconnected).toBe(true);
  });

  const subscribers = async (channel: string) => {
    const reply = (await redis.pubsub('NUMSUB', channel)) as [string, number];
    return Number(reply[1]);
  };

  it('unloads an idle room after its grace period; the next edit lands in a freshly loaded, hydrated room', async () => {
    const p = await newProject(t.handle.db);
    const url = `ws://127.0.0.1:${server.port}`;
    const channel = (server.engine.fanout as RedisFanout).channel(p);
    const events: string[] = [];
    for (const name of ['roomLoaded', 'roomHydrated', 'roomDehydrated', 'roomUnloaded'] as const) {
      server.engine.on(name, (e) => e.projectId === p && events.push(name));
    }
    const connect = async (role: 'editor' | 'viewer') => {
      const c = connectClient(url, p, await token(p, role));
      clients.push(c);
      return c;
    };

    const a = await connect('editor');
    await synced(a);
    a.push('a1', 'a2', 'a3');
    a.doc.getArray<string>('t').delete(1, 1);
    await waitFor(() => events.includes('roomDehydrated'), 5_000, 'dehydrated while open');
    expect(server.engine.openProjects()).toContain(p);
    expect(await subscribers(channel)).toBe(1);

    // A copy that keeps editing while nobody is connected.
    const offline = new Y.Doc();
    Y.applyUpdate(offline, Y.encodeStateAsUpdate(a.doc));
    a.destroy();
    await waitFor(() => events.includes('roomUnloaded'), 10_000, 'unloaded after the grace period');
    expect(server.engine.openProjects()).not.toContain(p);
    expect(server.engine.connections((info) => info.projectId === p)).toHaveLength(0);
    expect(await subscribers(channel)).toBe(0);
    expect(sorted(await savedItems(t.handle.db, p))).toEqual(['a1', 'a3']);
    offline.getArray<string>('t').push(['made-while-unloaded']);

    // The next clients: a reader, and an editor bringing the offline edit in its sync step 2.
    const reader = await connect('viewer');
    const b = connectClient(url, p, await token(p, 'editor'));
    clients.push(b);
    Y.applyUpdate(b.doc, Y.encodeStateAsUpdate(offline));
    await Promise.all([synced(reader), synced(b)]);
    await waitFor(() => reader.items().includes('made-while-unloaded'), 5_000, 'offline edit reached the reader');
    expect(await subscribers(channel)).toBe(1);

    b.push('after-reload');
    await waitFor(() => reader.items().includes('after-reload'), 5_000, 'edit after the reload broadcast');
    expect(reader.items()).toEqual(b.items());
    expect(sorted(reader.items())).toEqual(['a1', 'a3', 'after-reload', 'made-while-unloaded']);
    await server.engine.flush();
    expect(sorted(await savedItems(t.handle.db, p))).toEqual(sorted(reader.items()));

    // Unloaded, then loaded again (encoded), then hydrated by the first edit that arrived.
    const unloadedAt = events.indexOf('roomUnloaded');
    const reloaded = events.indexOf('roomLoaded', unloadedAt);
    expect(events.filter((e) => e === 'roomLoaded')).toHaveLength(2);
    expect(reloaded).toBeGreaterThan(unloadedAt);
    expect(events.indexOf('roomHydrated', reloaded)).toBeGreaterThan(reloaded);

    // Presence flows in the reloaded room.
    b.provider.awareness.setLocalStateField('user', { name: 'B' });
    await waitFor(() => [...reader.provider.awareness.getStates().values()].some((s) => (s as { user?: { name?: string } }).user?.name === 'B'), 5_000, 'presence after reload');
  });
});
