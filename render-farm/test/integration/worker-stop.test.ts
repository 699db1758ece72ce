/**
 * Graceful stop against real Redis and ffmpeg: a running render is waited for (bounded), a render
 * past the bound is aborted and retried, a job held but never started goes back to its queue untouched.
 */
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import BeeQueue from 'bee-queue';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RENDER_QUEUES, RenderProgress, type RenderPriority } from '@clipmaker/shared/jobs';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { probeCapabilities, type Capabilities } from '../../src/capabilities.ts';
import { LocalDiskStorage } from '../../src/storage/index.ts';
import { startWorker, type WorkerOptions } from '../../src/worker.ts';
import { makeFrameIndexVideo, tempDir } from '../support/media.ts';
import { frameIndexSpec } from '../support/spec.ts';

interface RedisV3 {
  hget(key: string, field: string, cb: (err: Error | null, res: string | null) => void): void;
  keys(pattern: string, cb: (err: Error | null, res: string[]) => void): void;
  lrange(key: string, start: number, stop: number, cb: (err: Error | null, res: string[]) => void): void;
  del(keys: string[], cb: (err: Error | null) => void): void;
}

const prefix = uniquePrefix('farm-stop');
let dir: string;
let storage: LocalDiskStorage;
let capabilities: Capabilities;
const producers = new Map<RenderPriority, BeeQueue>();

beforeAll(async () => {
  dir = await tempDir('worker-stop');
  storage = new LocalDiskStorage(join(dir, 'storage'));
  await makeFrameIndexVideo(join(dir, 'storage', 'media', 'src.mp4'), { width: 640, height: 360, fps: 30, frames: 90, audio: true });
  const quick = frameIndexSpec({ key: 'media/src.mp4', sourceFrames: 90, width: 360, height: 640, hasAudio: true, clips: [{ sourceIn: 0, sourceOut: 30 }] });
  // Big and slow enough to still be encoding when the stop bound expires.
  const slow = frameIndexSpec({ key: 'media/src.mp4', sourceFrames: 90, width: 1080, height: 1920, hasAudio: true, clips: [{ sourceIn: 0, sourceOut: 90 }] });
  slow.output.video.preset = 'slow';
  await writeFile(join(dir, 'storage', 'quick.json'), JSON.stringify(quick));
  await writeFile(join(dir, 'storage', 'slow.json'), JSON.stringify(slow));
  capabilities = await probeCapabilities();
  for (const p of ['normal', 'low'] as const) {
    const q = new BeeQueue(RENDER_QUEUES[p], { prefix, redis: { url: TEST_REDIS_URL }, isWorker: false, getEvents: true, sendEvents: false });
    await q.ready();
    producers.set(p, q);
  }
});

afterAll(async () => {
  const redis = (producers.get('normal') as unknown as { client: RedisV3 } | undefined)?.client;
  if (redis) {
    const keys = await new Promise<string[]>((r) => redis.keys(`${prefix}:*`, (_e, k) => r(k ?? [])));
    if (keys.length) await new Promise<void>((r) => redis.del(keys, () => r()));
  }
  await Promise.all([...producers.values()].map((q) => q.close()));
  await rm(dir, { recursive: true, force: true });
});

/** The job as stored in Redis (a producer's getJob may answer from its own event-updated cache). */
async function storedOptions(priority: RenderPriority, jobId: string): Promise<{ retries: number; stacktraces: string[]; backoff: { delay: number } }> {
  const redis = (producers.get('normal') as unknown as { client: RedisV3 }).client;
  const raw = await new Promise<string | null>((resolve, reject) => redis.hget(`${prefix}:${RENDER_QUEUES[priority]}:jobs`, jobId, (e, r) => (e ? reject(e) : resolve(r))));
  return (JSON.parse(raw!) as { options: { retries: number; stacktraces: string[]; backoff: { delay: number } } }).options;
}

function worker(extra: Partial<WorkerOptions>) {
  return startWorker({ redisUrl: TEST_REDIS_URL, storage, prefix, capabilities, logger: pino({ level: 'silent' }), target: 'cpu', progressIntervalMs: 0, workRoot: dir, ...extra });
}

function track(priority: RenderPriority, specKey: string) {
  const renderId = randomUUID();
  const job = producers.get(priority)!.createJob({ renderId, specKey, outputPrefix: `renders/${renderId}` }).retries(3).backoff('exponential', 2000);
  const progress: RenderProgress[] = [];
  let onRendering: () => void = () => {};
  const rendering = new Promise<void>((r) => (onRendering = r));
  const settled = new Promise<{ event: string; message: string }>((resolve) => {
    job.on('progress', (p) => {
      progress.push(RenderProgress.parse(p));
      if (progress.at(-1)!.stage === 'rendering') onRendering();
    });
    job.on('succeeded', () => resolve({ event: 'succeeded', message: '' }));
    job.on('retrying', (err) => resolve({ event: 'retrying', message: err.message }));
    job.on('failed', (err) => resolve({ event: 'failed', message: err.message }));
  });
  return { job, renderId, progress, rendering, settled };
}

describe('worker stop', () => {
  it('waits for the running render to finish before closing', async () => {
    const w = await worker({ workerId: 'stop-wait', stopTimeoutMs: 60_000 });
    const t = track('normal', 'quick.json');
    await t.job.save();
    await t.rendering;
    await w.stop();
    expect(await t.settled).toEqual({ event: 'succeeded', message: '' });
    expect(await storage.exists(`renders/${t.renderId}/output.mp4`)).toBe(true);
  });

  it('aborts a render past the bound and hands a held, unstarted job back untouched', async () => {
    const w = await worker({ workerId: 'stop-abort', stopTimeoutMs: 300, concurrency: 1 });
    const running = track('normal', 'slow.json');
    await running.job.save();
    await running.rendering;
    // Taken by the low queue's consumer while the only slot is busy: held, not started.
    const held = track('low', 'quick.json');
    await held.job.save();
    await new Promise((r) => setTimeout(r, 300));
    expect(held.progress).toEqual([]);

    const started = Date.now();
    await w.stop();
    expect(Date.now() - started).toBeLessThan(8000);
    expect(await running.settled).toEqual({ event: 'retrying', message: 'render aborted: worker stopping' });
    // The held job is waiting again: no attempt used, no backoff grown, no event.
    const redis = (producers.get('low') as unknown as { client: RedisV3 }).client;
    const waiting = await new Promise<string[]>((r) => redis.lrange(`${prefix}:${RENDER_QUEUES.low}:waiting`, 0, -1, (_e, v) => r(v ?? [])));
    expect(waiting).toEqual([held.job.id]);
    expect(await storedOptions('low', held.job.id)).toMatchObject({ retries: 3, stacktraces: [], backoff: { delay: 2000 } });
    expect(await Promise.race([held.settled, new Promise((r) => setTimeout(() => r('no event'), 500))])).toBe('no event');
    expect((await storedOptions('normal', running.job.id)).retries).toBe(2);
  });
});
