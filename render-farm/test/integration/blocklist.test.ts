/**
 * The per-job blocklist and the hand-offs, in real workers: a "broken" worker cannot write its work
 * folder (a transient error on every attempt).
 *  - Once it has failed a job BLOCKLIST_AFTER times and a healthy worker is up, it hands the job back
 *    untouched (no retry used, no backoff grown) and the healthy worker renders it.
 *  - As the coordinator of a chunked render it waits for every piece (rendered by the healthy
 *    worker), cannot stitch, and hands the stitch to the healthy worker, which reuses every piece:
 *    each chunk is encoded once, the render job keeps all its retries.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import BeeQueue from 'bee-queue';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RENDER_QUEUES, RenderResult } from '@clipmaker/shared/jobs';
import { RenderSpec } from '@clipmaker/shared/render-spec';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { LocalDiskStorage } from '../../src/storage/index.ts';
import { startWorker, type RenderWorker } from '../../src/worker.ts';
import { BLOCKLISTED_MESSAGE, JobBlocklist, type BlocklistRedis } from '../../src/blocklist.ts';
import { makeFrameIndexVideo, probeStreams, tempDir } from '../support/media.ts';
import { frameIndexSpec } from '../support/spec.ts';

interface RedisV3 extends BlocklistRedis {
  keys(pattern: string, cb: (err: Error | null, res: string[]) => void): void;
  del(keys: string[], cb: (err: Error | null) => void): void;
}
const call = <T>(fn: (cb: (err: Error | null, res: T) => void) => void) => new Promise<T>((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const prefix = uniquePrefix('blocklist');
let dir: string;
let broken: string;
let storage: LocalDiskStorage;
const workers: RenderWorker[] = [];
let producer: BeeQueue;
let redis: RedisV3;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  dir = await tempDir('blocklist');
  storage = new LocalDiskStorage(join(dir, 'storage'));
  await makeFrameIndexVideo(join(dir, 'storage', 'media', 'src.mp4'), { width: 640, height: 360, fps: 30, frames: 90, audio: true });
  broken = join(dir, 'not-a-folder');
  await writeFile(broken, 'a file where the work folder should be');
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

async function writeSpec(renderId: string, spec: RenderSpec): Promise<string> {
  const specKey = `renders/${renderId}/spec.json`;
  await mkdir(join(dir, 'storage', 'renders', renderId), { recursive: true });
  await writeFile(join(dir, 'storage', specKey), JSON.stringify(spec));
  return specKey;
}

function settle<T>(job: BeeQueue.Job<T>) {
  const retrying: string[] = [];
  const outcome = new Promise<{ status: string; value: unknown }>((resolve) => {
    job.on('retrying', (err) => retrying.push(err.message));
    job.on('succeeded', (value) => resolve({ status: 'succeeded', value }));
    job.on('failed', (err) => resolve({ status: 'failed', value: err.message }));
  });
  return { outcome, retrying };
}

async function storedOptions(jobId: string) {
  const raw = await call<string | null>((cb) => (redis as unknown as { hget: BlocklistRedis['hget'] }).hget(`${prefix}:${RENDER_QUEUES.normal}:jobs`, jobId, cb));
  return (JSON.parse(raw!) as { options: { retries: number; backoff: { delay: number } } }).options;
}

const spec = (frames: number) => RenderSpec.parse(frameIndexSpec({ key: 'media/src.mp4', sourceFrames: 90, width: 320, height: 180, hasAudio: true, clips: [{ sourceIn: 0, sourceOut: frames }] }));

describe('worker blocklist', () => {
  it('a worker that failed a job twice hands it back untouched to another live worker, which renders it', async () => {
    const a = await start('broken-a', broken);
    const renderId = randomUUID();
    const job = producer.createJob({ renderId, specKey: await writeSpec(renderId, spec(30)), outputPrefix: `renders/${renderId}` }).setId(renderId).retries(6).backoff('exponential', 1000);
    const { outcome, retrying } = settle(job);
    await job.save();

    const bl = new JobBlocklist(redis, prefix);
    for (let i = 0; i < 200 && (await bl.failures(RENDER_QUEUES.normal, renderId, 'broken-a')) < 2; i++) await sleep(50);
    expect(await bl.failures(RENDER_QUEUES.normal, renderId, 'broken-a')).toBe(2);

    // Within the 2 s backoff: A (waiting on the queue longer) draws the job first, sees B and skips.
    const b = await start('healthy-b', dir, a.capabilities);
    const o = await outcome;
    expect(o.status, String(o.value)).toBe('succeeded');
    expect(RenderResult.parse(o.value).workerId).toBe('healthy-b');
    expect(await bl.failures(RENDER_QUEUES.normal, renderId, 'broken-a')).toBe(2);
    expect(logs.filter((l) => l.workerId === 'broken-a' && l.msg === 'this worker is now blocklisted for the job')).toHaveLength(1);
    expect(logs.filter((l) => l.workerId === 'broken-a' && l.msg === BLOCKLISTED_MESSAGE).length).toBeGreaterThanOrEqual(1);
    // Only A's two real failures used retries and grew the backoff; the skip cost nothing.
    expect(retrying).toHaveLength(2);
    expect(await storedOptions(renderId)).toMatchObject({ retries: 4, backoff: { delay: 4000 } });
    await Promise.all([a.stop(), b.stop()]);
  }, 60_000);

  it('a coordinator that cannot stitch hands the stitch to another worker, which reuses every chunk', async () => {
    const c = await start('broken-c', broken, workers[0]?.capabilities);
    const renderId = randomUUID();
    // 90 frames in chunks of 30: three video chunks plus the audio.
    const job = producer.createJob({ renderId, specKey: await writeSpec(renderId, spec(90)), outputPrefix: `renders/${renderId}`, chunking: { chunkFrames: 30 } }).setId(renderId).retries(3).backoff('exponential', 2000);
    const { outcome, retrying } = settle(job);
    await job.save();
    for (let i = 0; i < 200 && !logs.some((l) => l.workerId === 'broken-c' && l.msg === 'chunked render planned'); i++) await sleep(50);
    expect(logs.some((l) => l.workerId === 'broken-c' && l.msg === 'chunked render planned')).toBe(true);
    // C coordinates; D renders the pieces (C cannot), then C fails to stitch and hands over.
    await start('healthy-d', dir, c.capabilities);

    const o = await outcome;
    expect(o.status, String(o.value)).toBe('succeeded');
    const result = RenderResult.parse(o.value);
    expect(result.workerId).toBe('healthy-d');
    expect(result.encoder).toBe('libx264 (3 chunks, 4 reused)');
    expect(logs.some((l) => l.workerId === 'broken-c' && l.msg === 'could not stitch here: render handed to another worker (its pieces are cached)')).toBe(true);
    // Each piece was encoded exactly once, and the render job used none of its retries.
    const encodes = logs.filter((l) => l.msg === 'chunk render target chosen' && l.renderId === renderId).map((l) => `${String(l.kind)}${String(l.chunk)}`);
    expect(encodes.sort()).toEqual(['audio0', 'video0', 'video1', 'video2']);
    expect(retrying).toEqual([]);
    expect((await storedOptions(renderId)).retries).toBe(3);
    const streams = await probeStreams((await storage.localPath(result.outputKey)).path);
    expect(streams.find((s) => s.codec_type === 'video')?.nb_read_frames).toBe('90');
  }, 90_000);
});
