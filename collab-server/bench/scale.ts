/**
 * `pnpm bench:collab`: collab-server figures at scale. Every server is its own process, every client
 * lives in a separate driver process (bench/driver.ts, BroadcastChannel off), Postgres is a fresh
 * database of TEST_DATABASE_URL (dropped afterwards), Redis is REDIS_URL (unique prefix).
 *
 *  1. memory: 500 stored timeline documents (50 clips with keyframes, 20 cues), one client each.
 *     Server process RSS (from /proc, no forced GC) after 60 s idle with no document open, then
 *     after opening them and 60 s idle: the delta per document; also minus the RSS of a second,
 *     identical server that opened no documents, read at the same moment; next to V8 heap used (same
 *     deltas), heap spaces and connections accepted (idle clients must not reconnect). Servers run
 *     with the NODE_OPTIONS of their checkout's collab-server image. With BENCH_COMPARE_ROOT the
 *     same measurement of that checkout follows ("compare").
 *  2. load, side by side in one run: the project's server vs the bare @y/websocket-server, 50
 *     editors on one document: 500 edits one at a time (after 30 unmeasured warm-up edits), then 50 x 4 edits/s for 30 s. p50/p99 and
 *     project/bare ratios.
 *  3. scale: 1,000 documents x 5 clients across 2 server processes (clients of a document split over
 *     both, so every edit crosses Redis), each client 0.2 edits/s for 30 s: p99 and CPU per process.
 * BENCH_PARTS=memory,load,scale picks parts; BENCH_IDLE_DOCS, BENCH_IDLE_SECONDS, BENCH_SECONDS,
 * BENCH_SCALE_DOCS, BENCH_SINGLE_EDITS, BENCH_SINGLE_WARMUP scale them down for a quick look; BENCH_LOAD_MODES=single (or rate) runs one half of the load part;
 * BENCH_ROUNDS / BENCH_RATE_ROUNDS repeat the two load comparisons (rotating the order, with median ratios);
 * BENCH_ASYNC_COMMIT=1 adds a diagnostic server with COLLAB_SYNCHRONOUS_COMMIT=off. Prints one JSON object on stdout.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { roomForProject, signCollabToken } from '@clipmaker/shared/collab';
import { orgs, projects } from '@clipmaker/db/schema';
import { appendUpdates } from '@clipmaker/db/documents';
import type { Db } from '@clipmaker/db';
import { createTestDb } from '../../tests/support/db.ts';
import { timelineDoc } from './fixtures.ts';
import { freePort } from '../../tests/support/app-server.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../../tests/support/redis.ts';

const SECRET = 'collab-bench-secret-0123456789abcdef';
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PARTS = new Set((process.env.BENCH_PARTS ?? 'memory,load,scale').split(','));
const IDLE_DOCS = Number(process.env.BENCH_IDLE_DOCS ?? 500);
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 60);
const LOAD_SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
/**
 * One-at-a-time load: measured edits per server per round (each gives 49 samples; a p99 over 100
 * edits is about the single slowest edit, over 500 the fifth slowest) after unmeasured warm-up edits
 * (JIT, the room's first awareness exchanges) made the same way on every server.
 */
