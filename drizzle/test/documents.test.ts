/**
 * The document repository on real Postgres (and once on PGlite), with real Yjs updates: each test
 * update is one token pushed to the array 't' by its own Y.Doc (own client id), so the saved
 * document's content is exactly the set of tokens whose updates were kept.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq, inArray } from 'drizzle-orm';
import postgres from 'postgres';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as Y from 'yjs';
import { createTestDb, type TestDb } from '../../tests/support/db.ts';
import { createDb, type Db } from '../index.ts';
import { migrate } from '../migrate.ts';
import { documentSnapshots, documentUpdates, orgs, projects, users } from '../schema.ts';
import {
  appendUpdate,
  appendUpdates,
  compact,
  createUpdateWriter,
  createNamedSnapshot,
  deleteUpdates,
  getSnapshot,
  listSnapshots,
  loadDocumentParts,
  loadDocumentState,
} from '../documents.ts';

/** A Yjs update that adds these tokens (from a fresh client). */
function upd(...toks: string[]): Uint8Array {
  const d = new Y.Doc();
  d.getArray<string>('t').push(toks);
  return Y.encodeStateAsUpdate(d);
}
/** The sorted tokens of a document state. */
function tokens(state: Uint8Array): string[] {
  const d = new Y.Doc();
  Y.applyUpdate(d, state);
  return d.getArray<string>('t').toArray().sort();
}

async function newProject(db: Db): Promise<string> {
  const [org] = await db.insert(orgs).values({ name: 'Acme' }).returning();
  const [project] = await db.insert(projects).values({ orgId: org!.id, name: 'P' }).returning();
  return project!.id;
}

