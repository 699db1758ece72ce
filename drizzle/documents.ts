/**
 * The document repository: the only code that reads or writes `document_updates` and
 * `document_snapshots`. Used by the collab-server (persist every update before it is applied, load a
 * room, compact) and by the app (compile renders and named versions from the SAVED document).
 *
 * Storage model: a project's document = its latest compaction snapshot + every update row still
 * present. Compaction folds rows into a new snapshot and deletes exactly the rows it folded, in one
 * transaction. Loading never filters rows by `upto_update_id`: a bigserial id is taken at insert
 * time, not at commit time, so a slow concurrent insert can commit a row with an id lower than one
 * already folded. Such a row is simply still there and gets loaded. Yjs updates are idempotent and
 * commutative, so applying a row twice or out of id order is harmless; skipping one would lose an
 * edit.
 *
 * Merging applies every piece to a fresh Y.Doc in one transaction and re-encodes it: deleted content
 * is garbage-collected (snapshots stay small), and it is much faster than Y.mergeUpdates on many
 * small updates (10k edits: ~50 ms against ~1.5 s).
 */
import { and, asc, desc, eq, inArray, sql } from 'drizzle-orm';
import * as Y from 'yjs';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import type postgres from 'postgres';
import type { Db, DbHandle, Schema } from './index.ts';
import { documentSnapshots, documentUpdates } from './schema.ts';

/**
 * `Db` is a union of the postgres.js and PGlite databases; calling builder methods on the union
 * loses overloads, so queries go through their common base type.
 */
type PgDb = PgDatabase<PgQueryResultHKT, Schema>;
const pg = (db: Db): PgDb => db as PgDb;

export type SnapshotKind = 'compaction' | 'named';

export interface SnapshotInfo {
  id: string;
  projectId: string;
  kind: SnapshotKind;
  name: string | null;
  uptoUpdateId: number;
  createdBy: string | null;
  createdAt: Date;
  /** Size of `state` in bytes. */
  bytes: number;
}

export interface Snapshot extends SnapshotInfo {
  /** A Yjs update holding the whole document at that point. */
  state: Uint8Array;
}

/** The stored pieces of a document, before merging. */
export interface DocumentParts {
  /** State of the latest compaction snapshot, or null if the project was never compacted. */
  snapshot: Uint8Array | null;
  /** Update rows not folded into that snapshot, in id order. */
  updates: { id: number; update: Uint8Array }[];
  /** Highest update id covered by these parts (0 when nothing was ever stored). */
  lastUpdateId: number;
}

export interface DocumentState {
  /** One Yjs update holding the whole saved document (an empty-document update when nothing is stored). */
  state: Uint8Array;
  lastUpdateId: number;
}

export interface CompactionResult {
  snapshotId: string;
  /** How many update rows were folded into the snapshot (and deleted). */
  foldedUpdates: number;
  uptoUpdateId: number;
  bytes: number;
}