const SINGLE_EDITS = Number(process.env.BENCH_SINGLE_EDITS ?? 500);
const SINGLE_WARMUP = Number(process.env.BENCH_SINGLE_WARMUP ?? 30);
const SCALE_DOCS = Number(process.env.BENCH_SCALE_DOCS ?? 1000);
/** BENCH_LOAD_MODES=single runs only the one-at-a-time comparison of the load part. */
const LOAD_MODES = (process.env.BENCH_LOAD_MODES ?? 'single,rate').split(',').filter((m): m is 'single' | 'rate' => m === 'single' || m === 'rate');
const progress = (msg: string) => process.stderr.write(`[bench:collab] ${msg}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function get(port: number, p: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path: p }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', () => resolve({ status: 0, body: '' }));
  });
}

async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
/** utime + stime of a process, in seconds. */
function cpuSeconds(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}
const metric = (text: string, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
interface HeapFigures {
  heapUsed: number;
  heapTotal: number;
  newSpace: number;
  oldSpaceUsed: number;
  external: number;
}
/** V8 heap figures of a server, from its /metrics (prom-client's default metrics, no GC forced). */
function heapFigures(text: string): HeapFigures {
  return {
    heapUsed: metric(text, 'collab_nodejs_heap_size_used_bytes'),
    heapTotal: metric(text, 'collab_nodejs_heap_size_total_bytes'),
    newSpace: metric(text, 'collab_nodejs_heap_space_size_total_bytes\\{space="new"\\}'),
    oldSpaceUsed: metric(text, 'collab_nodejs_heap_space_size_used_bytes\\{space="old"\\}'),
    external: metric(text, 'collab_nodejs_external_memory_bytes'),
  };
}

const children: ChildProcess[] = [];
/** Node flags for the project's server processes only, space-separated (BENCH_SERVER_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'). */
const SERVER_NODE_ARGS = process.env.BENCH_SERVER_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
/**
 * BENCH_HEAP_SNAPSHOT_DIR=<dir> (diagnostic): the memory part also writes a heap snapshot of the
 * measured server and of the idle side-by-side server into <dir> after its figures are read (a
 * snapshot runs a full GC, so it comes after them). Compare them with bench/heap-diff.ts.
 */
const HEAP_SNAPSHOT_DIR = process.env.BENCH_HEAP_SNAPSHOT_DIR ? path.resolve(process.env.BENCH_HEAP_SNAPSHOT_DIR) : null;
/** BENCH_SERVER_STDOUT=<file> (diagnostic): the project's servers' stdout goes there (e.g. with BENCH_SERVER_NODE_ARGS=--trace-gc). */
const SERVER_STDOUT = process.env.BENCH_SERVER_STDOUT ? openSync(process.env.BENCH_SERVER_STDOUT, 'a') : 'ignore';
if (HEAP_SNAPSHOT_DIR) SERVER_NODE_ARGS.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${HEAP_SNAPSHOT_DIR}`);
/**
 * BENCH_COMPARE_ROOT=<another checkout> (with its node_modules): the one-at-a-time load also runs
 * that checkout's collab-server as a third server ("compare", e.g. main before a change), side by
 * side in the same run. BENCH_ROUNDS repeats the one-at-a-time comparison, rotating the order.
 */
const COMPARE_ROOT = process.env.BENCH_COMPARE_ROOT ? path.resolve(process.env.BENCH_COMPARE_ROOT) : null;
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
/** BENCH_RATE_ROUNDS repeats the 4 edits/s comparison (30 s per server per round), rotating the order. */
const RATE_ROUNDS = Math.max(1, Number(process.env.BENCH_RATE_ROUNDS ?? 1));
/**
 * BENCH_ASYNC_COMMIT=1 (diagnostic, not a deployment advice): the one-at-a-time load also runs the
 * project's server with COLLAB_SYNCHRONOUS_COMMIT=off ("project_async_commit"), side by side, so the
 * share of the WAL flush (the durable store before every broadcast) in the gap to bare is visible.
 */
const ASYNC_COMMIT_VARIANT = process.env.BENCH_ASYNC_COMMIT === '1';
function node(script: string, env: Record<string, string>, stdout: 'pipe' | 'ignore' | number = 'ignore', nodeArgs: string[] = [], from = root): ChildProcess {
  const c = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', path.join(from, script)], { cwd: from, env: { ...process.env, ...env }, stdio: ['ignore', stdout, 'inherit'] });
  children.push(c);
  return c;
}

/**
 * The NODE_OPTIONS a checkout's collab-server image sets (its production V8 flags, e.g. the young
 * generation cap), so the bench runs each checkout's server as it is deployed; NODE_OPTIONS in the
 * bench's environment replaces it.
 */
function imageNodeOptions(from: string): string {
  if (process.env.NODE_OPTIONS !== undefined) return process.env.NODE_OPTIONS;
  const dockerfile = readFileSync(path.join(from, 'docker/collab-server.Dockerfile'), 'utf8');
  return /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(dockerfile)?.[1] ?? '';
}

async function projectServer(databaseUrl: string, prefix: string, from = root, extraEnv: Record<string, string> = {}): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = node('collab-server/src/main.ts', {
    NODE_OPTIONS: imageNodeOptions(from),
    NODE_ENV: 'test',
    DATABASE_URL: databaseUrl,
    COLLAB_PORT: String(port),
    COLLAB_SECRET: SECRET,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    ...extraEnv,
  }, SERVER_STDOUT, SERVER_NODE_ARGS, from);
  await waitFor(async () => (await get(port, '/health')).status === 200, 60_000, 'collab server');
  return { port, child };
}

