/**
 * Fault injection on the whole render path, everything real: a redis-server of this test's own (AOF
 * on), three render-farm worker processes, the app's render side as a process (render-app.ts: the
 * server context with its producer, event handling and reconciler), Postgres, ffmpeg. Sources carry
 * their frame numbers, renders are small (320x180, 1-3 s), some are chunked (2 chunks + audio) and
 * some cannot render (their source is missing).
 *  1. kill -9 workers at random while 30 renders run (a new worker replaces each victim);
 *  2. stop Redis (SIGTERM) mid-run, submit while it is down, start it again;
 *  3. kill -9 the app mid-run (and once mid-submit), let the farm finish, start the app again.
 * Each scenario ends the same way: every render succeeded or failed-and-refunded exactly once, one
 * output per success with the right frames (decoded), no temp folder or ffmpeg left, the org's quota
 * exact, no worker ever exited on its own.
 */
import { readdir, readFile, rm, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '@clipmaker/db';
import { workerRegistryKey } from '@clipmaker/shared/jobs';
import { loadConfig } from '../../src/lib/server/config.ts';
import type { AppContext } from '../../src/lib/server/context.ts';
import { RenderQueueProducer } from '../../src/lib/server/queue.ts';
import { testContext } from '../support/context.ts';
import { LocalStorage } from '../../src/lib/server/storage.ts';
import { listWorkers } from '../../src/lib/server/services/admin.ts';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { AppProcess, outputFrameNumbers, prepareProjects, processesUnder, startRedisServer, WorkerFleet, workFolders, type RedisServer, type RenderPlan, type RenderRow } from '../support/farm.ts';
import { minutesLeft } from '../support/minutes.ts';
import { chargedMinutes } from '../../src/lib/server/services/render-minutes.ts';

const PREFIX = 'cmfault';
const HEARTBEAT_MS = 1000;
const GRACE_SECONDS = 3;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Deterministic randomness (mulberry32), so a failing run can be replayed. */
function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let t: TestDb;
let dir: string;
let storageDir: string;
let workDir: string;
let redis: RedisServer;
let ctx: AppContext;
let fleet: WorkerFleet;
let app: AppProcess;
/** Worker processes the test killed on purpose; any other exit is a failure. */
const killed = new Set<string>();

beforeAll(async () => {
  t = await createTestDb();
  dir = await mkdtemp(join(tmpdir(), 'cm-faults-'));
  storageDir = join(dir, 'storage');
  workDir = join(dir, 'work');
  redis = await startRedisServer(join(dir, 'redis'));
  const env = { REDIS_URL: redis.url, QUEUE_PREFIX: PREFIX, STORAGE_DIR: storageDir, LOG_LEVEL: 'warn' };
  // The test's own view: a producer without event handling (the app process is the one that handles
  // events), for the admin's worker list and the queue's job records.
  const config = loadConfig({ ...process.env, ...env } as NodeJS.ProcessEnv);
  ctx = testContext({ config, db: t.handle, storage: new LocalStorage(storageDir) });
  ctx.queue = new RenderQueueProducer(redis.url, PREFIX);
  fleet = new WorkerFleet({ ...env, WORK_DIR: workDir, RENDER_TARGET: 'cpu', STALL_INTERVAL_MS: '1500', HEARTBEAT_INTERVAL_MS: String(HEARTBEAT_MS), WORKER_GRACE_SECONDS: String(GRACE_SECONDS) });
  for (let i = 0; i < 3; i++) fleet.spawn();
  app = new AppProcess({ ...env, DATABASE_URL: t.url, NODE_ENV: 'test', RENDER_CHUNK_SECONDS: '1', RENDER_RECONCILE_INTERVAL_MS: '2000', RENDER_LOST_JOB_SECONDS: '5' });
  await app.start();
}, 120_000);

afterAll(async () => {
  await fleet?.stopAll();
  await app?.kill9();
  await ctx?.queue.close();
  await redis?.stop();
  await t?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
}, 60_000);

/** Short single renders, chunked ones (90 frames: 2 chunks + audio) and broken ones, each its own project. */
function plans(n: number, chunked: number, broken: number, seed: number): Omit<RenderPlan, 'projectId'>[] {
  const r = rng(seed);
  const out: Omit<RenderPlan, 'projectId'>[] = [];
  for (let i = 0; i < n; i++) {
    const kind = i < chunked ? 'chunked' : i < chunked + broken ? 'broken' : 'short';
    const length = kind === 'chunked' ? 90 : 30 + Math.floor(r() * 31);
    const sourceIn = Math.floor(r() * (150 - length));
    out.push({ sourceIn, sourceOut: sourceIn + length, broken: kind === 'broken' });
  }
  return out;
}

async function submit(userId: string, list: RenderPlan[]) {
  return Promise.all(list.map((p) => app.submit(userId, p.projectId)));
}

/** The rows of these projects, once none is queued or rendering. */
async function settledRows(list: RenderPlan[], timeoutMs: number): Promise<RenderRow[]> {
  const projectIds = list.map((p) => p.projectId);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const rows = await t.handle.db.select().from(schema.renders).where(inArray(schema.renders.projectId, projectIds));
    const open = rows.filter((r) => r.status === 'queued' || r.status === 'rendering');
    if (open.length === 0) return rows;
    if (Date.now() > deadline) throw new Error(`still open after ${timeoutMs} ms: ${open.map((r) => `${r.id} ${r.status}/${r.stage}`).join(', ')}\napp: ${app.lines.slice(-10).join('\n')}`);
    await sleep(300);
  }
}

