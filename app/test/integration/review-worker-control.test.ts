/**
 * Farm admin drain/pause end to end: the admin service writes the control flag, a real render worker
 * (render-farm) hands new jobs back while it is set (untouched: no attempt, no backoff, no event) and
 * takes none until it is cleared, then renders them.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import BeeQueue from 'bee-queue';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RENDER_QUEUES, workerControlKey, workerKey } from '@clipmaker/shared/jobs';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { LocalDiskStorage } from '../../../render-farm/src/storage/index.ts';
import { startWorker, type RenderWorker } from '../../../render-farm/src/worker.ts';
import { makeFrameIndexVideo, tempDir } from '../../../render-farm/test/support/media.ts';
import { frameIndexSpec } from '../../../render-farm/test/support/spec.ts';
import type { AppContext } from '../../src/lib/server/context.ts';
import { setWorkerControl } from '../../src/lib/server/services/admin.ts';
import { RenderQueueProducer } from '../../src/lib/server/queue.ts';

const prefix = uniquePrefix('control');
const workerId = 'control-worker';
let dir: string;
let worker: RenderWorker;
let producer: BeeQueue;
const ctx = { config: { QUEUE_PREFIX: prefix, REDIS_URL: TEST_REDIS_URL }, db: { db: null }, queue: new RenderQueueProducer(TEST_REDIS_URL, prefix) } as unknown as AppContext;

beforeAll(async () => {
  dir = await tempDir('control');
  await mkdir(join(dir, 'storage', 'media'), { recursive: true });
  await makeFrameIndexVideo(join(dir, 'storage', 'media', 'src.mp4'), { width: 640, height: 360, fps: 30, frames: 90, audio: true });
  await writeFile(join(dir, 'storage', 'spec.json'), JSON.stringify(frameIndexSpec({ key: 'media/src.mp4', sourceFrames: 90, width: 360, height: 640, hasAudio: true, clips: [{ sourceIn: 0, sourceOut: 15 }] })));
  worker = await startWorker({ redisUrl: TEST_REDIS_URL, storage: new LocalDiskStorage(join(dir, 'storage')), prefix, workerId, logger: pino({ level: 'silent' }), target: 'cpu', heartbeatIntervalMs: 500, workRoot: dir });
  producer = new BeeQueue(RENDER_QUEUES.normal, { prefix, redis: { url: TEST_REDIS_URL }, isWorker: false, getEvents: true, sendEvents: false });
  await producer.ready();
});

afterAll(async () => {
  await worker?.stop();
  await producer?.close();
  await ctx.queue.close();
  await rm(dir, { recursive: true, force: true });
});

it('a paused worker hands jobs back untouched and takes none; resumed, it renders them', async () => {
  await setWorkerControl(ctx, workerId, 'pause');
  const renderId = crypto.randomUUID();
  const retrying: string[] = [];
  const outcome = new Promise<string>((resolve) => {
    producer.on('job retrying', (id, err) => id === renderId && retrying.push(err.message));
    producer.on('job succeeded', (id) => id === renderId && resolve('succeeded'));
    producer.on('job failed', (id, err) => id === renderId && resolve(`failed: ${err.message}`));
  });
  await producer.createJob({ renderId, specKey: 'spec.json', outputPrefix: `renders/${renderId}`, chunk: { index: 0, count: 1 }, attempt: 0 }).setId(renderId).retries(1).backoff('fixed', 200).save();
  // The paused worker drew it, handed it back and waits: the job sits in waiting, untouched.
  const client = (producer as unknown as { client: Record<string, (...a: unknown[]) => void> }).client;
  const cmd = <T>(name: string, ...args: unknown[]) => new Promise<T>((resolve, reject) => client[name]!.call(client, ...args, (err: Error | null, v: T) => (err ? reject(err) : resolve(v))));
  await new Promise((r) => setTimeout(r, 1500));
  expect(await cmd<string[]>('lrange', `${prefix}:${RENDER_QUEUES.normal}:waiting`, 0, -1)).toEqual([renderId]);
  expect(await cmd<string | null>('get', workerControlKey(prefix, workerId))).toBe('pause');
  expect((await cmd<Record<string, string>>('hgetall', workerKey(prefix, workerId))).currentJob).toBe('');

  await setWorkerControl(ctx, workerId, null);
  expect(await outcome).toBe('succeeded');
  expect(retrying).toEqual([]);
  const stored = JSON.parse((await cmd<string>('hget', `${prefix}:${RENDER_QUEUES.normal}:jobs`, renderId))) as { options: { retries: number } };
  expect(stored.options.retries).toBe(1);
  expect(await cmd<string | null>('get', workerControlKey(prefix, workerId))).toBeNull();
});

/** A render long enough (900 frames) to be caught running. */
async function longJob(): Promise<string> {
  const renderId = crypto.randomUUID();
  const clips = Array.from({ length: 10 }, () => ({ sourceIn: 0, sourceOut: 90 }));
  await writeFile(join(dir, 'storage', `long-${renderId}.json`), JSON.stringify(frameIndexSpec({ key: 'media/src.mp4', sourceFrames: 90, width: 360, height: 640, hasAudio: true, clips })));
  await producer.createJob({ renderId, specKey: `long-${renderId}.json`, outputPrefix: `renders/${renderId}`, chunk: { index: 0, count: 1 }, attempt: 0 }).setId(renderId).retries(1).backoff('fixed', 200).save();
  return renderId;
}
const beat = async () => {
  const client = (producer as unknown as { client: Record<string, (...a: unknown[]) => void> }).client;
  return new Promise<Record<string, string>>((resolve, reject) => client.hgetall!.call(client, workerKey(prefix, workerId), (err: Error | null, v: Record<string, string>) => (err ? reject(err) : resolve(v))));
};
const until = async (what: string, ok: () => Promise<boolean>, ms = 20_000) => {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
};

it('pause hands the RUNNING job back at once (no attempt spent) and shows "paused"; resumed, it renders it', async () => {
  const renderId = await longJob();
  const events: string[] = [];
  producer.on('job retrying', (id) => id === renderId && events.push('retrying'));
  producer.on('job failed', (id) => id === renderId && events.push('failed'));
  const succeeded = new Promise<void>((resolve) => producer.on('job succeeded', (id) => id === renderId && resolve()));
  await until('the job to start', async () => ((await beat()).currentJob ?? '').includes(renderId));
  await setWorkerControl(ctx, workerId, 'pause');
  await until('the job to be handed back', async () => (await beat()).currentJob === '');
  expect((await beat()).controlState).toBe('paused');
  expect(events).toEqual([]);
  await setWorkerControl(ctx, workerId, null);
  await succeeded;
  expect(events).toEqual([]);
}, 60_000);

it('drain lets the running job finish, then takes none and shows "drained"', async () => {
  const renderId = await longJob();
  const succeeded = new Promise<void>((resolve) => producer.on('job succeeded', (id) => id === renderId && resolve()));
  await until('the job to start', async () => ((await beat()).currentJob ?? '').includes(renderId));
  await setWorkerControl(ctx, workerId, 'drain');
  await until('draining', async () => (await beat()).controlState === 'draining');
  await succeeded; // finished here, not handed back
  const next = await longJob();
  await until('drained', async () => (await beat()).controlState === 'drained');
  await new Promise((r) => setTimeout(r, 1000));
  expect((await beat()).currentJob).toBe('');
  const waitingNext = new Promise<void>((resolve) => producer.on('job succeeded', (id) => id === next && resolve()));
  await setWorkerControl(ctx, workerId, null);
  await waitingNext;
}, 90_000);
