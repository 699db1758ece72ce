/**
 * Edit proxies (issue 14 item 5) through the real queue: bee-queue over Redis, a worker, ffmpeg.
 * The originals are frame-numbered videos (frame N shows N as luma bands) with long GOPs: an
 * MPEG-TS that starts at 1.4 s, and a phone-style MOV stored sideways with a 90° display rotation.
 * The proxy must keep every frame at its own time (relative to the container's start, where the
 * preview's timeline starts), have a keyframe at least every 10 frames, be at most 540 px high,
 * upright, and show each frame's own number.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import BeeQueue from 'bee-queue';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EDIT_PROXY_QUEUE, EditProxyProgress, EditProxyResult, editProxyResultKey, PERMANENT_ERROR_PREFIX, type EditProxyJobData } from '@clipmaker/shared/jobs';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { probe } from '../../src/ffmpeg/adapter.ts';
import { LocalDiskStorage } from '../../src/storage/index.ts';
import { startWorker, type RenderWorker } from '../../src/worker.ts';
import { decodeGrayFrames, ffmpeg, makeFrameIndexVideo, readFrameIndex, tempDir } from '../support/media.ts';

const exec = promisify(execFile);
const log = pino({ level: 'silent' });
const FRAMES = 45;
let dir: string;
let storage: LocalDiskStorage;
let worker: RenderWorker;
let producer: BeeQueue;
let pub: { get(k: string, cb: (e: Error | null, v: string | null) => void): void };
const prefix = uniquePrefix('edit-proxy');

/** Each video frame's presentation time (microseconds after the container's start) and key flag. */
async function videoFrames(path: string): Promise<{ us: number; key: boolean }[]> {
  const { stdout } = await exec('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time,key_frame:format=start_time', '-of', 'json', path]);
  const j = JSON.parse(stdout) as { frames: { pts_time: string; key_frame: number }[]; format: { start_time: string } };
  const start = Number(j.format.start_time);
  return j.frames.map((f) => ({ us: Math.round((Number(f.pts_time) - start) * 1e6), key: f.key_frame === 1 }));
}