/** The checks every scenario ends with. `mustFail`: projects whose renders are expected to fail (besides broken ones). */
async function verify(label: string, orgId: string, quota: number, list: RenderPlan[], rows: RenderRow[], mustFail = new Set<string>()) {
  const byProject = new Map(list.map((p) => [p.projectId, p]));
  let succeeded = 0;
  const charged = await chargedMinutes(t.handle.db, rows.map((r) => r.id));
  for (const row of rows) {
    const plan = byProject.get(row.projectId)!;
    const files = (await readdir(join(storageDir, row.outputPrefix)).catch(() => [] as string[])).sort();
    const what = `${label} render ${row.id} (${plan.sourceIn}-${plan.sourceOut}${plan.broken ? ', broken' : ''}): ${row.status} ${row.error ?? ''}`;
    if (plan.broken || mustFail.has(row.projectId)) {
      expect(row.status, what).toBe('failed');
      expect(charged.get(row.id), what).toBe(0);
      expect(files, what).not.toContain('output.mp4');
      continue;
    }
    expect(row.status, what).toBe('succeeded');
    expect(charged.get(row.id), what).toBe(1);
    expect(files, what).toEqual(['output.mp4', 'poster.jpg', 'spec.json', 'thumb.jpg']);
    const frames = await outputFrameNumbers(join(storageDir, row.outputKey!));
    expect(frames, what).toEqual(Array.from({ length: plan.sourceOut - plan.sourceIn }, (_, i) => plan.sourceIn + i));
    succeeded += 1;
  }
  expect(await minutesLeft(t.handle.db, orgId), `${label}: quota`).toBe(quota - succeeded);
  // No temp folder and no ffmpeg left behind: live workers' own folders, empty.
  let folders = await workFolders(workDir);
  for (let i = 0; i < 40 && folders.some((f) => f.jobs.length > 0); i++) {
    await sleep(250);
    folders = await workFolders(workDir);
  }
  const livePids = new Set(fleet.alive().map((w) => String(w.child.pid)));
  for (const f of folders) {
    const owner = JSON.parse(await readFile(join(f.folder, 'owner.json'), 'utf8').catch(() => '{}')) as { pid?: number };
    expect(livePids.has(String(owner.pid)), `${label}: ${f.folder} belongs to no live worker`).toBe(true);
    expect(f.jobs, `${label}: ${f.folder} still has job folders`).toEqual([]);
  }
  expect(await processesUnder(workDir), `${label}: processes still working under WORK_DIR`).toEqual([]);
  // No worker exited except the ones killed on purpose.
  expect(fleet.exits().filter((e) => !killed.has(e.id)), `${label}: workers that exited on their own`).toEqual([]);
  return succeeded;
}

