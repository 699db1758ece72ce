/** The engine driven through plain in-memory transports (no sockets), on real Postgres. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { randomUUID } from 'node:crypto';
import postgres from 'postgres';
import { pino } from 'pino';
import * as Y from 'yjs';
import type { CollabRole } from '@clipmaker/shared/collab';
import { documentSnapshots, documentUpdates } from '@clipmaker/db/schema';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { CLOSE_CODES, CollabEngine, type CollabEngineOptions } from '../../src/index.ts';
import { decodeClientMessage, encodeSyncStep1, encodeSyncStep2, encodeSyncUpdate } from '../../src/protocol.ts';
import { newProject, savedItems, waitFor } from './support.ts';

function fakeClient(engine: CollabEngine, projectId: string, role: CollabRole = 'editor') {
  const sent: Uint8Array[] = [];
  let closedWith: { code: number; reason: string } | null = null;
  const conn = engine.connect(
    { projectId, userId: randomUUID(), userName: 'n', role },
    {
      send: (f) => sent.push(f),
      close: (code, reason) => (closedWith = { code, reason }),
    },
  );
  return {
    conn,
    sent,
    closed: () => closedWith,
    /** Sends a sync update that pushes `items` to the array 't' from a fresh client. */
    push(...items: string[]) {
      const d = new Y.Doc();
      d.getArray<string>('t').push(items);
      conn.receive(encodeSyncUpdate(Y.encodeStateAsUpdate(d)));
    },
  };
}