export interface NewUpdate {
  update: Uint8Array;
  userId?: string | null;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * `document_updates.user_id` is a uuid, but collab identities may be "anon:<id>" (share-link
 * reviewers) or anything else the token carries. Only real user ids are recorded.
 */
function userIdOrNull(userId: string | null | undefined): string | null {
  return userId && UUID_RE.test(userId) ? userId : null;
}

/** Same lock key for every writer that replaces a project's snapshot rows. */
function lockProject(projectId: string) {
  return sql`select pg_advisory_xact_lock(hashtextextended(${'clipmaker.document:' + projectId}, 0))`;
}

/** Stores one update; returns its id. */
export async function appendUpdate(db: Db, projectId: string, update: Uint8Array, userId?: string | null): Promise<number> {
  const [id] = await appendUpdates(db, projectId, [{ update, userId }]);
  return id!;
}

/**
 * Stores several updates of one project in one statement (the collab-server's group commit); returns
 * their ids in input order.
 */
export async function appendUpdates(db: Db, projectId: string, items: readonly NewUpdate[]): Promise<number[]> {
  if (items.length === 0) return [];
  const rows = await pg(db)
    .insert(documentUpdates)
    .values(items.map((i) => ({ projectId, update: i.update, userId: userIdOrNull(i.userId) })))
    .returning({ id: documentUpdates.id });
  return rows.map((r) => r.id);
}

/**
 * The collab-server's write path for document updates (store before broadcast), faster than
 * appendUpdates on postgres.js in three ways, all measured in docs/BENCHMARKS.md ("Collaboration"):
 *  - one prepared statement (`unnest` of three arrays, so one statement shape for any batch size)
 *    instead of a query drizzle builds per call, which postgres.js sends unnamed and so describes
 *    first: two round trips per insert;
 *  - its own connection, so a room's insert never queues behind loads and compactions in the pool;
 *  - group commit ACROSS rooms: whatever every room queues while the previous insert is in flight
 *    (or within the same event-loop turn) goes out as ONE insert, one commit and one WAL flush; each
 *    caller's promise settles only when the insert holding its rows has committed, and a room
 *    still awaits its previous batch before it queues the next (per-room order is kept).
 * If a batch of several rooms fails (say, one project was deleted meanwhile: a foreign-key error),
 * each room's rows are retried on their own, so only the rooms that really fail see an error.
 * On PGlite (no dedicated connection) it is appendUpdates.
 */
export interface UpdateWriter {
  /**
   * Stores the rows durably (committed); returns their ids in input order. `onSent` (optional) is
   * called once the insert holding them has been handed to the socket, so the caller can do its own
   * work while Postgres commits; it may not be called at all (PGlite), and never after the promise
   * settled. Nothing about durability depends on it: only the promise says "committed".
   */
  append(projectId: string, items: readonly NewUpdate[], onSent?: () => void): Promise<number[]>;
  /** Stores what is queued, then closes the writer's connection. */
  close(): Promise<void>;
}

export interface UpdateWriterOptions {
  /**
   * false: the writer's session runs with `synchronous_commit = off` (a commit returns before its
   * WAL is flushed; Postgres flushes it within ~3 x wal_writer_delay). A kill -9 of the collab
   * process loses nothing either way (Postgres has the committed rows); only a crash of Postgres
   * itself (or its machine) could lose the last few hundred ms of acknowledged edits. Default true.
   */
  synchronousCommit?: boolean;
  /** Most rows in one insert. Default 1024. */
  maxRows?: number;
}

export function createUpdateWriter(handle: DbHandle, opts: UpdateWriterOptions = {}): UpdateWriter {
  if (!handle.dedicated) return { append: (projectId, items) => appendUpdates(handle.db, projectId, items), close: async () => {} };
  const sql = handle.dedicated({ max: 1, ...(opts.synchronousCommit === false ? { connection: { synchronous_commit: 'off' } } : {}) });
  return new GroupCommitWriter(sql, Math.max(1, opts.maxRows ?? 1024));
}

interface QueuedAppend {
  projectId: string;
  items: readonly NewUpdate[];
  onSent?: (() => void) | undefined;
  settled?: boolean;
  resolve(ids: number[]): void;
  reject(err: unknown): void;
}

class GroupCommitWriter implements UpdateWriter {
  private queue: QueuedAppend[] = [];
  private running: Promise<void> | null = null;
  private scheduled = false;
  private closing: Promise<void> | null = null;

  constructor(
    private readonly sql: postgres.Sql,
    private readonly maxRows: number,
  ) {}

  append(projectId: string, items: readonly NewUpdate[], onSent?: () => void): Promise<number[]> {
    if (items.length === 0) return Promise.resolve([]);
    if (this.closing) return Promise.reject(new Error('the update writer is closed'));
    return new Promise((resolve, reject) => {
      const q: QueuedAppend = {
        projectId,
        items,
        onSent,
        resolve: (ids) => {
          q.settled = true;
          resolve(ids);
        },
        reject: (err) => {
          q.settled = true;
          reject(err);
        },
      };
      this.queue.push(q);
      this.schedule();
    });
  }

