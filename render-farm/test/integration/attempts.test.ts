/**
 * Only the live attempt publishes and finishes (real Redis, real ffmpeg). A running attempt whose
 * token is taken over (what happens when a stalled-job check re-queued a live worker's job after a
 * Redis restart and another worker claimed it) stops at its next beat, writes no output and does
 * not finish the job; the job's real owner finishes it, once.
 */
import { randomUUID } from 'node:crypto';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import BeeQueue from 'bee-queue';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { attemptKey, RENDER_QUEUES, RenderProgress } from '@clipmaker/shared/jobs';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { LocalDiskStorage } from '../../src/storage/index.ts';
import { startWorker, type RenderWorker } from '../../src/worker.ts';
import { makeFrameIndexVideo, tempDir } from '../support/media.ts';
import { frameIndexSpec } from '../support/spec.ts';

type Redis = Record<string, (...a: unknown[]) => void>;
const prefix = uniquePrefix('attempts');
let dir: string;
let storage: LocalDiskStorage;
let worker: RenderWorker;
let producer: BeeQueue;
let redis: Redis;
const logs: Record<string, unknown>[] = [];
const cmd = <T>(name: string, ...args: unknown[]) => new Promise<T>((resolve, reject) => redis[name]!.call(redis, ...args, (err: Error | null, v: T) => (err ? reject(err) : resolve(v))));

beforeAll(async () => {
  dir = await tempDir('attempts');
  storage = new LocalDiskStorage(join(dir, 'storage'));
  await makeFrameIndexVideo(join(dir, 'storage', 'media', 'src.mp4'), { width: 640, height: 360, fps: 30, frames: 90, audio: true });
  const slow = frameIndexSpec({ key: 'media/src.mp4', sourceFrames: 90, width: 540, height: 960, hasAudio: true, clips: [{ sourceIn: 0, sourceOut: 90 }] });
  slow.output.video.preset = 'slow';
  await writeFile(join(dir, 'storage', 'slow.json'), JSON.stringify(slow));
  worker = await startWorker({ redisUrl: TEST_REDIS_URL, storage, prefix, workerId: 'attempt-worker', logger: pino({ level: 'info' }, { write: (l: string) => void logs.push(JSON.parse(l)) }), target: 'cpu', stallIntervalMs: 1500, heartbeatIntervalMs: 300, progressIntervalMs: 0, workRoot: dir });
  producer = new BeeQueue(RENDER_QUEUES.normal, { prefix, redis: { url: TEST_REDIS_URL }, isWorker: false, getEvents: true, sendEvents: false });
  await producer.ready();
  redis = (producer as unknown as { client: Redis }).client;
});

afterAll(async () => {
  await worker?.stop();
  const keys = await cmd<string[]>('keys', `${prefix}:*`);
  if (keys.length) await cmd('del', keys);
  await producer?.close();
  await rm(dir, { recursive: true, force: true });
});

it('a superseded attempt stops, publishes nothing and finishes nothing; the job still succeeds exactly once', async () => {
  const renderId = randomUUID();
  const events: string[] = [];
  let rendering!: () => void;
  const started = new Promise<void>((r) => (rendering = r));
  const done = new Promise<void>((resolve) => {
    producer.on('job progress', (id, p) => id === renderId && RenderProgress.parse(p).stage === 'rendering' && rendering());
    producer.on('job succeeded', (id) => id === renderId && (events.push('succeeded'), resolve()));
    producer.on('job failed', (id, err) => id === renderId && (events.push(`failed: ${err.message}`), resolve()));
    producer.on('job retrying', (id, err) => id === renderId && events.push(`retrying: ${err.message}`));
  });
  await producer.createJob({ renderId, specKey: 'slow.json', outputPrefix: `renders/${renderId}` }).setId(renderId).retries(3).backoff('fixed', 500).save();
  await started;
  // Another attempt claims the job (as a second worker would after a stall re-queue).
  const key = attemptKey(prefix, RENDER_QUEUES.normal, renderId);
  const first = await cmd<string>('get', key);
  await cmd('set', key, 'another-attempt', 'EX', 60);
  for (let i = 0; i < 100 && !logs.some((l) => l.msg === 'attempt superseded: nothing published, the job is not finished from here'); i++) await new Promise((r) => setTimeout(r, 50));
  expect(logs.some((l) => l.msg === 'another attempt holds this job now: stopping this one')).toBe(true);
  expect(logs.some((l) => l.msg === 'attempt superseded: nothing published, the job is not finished from here')).toBe(true);
  expect(await storage.exists(`renders/${renderId}/output.mp4`)).toBe(false);
  expect(events).toEqual([]);

  // Nobody really runs it: the stalled-job check re-queues it and a fresh attempt renders it.
  await done;
  expect(events).toEqual(['succeeded']);
  expect(await storage.exists(`renders/${renderId}/output.mp4`)).toBe(true);
  expect(await cmd<string | null>('get', key)).toBeNull(); // the finish released its token
  expect(first).toMatch(/^[0-9a-f-]{36}$/);
}, 120_000);