async function bareServer(): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  const child = node('collab-server/bench/bare-server.ts', { PORT: String(port) });
  await waitFor(async () => (await get(port, '/')).status === 200, 60_000, 'bare server');
  return { port, child };
}

interface DriverDoc {
  room: string;
  clients: { url: string; token: string }[];
}

const workDir = mkdtempSync(path.join(os.tmpdir(), 'cm-bench-collab-'));
let configs = 0;
/** Thousands of tokens do not fit in the environment: the driver reads its config from a file. */
function configFile(config: object): string {
  const f = path.join(workDir, `driver-${configs++}.json`);
  writeFileSync(f, JSON.stringify(config));
  return f;
}

/** Runs the driver to completion and returns its JSON result. */
function runDriver(config: object): Promise<Record<string, number>> {
  const c = node('collab-server/bench/driver.ts', { BENCH_DRIVER_FILE: configFile(config) }, 'pipe');
  return new Promise((resolve, reject) => {
    let out = '';
    c.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    c.once('exit', (code) => {
      const line = out.trim().split('\n').at(-1) ?? '';
      if (code === 0 && line) resolve(JSON.parse(line) as Record<string, number>);
      else reject(new Error(`driver exited ${code}`));
    });
  });
}

/** Starts an idle driver; resolves once its clients are synced, with the process to kill later. */
function idleDriver(docs: DriverDoc[]): Promise<ChildProcess> {
  const c = node('collab-server/bench/driver.ts', { BENCH_DRIVER_FILE: configFile({ mode: 'idle', docs }) }, 'pipe');
  return new Promise((resolve, reject) => {
    c.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('"ready"')) resolve(c);
    });
    c.once('exit', (code) => reject(new Error(`idle driver exited ${code}`)));
  });
}

async function newProject(db: Db): Promise<string> {
  const [org] = await db.insert(orgs).values({ name: 'Bench' }).returning();
  const [project] = await db.insert(projects).values({ orgId: org!.id, name: 'Bench' }).returning();
  return project!.id;
}

const token = (projectId: string) => signCollabToken({ sub: crypto.randomUUID(), name: 'bench', projectId, role: 'editor', exp: Math.floor(Date.now() / 1000) + 3600 }, SECRET);


async function memory(db: Db, url: string, prefix: string) {
  const state = timelineDoc();
  progress(`memory: seeding ${IDLE_DOCS} documents (${state.byteLength} B encoded each)`);
  const [org] = await db.insert(orgs).values({ name: 'Bench' }).returning();
  const rows = await db.insert(projects).values(Array.from({ length: IDLE_DOCS }, (_, i) => ({ orgId: org!.id, name: `Idle ${i}` }))).returning({ id: projects.id });
  const ids = rows.map((r) => r.id);
  for (let i = 0; i < ids.length; i += 25) await Promise.all(ids.slice(i, i + 25).map((id) => appendUpdates(db, id, [{ update: state, userId: null }])));
  const result: Record<string, unknown> = await idleMemory(url, prefix, ids, state.byteLength, root, 'open');
  // BENCH_COMPARE_ROOT: the same measurement of that checkout's server, right after, same documents.
  if (COMPARE_ROOT) result.compare = await idleMemory(url, prefix, ids, state.byteLength, COMPARE_ROOT, 'compare');
  return result;
}

