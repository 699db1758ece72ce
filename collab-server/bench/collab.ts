/**
 * `pnpm bench:collab`: collab-server figures on a fresh database of the local Postgres
 * (TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test; dropped afterwards).
 *
 *  1. Edit-to-remote latency with 50 editors on one document: the server is the real process
 *     (src/main.ts in a child process); the 50 y-websocket clients share this process, so their own
 *     work is part of the figure. Every (edit, remote client) pair is one sample.
 *  2. Memory per open idle document: engine in this process, rooms opened through in-memory
 *     transports, heap measured after forced GC.
 *  3. Cold load of a document stored as 10,000 separate edits: repository load, and first connect to
 *     synced through the server (room not in memory), then the same after the compaction that the
 *     unload did.
 * Prints one JSON object on stdout; progress goes to stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';
import { pino } from 'pino';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { roomForProject, signCollabToken, type CollabRole } from '@clipmaker/shared/collab';
import { orgs, projects } from '@clipmaker/db/schema';
import { appendUpdates, loadDocumentState } from '@clipmaker/db/documents';
import type { Db, DbHandle } from '@clipmaker/db';
import { createTestDb } from '../../tests/support/db.ts';
import { timelineDoc } from './fixtures.ts';
import { CollabEngine } from '../src/engine.ts';
import { freePort } from '../../tests/support/app-server.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
process.setMaxListeners(500);

const SECRET = 'collab-bench-secret-0123456789abcdef';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const EDITORS = Number(process.env.BENCH_EDITORS ?? 50);
const LOAD_SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const EDIT_INTERVAL_MS = 200;
const IDLE_DOCS = 200;
const COLD_EDITS = 10_000;

const progress = (msg: string) => process.stderr.write(`[bench:collab] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(5);
  }
}

function percentile(sortedMs: number[], p: number): number {
  if (sortedMs.length === 0) return NaN;
  const i = Math.min(sortedMs.length - 1, Math.ceil((p / 100) * sortedMs.length) - 1);
  return Math.round(sortedMs[Math.max(0, i)]! * 100) / 100;
}

function summary(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  return { samples: s.length, p50_ms: percentile(s, 50), p99_ms: percentile(s, 99), max_ms: percentile(s, 100) };
}

async function newProject(db: Db): Promise<string> {
  const [org] = await db.insert(orgs).values({ name: 'Bench' }).returning();
  const [project] = await db.insert(projects).values({ orgId: org!.id, name: 'Bench' }).returning();
  return project!.id;
}

function token(projectId: string, role: CollabRole = 'editor'): Promise<string> {
  return signCollabToken({ sub: crypto.randomUUID(), name: 'bench', projectId, role, exp: Math.floor(Date.now() / 1000) + 3600 }, SECRET);
}


function getText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    http
      .get(url, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      })
      .on('error', reject);
  });
}

/** _sum and _count of an unlabelled Prometheus histogram. */
function histogram(text: string, name: string): { sum: number; count: number } {
  const num = (metric: string) => Number(new RegExp(`^${metric} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
  return { sum: num(`${name}_sum`), count: num(`${name}_count`) };
}

function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    http
      .get(`http://127.0.0.1:${port}/health`, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      })
      .on('error', () => resolve(false));
  });
}

async function startServerProcess(databaseUrl: string, port: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(root, 'collab-server/src/main.ts')], {
    cwd: root,
    env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: databaseUrl, COLLAB_PORT: String(port), COLLAB_SECRET: SECRET, LOG_LEVEL: 'warn', COLLAB_UNLOAD_DELAY_MS: '200' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  await waitFor(() => healthy(port), 30_000, 'server process');
  return child;
}

interface BenchClient {
  doc: Y.Doc;
  provider: WebsocketProvider;
}

function connect(url: string, projectId: string, tok: string): BenchClient {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(url, roomForProject(projectId), doc, {
    params: { token: tok },
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
  });
  return { doc, provider };
}