describe('document repository on real Postgres', () => {
  let t: TestDb;
  let db: Db;
  beforeAll(async () => {
    t = await createTestDb();
    db = t.handle.db;
  });
  afterAll(async () => {
    await t.dispose();
  });

  it('loads a never-edited document as an empty Yjs update with lastUpdateId 0', async () => {
    const p = await newProject(db);
    const doc = await loadDocumentState(db, p);
    expect(tokens(doc.state)).toEqual([]);
    expect(doc.lastUpdateId).toBe(0);
  });

  it('appends updates with increasing ids and loads them merged, per project', async () => {
    const p = await newProject(db);
    const other = await newProject(db);
    const a = await appendUpdate(db, p, upd('a'), null);
    const b = await appendUpdate(db, p, upd('b'));
    await appendUpdate(db, other, upd('not-mine'));
    expect(b).toBeGreaterThan(a);
    const doc = await loadDocumentState(db, p);
    expect(tokens(doc.state)).toEqual(['a', 'b']);
    expect(doc.lastUpdateId).toBe(b);
    const parts = await loadDocumentParts(db, p);
    expect(parts.snapshot).toBeNull();
    expect(parts.updates.map((u) => u.id)).toEqual([a, b]);
  });

  it('deletes specific rows of one project only', async () => {
    const p = await newProject(db);
    const other = await newProject(db);
    const [a, b] = await appendUpdates(db, p, [{ update: upd('a') }, { update: upd('b') }]);
    const foreign = await appendUpdate(db, other, upd('f'));
    expect(await deleteUpdates(db, p, [b!, foreign])).toBe(1);
    expect(tokens((await loadDocumentState(db, p)).state)).toEqual(['a']);
    expect(tokens((await loadDocumentState(db, other)).state)).toEqual(['f']);
    expect(await deleteUpdates(db, p, [])).toBe(0);
    expect(a).toBeLessThan(b!);
  });

  it('returns a single stored piece byte for byte', async () => {
    const p = await newProject(db);
    const only = upd('only');
    await appendUpdate(db, p, only);
    const doc = await loadDocumentState(db, p);
    expect(Array.from(doc.state)).toEqual(Array.from(only));
  });

  it('garbage-collects deleted content when compacting', async () => {
    const p = await newProject(db);
    const d = new Y.Doc();
    const stored: Uint8Array[] = [];
    d.on('update', (u: Uint8Array) => stored.push(u));
    d.getText('x').insert(0, 'y'.repeat(50_000));
    d.getText('x').delete(0, 49_990);
    for (const u of stored) await appendUpdate(db, p, u);
    const r = await compact(db, p);
    expect(r!.bytes).toBeLessThan(1_000);
    const back = new Y.Doc();
    Y.applyUpdate(back, (await loadDocumentState(db, p)).state);
    expect(back.getText('x').toString()).toBe('y'.repeat(10));
  });

  it('appends a batch in order and records only real user ids', async () => {
    const p = await newProject(db);
    const [user] = await db.insert(users).values({ email: `u${Date.now()}@x.test`, name: 'U', passwordHash: 'x' }).returning();
    const ids = await appendUpdates(db, p, [
      { update: upd('1'), userId: user!.id },
      { update: upd('2'), userId: 'anon:share-link-7' },
      { update: upd('3') },
    ]);
    expect(ids).toHaveLength(3);
    expect([...ids].sort((x, y) => x - y)).toEqual(ids);
    const rows = await db.select().from(documentUpdates).where(eq(documentUpdates.projectId, p)).orderBy(documentUpdates.id);
    expect(rows.map((r) => r.userId)).toEqual([user!.id, null, null]);
    expect(rows.map((r) => tokens(r.update))).toEqual([['1'], ['2'], ['3']]);
    expect(await appendUpdates(db, p, [])).toEqual([]);
  });

  it('the update writer stores what several projects queue at once in ONE insert, in order, ids per caller', async () => {
    const a = await newProject(db);
    const b = await newProject(db);
    const [user] = await db.insert(users).values({ email: `w${Date.now()}@x.test`, name: 'W', passwordHash: 'x' }).returning();
    const admin = postgres(t.url, { max: 1, onnotice: () => {} });
    // A statement-level trigger counts insert statements on document_updates.
    await admin.unsafe(`
      create table cm_insert_count (n int not null); insert into cm_insert_count values (0);
      create function cm_count_insert() returns trigger language plpgsql as $$ begin update cm_insert_count set n = n + 1; return null; end $$;
      create trigger cm_count after insert on document_updates for each statement execute function cm_count_insert();`);
    const writer = createUpdateWriter(t.handle);
    try {
      const [ia, ib, ia2] = await Promise.all([
        writer.append(a, [{ update: upd('a1'), userId: user!.id }, { update: upd('a2'), userId: 'anon:x' }]),
        writer.append(b, [{ update: upd('b1') }]),
        writer.append(a, [{ update: upd('a3') }]),
      ]);
      const [row] = await admin<{ n: number }[]>`select n from cm_insert_count`;
      expect(row?.n).toBe(1);
      expect([...ia!, ...ib!, ...ia2!]).toEqual([...ia!, ...ib!, ...ia2!].sort((x, y) => x - y));
      const rowsA = await db.select().from(documentUpdates).where(eq(documentUpdates.projectId, a)).orderBy(documentUpdates.id);
      expect(rowsA.map((r) => r.id)).toEqual([...ia!, ...ia2!]);
      expect(rowsA.map((r) => tokens(r.update))).toEqual([['a1'], ['a2'], ['a3']]);
      expect(rowsA.map((r) => r.userId)).toEqual([user!.id, null, null]);
      expect(tokens((await loadDocumentState(db, b)).state)).toEqual(['b1']);

      // One update alone (the single-row statement): same bytes, user id and id order.
      const lone = [upd('b-lone'), upd('b-lone-2')];
      const [id1] = await writer.append(b, [{ update: lone[0]!, userId: user!.id }]);
      const [id2] = await writer.append(b, [{ update: lone[1]!, userId: 'anon:y' }]);
      expect(id1).toBeGreaterThan(Math.max(...ia!, ...ib!, ...ia2!));
      expect(id2).toBeGreaterThan(id1!);
      const lones = await db.select().from(documentUpdates).where(inArray(documentUpdates.id, [id1!, id2!])).orderBy(documentUpdates.id);
      expect(lones.map((r, i) => [Buffer.from(r.update).equals(Buffer.from(lone[i]!)), r.userId])).toEqual([[true, user!.id], [true, null]]);
      await deleteUpdates(db, b, [id1!, id2!]);

      // A project deleted meanwhile fails its own rows only; the others in the same turn are stored.
      const gone = await newProject(db);
      await db.delete(projects).where(eq(projects.id, gone));
      const [ok, bad] = await Promise.allSettled([writer.append(b, [{ update: upd('b2') }]), writer.append(gone, [{ update: upd('x') }])]);
      expect(ok.status).toBe('fulfilled');
      expect(bad.status).toBe('rejected');
      expect(tokens((await loadDocumentState(db, b)).state)).toEqual(['b1', 'b2']);

      // close() stores what is queued first, then refuses.
      const last = writer.append(a, [{ update: upd('a4') }]);
      await writer.close();
      expect((await last).length).toBe(1);
      expect(tokens((await loadDocumentState(db, a)).state)).toEqual(['a1', 'a2', 'a3', 'a4']);
      await expect(writer.append(a, [{ update: upd('late') }])).rejects.toThrow(/closed/);
    } finally {
      await writer.close();
      await admin.unsafe('drop trigger cm_count on document_updates; drop function cm_count_insert(); drop table cm_insert_count;');
      await admin.end();
    }
  });

  it('compacts into one snapshot, deletes folded rows, keeps the document identical', async () => {
    const p = await newProject(db);
    for (const x of ['a', 'b', 'c']) await appendUpdate(db, p, upd(x));
    const before = await loadDocumentState(db, p);

    const r1 = await compact(db, p);
    expect(r1).toMatchObject({ foldedUpdates: 3, uptoUpdateId: before.lastUpdateId });
    expect(await db.select().from(documentUpdates).where(eq(documentUpdates.projectId, p))).toHaveLength(0);
    const after = await loadDocumentState(db, p);
    expect(tokens(after.state)).toEqual(tokens(before.state));
    expect(after.lastUpdateId).toBe(before.lastUpdateId);

    expect(await compact(db, p)).toBeNull();

    const d = await appendUpdate(db, p, upd('d'));
    const r2 = await compact(db, p);
    expect(r2).toMatchObject({ foldedUpdates: 1, uptoUpdateId: d });
    const compactions = await listSnapshots(db, p, 'compaction');
    expect(compactions.map((s) => s.id)).toEqual([r2!.snapshotId]);
    expect(tokens((await loadDocumentState(db, p)).state)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('never loses a row that commits after a compaction folded a higher id', async () => {
    const p = await newProject(db);
    await appendUpdate(db, p, upd('early'));
    const side = postgres(t.url, { max: 1, onnotice: () => {} });
    try {
      let releaseSlow!: () => void;
      const slowMayCommit = new Promise<void>((r) => (releaseSlow = r));
      let slowInserted!: () => void;
      const slowHasId = new Promise<void>((r) => (slowInserted = r));
      let slowId = 0;
      const slow = side.begin(async (tx) => {
        const [row] = await tx`insert into document_updates (project_id, update) values (${p}, ${Buffer.from(upd('slow'))}) returning id`;
        slowId = Number(row!.id);
        slowInserted();
        await slowMayCommit;
      });
      await slowHasId;
      const fast = await appendUpdate(db, p, upd('fast'));
      expect(fast).toBeGreaterThan(slowId);
      const r = await compact(db, p);
      expect(r!.uptoUpdateId).toBe(fast);
      releaseSlow();
      await slow;
      const doc = await loadDocumentState(db, p);
      expect(tokens(doc.state)).toEqual(['early', 'fast', 'slow']);
      // and the next compaction folds it
      await compact(db, p);
      expect(tokens((await loadDocumentState(db, p)).state)).toEqual(['early', 'fast', 'slow']);
    } finally {
      await side.end();
    }
  });

  it('keeps every update under concurrent appends, compactions and loads', async () => {
    const p = await newProject(db);
    const expected: string[] = [];
    const work: Promise<unknown>[] = [];
    const loads: Promise<string[]>[] = [];
    for (let i = 0; i < 60; i++) {
      const tok = `t${String(i).padStart(2, '0')}`;
      expected.push(tok);
      work.push(appendUpdate(db, p, upd(tok)));
      if (i % 10 === 5) work.push(compact(db, p));
      if (i % 10 === 0) {
        // Whatever a load sees must be a prefix-closed view: every token it saw stays visible later.
        loads.push(loadDocumentState(db, p).then((d) => tokens(d.state)));
      }
    }
    await Promise.all(work);
    await compact(db, p);
    const final = tokens((await loadDocumentState(db, p)).state);
    expect(final).toEqual(expected);
    for (const seen of await Promise.all(loads)) for (const tok of seen) expect(final).toContain(tok);
    expect(await listSnapshots(db, p, 'compaction')).toHaveLength(1);
  });

  it('creates, lists and gets named snapshots, scoped to their project', async () => {
    const p = await newProject(db);
    const other = await newProject(db);
    await appendUpdate(db, p, upd('x'));
    const last = await appendUpdate(db, p, upd('y'));
    const v1 = await createNamedSnapshot(db, p, '  First cut ', { createdBy: 'anon:abc' });
    expect(v1).toMatchObject({ projectId: p, kind: 'named', name: 'First cut', uptoUpdateId: last, createdBy: null });
    await appendUpdate(db, p, upd('z'));
    await compact(db, p);
    const v2 = await createNamedSnapshot(db, p, 'Given state', { state: upd('given') });

    const all = await listSnapshots(db, p);
    expect(all.map((s) => s.kind).sort()).toEqual(['compaction', 'named', 'named']);
    expect(all.every((s) => !('state' in s))).toBe(true);
    const named = await listSnapshots(db, p, 'named');
    expect(named.map((s) => s.name).sort()).toEqual(['First cut', 'Given state']);

    const got = await getSnapshot(db, p, v1.id);
    expect(tokens(got!.state)).toEqual(['x', 'y']);
    expect(got!.bytes).toBe(got!.state.byteLength);
    expect(tokens((await getSnapshot(db, p, v2.id))!.state)).toEqual(['given']);
    expect(await getSnapshot(db, other, v1.id)).toBeNull();
    expect(await getSnapshot(db, p, 'not-a-uuid')).toBeNull();
    // named snapshots survive compaction (only older compaction snapshots are replaced)
    await appendUpdate(db, p, upd('w'));
    await compact(db, p);
    expect(await listSnapshots(db, p, 'named')).toHaveLength(2);
    await expect(createNamedSnapshot(db, p, '   ')).rejects.toThrow(/name/);
  });

  it('deletes a project document with the project (cascade)', async () => {
    const p = await newProject(db);
    await appendUpdate(db, p, upd('a'));
    await compact(db, p);
    await appendUpdate(db, p, upd('b'));
    await db.delete(projects).where(eq(projects.id, p));
    expect(await db.select().from(documentUpdates).where(eq(documentUpdates.projectId, p))).toHaveLength(0);
    expect(await db.select().from(documentSnapshots).where(eq(documentSnapshots.projectId, p))).toHaveLength(0);
  });
});

describe('document repository on embedded PGlite', () => {
  it('appends, compacts and loads', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cm-pglite-docs-'));
    const h = await createDb({ url: '', dataDir: dir });
    try {
      await migrate(h);
      const p = await newProject(h.db);
      await appendUpdates(h.db, p, [{ update: upd('a') }, { update: upd('b') }]);
      expect(await compact(h.db, p)).toMatchObject({ foldedUpdates: 2 });
      await appendUpdate(h.db, p, upd('c'));
      expect(tokens((await loadDocumentState(h.db, p)).state)).toEqual(['a', 'b', 'c']);
    } finally {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
