/**
 * The worker against real Redis and real ffmpeg, driven from the producer side exactly as the app
 * enqueues (bee-queue, retries(3), exponential backoff), isolated by a unique key prefix.
 */
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import BeeQueue from 'bee-queue';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMANENT_ERROR_PREFIX, RENDER_QUEUES, RenderProgress, RenderResult, renderResultKey, WORKER_GRACE_SECONDS, workerKey, workerRegistryKey } from '@clipmaker/shared/jobs';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { LocalDiskStorage } from '../../src/storage/index.ts';
import { startWorker, type RenderWorker } from '../../src/worker.ts';
import { makeFrameIndexVideo, probeStreams, tempDir } from '../support/media.ts';
import { frameIndexSpec } from '../support/spec.ts';

interface RedisV3 {
  hget(key: string, field: string, cb: (err: Error | null, res: string | null) => void): void;
  hgetall(key: string, cb: (err: Error | null, res: Record<string, string> | null) => void): void;
  ttl(key: string, cb: (err: Error | null, res: number) => void): void;
  get(key: string, cb: (err: Error | null, res: string | null) => void): void;
  zscore(key: string, member: string, cb: (err: Error | null, res: string | null) => void): void;
  keys(pattern: string, cb: (err: Error | null, res: string[]) => void): void;
  del(keys: string[], cb: (err: Error | null) => void): void;
}
const call = <T>(fn: (cb: (err: Error | null, res: T) => void) => void) => new Promise<T>((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));

const prefix = uniquePrefix('farm');
const workerId = 'test-worker-1';
let dir: string;
let storage: LocalDiskStorage;
let worker: RenderWorker;
const producers: Record<'normal' | 'high', BeeQueue> = {} as never;
let redis: RedisV3;
/** The worker's log lines, parsed: they must be structured (service, ids, event, duration). */
const logLines: Array<Record<string, unknown>> = [];
const logsOf = (renderId: string) => logLines.filter((l) => l.renderId === renderId);

beforeAll(async () => {
  dir = await tempDir('worker');
  storage = new LocalDiskStorage(join(dir, 'storage'));
  await mkdir(join(dir, 'storage', 'media'), { recursive: true });
  await makeFrameIndexVideo(join(dir, 'storage', 'media', 'src.mp4'), { width: 640, height: 360, fps: 30, frames: 90, audio: true });
  const good = frameIndexSpec({ key: 'media/src.mp4', sourceFrames: 90, width: 360, height: 640, hasAudio: true, clips: [{ sourceIn: 0, sourceOut: 45 }] });
  await mkdir(join(dir, 'storage', 'specs'));
  await writeFile(join(dir, 'storage', 'specs', 'good.json'), JSON.stringify(good));
  await writeFile(join(dir, 'storage', 'specs', 'bad.json'), JSON.stringify({ ...good, clips: [{ ...good.clips[0], sourceOut: 500 }] }));

  worker = await startWorker({
    redisUrl: TEST_REDIS_URL,
    storage,
    prefix,
    workerId,
    logger: pino({ level: 'info' }, { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) }),
    target: 'cpu',
    stallIntervalMs: 2000,
    heartbeatIntervalMs: 500,
    progressIntervalMs: 0,
    workRoot: dir,
  });
  for (const p of ['normal', 'high'] as const) {
    producers[p] = new BeeQueue(RENDER_QUEUES[p], { prefix, redis: { url: TEST_REDIS_URL }, isWorker: false, getEvents: true, sendEvents: false });
    await producers[p].ready();
  }
  redis = (producers.normal as unknown as { client: RedisV3 }).client;
});

afterAll(async () => {
  await worker?.stop();
  if (redis) {
    const keys = await call<string[]>((cb) => redis.keys(`${prefix}:*`, cb));
    if (keys.length) await call<unknown>((cb) => redis.del(keys, cb as never));
  }
  await Promise.all(Object.values(producers).map((q) => q.close()));
  await rm(dir, { recursive: true, force: true });
});

interface Outcome {
  status: 'succeeded' | 'failed';
  value: unknown;
  progress: unknown[];
  retrying: string[];
}

async function enqueue(priority: 'normal' | 'high', data: Record<string, unknown>): Promise<{ job: BeeQueue.Job<Record<string, unknown>>; outcome: Promise<Outcome> }> {
  const job = producers[priority].createJob(data).retries(3).backoff('exponential', 2000);
  const progress: unknown[] = [];
  const retrying: string[] = [];
  const outcome = new Promise<Outcome>((resolve) => {
    job.on('progress', (p) => progress.push(p));
    job.on('retrying', (err) => retrying.push(err.message));
    job.on('succeeded', (value) => resolve({ status: 'succeeded', value, progress, retrying }));
    job.on('failed', (err) => resolve({ status: 'failed', value: err.message, progress, retrying }));
  });
  await job.save();
  return { job, outcome };
}