  /**
   * At the end of this event-loop turn: updates that arrived on other sockets in the same turn join
   * the same insert. While an insert is in flight, the loop picks the queue up after it; what a
   * caller queues between the loop's last check and its end (a caller resumed by its own ids runs
   * before the loop's promise settles) is picked up by the re-check when it ends.
   */
  private schedule(): void {
    if (this.running || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.running ??= this.drain().finally(() => {
        this.running = null;
        if (this.queue.length > 0) this.schedule();
      });
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      let rows = 0;
      let n = 0;
      while (n < this.queue.length && (n === 0 || rows + this.queue[n]!.items.length <= this.maxRows)) rows += this.queue[n++]!.items.length;
      const batch = this.queue.splice(0, n);
      try {
        const inserting = this.insert(batch);
        // postgres.js hands a query to its socket on a setImmediate of its own, scheduled a
        // microtask after the call: two turns later the insert is on the wire.
        if (batch.some((q) => q.onSent)) setImmediate(() => setImmediate(() => this.sent(batch)));
        const ids = await inserting;
        let at = 0;
        for (const q of batch) q.resolve(ids.slice(at, (at += q.items.length)));
      } catch (err) {
        if (batch.length === 1) {
          batch[0]!.reject(err);
          continue;
        }
        for (const q of batch) await this.insert([q]).then(q.resolve, q.reject);
      }
    }
  }

  private sent(batch: readonly QueuedAppend[]): void {
    for (const q of batch) {
      if (q.settled || !q.onSent) continue;
      const f = q.onSent;
      q.onSent = undefined;
      f();
    }
  }

  private async insert(batch: readonly QueuedAppend[]): Promise<number[]> {
    if (batch.length === 1 && batch[0]!.items.length === 1) return [await this.insertOne(batch[0]!.projectId, batch[0]!.items[0]!)];
    // Array literals written here, as text (postgres.js's own array parameters need the server's
    // array types, which it fetches after connecting): uuids need no quoting, bytes go as hex.
    const projectIds: string[] = [];
    const updates: string[] = [];
    const userIds: string[] = [];
    for (const q of batch) {
      for (const i of q.items) {
        projectIds.push(q.projectId);
        updates.push(`"\\\\x${Buffer.from(i.update.buffer, i.update.byteOffset, i.update.byteLength).toString('hex')}"`);
        userIds.push(userIdOrNull(i.userId) ?? 'NULL');
      }
    }
    if (!projectIds.every((id) => UUID_RE.test(id))) throw new Error('not a project id');
    // `with ordinality ... order by` fixes the insert order, so ascending ids are the input order.
    const rows = await this.sql<{ id: string }[]>`
      insert into document_updates (project_id, update, user_id)
      select p, u, w from unnest(${`{${projectIds.join(',')}}`}::uuid[], ${`{${updates.join(',')}}`}::bytea[], ${`{${userIds.join(',')}}`}::uuid[]) with ordinality as t(p, u, w, n)
      order by n
      returning id`;
    const ids = rows.map((r) => Number(r.id)).sort((a, b) => a - b);
    if (ids.length !== projectIds.length) throw new Error(`stored ${ids.length} of ${projectIds.length} updates`);
    return ids;
  }

