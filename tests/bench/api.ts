/**
 * `pnpm bench:api`: HTTP latency and throughput of the real product (`pnpm start`'s launcher on
 * real Postgres and Redis, built app) next to two baselines in their own process, all in one run:
 * a bare Node HTTP server and a bare postgres.js `select 1` server (tests/bench/baseline-server.ts).
 *
 * Targets, each at 10 and 50 connections (autocannon, BENCH_SECONDS per run, default 5):
 *   baseline.node, baseline.pg, GET /livez, GET /readyz, GET /projects (SSR page, logged in),
 *   tRPC versions.list and projects.list (reads), tRPC notifications.markRead (write).
 * Prints one JSON object (p50/p99 ms, req/s, errors, and the server process's CPU ms per request, per
 * target and connection count; CPU per request shows overhead even on a busy machine), the ratios of
 * the tRPC reads' p99 to the postgres.js baseline's, and whether the budget holds: at 50 connections
 * tRPC reads within 5x the baseline at p99 and p99 < 100 ms). Progress goes to stderr.
 * The app's env passes through: `TRPC_FAST_PATH=off pnpm bench:api` measures tRPC through SvelteKit's
 * handler instead of the Node-level path (trpc/node.ts), for a side-by-side comparison.
 * Needs Postgres (TEST_DATABASE_URL), Redis and the app built (`pnpm build`).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import postgres from 'postgres';
import { freePort, startApp } from '../support/app-server.ts';
import { createProject, signUpUser, trpc } from '../security/support.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = (process.env.BENCH_CONNECTIONS ?? '10,50').split(',').map(Number);
/** Comma-separated substrings of target names to run (profiling one target); all when unset. */
const ONLY = process.env.BENCH_TARGETS ? process.env.BENCH_TARGETS.split(',').filter(Boolean) : undefined;
/** Node flags for the app process only, space-separated (BENCH_APP_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'). */
const APP_NODE_ARGS = process.env.BENCH_APP_NODE_ARGS?.split(' ').filter(Boolean);
const log = (m: string) => process.stderr.write(`[bench:api] ${m}\n`);
const ROOT = path.resolve(import.meta.dirname, '../..');

interface Target {
  name: string;
  url: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

/** CPU time (user + system, ms) a process has used: per request it tells overhead apart from load. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * (1000 / 100); // clock ticks (USER_HZ = 100)
}

/** The kernel's share of that (system time, ms): socket reads and writes. */
function sysMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[12]) * (1000 / 100);
}

