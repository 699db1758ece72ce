/**
 * The per-job blocklist in real workers: worker A cannot write its work folder (a transient error on
 * every attempt). Once it has failed the job BLOCKLIST_AFTER times and worker B is up, A leaves the
 * job to B (giving the attempt back) and B renders it. (Alone, A would keep trying: no other worker.)
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import BeeQueue from 'bee-queue';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RENDER_QUEUES, RenderResult } from '@clipmaker/shared/jobs';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { LocalDiskStorage } from '../../src/storage/index.ts';
import { startWorker, type RenderWorker } from '../../src/worker.ts';
import { JobBlocklist, type BlocklistRedis } from '../../src/blocklist.ts';
import { makeFrameIndexVideo, tempDir } from '../support/media.ts';
import { frameIndexSpec } from '../support/spec.ts';

interface RedisV3 extends BlocklistRedis {
  keys(pattern: string, cb: (err: Error | null, res: string[]) => void): void;
  del(keys: string[], cb: (err: Error | null) => void): void;
}
const call = <T>(fn: (cb: (err: Error | null, res: T) => void) => void) => new Promise<T>((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const prefix = uniquePrefix('blocklist');
let dir: string;
let storage: LocalDiskStorage;
const workers: RenderWorker[] = [];
let producer: BeeQueue;
let redis: RedisV3;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  dir = await tempDir('blocklist');
  storage = new LocalDiskStorage(join(dir, 'storage'));
  await makeFrameIndexVideo(join(dir, 'storage', 'media', 'src.mp4'), { width: 640, height: 360, fps: 30, frames: 30, audio: false });
  producer = new BeeQueue(RENDER_QUEUES.normal, { prefix, redis: { url: TEST_REDIS_URL }, isWorker: false, getEvents: true, sendEvents: false });
  await producer.ready();
  redis = (producer as unknown as { client: RedisV3 }).client;
});

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  const keys = await call<string[]>((cb) => redis.keys(`${prefix}:*`, cb));
  if (keys.length) await call<unknown>((cb) => redis.del(keys, cb as never));
  await producer?.close();
  await rm(dir, { recursive: true, force: true });
});

const start = async (workerId: string, workRoot: string, capabilities?: RenderWorker['capabilities']) => {
  const w = await startWorker({
    redisUrl: TEST_REDIS_URL,
    storage,
    prefix,
    workerId,
    logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
    target: 'cpu',
    stallIntervalMs: 2000,
    heartbeatIntervalMs: 300,
    workRoot,
    blocklistAfter: 2,
    capabilities,
  });
  workers.push(w);
  return w;
};

describe('worker blocklist', () => {
  it('a worker that failed a job twice leaves it to another live worker, which renders it', async () => {
    const broken = join(dir, 'not-a-folder');
    await writeFile(broken, 'a file where the work folder should be');
    await start('broken-a', broken);

    const renderId = randomUUID();
    const specKey = `specs/${renderId}.json`;
    await mkdir(join(dir, 'storage', 'specs'), { recursive: true });
    await writeFile(join(dir, 'storage', specKey), JSON.stringify(frameIndexSpec({ key: 'media/src.mp4', sourceFrames: 30, width: 640, height: 360, hasAudio: false, clips: [{ sourceIn: 0, sourceOut: 30 }] })));
    const job = producer.createJob({ renderId, specKey, outputPrefix: `renders/${renderId}` }).setId(renderId).retries(6).backoff('fixed', 1500);
    const outcome = new Promise<{ status: string; value: unknown }>((resolve) => {
      job.on('succeeded', (value) => resolve({ status: 'succeeded', value }));
      job.on('failed', (err) => resolve({ status: 'failed', value: err.message }));
    });
    await job.save();

    const bl = new JobBlocklist(redis, prefix);
    for (let i = 0; i < 200 && (await bl.failures(RENDER_QUEUES.normal, renderId, 'broken-a')) < 2; i++) await sleep(50);
    expect(await bl.failures(RENDER_QUEUES.normal, renderId, 'broken-a')).toBe(2);

    // Within the 1.5 s backoff, so A's third attempt (if it draws the job) sees B alive and skips.
    await start('healthy-b', dir, workers[0]!.capabilities);
    const o = await outcome;
    expect(o.status, String(o.value)).toBe('succeeded');
    expect(RenderResult.parse(o.value).workerId).toBe('healthy-b');
    // A never failed it a third time; if it drew the job again it skipped it.
    expect(await bl.failures(RENDER_QUEUES.normal, renderId, 'broken-a')).toBe(2);
    expect(logs.filter((l) => l.workerId === 'broken-a' && l.msg === 'this worker is now blocklisted for the job')).toHaveLength(1);
  }, 60_000);
});