async function latency(db: Db, url: string, port: number) {
  const p = await newProject(db);
  progress(`latency: connecting ${EDITORS} editors`);
  const clients: BenchClient[] = [];
  for (let i = 0; i < EDITORS; i++) clients.push(connect(url, p, await token(p)));
  await waitFor(() => clients.every((c) => c.provider.synced), 30_000, 'editors synced');

  // Each item is "<sender>:<sentAt>"; a receiver records now - sentAt for every remote item.
  let samples: number[] = [];
  let received = 0;
  clients.forEach((c, i) => {
    c.doc.getArray<string>('edits').observe((ev) => {
      if (ev.transaction.local) return;
      const now = performance.now();
      for (const d of ev.changes.delta) {
        for (const item of (d.insert as string[] | undefined) ?? []) {
          const [sender, sentAt] = item.split(':');
          if (Number(sender) !== i) {
            samples.push(now - Number(sentAt));
            received++;
          }
        }
      }
    });
  });
  const edit = (i: number) => clients[i]!.doc.getArray<string>('edits').push([`${i}:${performance.now()}`]);

  // Quiet: one edit at a time, each waited for everywhere.
  progress('latency: 100 single edits');
  for (let k = 0; k < 100; k++) {
    const target = received + EDITORS - 1;
    edit(k % EDITORS);
    await waitFor(() => received >= target, 10_000, 'single edit everywhere');
  }
  const quiet = summary(samples);

  // Under load: every editor edits every ~200 ms for LOAD_SECONDS.
  progress(`latency: ${EDITORS} editors x ${1000 / EDIT_INTERVAL_MS}/s for ${LOAD_SECONDS}s`);
  samples = [];
  received = 0;
  let sent = 0;
  const before = await getText(`http://127.0.0.1:${port}/metrics`);
  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const end = performance.now() + LOAD_SECONDS * 1000;
  await Promise.all(
    clients.map(async (_, i) => {
      await sleep(Math.random() * EDIT_INTERVAL_MS);
      while (performance.now() < end) {
        edit(i);
        sent++;
        await sleep(EDIT_INTERVAL_MS * (0.5 + Math.random()));
      }
    }),
  );
  await waitFor(() => received >= sent * (EDITORS - 1), 60_000, 'all edits everywhere');
  loop.disable();
  const after = await getText(`http://127.0.0.1:${port}/metrics`);
  const h0 = histogram(before, 'collab_store_seconds');
  const h1 = histogram(after, 'collab_store_seconds');
  const commits = h1.count - h0.count;
  const storeMs = ((h1.sum - h0.sum) / commits) * 1000;
  const loaded = {
    ...summary(samples),
    edits: sent,
    edits_per_second: Math.round(sent / LOAD_SECONDS),
    server_group_commits: commits,
    server_mean_store_ms: Math.round(storeMs * 100) / 100,
    client_process_event_loop_delay_p99_ms: Math.round(loop.percentile(99) / 1e4) / 100,
  };
  for (const c of clients) {
    c.provider.destroy();
    c.doc.destroy();
  }
  return { editors: EDITORS, single_edit: quiet, under_load: loaded };
}


/**
 * Heap + off-heap bytes per open idle document. `external` already includes `arrayBuffers` (Node
 * docs), so they are not added twice.
 */
async function openIdleRooms(handle: DbHandle, ids: string[], dehydrateAfterMs: number) {
  const engine = new CollabEngine({ db: handle, logger: pino({ level: 'silent' }), unloadDelayMs: 60_000, dehydrateAfterMs });
  let dehydrated = 0;
  engine.on('roomDehydrated', () => void dehydrated++);
  gc();
  gc();
  const before = process.memoryUsage();
  const sinks: unknown[] = [];
  let greeted = 0;
  for (const p of ids) {
    sinks.push(
      engine.connect(
        { projectId: p, userId: crypto.randomUUID(), userName: 'idle', role: 'viewer' },
        { send: () => void greeted++, close: () => {} },
      ),
    );
  }
  await waitFor(() => greeted >= ids.length, 30_000, 'idle rooms loaded');
  if (dehydrateAfterMs > 0) await waitFor(() => dehydrated >= ids.length, 30_000, 'idle rooms dehydrated');
  gc();
  gc();
  const after = process.memoryUsage();
  const perDoc = (after.heapUsed + after.external - (before.heapUsed + before.external)) / ids.length;
  await engine.close();
  return {
    heap_per_doc_kib: Math.round(((after.heapUsed - before.heapUsed) / ids.length / 1024) * 10) / 10,
    heap_and_external_per_doc_kib: Math.round((perDoc / 1024) * 10) / 10,
  };
}