  /**
   * The common case one edit at a time (nothing else queued): a single-row prepared insert, which
   * Postgres plans and runs in less time than the `unnest ... with ordinality ... order by` shape.
   */
  private async insertOne(projectId: string, item: NewUpdate): Promise<number> {
    if (!UUID_RE.test(projectId)) throw new Error('not a project id');
    const update = Buffer.from(item.update.buffer, item.update.byteOffset, item.update.byteLength);
    const [row] = await this.sql<{ id: string }[]>`
      insert into document_updates (project_id, update, user_id)
      values (${projectId}::uuid, ${update}, ${userIdOrNull(item.userId)}::uuid)
      returning id`;
    if (!row) throw new Error('stored 0 of 1 updates');
    return Number(row.id);
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      while (this.scheduled || this.running) await (this.running ?? new Promise((r) => setImmediate(r)));
      await this.sql.end({ timeout: 5 });
    })();
    return this.closing;
  }
}

/**
 * Removes specific update rows (the collab-server's compensation when a stored update turns out not
 * to apply). Returns how many were deleted.
 */
export async function deleteUpdates(db: Db, projectId: string, ids: readonly number[]): Promise<number> {
  if (ids.length === 0) return 0;
  const rows = await pg(db)
    .delete(documentUpdates)
    .where(and(eq(documentUpdates.projectId, projectId), inArray(documentUpdates.id, [...ids])))
    .returning({ id: documentUpdates.id });
  return rows.length;
}

type Tx = Parameters<Parameters<PgDb['transaction']>[0]>[0];
type Queryable = PgDb | Tx;

async function readParts(q: Queryable, projectId: string): Promise<DocumentParts & { snapshotUpto: number }> {
  const [snap] = await q
    .select({ state: documentSnapshots.state, uptoUpdateId: documentSnapshots.uptoUpdateId })
    .from(documentSnapshots)
    .where(and(eq(documentSnapshots.projectId, projectId), eq(documentSnapshots.kind, 'compaction')))
    .orderBy(desc(documentSnapshots.uptoUpdateId), desc(documentSnapshots.createdAt))
    .limit(1);
  const updates = await q
    .select({ id: documentUpdates.id, update: documentUpdates.update })
    .from(documentUpdates)
    .where(eq(documentUpdates.projectId, projectId))
    .orderBy(asc(documentUpdates.id));
  const snapshotUpto = snap?.uptoUpdateId ?? 0;
  const lastRow = updates.length > 0 ? updates[updates.length - 1]!.id : 0;
  return { snapshot: snap?.state ?? null, updates, lastUpdateId: Math.max(snapshotUpto, lastRow), snapshotUpto };
}

/**
 * The stored pieces of a document, read in one repeatable-read transaction so that a compaction
 * committing in between cannot make us see the old snapshot without the rows it folded.
 */
export async function loadDocumentParts(db: Db, projectId: string): Promise<DocumentParts> {
  const { snapshot, updates, lastUpdateId } = await pg(db).transaction((tx) => readParts(tx, projectId), {
    isolationLevel: 'repeatable read',
    accessMode: 'read only',
  });
  return { snapshot, updates, lastUpdateId };
}

function pieces(parts: DocumentParts): Uint8Array[] {
  const updates = parts.updates.map((u) => u.update);
  return parts.snapshot ? [parts.snapshot, ...updates] : updates;
}

/** One update holding every piece (a single piece is returned as is). */
function foldParts(parts: DocumentParts): Uint8Array {
  const all = pieces(parts);
  if (all.length === 1) return all[0]!;
  const doc = new Y.Doc();
  try {
    doc.transact(() => {
      for (const u of all) Y.applyUpdate(doc, u);
    });
    return Y.encodeStateAsUpdate(doc);
  } finally {
    doc.destroy();
  }
}

/** The saved document as one update: latest compaction snapshot + every later update, merged. */
export async function loadDocumentState(db: Db, projectId: string): Promise<DocumentState> {
  const parts = await loadDocumentParts(db, projectId);
  return { state: foldParts(parts), lastUpdateId: parts.lastUpdateId };
}

/**
 * Folds the latest compaction snapshot and all update rows into a new compaction snapshot, deletes
 * the folded rows and the older compaction snapshots, in one transaction. Concurrent compactions of
 * one project are serialised by an advisory lock; concurrent appends are never lost (see top).
 * Returns null when there was nothing to fold.
 */