async function idleMemory(url: string, prefix: string, ids: string[], encodedBytes: number, from: string, name: string) {
  progress(`memory: ${name} server from ${from}`);
  const server = await projectServer(url, prefix, from);
  // The same server a second time, side by side, that opens no documents: its RSS at the same
  // moment is the baseline of an idle process of this code (same warm-up, same idle time).
  const baseline = await projectServer(url, prefix, from);
  // Warm-up: one document opened and closed on each, so code paths and pools are in the baseline.
  for (const s of [server, baseline]) {
    const warm = await idleDriver([{ room: roomForProject(ids[0]!), clients: [{ url: `ws://127.0.0.1:${s.port}`, token: await token(ids[0]!) }] }]);
    warm.kill('SIGKILL');
  }
  // The same idle time before the zero-document reading as after opening: start-up garbage (module
  // compilation, the warm-up) is collected by then as it would be later, so it is not counted either way.
  progress(`memory: ${IDLE_SECONDS}s idle with no documents open (baseline of the same process)`);
  await sleep(IDLE_SECONDS * 1000);
  const rss0 = rssKiB(server.child.pid!);
  const v0 = heapFigures((await get(server.port, '/metrics')).body);
  progress(`memory: opening ${IDLE_DOCS} documents, one client each, then ${IDLE_SECONDS}s idle`);
  const docs: DriverDoc[] = [];
  for (const id of ids) docs.push({ room: roomForProject(id), clients: [{ url: `ws://127.0.0.1:${server.port}`, token: await token(id) }] });
  const driver = await idleDriver(docs);
  const rssOpen = rssKiB(server.child.pid!);
  await sleep(IDLE_SECONDS * 1000);
  const rss1 = rssKiB(server.child.pid!);
  const rssBaseline = rssKiB(baseline.child.pid!);
  const m = (await get(server.port, '/metrics')).body;
  const v1 = heapFigures(m);
  const vb = heapFigures((await get(baseline.port, '/metrics')).body);
  const rooms = metric(m, 'collab_rooms');
  const accepted = [...m.matchAll(/^collab_connections_total\{[^}]*\} (\S+)$/gm)].reduce((n, x) => n + Number(x[1]), 0);
  if (HEAP_SNAPSHOT_DIR) {
    for (const [kind, s] of [[name, server], [`${name}-baseline`, baseline]] as const) {
      const before = new Set(readdirSync(HEAP_SNAPSHOT_DIR));
      s.child.kill('SIGUSR2');
      let file = '';
      await waitFor(() => {
        file = readdirSync(HEAP_SNAPSHOT_DIR).find((f) => !before.has(f) && f.endsWith('.heapsnapshot')) ?? '';
        return file !== '';
      }, 300_000, 'heap snapshot');
      // Written in pieces: done once its size stops changing.
      let size = -1;
      await waitFor(async () => {
        await sleep(1000);
        const now = statSync(path.join(HEAP_SNAPSHOT_DIR, file)).size;
        const done = now === size && now > 0;
        size = now;
        return done;
      }, 300_000, 'heap snapshot written');
      renameSync(path.join(HEAP_SNAPSHOT_DIR, file), path.join(HEAP_SNAPSHOT_DIR, `${kind}-${IDLE_DOCS}.heapsnapshot`));
      progress(`memory: heap snapshot ${kind}-${IDLE_DOCS}.heapsnapshot`);
    }
  }
  driver.kill('SIGKILL');
  server.child.kill('SIGKILL');
  baseline.child.kill('SIGKILL');
  const per = (kib: number) => Math.round((kib / IDLE_DOCS) * 10) / 10;
  const mib = (bytes: number) => Math.round(bytes / 1024 / 102.4) / 10;
  const heapMib = (v: HeapFigures) => ({ heap_used: mib(v.heapUsed), heap_total: mib(v.heapTotal), new_space_total: mib(v.newSpace), old_space_used: mib(v.oldSpaceUsed), external: mib(v.external) });
  return {
    documents: IDLE_DOCS,
    rooms_loaded: rooms,
    /** Connections accepted by the measured server, warm-up included: more than documents + 1 means idle clients reconnected. */
    connections_accepted: accepted,
    idle_seconds: IDLE_SECONDS,
    encoded_bytes_per_doc: encodedBytes,
    server_node_options: imageNodeOptions(from),
    server_node_args: SERVER_NODE_ARGS.join(' '),
    /** The headline: the same process before (same idle time, no documents) and after. */
    rss_per_doc_kib: per(rss1 - rss0),
    heap_used_per_doc_kib: per((v1.heapUsed - v0.heapUsed) / 1024),
    external_per_doc_kib: per((v1.external - v0.external) / 1024),
    rss_per_doc_kib_right_after_open: per(rssOpen - rss0),
    /** vs the idle side-by-side server that opened no documents, both read at the same moment. */
    rss_per_doc_kib_vs_idle_server: per(rss1 - rssBaseline),
    heap_used_per_doc_kib_vs_idle_server: per((v1.heapUsed - vb.heapUsed) / 1024),
    server_rss_mib: { before: Math.round(rss0 / 102.4) / 10, after: Math.round(rss1 / 102.4) / 10, idle_server: Math.round(rssBaseline / 102.4) / 10 },
    server_heap_mib: { before: heapMib(v0), after: heapMib(v1), idle_server: heapMib(vb) },
    forced_gc: false,
  };
}