async function idleMemory(db: Db, handle: DbHandle) {
  const state = timelineDoc();
  const ids: string[] = [];
  for (let i = 0; i < IDLE_DOCS; i++) {
    const p = await newProject(db);
    await appendUpdates(db, p, [{ update: state }]);
    ids.push(p);
  }
  const hydrated = await openIdleRooms(handle, ids, 0);
  const encoded = await openIdleRooms(handle, ids, 100);
  return {
    docs: IDLE_DOCS,
    doc_state_bytes: state.byteLength,
    idle_encoded: encoded,
    live_ydoc: hydrated,
    note: 'one idle viewer connection per document, engine only (no sockets); idle_encoded = after dehydrateAfterMs (default 10 s) without changes, live_ydoc = dehydration disabled',
  };
}

async function coldLoad(db: Db, url: string) {
  const p = await newProject(db);
  progress(`cold load: storing ${COLD_EDITS} separate edits`);
  const d = new Y.Doc();
  const updates: Uint8Array[] = [];
  d.on('update', (u: Uint8Array) => updates.push(u));
  const text = d.getText('notes');
  const items = d.getArray<string>('edits');
  for (let i = 0; i < COLD_EDITS; i++) {
    if (i % 2 === 0) text.insert(text.length, `w${i} `);
    else items.push([`edit-${i}`]);
    if (i % 10 === 9) items.delete(0, 1);
  }
  for (let i = 0; i < updates.length; i += 1000) await appendUpdates(db, p, updates.slice(i, i + 1000).map((update) => ({ update })));
  const rowBytes = updates.reduce((n, u) => n + u.byteLength, 0);

  const t0 = performance.now();
  const { state } = await loadDocumentState(db, p);
  const repositoryMs = performance.now() - t0;

  const viaServer = async () => {
    const t = performance.now();
    const c = connect(url, p, await token(p, 'viewer'));
    await waitFor(() => c.provider.synced, 60_000, 'cold client synced');
    const ms = performance.now() - t;
    const ok = c.doc.getText('notes').length === text.length && c.doc.getArray('edits').length === items.length;
    c.provider.destroy();
    c.doc.destroy();
    if (!ok) throw new Error('cold-loaded document differs');
    return ms;
  };
  const firstMs = await viaServer();
  // Let the server unload (and compact) the room, then load again.
  await sleep(1500);
  const compactedMs = await viaServer();
  return {
    edits: COLD_EDITS,
    stored_rows_bytes: rowBytes,
    merged_state_bytes: state.byteLength,
    repository_load_ms: Math.round(repositoryMs),
    first_connect_to_synced_ms: Math.round(firstMs),
    after_compaction_connect_to_synced_ms: Math.round(compactedMs),
  };
}

async function main() {
  const t = await createTestDb();
  let child: ChildProcess | null = null;
  try {
    const port = await freePort();
    child = await startServerProcess(t.url, port);
    const url = `ws://127.0.0.1:${port}`;
    const lat = await latency(t.handle.db, url, port);
    progress('memory per idle document');
    const mem = await idleMemory(t.handle.db, t.handle);
    const cold = await coldLoad(t.handle.db, url);
    const result = {
      node: process.version,
      cpus: (await import('node:os')).cpus().length,
      edit_to_remote_latency: lat,
      memory_per_idle_doc: mem,
      cold_load_10k_edits: cold,
    };
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    await t.dispose();
  }
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