describe('render worker', () => {
  it('renders a job: progress events, a RenderResult, output + poster + thumb in storage, a heartbeat', async () => {
    const renderId = randomUUID();
    const { outcome } = await enqueue('normal', { renderId, specKey: 'specs/good.json', outputPrefix: `renders/${renderId}` });

    const beat = await call<Record<string, string> | null>((cb) => redis.hgetall(workerKey(prefix, workerId), cb));
    expect(beat).toMatchObject({ workerId, status: 'running' });
    expect(JSON.parse(beat!.capabilities!).targets).toContain('cpu');
    expect(Date.now() - Number(beat!.lastSeen)).toBeLessThan(5000);
    expect(beat!.intervalMs).toBe('500');
    // The hash outlives a dead worker for the grace period; the registry has its last beat.
    const ttl = await call<number>((cb) => redis.ttl(workerKey(prefix, workerId), cb));
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(WORKER_GRACE_SECONDS);
    expect(Number(await call<string | null>((cb) => redis.zscore(workerRegistryKey(prefix), workerId, cb)))).toBeGreaterThan(Date.now() - 5000);

    const done = await outcome;
    expect(done.status).toBe('succeeded');
    const result = RenderResult.parse(done.value);
    expect(result).toMatchObject({ renderId, outputKey: `renders/${renderId}/output.mp4`, posterKey: `renders/${renderId}/poster.jpg`, thumbKey: `renders/${renderId}/thumb.jpg`, workerId, encoder: 'libx264' });
    expect(result.ffmpegArgs).toContain('-filter_complex');
    // Stored with the success, for an app that missed the event.
    expect(RenderResult.parse(JSON.parse((await call<string | null>((cb) => redis.get(renderResultKey(prefix, renderId), cb)))!))).toEqual(result);

    const stages = done.progress.map((p) => RenderProgress.parse(p).stage);
    expect(stages[0]).toBe('probing');
    expect(stages).toContain('rendering');
    expect(stages.at(-1)).toBe('done');
    const rendering = done.progress.map((p) => RenderProgress.parse(p)).filter((p) => p.stage === 'rendering');
    expect(rendering.at(-1)?.percent).toBe(100);

    const output = await storage.localPath(result.outputKey);
    expect(result.bytes).toBe((await storage.stat(result.outputKey))?.size);
    const streams = await probeStreams(output.path);
    expect(streams.find((s) => s.codec_type === 'video')).toMatchObject({ width: 360, height: 640, nb_read_frames: '45' });
    const poster = await sharp((await storage.localPath(result.posterKey)).path).metadata();
    expect(poster).toMatchObject({ format: 'jpeg', width: 360, height: 640 });
    const thumb = await sharp((await storage.localPath(result.thumbKey)).path).metadata();
    expect(thumb).toMatchObject({ format: 'jpeg', width: 320, height: 569 });

    // Structured logs: every line of the job names the service, worker, job and render; the
    // lifecycle lines carry an event, the finish its duration.
    const lines = logsOf(renderId);
    expect(lines.length).toBeGreaterThan(2);
    for (const l of lines) expect(l, String(l.msg)).toMatchObject({ service: 'render-farm', workerId, jobId: expect.any(String), renderId });
    expect(lines.find((l) => l.event === 'job.started')).toMatchObject({ kind: 'render', attempt: 1, queue: RENDER_QUEUES.normal });
    const finished = lines.find((l) => l.event === 'job.succeeded');
    expect(finished?.durationMs).toEqual(expect.any(Number));
    expect(finished!.durationMs as number).toBeGreaterThan(0);
  });

  it('fails an invalid spec once, with the reason, and never retries it', async () => {
    const renderId = randomUUID();
    const { job, outcome } = await enqueue('normal', { renderId, specKey: 'specs/bad.json', outputPrefix: `renders/${renderId}` });
    const done = await outcome;
    expect(done.status).toBe('failed');
    expect(done.value).toMatch(new RegExp(`^${PERMANENT_ERROR_PREFIX} invalid render spec: clips\\.0\\.sourceOut: sourceOut 500 is past the source's 90 frames`));
    expect(done.retrying).toEqual([]);
    // Read Redis itself: a producer's getJob may answer from its event-updated cache.
    const raw = await call<string | null>((cb) => redis.hget(`${prefix}:${RENDER_QUEUES.normal}:jobs`, job.id, cb));
    const stored = JSON.parse(raw!) as { status: string; options: { retries: number; stacktraces: string[] } };
    expect(stored.status).toBe('failed');
    expect(stored.options.retries).toBe(0);
    expect(stored.options.stacktraces).toHaveLength(1);
    expect(await storage.exists(`renders/${renderId}/output.mp4`)).toBe(false);
    expect(logsOf(renderId).find((l) => l.event === 'job.failed')).toMatchObject({ level: 50, service: 'render-farm', permanent: true, error: expect.stringContaining('invalid render spec'), durationMs: expect.any(Number) });
  });

  it('consumes the high-priority queue too, and refuses a malformed payload permanently', async () => {
    const { outcome } = await enqueue('high', { renderId: 'not-a-uuid', specKey: 'specs/good.json', outputPrefix: 'renders/x' });
    const done = await outcome;
    expect(done.status).toBe('failed');
    expect(done.value).toMatch(/^PERMANENT: invalid job data: renderId: /);
    expect(done.retrying).toEqual([]);
  });

  it('stops gracefully, removes its heartbeat and registry entry and its temp folder', async () => {
    const folder = worker.workDir;
    expect(existsSync(folder)).toBe(true);
    await worker.stop();
    const beat = await call<Record<string, string> | null>((cb) => redis.hgetall(workerKey(prefix, workerId), cb));
    expect(beat).toBeNull();
    expect(await call<string | null>((cb) => redis.zscore(workerRegistryKey(prefix), workerId, cb))).toBeNull();
    expect(existsSync(folder)).toBe(false);
  });
});