async function load(db: Db, url: string, prefix: string) {
  type Server = { port: number; child: ChildProcess };
  const servers: Record<string, Server> = { project: await projectServer(url, prefix), bare: await bareServer() };
  if (COMPARE_ROOT) servers.compare = await projectServer(url, prefix, COMPARE_ROOT);
  if (ASYNC_COMMIT_VARIANT) servers.project_async_commit = await projectServer(url, prefix, root, { COLLAB_SYNCHRONOUS_COMMIT: 'off' });
  const out: Record<string, unknown> = {};
  /** The server's own store figures (collab_store_seconds: queued -> committed, per group commit). */
  const storeMetrics = async (which: string) => {
    if (which === 'bare') return null;
    const m = (await get(servers[which]!.port, '/metrics')).body;
    return { sum: metric(m, 'collab_store_seconds_sum'), count: metric(m, 'collab_store_seconds_count') };
  };
  const measure = async (which: string, mode: 'single' | 'rate') => {
    const p = await newProject(db);
    const server = servers[which]!;
    const clients = await Promise.all(Array.from({ length: 50 }, async () => ({ url: `ws://127.0.0.1:${server.port}`, token: await token(p) })));
    progress(`load: ${which} server, 50 editors, ${mode === 'single' ? `${SINGLE_EDITS} edits one at a time (after ${SINGLE_WARMUP} warm-up edits)` : `4 edits/s each for ${LOAD_SECONDS}s`}`);
    const cpu0 = cpuSeconds(server.child.pid!);
    const store0 = await storeMetrics(which);
    const result = await runDriver({ mode, docs: [{ room: roomForProject(p), clients }], edits: SINGLE_EDITS, warmup: SINGLE_WARMUP, perSecond: 4, seconds: LOAD_SECONDS });
    result.server_cpu_seconds = Math.round((cpuSeconds(server.child.pid!) - cpu0) * 100) / 100;
    const store1 = await storeMetrics(which);
    if (store0 && store1 && store1.count > store0.count) {
      result.server_group_commits = store1.count - store0.count;
      result.server_mean_store_ms = Math.round(((store1.sum - store0.sum) / (store1.count - store0.count)) * 1e5) / 100;
    }
    return result;
  };
  const withRatios = (results: Record<string, Record<string, number>>) => {
    const r = (a: string, k: string) => Math.round((results[a]![k]! / results.bare![k]!) * 100) / 100;
    const others: Record<string, number> = {};
    for (const name of Object.keys(results)) if (name !== 'bare' && name !== 'project') Object.assign(others, { [`${name}_ratio_p50`]: r(name, 'p50_ms'), [`${name}_ratio_p99`]: r(name, 'p99_ms') });
    return { ...results, ratio_p50: r('project', 'p50_ms'), ratio_p99: r('project', 'p99_ms'), ...others };
  };
  /** Runs `rounds` rounds over `names`, rotating which goes first, so none always gets the warmer machine. */
  const rotate = async (names: string[], mode: 'single' | 'rate', rounds: number) => {
    const all = [];
    for (let round = 0; round < rounds; round++) {
      const results: Record<string, Record<string, number>> = {};
      for (let i = 0; i < names.length; i++) {
        const which = names[(i + round) % names.length]!;
        results[which] = await measure(which, mode);
      }
      all.push(withRatios(results));
    }
    return all.length === 1 ? all[0] : { rounds: all, ...medians(all) };
  };
  for (const mode of LOAD_MODES) {
    if (mode === 'rate') out.editors_50_x_4_per_s = await rotate(['bare', 'project'], mode, RATE_ROUNDS);
    else out.one_edit_at_a_time = await rotate(Object.keys(servers), mode, ROUNDS);
  }
  // A profiled server must exit by itself for V8 to write its profile.
  if (SERVER_NODE_ARGS.length > 0) await new Promise((r) => servers.project!.child.once('exit', r).kill('SIGTERM'));
  for (const s of Object.values(servers)) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  return out;
}

