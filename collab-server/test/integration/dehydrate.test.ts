/**
 * Idle documents kept only encoded (memory): a room dehydrates after `dehydrateAfterMs` without
 * changes while clients stay connected; new clients sync from the encoded state, presence keeps
 * flowing without hydrating, and the next edit hydrates it with nothing lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import * as Y from 'yjs';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { startCollabServer, type CollabServer } from '../../src/index.ts';
import { SECRET, connectClient, newProject, savedItems, sorted, synced, token, waitFor, type Client } from './support.ts';

describe('idle rooms keep their document encoded', () => {
  let t: TestDb;
  let server: CollabServer;
  const clients: Client[] = [];

  beforeAll(async () => {
    t = await createTestDb();
    server = await startCollabServer({ db: t.handle, secret: SECRET, port: 0, logger: pino({ level: 'silent' }), dehydrateAfterMs: 150 });
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await server.close();
    await t.dispose();
  });

  it('dehydrates while clients stay, serves sync from the encoded state, hydrates on the next edit', async () => {
    const p = await newProject(t.handle.db);
    const url = `ws://127.0.0.1:${server.port}`;
    const events: string[] = [];
    server.engine.on('roomDehydrated', (e) => e.projectId === p && events.push('dehydrated'));
    server.engine.on('roomHydrated', (e) => e.projectId === p && events.push('hydrated'));

    const a = connectClient(url, p, await token(p, 'editor'));
    clients.push(a);
    await synced(a);
    for (let i = 0; i < 5; i++) a.push(`a${i}`);
    a.doc.getArray<string>('t').delete(0, 1); // a deletion must survive the encode/decode too
    await waitFor(() => events.includes('dehydrated'), 5_000, 'dehydrated');

    // A newcomer syncs the whole document from the encoded form; no hydration needed for that.
    const b = connectClient(url, p, await token(p, 'viewer'));
    clients.push(b);
    await synced(b);
    await waitFor(() => b.items().length === 4, 5_000, 'newcomer has everything');
    expect(b.items()).toEqual(a.items());
    // Presence flows without hydrating.
    a.provider.awareness.setLocalStateField('user', { name: 'A' });
    await waitFor(() => [...b.provider.awareness.getStates().values()].some((s) => (s as { user?: { name?: string } }).user?.name === 'A'), 5_000, 'presence');
    // The room loaded encoded (no Y.Doc built for an empty/unchanged document); a's first edit hydrated it.
    expect(events).toEqual(['hydrated', 'dehydrated']);

    // The next edit hydrates, is stored, applied and broadcast; then the room dehydrates again.
    a.push('after');
    await waitFor(() => b.items().includes('after'), 5_000, 'edit after dehydration');
    expect(events.slice(0, 3)).toEqual(['hydrated', 'dehydrated', 'hydrated']);
    await waitFor(() => events.length === 4, 5_000, 'dehydrated again');

    // A client that was offline sends what it made meanwhile (sync step 2 into a dehydrated room).
    const offline = new Y.Doc();
    Y.applyUpdate(offline, Y.encodeStateAsUpdate(a.doc));
    offline.getArray<string>('t').push(['made-offline']);
    const c = connectClient(url, p, await token(p, 'editor'));
    clients.push(c);
    Y.applyUpdate(c.doc, Y.encodeStateAsUpdate(offline));
    await synced(c);
    await waitFor(() => a.items().includes('made-offline') && b.items().includes('made-offline'), 5_000, 'offline edit merged');
    await server.engine.flush();
    expect(sorted(await savedItems(t.handle.db, p))).toEqual(sorted(a.items()));
    expect(a.items()).toEqual(c.items());
  });
});
