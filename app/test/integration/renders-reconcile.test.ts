/**
 * Reconciliation, case by case (real Postgres, Redis, worker, ffmpeg). The app's producer here has
 * no event handling, so every job's end is "missed" the way it is when the app is down: only
 * reconcileRenders() can bring the rows up to date.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '@clipmaker/db';
import { renderResultKey } from '@clipmaker/shared/jobs';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { LocalDiskStorage } from '../../../render-farm/src/storage/index.ts';
import { startWorker, type RenderWorker } from '../../../render-farm/src/worker.ts';
import { tempDir } from '../../../render-farm/test/support/media.ts';
import { loadConfig } from '../../src/lib/server/config.ts';
import type { AppContext } from '../../src/lib/server/context.ts';
import { RenderQueueProducer } from '../../src/lib/server/queue.ts';
import { testContext } from '../support/context.ts';
import { LocalStorage } from '../../src/lib/server/storage.ts';
import { createRender, failRender, handleRenderEvents, reconcileRenders } from '../../src/lib/server/services/renders.ts';
import { outputFrameNumbers, prepareProjects, type RenderPlan } from '../support/farm.ts';
import { minutesLeft } from '../support/minutes.ts';
import { chargedMinutes } from '../../src/lib/server/services/render-minutes.ts';

const prefix = uniquePrefix('reconcile');
let t: TestDb;
let dir: string;
let ctx: AppContext;
let worker: RenderWorker | null = null;
let user: { id: string };
let orgId: string;
let quota: number;
let plans: RenderPlan[];
type Redis = Record<string, (...a: unknown[]) => void>;
let redis: Redis;
const cmd = <T>(name: string, ...args: unknown[]) => new Promise<T>((resolve, reject) => redis[name]!.call(redis, ...args, (err: Error | null, v: T) => (err ? reject(err) : resolve(v))));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  t = await createTestDb();
  dir = await tempDir('reconcile');
  const storageDir = join(dir, 'storage');
  await mkdir(storageDir, { recursive: true });
  const config = loadConfig({ ...process.env, STORAGE_DIR: storageDir, QUEUE_PREFIX: prefix, REDIS_URL: TEST_REDIS_URL } as NodeJS.ProcessEnv);
  ctx = testContext({ config, db: t.handle, storage: new LocalStorage(storageDir) });
  ctx.queue = new RenderQueueProducer(TEST_REDIS_URL, prefix);
  await ctx.queue.ready();
  redis = (ctx.queue as unknown as { queues: Map<string, { client: Redis }> }).queues.get('normal')!.client;
  const prepared = await prepareProjects(ctx, storageDir, 'reconcile', [
    { sourceIn: 0, sourceOut: 30, broken: false },
    { sourceIn: 10, sourceOut: 40, broken: true },
    { sourceIn: 20, sourceOut: 50, broken: false },
    { sourceIn: 30, sourceOut: 60, broken: false },
  ]);
  user = prepared.user;
  orgId = prepared.org.id;
  quota = prepared.quota;
  plans = prepared.plans;
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  const keys = await cmd<string[]>('keys', `${prefix}:*`).catch(() => []);
  if (keys.length) await cmd('del', keys);
  await ctx?.queue.close();
  await t?.dispose();
  await rm(dir, { recursive: true, force: true });
});

async function startFarm() {
  worker ??= await startWorker({ redisUrl: TEST_REDIS_URL, storage: new LocalDiskStorage(join(dir, 'storage')), prefix, workerId: 'reconcile-worker', logger: pino({ level: 'silent' }), target: 'cpu', stallIntervalMs: 2000, heartbeatIntervalMs: 500, workRoot: dir });
}

async function row(id: string) {
  const [r] = await t.handle.db.select().from(schema.renders).where(eq(schema.renders.id, id));
  return r!;
}

async function untilJob(id: string, done: (status: string | undefined) => boolean) {
  for (let i = 0; i < 400; i++) {
    if (done((await ctx.queue.jobRecord(id))?.status)) return;
    await sleep(100);
  }
  throw new Error(`job ${id} never got there`);
}

const chargedOf = async (renderId: string) => (await chargedMinutes(t.handle.db, [renderId])).get(renderId);

async function quotaLeft() {
  return minutesLeft(t.handle.db, orgId);
}

describe('render reconciliation', () => {
  it('a job that succeeded or failed while nobody listened: outputs from the stored result (or the files), refund exactly once', async () => {
    await startFarm();
    const ok = await createRender(ctx, user.id, { projectId: plans[0]!.projectId, stateVector: null });
    const bad = await createRender(ctx, user.id, { projectId: plans[1]!.projectId, stateVector: null });
    const okFromFiles = await createRender(ctx, user.id, { projectId: plans[2]!.projectId, stateVector: null });
    for (const r of [ok, bad, okFromFiles]) await untilJob(r.id, (s) => s === 'succeeded' || s === 'failed');
    expect((await row(ok.id)).status).toBe('queued');
    expect(await quotaLeft()).toBe(quota - 3);
    // One stored result has expired: the reconciler reads the output files instead.
    await cmd('del', renderResultKey(prefix, okFromFiles.id));

    // Several app instances reconcile at once, and a late "failed" event arrives too.
    const reports = await Promise.all([reconcileRenders(ctx), reconcileRenders(ctx), reconcileRenders(ctx)]);
    handleRenderEvents(ctx).onFailed(bad.id, 'late event');
    await sleep(300);
    expect(reports.reduce((n, r) => n + r.succeeded, 0)).toBe(2);
    expect(reports.reduce((n, r) => n + r.failed, 0)).toBe(1);

    const s = await row(ok.id);
    expect(s).toMatchObject({ status: 'succeeded', outputKey: `${s.outputPrefix}/output.mp4`, encoder: 'libx264', workerId: 'reconcile-worker' });
    expect(await outputFrameNumbers(join(dir, 'storage', s.outputKey!))).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(await row(okFromFiles.id)).toMatchObject({ status: 'succeeded', outputKey: `renders/${okFromFiles.id}/output.mp4`, bytes: expect.any(Number) });
    const f = await row(bad.id);
    expect(f).toMatchObject({ status: 'failed' });
    expect(await chargedOf(f!.id)).toBe(0);
    expect(f.error).toMatch(/PERMANENT/);
    expect(await quotaLeft()).toBe(quota - 2);
    // A second pass changes nothing.
    expect(await reconcileRenders(ctx)).toMatchObject({ ran: true, succeeded: 0, failed: 0, requeued: 0 });
  });

  it('a render whose job the queue lost is re-queued from its frozen spec once old enough, then repaired', async () => {
    const lost = await createRender(ctx, user.id, { projectId: plans[3]!.projectId, stateVector: null });
    // Redis lost the job (or the app died between the row and the enqueue) before any worker took it.
    await worker?.stop();
    worker = null;
    await ctx.queue.remove(lost.id);
    expect(await ctx.queue.jobRecord(lost.id)).toBeNull();
    expect(await reconcileRenders(ctx)).toMatchObject({ requeued: 0 }); // younger than RENDER_LOST_JOB_SECONDS
    expect(await reconcileRenders(ctx, { lostAfterMs: 0 })).toMatchObject({ requeued: 1 });
    expect((await ctx.queue.jobRecord(lost.id))?.status).toBe('created');
    await startFarm();
    await untilJob(lost.id, (s) => s === 'succeeded');
    await reconcileRenders(ctx);
    expect(await row(lost.id)).toMatchObject({ status: 'succeeded' });
    expect(await chargedOf(lost.id)).toBe(1);
  });

  it('a cancelled render whose cancel never reached the farm is cancelled again: it is never rendered', async () => {
    await worker?.stop();
    worker = null;
    const r = await createRender(ctx, user.id, { projectId: plans[0]!.projectId, stateVector: null });
    // The row was cancelled and refunded, but the farm never heard of it (Redis was away).
    await failRender(ctx, r.id, 'cancelled', 'cancelled');
    expect((await ctx.queue.jobRecord(r.id))?.status).toBe('created');
    expect(await reconcileRenders(ctx)).toMatchObject({ recancelled: 1 });
    expect(await ctx.queue.jobRecord(r.id)).toBeNull(); // a waiting job leaves its queue
    await startFarm();
    await sleep(1000);
    expect(await ctx.storage.stat(`renders/${r.id}/output.mp4`)).toBeNull();
    expect(await row(r.id)).toMatchObject({ status: 'cancelled' });
    expect(await chargedOf(r.id)).toBe(0);
  });
});