beforeAll(async () => {
  dir = await tempDir('edit-proxy');
  storage = new LocalDiskStorage(join(dir, 'storage'));
  await mkdir(join(dir, 'storage', 'uploads'), { recursive: true });
  const lossless = join(dir, 'numbered.mp4');
  await makeFrameIndexVideo(lossless, { width: 960, height: 720, fps: 30, frames: FRAMES, audio: true });
  // Long GOPs in the originals: the proxy's short ones are its own.
  await ffmpeg(['-i', lossless, '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-g', '120', '-c:a', 'copy', '-f', 'mpegts', join(dir, 'storage', 'uploads', 'camera.ts')]);
  // Stored sideways (the upright picture turned 90° clockwise, rotate tag 90), displayed turned back.
  const portrait = join(dir, 'numbered-portrait.mp4');
  const sideways = join(dir, 'sideways.mov');
  await makeFrameIndexVideo(portrait, { width: 360, height: 640, fps: 30, frames: FRAMES, audio: false });
  await ffmpeg(['-i', portrait, '-vf', 'setsar=1,transpose=clock', '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-g', '120', sideways]);
  // ffmpeg 5.1 writes the display matrix from the rotate tag on a stream copy only.
  await ffmpeg(['-i', sideways, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', join(dir, 'storage', 'uploads', 'phone.mov')]);
  // An MP4 cut without re-encoding: its edit list hides the GOP's first 12 frames (still in the file).
  await ffmpeg(['-i', lossless, '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-bf', '2', '-g', '30', '-an', join(dir, 'bframes.mp4')]);
  await ffmpeg(['-ss', String(12 / 30), '-i', join(dir, 'bframes.mp4'), '-c', 'copy', join(dir, 'storage', 'uploads', 'trimmed.mp4')]);
  worker = await startWorker({ redisUrl: TEST_REDIS_URL, storage, prefix, workerId: 'proxy-maker', logger: log, target: 'cpu', capabilities: { cudaDevice: false, targets: ['cpu'], gpus: [] } as never, engines: [], chunkCache: false, progressIntervalMs: 0, heartbeatIntervalMs: 300, workRoot: dir, reviewProxyQueueName: false });
  producer = new BeeQueue(EDIT_PROXY_QUEUE, { prefix, redis: { url: TEST_REDIS_URL }, isWorker: false, getEvents: true, sendEvents: false });
  await producer.ready();
  pub = (producer as unknown as { client: typeof pub }).client;
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await producer?.close();
  await rm(dir, { recursive: true, force: true });
});

/** Enqueues a proxy of an upload with the facts the app stores at ingest (the ingest probe's). */
async function makeProxy(sourceKey: string, override: Partial<EditProxyJobData> = {}) {
  const assetId = randomUUID();
  const outputKey = `proxies/${assetId}.mp4`;
  const info = await probe(join(dir, 'storage', sourceKey)).catch(() => null);
  const facts = info ? { container: info.container, width: info.width, height: info.height, colorTransfer: info.colorTransfer } : { container: 'mov', width: 64, height: 48, colorTransfer: null };
  const job = await producer.createJob({ assetId, sourceKey, outputKey, facts, durationFrames: info?.durationFrames ?? FRAMES, ...override }).setId(assetId).retries(2).backoff('fixed', 200).save();
  const progress: EditProxyProgress[] = [];
  const out = await new Promise<{ ok: boolean; value: unknown }>((resolve) => {
    job.on('progress', (p: unknown) => progress.push(EditProxyProgress.parse(p)));
    job.on('succeeded', (v: unknown) => resolve({ ok: true, value: v }));
    job.on('failed', (e: Error) => resolve({ ok: false, value: e.message }));
  });
  return { assetId, outputKey, progress, out, path: join(dir, 'storage', outputKey), original: join(dir, 'storage', sourceKey) };
}

async function expectFrameForFrame(p: Awaited<ReturnType<typeof makeProxy>>, size: { width: number; height: number }, shown = { first: 0, frames: FRAMES }) {
  expect(p.out.ok, String(p.out.value)).toBe(true);
  const result = EditProxyResult.parse(p.out.value);
  expect(result).toMatchObject({ assetId: p.assetId, outputKey: p.outputKey, frames: shown.frames, ...size, workerId: 'proxy-maker' });
  expect(p.progress.map((x) => x.stage)).toEqual(expect.arrayContaining(['encoding', 'uploading', 'done']));
  const kept = await new Promise<string | null>((r) => pub.get(editProxyResultKey(prefix, p.assetId), (_e, v) => r(v)));
  expect(EditProxyResult.parse(JSON.parse(kept!)).outputKey).toBe(p.outputKey);

  const [proxy, original] = await Promise.all([videoFrames(p.path), videoFrames(p.original)]);
  // Same frame count, each frame at the original's time after the container's start.
  expect(proxy.length).toBe(shown.frames);
  expect(proxy.map((f) => f.us)).toEqual(original.map((f) => f.us));
  // Every GOP at most 10 frames (the original's is 120).
  expect(original.filter((f) => f.key).length).toBeLessThanOrEqual(2);
  const keys = proxy.flatMap((f, i) => (f.key ? [i] : []));
  expect(keys[0]).toBe(0);
  [...keys, proxy.length].forEach((k, i, all) => i > 0 && expect(k - all[i - 1]!).toBeLessThanOrEqual(10));
  // Upright, square pixels, each frame showing its own number.
  const frames = await decodeGrayFrames(p.path, size.width, size.height);
  expect(frames.length).toBe(shown.frames);
  frames.forEach((f, i) => expect(readFrameIndex(f, size.width, size.height)).toBe(shown.first + i));
  return result;
}

describe('edit-proxy jobs', () => {
  it('an MPEG-TS original starting at 1.4 s: 540p, every frame at its time, GOP <= 10, AAC audio', async () => {
    expect(worker.queues).toContain(EDIT_PROXY_QUEUE);
    const p = await makeProxy('uploads/camera.ts');
    const result = await expectFrameForFrame(p, { width: 720, height: 540 });
    expect(result.ffmpegArgs).toEqual(expect.arrayContaining(['-fps_mode', 'passthrough', '-g', '10']));
    const { stdout } = await exec('ffprobe', ['-v', 'error', '-show_entries', 'stream=codec_type,codec_name,sample_aspect_ratio', '-of', 'json', p.path]);
    const streams = (JSON.parse(stdout) as { streams: { codec_type: string; codec_name: string; sample_aspect_ratio?: string }[] }).streams;
    expect(streams.map((s) => `${s.codec_type}:${s.codec_name}`)).toEqual(['video:h264', 'audio:aac']);
    // Percent climbs while encoding.
    expect(p.progress.some((x) => x.stage === 'encoding' && x.percent > 0)).toBe(true);
  }, 120_000);

  it('a rotated phone MOV: the proxy is upright (no rotation left to apply), 304x540 for 360x640', async () => {
    const p = await makeProxy('uploads/phone.mov');
    const original = await probe(p.original);
    expect(original).toMatchObject({ width: 360, height: 640 });
    expect(original.rotation).not.toBe(0);
    await expectFrameForFrame(p, { width: 304, height: 540 });
    const { stdout } = await exec('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height:stream_side_data=rotation:stream_tags=rotate', '-of', 'json', p.path]);
    expect(stdout).not.toMatch(/"rotat(e|ion)"/);
  }, 120_000);

  it('an MP4 whose edit list hides its first frames: the proxy has the frames shown, at their times', async () => {
    const p = await makeProxy('uploads/trimmed.mp4');
    await expectFrameForFrame(p, { width: 720, height: 540 }, { first: 12, frames: FRAMES - 12 });
  }, 120_000);

  it('a missing original and bad job data fail permanently', async () => {
    const missing = await makeProxy('uploads/none.mkv', { facts: { container: 'matroska', width: 64, height: 48, colorTransfer: null } });
    expect(missing.out.ok).toBe(false);
    expect(String(missing.out.value)).toContain(PERMANENT_ERROR_PREFIX);
    const job = await producer.createJob({ assetId: randomUUID(), sourceKey: 'uploads/camera.ts', outputKey: 'x.mp4', facts: { container: 'hls', width: 64, height: 48, colorTransfer: null }, durationFrames: 1 }).retries(2).save();
    const bad = await new Promise<string>((resolve) => job.on('failed', (e: Error) => resolve(e.message)));
    expect(bad).toContain(PERMANENT_ERROR_PREFIX);
  }, 60_000);
});
