/**
 * Bad input closes the offending socket only; everyone else keeps syncing and nothing bad is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import * as encoding from 'lib0/encoding';
import { pino } from 'pino';
import * as Y from 'yjs';
import { documentUpdates } from '@clipmaker/db/schema';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { startCollabServer, type CollabServer } from '../../src/index.ts';
import { encodeAwarenessMessage, encodeAwarenessUpdate, encodeSyncUpdate } from '../../src/protocol.ts';
import { SECRET, closed, connectClient, newProject, opened, rawSocket, savedItems, sorted, synced, token, waitFor, type Client } from './support.ts';

function frame(write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder();
  write(e);
  return encoding.toUint8Array(e);
}

describe('bad frames', () => {
  let t: TestDb;
  let server: CollabServer;
  let small: CollabServer;
  let url: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    t = await createTestDb();
    server = await startCollabServer({ db: t.handle, secret: SECRET, port: 0, logger: pino({ level: 'silent' }) });
    small = await startCollabServer({ db: t.handle, secret: SECRET, port: 0, logger: pino({ level: 'silent' }), maxMessageBytes: 64 * 1024 });
    url = `ws://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await server.close();
    await small.close();
    await t.dispose();
  });

  async function twoEditors(p: string, base = url): Promise<[Client, Client]> {
    const a = connectClient(base, p, await token(p, 'editor'));
    const b = connectClient(base, p, await token(p, 'editor'));
    clients.push(a, b);
    await Promise.all([synced(a), synced(b)]);
    return [a, b];
  }

  async function stillSyncing(a: Client, b: Client, tag: string): Promise<void> {
    a.push(`${tag}-a`);
    b.push(`${tag}-b`);
    await waitFor(() => a.items().includes(`${tag}-b`) && b.items().includes(`${tag}-a`), 10_000, `sync after ${tag}`);
  }

  it('malformed frames close that socket with 4400; other clients keep syncing; nothing is stored', async () => {
    const p = await newProject(t.handle.db);
    const [a, b] = await twoEditors(p);
    const bad: Record<string, Uint8Array | string> = {
      garbage: new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
      empty: new Uint8Array([]),
      'unknown message type': new Uint8Array([9, 0]),
      'unknown sync type': new Uint8Array([0, 7, 1, 0]),
      'length prefix past the end': new Uint8Array([0, 2, 50, 1, 2, 3]),
      'update that does not decode': frame((e) => {
        encoding.writeVarUint(e, 0);
        encoding.writeVarUint(e, 2);
        encoding.writeVarUint8Array(e, new Uint8Array([5, 200, 1, 2, 3, 4, 5, 6, 7, 8]));
      }),
      'awareness state that is not JSON': encodeAwarenessMessage(encodeAwarenessUpdate([{ clientId: 1, clock: 1, state: '{nope' }])),
      'text frame': 'hello',
    };
    const results = await Promise.all(
      Object.entries(bad).map(async ([name, data]) => {
        const ws = rawSocket(url, p, await token(p, 'editor'));
        await opened(ws);
        const done = closed(ws);
        ws.send(data);
        return [name, (await done).code] as const;
      }),
    );
    for (const [name, code] of results) expect({ name, code }).toEqual({ name, code: 4400 });
    await stillSyncing(a, b, 'after-malformed');
    await server.engine.flush();
    expect(await savedItems(t.handle.db, p)).toEqual(['after-malformed-a', 'after-malformed-b']);
  });

  it('a frame over maxMessageBytes (default 10 MiB) closes that socket with 4413', async () => {
    const p = await newProject(t.handle.db);
    const [a, b] = await twoEditors(p);
    const connectionsBefore = server.engine.stats().connections;
    const ws = rawSocket(url, p, await token(p, 'editor'));
    await opened(ws);
    const done = closed(ws);
    const big = new Uint8Array(10 * 1024 * 1024 + 1);
    big[0] = 0;
    big[1] = 2;
    ws.send(big);
    expect((await done).code).toBe(4413);
    await stillSyncing(a, b, 'after-big');
    expect(server.engine.stats().connections).toBe(connectionsBefore);
  });

  it('a frame over the hard cap is cut by ws (1009) without buffering it; others keep syncing', async () => {
    const p = await newProject(t.handle.db);
    const [a, b] = await twoEditors(p, `ws://127.0.0.1:${small.port}`);
    const over = rawSocket(`ws://127.0.0.1:${small.port}`, p, await token(p, 'editor'));
    const mid = rawSocket(`ws://127.0.0.1:${small.port}`, p, await token(p, 'editor'));
    await Promise.all([opened(over), opened(mid)]);
    const [overClosed, midClosed] = [closed(over), closed(mid)];
    mid.send(new Uint8Array(100 * 1024)); // > 64 KiB limit, < hard cap
    over.send(new Uint8Array(300 * 1024)); // > hard cap (2 x limit + 1 KiB)
    expect((await midClosed).code).toBe(4413);
    expect((await overClosed).code).toBe(1009);
    await stillSyncing(a, b, 'after-cap');
  });

  it('an update that decodes but cannot be applied is removed again; the room reloads and clients resync', async () => {
    const p = await newProject(t.handle.db);
    // The room's document, built locally so candidate updates can be tried against an exact copy.
    const base = new Y.Doc();
    const m = base.getMap('m');
    m.set('a', 1);
    const arr = new Y.Array<unknown>();
    m.set('arr', arr);
    arr.push(['x', { k: 2 }]);
    base.getText('txt').insert(0, 'hello world');
    base.getText('txt').delete(2, 3);
    const baseState = Y.encodeStateAsUpdate(base);

    const [a, b] = await twoEditors(p);
    Y.applyUpdate(a.doc, baseState);
    await waitFor(() => b.doc.getText('txt').toString() === 'he world', 10_000, 'base state');
    await server.engine.flush();

    // Find a mutation of a legitimate update that decodes fine yet throws when integrated.
    const next = new Y.Doc();
    Y.applyUpdate(next, baseState);
    const updates: Uint8Array[] = [];
    next.on('update', (u: Uint8Array) => updates.push(u));
    (next.getMap('m').get('arr') as Y.Array<unknown>).insert(1, ['y']);
    next.getText('txt').insert(3, 'ZZ');
    next.getMap('m').set('b', new Y.Map());
    updates.push(baseState);
    let seed = 7;
    const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
    let poison: Uint8Array | null = null;
    for (let i = 0; i < 50_000 && !poison; i++) {
      const u = updates[i % updates.length]!.slice();
      for (let j = 0; j < 1 + Math.floor(rnd() * 3); j++) u[Math.floor(rnd() * u.length)] = Math.floor(rnd() * 256);
      try {
        Y.decodeUpdate(u);
      } catch {
        continue;
      }
      const copy = new Y.Doc();
      Y.applyUpdate(copy, baseState);
      try {
        Y.applyUpdate(copy, u);
      } catch {
        poison = u;
      }
    }
    expect(poison).not.toBeNull();

    const closeCodes: number[] = [];
    a.provider.on('connection-close', (ev) => closeCodes.push(ev?.code ?? -1));
    const ws = rawSocket(url, p, await token(p, 'editor'));
    await opened(ws);
    const done = closed(ws);
    ws.send(encodeSyncUpdate(poison!));
    expect((await done).code).toBe(4400);
    // the others were disconnected (1011, transient) and come back to a freshly loaded room
    await waitFor(() => a.provider.synced && b.provider.synced, 10_000, 'reconnect');
    await stillSyncing(a, b, 'after-poison');
    await server.engine.flush();
    expect(closeCodes).toContain(1011);
    const rows = await t.handle.db.select().from(documentUpdates).where(eq(documentUpdates.projectId, p));
    const hex = (u: Uint8Array) => Buffer.from(u).toString('hex');
    expect(rows.map((r) => hex(r.update))).not.toContain(hex(poison!));
    // the saved document loads and holds everything legitimate
    expect(await savedItems(t.handle.db, p)).toEqual(['after-poison-a', 'after-poison-b']);
    const reloaded = connectClient(url, p, await token(p, 'viewer'));
    clients.push(reloaded);
    await synced(reloaded);
    expect(reloaded.doc.getText('txt').toString()).toBe('he world');
    expect(sorted(reloaded.items())).toEqual(['after-poison-a', 'after-poison-b']);
  });

  it("a connection cannot overwrite or remove another client's presence", async () => {
    const p = await newProject(t.handle.db);
    const [a, b] = await twoEditors(p);
    a.provider.awareness.setLocalStateField('user', { name: 'Alice' });
    const aId = a.doc.clientID;
    await waitFor(() => (b.provider.awareness.getStates().get(aId)?.user as { name?: string } | undefined)?.name === 'Alice', 10_000, 'presence');

    const ws = rawSocket(url, p, await token(p, 'viewer'));
    await opened(ws);
    ws.send(encodeAwarenessMessage(encodeAwarenessUpdate([{ clientId: aId, clock: 999, state: JSON.stringify({ user: { name: 'Mallory' } }) }])));
    ws.send(encodeAwarenessMessage(encodeAwarenessUpdate([{ clientId: aId, clock: 1000, state: 'null' }])));
    // its own presence goes through (and proves the frames above were processed)
    ws.send(encodeAwarenessMessage(encodeAwarenessUpdate([{ clientId: 4242, clock: 1, state: JSON.stringify({ user: { name: 'Own' } }) }])));
    await waitFor(() => b.provider.awareness.getStates().has(4242), 10_000, 'own presence');
    expect((b.provider.awareness.getStates().get(aId)?.user as { name?: string } | undefined)?.name).toBe('Alice');
    // and it disappears when that socket leaves
    ws.close();
    await waitFor(() => !b.provider.awareness.getStates().has(4242), 10_000, 'presence removed');
  });
});
