/**
 * Chunked renders end to end (real Redis, real ffmpeg): a beep + white flash every second, seams on
 * every second, so any A/V drift at a seam shows; then a one-cue edit re-renders only its chunk;
 * then cancel stops ffmpeg at once. Plus the per-job blocklist against real Redis.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import BeeQueue from 'bee-queue';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cancelChannel, cancelledKey, CANCELLED_MESSAGE, RENDER_QUEUES, RenderResult } from '@clipmaker/shared/jobs';
import { planChunks, RenderSpec } from '@clipmaker/shared/render-spec';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { LocalDiskStorage } from '../../src/storage/index.ts';
import { startWorker, type RenderWorker } from '../../src/worker.ts';
import { JobBlocklist, type BlocklistRedis } from '../../src/blocklist.ts';
import { decodeGrayFrames, ffmpeg, probeStreams, tempDir } from '../support/media.ts';
import { frameIndexSpec } from '../support/spec.ts';

interface RedisV3 extends BlocklistRedis {
  keys(pattern: string, cb: (err: Error | null, res: string[]) => void): void;
  del(keys: string[], cb: (err: Error | null) => void): void;
  set(key: string, value: string, cb: (err: Error | null) => void): void;
  publish(channel: string, message: string, cb: (err: Error | null) => void): void;
}
const call = <T>(fn: (cb: (err: Error | null, res: T) => void) => void) => new Promise<T>((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))));

const prefix = uniquePrefix('chunked');
const FPS = 30;
const SECONDS = 6;
let dir: string;
let storage: LocalDiskStorage;
let worker: RenderWorker;
let producer: BeeQueue;
let redis: RedisV3;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  dir = await tempDir('chunked');
  storage = new LocalDiskStorage(join(dir, 'storage'));
  await mkdir(join(dir, 'storage', 'media'), { recursive: true });
  // One white frame and a 50 ms 1 kHz beep at the start of every second.
  await ffmpeg([
    '-f', 'lavfi', '-i', `color=c=black:s=640x360:r=${FPS}:d=${SECONDS}`,
    '-f', 'lavfi', '-i', `aevalsrc='if(lt(mod(t\\,1)\\,0.05)\\,0.8*sin(2*PI*1000*t)\\,0)':s=48000:d=${SECONDS}`,
    '-vf', `geq=lum='if(eq(mod(N\\,${FPS})\\,0)\\,235\\,16)':cb=128:cr=128,format=yuv420p`,
    '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-g', '10', '-c:a', 'pcm_s16le', '-shortest',
    join(dir, 'storage', 'media', 'beep.mov'),
  ]);
  worker = await startWorker({
    redisUrl: TEST_REDIS_URL,
    storage,
    prefix,
    workerId: 'chunk-worker',
    concurrency: 2,
    logger: pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) }),
    target: 'cpu',
    stallIntervalMs: 2000,
    heartbeatIntervalMs: 500,
    progressIntervalMs: 0,
    workRoot: dir,
  });
  producer = new BeeQueue(RENDER_QUEUES.normal, { prefix, redis: { url: TEST_REDIS_URL }, isWorker: false, getEvents: true, sendEvents: false });
  await producer.ready();
  redis = (producer as unknown as { client: RedisV3 }).client;
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  if (redis) {
    const keys = await call<string[]>((cb) => redis.keys(`${prefix}:*`, cb));
    if (keys.length) await call<unknown>((cb) => redis.del(keys, cb as never));
  }
  await producer?.close();
  await rm(dir, { recursive: true, force: true });
});

function beepSpec(cueText: string): RenderSpec {
  const s = frameIndexSpec({ key: 'media/beep.mov', sourceFrames: FPS * SECONDS, width: 640, height: 360, hasAudio: true, clips: [{ sourceIn: 0, sourceOut: FPS * SECONDS }] });
  s.output.gop = 15;
  s.sources[0]!.sha256 = 'c'.repeat(64);
  s.subtitles.cues = [
    { id: 'q1', start: 10, end: 40, text: 'first' },
    { id: 'q2', start: 100, end: 110, text: cueText },
  ];
  return RenderSpec.parse(s);
}

async function renderChunked(spec: RenderSpec, chunkFrames: number): Promise<{ renderId: string; status: string; value: unknown; progress: { stage: string; percent: number; fps: number | null; etaSeconds: number | null }[] }> {
  const renderId = randomUUID();
  const specKey = `renders/${renderId}/spec.json`;
  await mkdir(join(dir, 'storage', 'renders', renderId), { recursive: true });
  await writeFile(join(dir, 'storage', specKey), JSON.stringify(spec));
  const job = producer.createJob({ renderId, specKey, outputPrefix: `renders/${renderId}`, chunking: { chunkFrames } }).setId(renderId).retries(2).backoff('fixed', 200);
  const progress: { stage: string; percent: number; fps: number | null; etaSeconds: number | null }[] = [];
  return new Promise((resolve) => {
    job.on('progress', (p) => progress.push(p));
    job.on('succeeded', (value) => resolve({ renderId, status: 'succeeded', value, progress }));
    job.on('failed', (err) => resolve({ renderId, status: 'failed', value: err.message, progress }));
    void job.save();
  });
}

describe('chunked render', () => {
  it('stitches GOP-aligned chunks without re-encode; audio rendered once; A/V offset < 1 frame at every seam', async () => {
    const spec = beepSpec('second');
    const out = await renderChunked(spec, 30);
    expect(out.status, String(out.value)).toBe('succeeded');
    const result = RenderResult.parse(out.value);
    expect(result.encoder).toBe('libx264 (6 chunks, 0 reused)');
    expect(result.ffmpegArgs).toContain('copy');
    // Live progress: percent rises to 100 through rendering and stitching, with farm fps and an ETA.
    expect(out.progress.map((p) => p.stage)).toEqual(expect.arrayContaining(['rendering', 'stitching', 'done']));
    expect(out.progress.some((p) => p.stage === 'rendering' && (p.fps ?? 0) > 0 && p.etaSeconds !== null)).toBe(true);
    expect(out.progress.map((p) => p.percent)).toEqual([...out.progress.map((p) => p.percent)].sort((a, b) => a - b));
    const path = join(dir, 'storage', result.outputKey);

    const streams = await probeStreams(path);
    const video = streams.find((s) => s.codec_type === 'video')!;
    expect(Number(video.nb_read_frames)).toBe(FPS * SECONDS);

    // Flash frames (video) and beep onsets (audio), both in seconds.
    const frames = await decodeGrayFrames(path, 640, 360);
    const flashes = frames.flatMap((f, i) => (f.reduce((a, b) => a + b, 0) / f.length > 128 ? [i] : []));
    expect(flashes).toEqual([0, 30, 60, 90, 120, 150]);
    // Burnt-in cues on the same frames as in a whole render, also the one across the seam at 30.
    const withText = frames.flatMap((f, i) => (!flashes.includes(i) && f.reduce((n, v) => n + (v > 200 ? 1 : 0), 0) > 200 ? [i] : []));
    const expected = [...Array.from({ length: 30 }, (_, k) => 10 + k), ...Array.from({ length: 10 }, (_, k) => 100 + k)].filter((i) => !flashes.includes(i));
    expect(withText).toEqual(expected);
    const pcm = await ffmpeg(['-i', path, '-map', '0:a:0', '-ac', '1', '-ar', '48000', '-f', 's16le', '-']);
    const samples = new Int16Array(pcm.buffer, pcm.byteOffset, Math.floor(pcm.length / 2));
    expect(Math.abs(samples.length / 48000 - SECONDS)).toBeLessThan(1 / FPS);
    for (let k = 0; k < SECONDS; k++) {
      const from = Math.max(0, k * 48000 - 4800);
      let onset = -1;
      for (let i = from; i < Math.min(samples.length, k * 48000 + 4800); i++) {
        if (Math.abs(samples[i]!) > 3000) {
          onset = i;
          break;
        }
      }
      expect(onset, `beep ${k}`).toBeGreaterThanOrEqual(0);
      const offset = Math.abs(onset / 48000 - flashes[k]! / FPS);
      expect(offset, `A/V offset at second ${k} (seam)`).toBeLessThan(1 / FPS);
    }
    // Every chunk and the audio are cached, content-addressed.
    const plan = planChunks(spec, { chunkFrames: 30 });
    for (const c of plan.chunks) expect(await storage.exists(plan.chunkKey(c))).toBe(true);
    expect(await storage.exists(plan.audioKey)).toBe(true);
  }, 120_000);

  it('a one-cue edit re-renders only the chunk that cue touches', async () => {
    const out = await renderChunked(beepSpec('edited'), 30);
    expect(out.status, String(out.value)).toBe('succeeded');
    // 7 pieces (6 video + audio); only chunk 3 (frames 90..120) is new.
    expect(RenderResult.parse(out.value).encoder).toBe('libx264 (6 chunks, 6 reused)');
    const planned = logs.find((l) => l.msg === 'chunked render planned' && l.renderId === out.renderId);
    expect(planned).toMatchObject({ reused: 6, toRender: 1 });
  }, 120_000);

  it('cancel: the published render id aborts its running job at once, permanently', async () => {
    const long = frameIndexSpec({ key: 'media/beep.mov', sourceFrames: FPS * SECONDS, width: 640, height: 360, hasAudio: true, clips: [{ sourceIn: 0, sourceOut: FPS * SECONDS }] });
    long.output.video.preset = 'slow';
    long.output.durationFrames = FPS * SECONDS;
    const renderId = randomUUID();
    const specKey = `renders/${renderId}/spec.json`;
    await mkdir(join(dir, 'storage', 'renders', renderId), { recursive: true });
    await writeFile(join(dir, 'storage', specKey), JSON.stringify(long));
    const job = producer.createJob({ renderId, specKey, outputPrefix: `renders/${renderId}` }).setId(renderId).retries(3);
    const started = Date.now();
    const outcome = new Promise<{ status: string; message: string; at: number }>((resolve) => {
      job.on('progress', (p: { stage?: string }) => {
        if (p.stage !== 'rendering') return;
        void call<void>((cb) => redis.set(cancelledKey(prefix, renderId), '1', cb)).then(() => call<void>((cb) => redis.publish(cancelChannel(prefix), renderId, cb)));
      });
      job.on('succeeded', () => resolve({ status: 'succeeded', message: '', at: Date.now() }));
      job.on('failed', (err) => resolve({ status: 'failed', message: err.message, at: Date.now() }));
      job.on('retrying', (err) => resolve({ status: 'retrying', message: err.message, at: Date.now() }));
    });
    await job.save();
    const o = await outcome;
    expect(o.status).toBe('failed');
    expect(o.message).toBe(CANCELLED_MESSAGE);
    expect(o.at - started).toBeLessThan(15_000);
    expect(logs.some((l) => l.msg === 'render cancelled: ffmpeg aborted' && l.renderId === renderId)).toBe(true);
  }, 60_000);
});

describe('JobBlocklist (real Redis)', () => {
  it('a worker that failed a job twice skips it while another live worker is not blocked; gives up skipping after maxSkips', async () => {
    const bl = new JobBlocklist(redis, prefix, { maxFailures: 2, maxSkips: 2 });
    const live = async () => ['w1', 'w2'];
    expect(await bl.shouldSkip('q', 'job1', 'w1', live)).toBe(false);
    await bl.recordFailure('q', 'job1', 'w1');
    expect(await bl.shouldSkip('q', 'job1', 'w1', live)).toBe(false);
    expect(await bl.recordFailure('q', 'job1', 'w1')).toBe(2);
    expect(await bl.shouldSkip('q', 'job1', 'w1', live)).toBe(true);
    expect(await bl.shouldSkip('q', 'job1', 'w2', live)).toBe(false);
    // Alone, or with every other worker blocked too, it runs the job rather than bouncing it forever.
    expect(await bl.shouldSkip('q', 'job1', 'w1', async () => ['w1'])).toBe(false);
    expect(await bl.shouldSkip('q', 'job1', 'w1', live)).toBe(true); // skip 2
    expect(await bl.shouldSkip('q', 'job1', 'w1', live)).toBe(false); // past maxSkips
  });
});