async function run(t: Target, connections: number, pid: number) {
  const before = cpuMs(pid);
  const sysBefore = sysMs(pid);
  const r = await autocannon({ url: t.url, connections, duration: SECONDS, method: t.method ?? 'GET', headers: t.headers, body: t.body });
  return {
    name: t.name,
    connections,
    reqPerSec: Math.round(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors + r.timeouts,
    non2xx: r.non2xx,
    /** Server-process CPU per request (the app's, or the baseline's). */
    cpuMsPerRequest: Math.round(((cpuMs(pid) - before) / Math.max(1, r.requests.total)) * 1000) / 1000,
    /** The part of cpuMsPerRequest spent in the kernel (system time). */
    sysMsPerRequest: Math.round(((sysMs(pid) - sysBefore) / Math.max(1, r.requests.total)) * 1000) / 1000,
  };
}

const app = await startApp({ LOG_LEVEL: 'warn' }, APP_NODE_ARGS ? { nodeArgs: APP_NODE_ARGS } : {});
const basePort = await freePort();
const baseline = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'tests/bench/baseline-server.ts'), String(basePort), app.db.url], { stdio: ['ignore', 'pipe', 'inherit'] });
try {
  await new Promise<void>((resolve, reject) => {
    baseline.stdout!.once('data', () => resolve());
    baseline.once('exit', (c) => reject(new Error(`baseline exited ${c}`)));
  });
  const cookie = await signUpUser(app.url, 'bench@example.com');
  const project = await createProject(app.url, cookie, 'Bench');
  for (let i = 0; i < 5; i++) await trpc(app.url, cookie, 'versions.create', { projectId: project.projectId, name: `v${i}`, stateVector: null }, 'mutation');
  const sql = postgres(app.db.url, { max: 1, onnotice: () => {} });
  const [{ id: userId }] = (await sql`select id from users where email = 'bench@example.com'`) as unknown as [{ id: string }];
  await sql`insert into notifications (user_id, kind, project_id, text) select ${userId}, 'comment', ${project.projectId}, 'note ' || g from generate_series(1, 20) g`;
  await sql.end();

  const q = (p: string, input: unknown) => `${app.url}/api/trpc/${p}?input=${encodeURIComponent(JSON.stringify(input))}`;
  const authed = { cookie };
  const allTargets: Target[] = [
    { name: 'baseline.node', url: `http://127.0.0.1:${basePort}/` },
    { name: 'baseline.pg', url: `http://127.0.0.1:${basePort}/db` },
    { name: 'GET /livez', url: `${app.url}/livez` },
    { name: 'GET /readyz', url: `${app.url}/readyz` },
    { name: 'GET /projects', url: `${app.url}/projects`, headers: authed },
    { name: 'trpc versions.list', url: q('versions.list', { projectId: project.projectId }), headers: authed },
    { name: 'trpc projects.list', url: q('projects.list', undefined), headers: authed },
    { name: 'trpc notifications.markRead', url: `${app.url}/api/trpc/notifications.markRead`, method: 'POST', headers: { ...authed, 'content-type': 'application/json', origin: app.url, 'sec-fetch-site': 'same-origin' }, body: JSON.stringify({ ids: 'all' }) },
  ];
  const targets = ONLY ? allTargets.filter((t) => t.name.startsWith('baseline') || ONLY.some((o) => t.name.includes(o))) : allTargets;
  // Warm up (JIT, pools, caches) without recording.
  for (const t of targets) await autocannon({ url: t.url, connections: 5, duration: 1, method: t.method ?? 'GET', headers: t.headers, body: t.body });

  const results: Awaited<ReturnType<typeof run>>[] = [];
  for (const connections of CONNECTIONS) {
    for (const t of targets) {
      log(`${t.name} @ ${connections}`);
      results.push(await run(t, connections, t.name.startsWith('baseline') ? baseline.pid! : app.pid));
    }
  }
  const at = (name: string, c: number) => results.find((r) => r.name === name && r.connections === c)!;
  const reads = ['trpc versions.list', 'trpc projects.list'].filter((n) => results.some((r) => r.name === n));
  const ratios = Object.fromEntries(CONNECTIONS.flatMap((c) => reads.map((n) => [`${n} @${c} p99 / baseline.pg p99`, Math.round((at(n, c).p99 / Math.max(1, at('baseline.pg', c).p99)) * 10) / 10])));
  // CPU per request against the postgres.js baseline's, same connections: robust to a busy machine.
  const cpuRatios = Object.fromEntries(
    results.filter((r) => !r.name.startsWith('baseline')).map((r) => [`${r.name} @${r.connections} cpu / baseline.pg cpu`, Math.round((r.cpuMsPerRequest / Math.max(0.001, at('baseline.pg', r.connections).cpuMsPerRequest)) * 10) / 10]),
  );
  const budget = (CONNECTIONS.includes(50) ? reads : []).map((n) => ({ name: n, p99: at(n, 50).p99, withinFiveTimesBaseline: at(n, 50).p99 <= 5 * Math.max(1, at('baseline.pg', 50).p99), under100ms: at(n, 50).p99 < 100 }));
  process.stdout.write(
    `${JSON.stringify({ bench: 'api', seconds: SECONDS, machine: { cpus: os.cpus().length, loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100) }, results, ratios, cpuRatios, budget, budgetMet: budget.every((b) => b.withinFiveTimesBaseline && b.under100ms) }, null, 2)}\n`,
  );
} finally {
  baseline.kill('SIGTERM');
  await app.stop();
}