/** Median over rounds of every top-level ratio (`ratio_p50`, `compare_ratio_p99`, ...). */
function medians(rounds: Record<string, unknown>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of Object.keys(rounds[0]!).filter((k) => k.endsWith('ratio_p50') || k.endsWith('ratio_p99'))) {
    const v = rounds.map((r) => r[k] as number).sort((a, b) => a - b);
    out[`median_${k}`] = v.length % 2 ? v[(v.length - 1) / 2]! : Math.round(((v[v.length / 2 - 1]! + v[v.length / 2]!) / 2) * 100) / 100;
  }
  return out;
}

async function scale(db: Db, url: string, prefix: string) {
  const a = await projectServer(url, prefix);
  const b = await projectServer(url, prefix);
  progress(`scale: ${SCALE_DOCS} documents x 5 clients over 2 processes, 0.2 edits/s per client for ${LOAD_SECONDS}s`);
  const [org] = await db.insert(orgs).values({ name: 'Bench scale' }).returning();
  const rows = await db.insert(projects).values(Array.from({ length: SCALE_DOCS }, (_, i) => ({ orgId: org!.id, name: `Scale ${i}` }))).returning({ id: projects.id });
  const docs: DriverDoc[] = [];
  for (let d = 0; d < SCALE_DOCS; d++) {
    const id = rows[d]!.id;
    const clients = [];
    for (let j = 0; j < 5; j++) clients.push({ url: `ws://127.0.0.1:${(d * 5 + j) % 2 === 0 ? a.port : b.port}`, token: await token(id) });
    docs.push({ room: roomForProject(id), clients });
  }
  const cpuA = cpuSeconds(a.child.pid!);
  const cpuB = cpuSeconds(b.child.pid!);
  const t0 = performance.now();
  const result = await runDriver({ mode: 'rate', docs, perSecond: 0.2, seconds: LOAD_SECONDS });
  const wall = (performance.now() - t0) / 1000;
  const ma = (await get(a.port, '/metrics')).body;
  const mb = (await get(b.port, '/metrics')).body;
  const lag = (m: string) => Math.round((metric(m, 'collab_fanout_lag_seconds_sum') / metric(m, 'collab_fanout_lag_seconds_count')) * 1e5) / 100;
  const cpu = (pid: number, c0: number) => Math.round(((cpuSeconds(pid) - c0) / wall) * 1000) / 10;
  const res = {
    documents: SCALE_DOCS,
    ...result,
    wall_seconds_incl_connect: Math.round(wall),
    process_a: { cpu_percent_of_one_core: cpu(a.child.pid!, cpuA), rss_mib: Math.round(rssKiB(a.child.pid!) / 102.4) / 10, mean_fanout_lag_ms: lag(ma) },
    process_b: { cpu_percent_of_one_core: cpu(b.child.pid!, cpuB), rss_mib: Math.round(rssKiB(b.child.pid!) / 102.4) / 10, mean_fanout_lag_ms: lag(mb) },
  };
  a.child.kill('SIGKILL');
  b.child.kill('SIGKILL');
  return res;
}

async function main(): Promise<void> {
  const t = await createTestDb();
  const prefix = uniquePrefix('bench-collab');
  const result: Record<string, unknown> = { machine: { cpus: os.cpus().length, loadavg_at_start: os.loadavg().map((x) => Math.round(x * 100) / 100), node: process.version } };
  try {
    // A part that fails is reported as such; the others still print (each also goes to stderr at once).
    const part = async (name: string, key: string, fn: () => Promise<unknown>) => {
      if (!PARTS.has(name)) return;
      try {
        result[key] = await fn();
      } catch (err) {
        result[key] = { error: err instanceof Error ? err.message : String(err) };
      }
      for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
      progress(`${key}: ${JSON.stringify(result[key])}`);
    };
    await part('memory', 'memory_idle_documents', () => memory(t.handle.db, t.url, prefix));
    await part('load', 'load_vs_bare_y_websocket_server', () => load(t.handle.db, t.url, prefix));
    await part('scale', `scale_${SCALE_DOCS}_docs_x_5_clients_2_processes`, () => scale(t.handle.db, t.url, prefix));
    (result.machine as Record<string, unknown>).loadavg_at_end = os.loadavg().map((x) => Math.round(x * 100) / 100);
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    rmSync(workDir, { recursive: true, force: true });
    await t.dispose();
  }
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  process.exit(0);
}

main().catch((err: unknown) => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  process.stderr.write(`bench failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
