/**
 * The document repository on real Postgres (and once on PGlite). drizzle/ does not depend on yjs, so
 * these tests use a stand-in CRDT with the properties the repository relies on (merge is idempotent
 * and commutative): an "update" is a JSON set of tokens, merging is set union. The collab-server
 * integration tests cover the same functions with real Yjs updates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import postgres from 'postgres';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDb, type TestDb } from '../../tests/support/db.ts';
import { createDb, type Db } from '../index.ts';
import { migrate } from '../migrate.ts';
import { documentSnapshots, documentUpdates, orgs, projects, users } from '../schema.ts';
import {
  appendUpdate,
  appendUpdates,
  compact,
  createNamedSnapshot,
  getSnapshot,
  listSnapshots,
  loadDocumentParts,
  loadDocumentState,
  type MergeUpdates,
} from '../documents.ts';

const enc = new TextEncoder();
const dec = new TextDecoder();
const upd = (...tokens: string[]) => enc.encode(JSON.stringify(tokens));
const tokens = (u: Uint8Array): string[] => (JSON.parse(dec.decode(u)) as string[]).slice().sort();
const mergeSets: MergeUpdates = (updates) => upd(...[...new Set(updates.flatMap(tokens))].sort());

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

  it('loads an empty document as merge([]) with lastUpdateId 0', async () => {
    const p = await newProject(db);
    const doc = await loadDocumentState(db, p, mergeSets);
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
    const doc = await loadDocumentState(db, p, mergeSets);
    expect(tokens(doc.state)).toEqual(['a', 'b']);
    expect(doc.lastUpdateId).toBe(b);
    const parts = await loadDocumentParts(db, p);
    expect(parts.snapshot).toBeNull();
    expect(parts.updates.map((u) => u.id)).toEqual([a, b]);
  });

  it('returns a single stored piece as is, without calling merge', async () => {
    const p = await newProject(db);
    await appendUpdate(db, p, upd('only'));
    const doc = await loadDocumentState(db, p, () => {
      throw new Error('merge must not be called for one piece');
    });
    expect(tokens(doc.state)).toEqual(['only']);
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

  it('compacts into one snapshot, deletes folded rows, keeps the document identical', async () => {
    const p = await newProject(db);
    for (const x of ['a', 'b', 'c']) await appendUpdate(db, p, upd(x));
    const before = await loadDocumentState(db, p, mergeSets);

    const r1 = await compact(db, p, mergeSets);
    expect(r1).toMatchObject({ foldedUpdates: 3, uptoUpdateId: before.lastUpdateId });
    expect(await db.select().from(documentUpdates).where(eq(documentUpdates.projectId, p))).toHaveLength(0);
    const after = await loadDocumentState(db, p, mergeSets);
    expect(tokens(after.state)).toEqual(tokens(before.state));
    expect(after.lastUpdateId).toBe(before.lastUpdateId);

    expect(await compact(db, p, mergeSets)).toBeNull();

    const d = await appendUpdate(db, p, upd('d'));
    const r2 = await compact(db, p, mergeSets);
    expect(r2).toMatchObject({ foldedUpdates: 1, uptoUpdateId: d });
    const compactions = await listSnapshots(db, p, 'compaction');
    expect(compactions.map((s) => s.id)).toEqual([r2!.snapshotId]);
    expect(tokens((await loadDocumentState(db, p, mergeSets)).state)).toEqual(['a', 'b', 'c', 'd']);
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
      const r = await compact(db, p, mergeSets);
      expect(r!.uptoUpdateId).toBe(fast);
      releaseSlow();
      await slow;
      const doc = await loadDocumentState(db, p, mergeSets);
      expect(tokens(doc.state)).toEqual(['early', 'fast', 'slow']);
      // and the next compaction folds it
      await compact(db, p, mergeSets);
      expect(tokens((await loadDocumentState(db, p, mergeSets)).state)).toEqual(['early', 'fast', 'slow']);
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
      if (i % 10 === 5) work.push(compact(db, p, mergeSets));
      if (i % 10 === 0) {
        // Whatever a load sees must be a prefix-closed view: every token it saw stays visible later.
        loads.push(loadDocumentState(db, p, mergeSets).then((d) => tokens(d.state)));
      }
    }
    await Promise.all(work);
    await compact(db, p, mergeSets);
    const final = tokens((await loadDocumentState(db, p, mergeSets)).state);
    expect(final).toEqual(expected);
    for (const seen of await Promise.all(loads)) for (const tok of seen) expect(final).toContain(tok);
    expect(await listSnapshots(db, p, 'compaction')).toHaveLength(1);
  });

  it('creates, lists and gets named snapshots, scoped to their project', async () => {
    const p = await newProject(db);
    const other = await newProject(db);
    await appendUpdate(db, p, upd('x'));
    const last = await appendUpdate(db, p, upd('y'));
    const v1 = await createNamedSnapshot(db, p, '  First cut ', { merge: mergeSets, createdBy: 'anon:abc' });
    expect(v1).toMatchObject({ projectId: p, kind: 'named', name: 'First cut', uptoUpdateId: last, createdBy: null });
    expect(v1.bytes).toBe(upd('x', 'y').byteLength);
    await appendUpdate(db, p, upd('z'));
    await compact(db, p, mergeSets);
    const v2 = await createNamedSnapshot(db, p, 'Given state', { merge: mergeSets, state: upd('given') });

    const all = await listSnapshots(db, p);
    expect(all.map((s) => s.kind).sort()).toEqual(['compaction', 'named', 'named']);
    expect(all.every((s) => !('state' in s))).toBe(true);
    const named = await listSnapshots(db, p, 'named');
    expect(named.map((s) => s.name).sort()).toEqual(['First cut', 'Given state']);

    const got = await getSnapshot(db, p, v1.id);
    expect(tokens(got!.state)).toEqual(['x', 'y']);
    expect(tokens((await getSnapshot(db, p, v2.id))!.state)).toEqual(['given']);
    expect(await getSnapshot(db, other, v1.id)).toBeNull();
    expect(await getSnapshot(db, p, 'not-a-uuid')).toBeNull();
    // named snapshots survive compaction (only older compaction snapshots are replaced)
    await appendUpdate(db, p, upd('w'));
    await compact(db, p, mergeSets);
    expect(await listSnapshots(db, p, 'named')).toHaveLength(2);
    await expect(createNamedSnapshot(db, p, '   ', { merge: mergeSets })).rejects.toThrow(/name/);
  });

  it('deletes a project document with the project (cascade)', async () => {
    const p = await newProject(db);
    await appendUpdate(db, p, upd('a'));
    await compact(db, p, mergeSets);
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
      expect(await compact(h.db, p, mergeSets)).toMatchObject({ foldedUpdates: 2 });
      await appendUpdate(h.db, p, upd('c'));
      expect(tokens((await loadDocumentState(h.db, p, mergeSets)).state)).toEqual(['a', 'b', 'c']);
    } finally {
      await h.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