describe('render farm under faults', () => {
  it('kill -9 of workers at random during 30 renders (6 chunked): every render exactly once, right frames, quota exact', async () => {
    const { user, org, plans: list, quota } = await prepareProjects(ctx, storageDir, 'kill', plans(30, 6, 2, 1));
    const submitted = await submit(user.id, list);
    expect(submitted.filter((s) => !s.ok)).toEqual([]);

    const random = rng(7);
    const lostChecks: Promise<void>[] = [];
    let kills = 0;
    for (; kills < 6; kills++) {
      await sleep(1200 + random() * 1800);
      const open = await t.handle.db.select({ id: schema.renders.id }).from(schema.renders).where(inArray(schema.renders.status, ['queued', 'rendering']));
      if (open.length < 4) break;
      const alive = fleet.alive();
      const victim = alive[Math.floor(random() * alive.length)]!;
      const registered = redis.cli('ZSCORE', workerRegistryKey(PREFIX), victim.id) !== '';
      const folder = (await readdir(workDir).catch(() => [] as string[])).find((n) => n.startsWith(`clipmaker-worker-${victim.id}-${victim.child.pid}-`));
      killed.add(victim.id);
      const killedAt = Date.now();
      await fleet.kill9(victim);
      // Its ffmpeg died with it (parent-death signal): nothing runs in its folder a moment later.
      if (folder) {
        let left = await processesUnder(join(workDir, folder));
        for (let i = 0; i < 20 && left.length; i++) {
          await sleep(100);
          left = await processesUnder(join(workDir, folder));
        }
        expect(left, `orphans of ${victim.id}`).toEqual([]);
      }
      // The admin shows it lost within two heartbeats of the kill.
      if (registered)
        lostChecks.push(
          (async () => {
            await sleep(Math.max(0, killedAt + 2 * HEARTBEAT_MS - Date.now()));
            const row = (await listWorkers(ctx)).find((w) => w.id === victim.id);
            expect(row?.health, `${victim.id} 2 beats after kill -9`).toBe('lost');
          })(),
        );
      fleet.spawn();
    }
    await Promise.all(lostChecks);
    const rows = await settledRows(list, 180_000);
    expect(rows).toHaveLength(list.length);
    const ok = await verify('kill', org.id, quota, list, rows);
    expect(ok).toBe(28);
    expect(kills).toBeGreaterThanOrEqual(3);
    console.log(JSON.stringify({ scenario: 'kill -9 workers', renders: rows.length, succeeded: ok, kills, lostChecks: lostChecks.length }));
    // Dead instances expire from the admin list after their grace period.
    await sleep(GRACE_SECONDS * 1000 + 1500);
    const listed = (await listWorkers(ctx)).map((w) => w.id).sort();
    expect(listed).toEqual(fleet.alive().map((w) => w.id).sort());
  }, 300_000);

  it('Redis stopped mid-run and started again: workers stay up and resume within 5 s, submits while it is down are refused and refunded', async () => {
    const { user, org, plans: list, quota } = await prepareProjects(ctx, storageDir, 'redis', plans(13, 2, 1, 2));
    const [before, during, after] = [list.slice(0, 10), list.slice(10, 12), list.slice(12)];
    expect((await submit(user.id, before)).filter((s) => !s.ok)).toEqual([]);
    // Mid-run: some renders done, others rendering or waiting (chunks included).
    for (let i = 0; i < 200; i++) {
      const done = await t.handle.db.select({ id: schema.renders.id }).from(schema.renders).where(inArray(schema.renders.projectId, before.map((p) => p.projectId)));
      const finished = (await t.handle.db.select({ status: schema.renders.status }).from(schema.renders).where(inArray(schema.renders.id, done.map((d) => d.id)))).filter((r) => r.status === 'succeeded');
      if (finished.length >= 3) break;
      await sleep(100);
    }
    await redis.stop();
    const downAt = Date.now();
    // While Redis is away: the app says it cannot enqueue and refuses at once, refunding.
    const readiness = await app.readiness();
    expect(readiness.value).toMatchObject({ ok: false });
    const refused = await submit(user.id, during);
    expect(refused.map((r) => r.ok)).toEqual([false, false]);
    expect(refused[0]!.error).toMatch(/queue is unavailable/);
    await sleep(Math.max(0, downAt + 4000 - Date.now()));
    expect(fleet.alive()).toHaveLength(3);

    await redis.start();
    const upAt = Date.now();
    // Every worker beats again within 5 s of Redis being back (one beat follows each reconnect).
    const resumed = new Map<string, number>();
    while (resumed.size < 3 && Date.now() - upAt < 15_000) {
      for (const w of fleet.alive()) if (!resumed.has(w.id) && Number(redis.cli('ZSCORE', workerRegistryKey(PREFIX), w.id)) >= upAt) resumed.set(w.id, Date.now() - upAt);
      await sleep(50);
    }
    expect([...resumed.values()].length).toBe(3);
    expect(Math.max(...resumed.values())).toBeLessThan(5000);
    // The app enqueues again (bee-queue's scripts reloaded after the restart).
    for (let i = 0; i < 100 && !(await app.readiness()).value?.ok; i++) await sleep(100);
    expect((await submit(user.id, after)).filter((s) => !s.ok)).toEqual([]);

    const rows = await settledRows(list, 180_000);
    expect(rows).toHaveLength(list.length);
    const ok = await verify('redis', org.id, quota, list, rows, new Set(during.map((p) => p.projectId)));
    expect(ok).toBe(10);
    console.log(JSON.stringify({ scenario: 'redis restart', renders: rows.length, succeeded: ok, downMs: upAt - downAt, resumeMs: Object.fromEntries(resumed) }));
  }, 300_000);

  it('the app killed mid-run (and mid-submit) and started again: its reconciler repairs every row from the queue', async () => {
    const { user, org, plans: list, quota } = await prepareProjects(ctx, storageDir, 'app', plans(12, 2, 2, 3));
    const [main, midSubmit] = [list.slice(0, 10), list.slice(10)];
    expect((await submit(user.id, main)).filter((s) => !s.ok)).toEqual([]);
    // Two more submits in flight when the app dies (at the first answer): each may leave a row
    // without a job (re-queued by the reconciler after RENDER_LOST_JOB_SECONDS), a queued job, or nothing.
    await Promise.race(midSubmit.map((p) => app.submit(user.id, p.projectId)));
    await app.kill9();

    // The farm finishes every job while the app is down; the rows cannot know.
    const ids = (await t.handle.db.select({ id: schema.renders.id }).from(schema.renders).where(inArray(schema.renders.projectId, main.map((p) => p.projectId)))).map((r) => r.id);
    expect(ids).toHaveLength(main.length);
    for (let i = 0; i < 600; i++) {
      const records = await Promise.all(ids.map((id) => ctx.queue.jobRecord(id)));
      if (records.every((r) => r?.status === 'succeeded' || r?.status === 'failed')) break;
      await sleep(250);
    }
    const stale = (await t.handle.db.select().from(schema.renders).where(inArray(schema.renders.id, ids))).filter((r) => r.status === 'queued' || r.status === 'rendering');
    expect(stale.length).toBeGreaterThan(0);

    const restartedAt = Date.now();
    await app.start();
    const rows = await settledRows(list, 60_000);
    const repairedMs = Date.now() - restartedAt;
    expect(rows.filter((r) => main.some((p) => p.projectId === r.projectId))).toHaveLength(main.length);
    expect(rows.length).toBeLessThanOrEqual(list.length);
    const ok = await verify('app', org.id, quota, list, rows);
    console.log(JSON.stringify({ scenario: 'app restart', renders: rows.length, succeeded: ok, staleWhileDown: stale.length, repairedMs, midSubmitRows: rows.length - main.length }));
  }, 300_000);
});