describe('collab engine', () => {
  let t: TestDb;
  const engines: CollabEngine[] = [];
  const engine = (opts: Partial<CollabEngineOptions> = {}) => {
    const e = new CollabEngine({ db: t.handle, logger: pino({ level: 'silent' }), unloadDelayMs: 50, ...opts });
    engines.push(e);
    return e;
  };
  const rows = async (p: string) => t.handle.db.select().from(documentUpdates).where(eq(documentUpdates.projectId, p));

  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(async () => {
    for (const e of engines) await e.close();
    await t.dispose();
  });

  it('close() stores everything already received, even while stores are slow', async () => {
    const p = await newProject(t.handle.db);
    const admin = postgres(t.url, { max: 1, onnotice: () => {} });
    await admin.unsafe(`
      create or replace function cm_slow_insert2() returns trigger language plpgsql as $$
      begin perform pg_sleep(0.05); return new; end $$;
      create trigger cm_slow2 before insert on document_updates for each row execute function cm_slow_insert2();`);
    try {
      const e = engine();
      const c = fakeClient(e, p);
      for (let i = 0; i < 20; i++) c.push(`i${i}`);
      await waitFor(() => e.stats().pendingUpdates > 0 || e.stats().rooms === 1, 5_000);
      await e.close();
      expect(c.closed()?.code).toBe(CLOSE_CODES.goingAway);
      expect((await savedItems(t.handle.db, p)).length).toBe(20);
    } finally {
      await admin.unsafe('drop trigger cm_slow2 on document_updates; drop function cm_slow_insert2();');
      await admin.end();
    }
  });

  it('while a batch commits (already applied to the room doc), nothing of it reaches a client; a failed store then reloads the whole room', async () => {
    const p = await newProject(t.handle.db);
    const ghost = randomUUID(); // no such project: its insert fails (foreign key), after the slow trigger
    const admin = postgres(t.url, { max: 1, onnotice: () => {} });
    await admin.unsafe(`
      create or replace function cm_slow_insert3() returns trigger language plpgsql as $$
      begin perform pg_sleep(0.4); return new; end $$;
      create trigger cm_slow3 before insert on document_updates for each row execute function cm_slow_insert3();`);
    /** The items of array 't' in what a client received (sync step 2 and updates). */
    const seen = (frames: Uint8Array[]) => {
      const d = new Y.Doc();
      for (const f of frames) {
        const m = decodeClientMessage(f);
        if (m.type === 'sync-step2' || m.type === 'sync-update') Y.applyUpdate(d, m.update);
      }
      return d.getArray<string>('t').toArray();
    };
    try {
      const e = engine();
      const writer = fakeClient(e, p);
      const reader = fakeClient(e, p, 'viewer');
      await waitFor(() => writer.sent.length > 0 && reader.sent.length > 0, 5_000, 'loaded');
      // Whenever the reader is sent anything holding 'x', the row must already be committed.
      const checks: Promise<number>[] = [];
      const send = reader.sent.push.bind(reader.sent);
      reader.sent.push = (...f: Uint8Array[]) => {
        const n = send(...f);
        if (seen(reader.sent).includes('x')) checks.push(rows(p).then((r) => r.length));
        return n;
      };
      writer.push('x');
      await new Promise((r) => setTimeout(r, 100)); // the insert is in its 0.4 s trigger now
      reader.conn.receive(encodeSyncStep1(Y.encodeStateVector(new Y.Doc())));
      await e.flush();
      await waitFor(() => checks.length >= 2, 5_000, 'sync step 2 and the update');
      expect(await Promise.all(checks)).toEqual(checks.map(() => 1));
      expect(seen(reader.sent)).toEqual(['x']);

      const failed: number[] = [];
      e.on('persistFailed', (ev) => failed.push(ev.count));
      const bad = fakeClient(e, ghost);
      const watcher = fakeClient(e, ghost, 'viewer');
      await waitFor(() => bad.sent.length > 0, 5_000, 'ghost room loaded');
      bad.push('lost');
      await waitFor(() => bad.closed() !== null && watcher.closed() !== null, 5_000, 'room reloaded');
      expect([bad.closed()?.code, watcher.closed()?.code]).toEqual([CLOSE_CODES.internalError, CLOSE_CODES.internalError]);
      expect(failed).toEqual([1]);
      expect(seen(watcher.sent)).toEqual([]);
      // The reloaded room serves what is stored (nothing), not what the old doc held.
      const again = fakeClient(e, ghost, 'viewer');
      await waitFor(() => again.sent.length > 0, 5_000, 'reloaded');
      again.conn.receive(encodeSyncStep1(Y.encodeStateVector(new Y.Doc())));
      await waitFor(() => again.sent.length > 1, 5_000, 'sync step 2');
      expect(seen(again.sent)).toEqual([]);
      expect(writer.closed()).toBeNull();
    } finally {
      await admin.unsafe('drop trigger cm_slow3 on document_updates; drop function cm_slow_insert3();');
      await admin.end();
    }
  });

  it('frames that arrive while the room loads are handled in order once it is loaded', async () => {
    const p = await newProject(t.handle.db);
    const e = engine();
    const c = fakeClient(e, p);
    c.push('early-1');
    c.push('early-2');
    expect(c.sent).toHaveLength(0); // nothing before the load finished
    await waitFor(() => c.sent.length > 0, 5_000, 'greeting');
    await e.flush();
    expect(await savedItems(t.handle.db, p)).toEqual(['early-1', 'early-2']);
  });

  it('a failed store closes the writers involved with 1011; the engine and other rooms go on', async () => {
    const ghost = randomUUID(); // no such project: the insert violates the foreign key
    const p = await newProject(t.handle.db);
    const e = engine();
    const failed: number[] = [];
    e.on('persistFailed', (ev) => failed.push(ev.count));
    const bad = fakeClient(e, ghost);
    const good = fakeClient(e, p);
    bad.push('lost');
    good.push('kept');
    await waitFor(() => bad.closed() !== null, 5_000, 'close');
    expect(bad.closed()?.code).toBe(CLOSE_CODES.internalError);
    expect(failed).toEqual([1]);
    await e.flush();
    expect(await savedItems(t.handle.db, p)).toEqual(['kept']);
    expect(good.closed()).toBeNull();
  });

  it('compacts every N stored updates and on unload, keeping the document identical', async () => {
    const p = await newProject(t.handle.db);
    const e = engine({ compactEvery: 5 });
    const compactions: number[] = [];
    e.on('compacted', (ev) => compactions.push(ev.foldedUpdates));
    const c = fakeClient(e, p);
    await waitFor(() => c.sent.length > 0, 5_000, 'loaded');
    for (let i = 0; i < 12; i++) {
      c.push(`c${String(i).padStart(2, '0')}`);
      await e.flush();
    }
    await waitFor(() => compactions.length >= 2, 5_000, 'periodic compactions');
    expect((await rows(p)).length).toBeLessThan(12);
    const unloaded = new Promise<void>((resolve) => e.on('roomUnloaded', (ev) => ev.projectId === p && resolve()));
    c.conn.disconnect();
    await unloaded;
    expect(await rows(p)).toHaveLength(0);
    expect(await t.handle.db.select().from(documentSnapshots).where(eq(documentSnapshots.projectId, p))).toHaveLength(1);
    expect(await savedItems(t.handle.db, p)).toEqual(Array.from({ length: 12 }, (_, i) => `c${String(i).padStart(2, '0')}`));
  });

  it('does not store empty updates nor a reconnecting client’s already-known deletions', async () => {
    const p = await newProject(t.handle.db);
    const e = engine();
    const local = new Y.Doc();
    const arr = local.getArray<string>('t');
    arr.push(['a', 'b', 'c']);
    arr.delete(0, 1);
    const c = fakeClient(e, p);
    c.conn.receive(encodeSyncStep2(Y.encodeStateAsUpdate(local)));
    await waitFor(() => c.sent.length > 0, 5_000);
    await e.flush();
    const stored = (await rows(p)).length;
    expect(stored).toBe(1);
    // reconnect: its step 2 is a diff against the server state vector: no structs, the delete set only
    const again = fakeClient(e, p);
    const sv = Y.encodeStateVector(local);
    again.conn.receive(encodeSyncStep2(Y.encodeStateAsUpdate(local, sv)));
    again.conn.receive(encodeSyncStep2(Y.encodeStateAsUpdate(new Y.Doc())));
    await e.flush();
    expect((await rows(p)).length).toBe(stored);
    // a new deletion is stored
    const updates: Uint8Array[] = [];
    local.on('update', (u: Uint8Array) => updates.push(u));
    arr.delete(0, 1);
    again.conn.receive(encodeSyncUpdate(updates[0]!));
    await e.flush();
    expect((await rows(p)).length).toBe(stored + 1);
    expect(await savedItems(t.handle.db, p)).toEqual(['c']);
  });

  it('a connection arriving while its room unloads gets a freshly loaded room with everything', async () => {
    const p = await newProject(t.handle.db);
    const e = engine({ unloadDelayMs: 0 });
    const a = fakeClient(e, p);
    a.push('before-unload');
    await e.flush();
    a.conn.disconnect();
    await new Promise((r) => setTimeout(r, 1)); // the unload starts
    const b = fakeClient(e, p);
    await waitFor(() => b.sent.length > 0, 5_000, 'greeting');
    b.push('after');
    await e.flush();
    expect(await savedItems(t.handle.db, p)).toEqual(['after', 'before-unload']);
  });

  it('a throwing event listener does not break the engine', async () => {
    const p = await newProject(t.handle.db);
    const e = engine();
    e.on('updatesStored', () => {
      throw new Error('metrics exploded');
    });
    const c = fakeClient(e, p);
    c.push('x');
    await waitFor(async () => (await savedItems(t.handle.db, p)).length === 1, 5_000);
    c.push('y');
    await waitFor(async () => (await savedItems(t.handle.db, p)).length === 2, 5_000);
    expect(c.closed()).toBeNull();
  });

  it('refuses new connections once closing', async () => {
    const p = await newProject(t.handle.db);
    const e = engine();
    await e.close();
    const c = fakeClient(e, p);
    expect(c.closed()?.code).toBe(CLOSE_CODES.goingAway);
    expect(e.stats()).toEqual({ rooms: 0, connections: 0, pendingUpdates: 0 });
  });
});