export async function compact(db: Db, projectId: string): Promise<CompactionResult | null> {
  return pg(db).transaction(async (tx) => {
    await tx.execute(lockProject(projectId));
    const parts = await readParts(tx, projectId);
    if (parts.updates.length === 0) return null;
    const state = foldParts(parts);
    const uptoUpdateId = parts.lastUpdateId;
    const [row] = await tx
      .insert(documentSnapshots)
      .values({ projectId, kind: 'compaction', state, uptoUpdateId })
      .returning({ id: documentSnapshots.id });
    const ids = parts.updates.map((u) => u.id);
    // Chunked so a huge backlog never exceeds the bind-parameter limit (65535).
    for (let i = 0; i < ids.length; i += 10_000) {
      await tx.delete(documentUpdates).where(and(eq(documentUpdates.projectId, projectId), inArray(documentUpdates.id, ids.slice(i, i + 10_000))));
    }
    await tx
      .delete(documentSnapshots)
      .where(
        and(
          eq(documentSnapshots.projectId, projectId),
          eq(documentSnapshots.kind, 'compaction'),
          sql`${documentSnapshots.id} <> ${row!.id}`,
        ),
      );
    return { snapshotId: row!.id, foldedUpdates: ids.length, uptoUpdateId, bytes: state.byteLength };
  });
}

const infoColumns = {
  id: documentSnapshots.id,
  projectId: documentSnapshots.projectId,
  kind: documentSnapshots.kind,
  name: documentSnapshots.name,
  uptoUpdateId: documentSnapshots.uptoUpdateId,
  createdBy: documentSnapshots.createdBy,
  createdAt: documentSnapshots.createdAt,
  bytes: sql<number>`octet_length(${documentSnapshots.state})`.mapWith(Number),
};

/**
 * Saves the current saved document as a named version. `state` defaults to the stored document
 * (read consistently); the collab-server may pass its in-memory state instead.
 */
export async function createNamedSnapshot(
  db: Db,
  projectId: string,
  name: string,
  opts: { createdBy?: string | null; state?: Uint8Array } = {},
): Promise<SnapshotInfo> {
  const trimmed = name.trim();
  if (trimmed.length === 0 || trimmed.length > 200) throw new Error('snapshot name must be 1-200 characters');
  return pg(db).transaction(
    async (tx) => {
      const parts = await readParts(tx, projectId);
      const uptoUpdateId = parts.lastUpdateId;
      const state = opts.state ?? foldParts(parts);
      const [row] = await tx
        .insert(documentSnapshots)
        .values({ projectId, kind: 'named', name: trimmed, state, uptoUpdateId, createdBy: userIdOrNull(opts.createdBy) })
        .returning(infoColumns);
      return row!;
    },
    { isolationLevel: 'repeatable read' },
  );
}

/** Snapshots of a project, newest first, without their state. */
export async function listSnapshots(db: Db, projectId: string, kind?: SnapshotKind): Promise<SnapshotInfo[]> {
  return pg(db)
    .select(infoColumns)
    .from(documentSnapshots)
    .where(kind ? and(eq(documentSnapshots.projectId, projectId), eq(documentSnapshots.kind, kind)) : eq(documentSnapshots.projectId, projectId))
    .orderBy(desc(documentSnapshots.createdAt), desc(documentSnapshots.uptoUpdateId));
}

/** One snapshot with its state, only if it belongs to that project. */
export async function getSnapshot(db: Db, projectId: string, snapshotId: string): Promise<Snapshot | null> {
  if (!UUID_RE.test(snapshotId)) return null;
  const [row] = await pg(db)
    .select({ ...infoColumns, state: documentSnapshots.state })
    .from(documentSnapshots)
    .where(and(eq(documentSnapshots.projectId, projectId), eq(documentSnapshots.id, snapshotId)))
    .limit(1);
  return row ?? null;
}
