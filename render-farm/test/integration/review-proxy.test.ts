/**
 * Watermarked review copies (issue 15 item 5) through the real queue: bee-queue over Redis, a worker,
 * ffmpeg + libass. The "render" is a frame-numbered video (frame N shows N as luma bands), so the
 * copy is checked frame by frame: same frame count, same timestamps, each frame shows the same
 * number, the text is drawn where the layout puts it, and a hostile name (quotes, %{, backslashes,
 * newlines, colons, filter and ASS syntax) is drawn as text and changes nothing else.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import BeeQueue from 'bee-queue';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMANENT_ERROR_PREFIX, REVIEW_PROXY_QUEUE, ReviewProxyProgress, ReviewProxyResult, reviewProxyResultKey } from '@clipmaker/shared/jobs';
import { watermarkLayout } from '@clipmaker/shared/render-spec';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { LocalDiskStorage } from '../../src/storage/index.ts';
import { startWorker, type RenderWorker } from '../../src/worker.ts';
import { decodeGrayFrames, makeFrameIndexVideo, readFrameIndexIn, tempDir } from '../support/media.ts';

const exec = promisify(execFile);
const log = pino({ level: 'silent' });
const W = 640;
const H = 360;
const FRAMES = 50;
let dir: string;
let storage: LocalDiskStorage;
let worker: RenderWorker;
let producer: BeeQueue;
let pub: { get(k: string, cb: (e: Error | null, v: string | null) => void): void };
const prefix = uniquePrefix('review-proxy');
let renderFrames: Uint8Array[];

type Box = { x: number; y: number; w: number; h: number };
/** Mean absolute luma difference of two gray frames inside a box. */
function meanDiff(a: Uint8Array, b: Uint8Array, r: Box): number {
  let sum = 0;
  for (let y = r.y; y < r.y + r.h; y++) for (let x = r.x; x < r.x + r.w; x++) sum += Math.abs(a[y * W + x]! - b[y * W + x]!);
  return sum / (r.w * r.h);
}
/** Where the first three glyphs of corner line i are (every name in these tests is longer). */
function lineStart(i: number, lines: number): Box {
  const l = watermarkLayout(W, H, lines);
  const line = l.lines[i]!;
  return { x: line.x, y: line.baseline - l.lineHeight, w: Math.round(l.lineHeight * 1.8), h: l.lineHeight };
}
/** The frame number, read from a strip at the right edge (no watermark reaches there). */
const numberAt = (f: Uint8Array) => readFrameIndexIn(f, W, { x: W - 30, y: 0, w: 30, h: H });

async function videoPts(path: string): Promise<string[]> {
  const { stdout } = await exec('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'frame=pts_time', '-of', 'csv=p=0', path]);
  return stdout.trim().split('\n');
}

beforeAll(async () => {
  dir = await tempDir('review-proxy');
  storage = new LocalDiskStorage(join(dir, 'storage'));
  await mkdir(join(dir, 'storage', 'renders', 'r1'), { recursive: true });
  await makeFrameIndexVideo(join(dir, 'storage', 'renders', 'r1', 'output.mp4'), { width: W, height: H, fps: 25, frames: FRAMES, audio: true });
  renderFrames = await decodeGrayFrames(join(dir, 'storage', 'renders', 'r1', 'output.mp4'), W, H);
  worker = await startWorker({ redisUrl: TEST_REDIS_URL, storage, prefix, workerId: 'watermarker', logger: log, target: 'cpu', capabilities: { cudaDevice: false, targets: ['cpu'], gpus: [] } as never, engines: [], chunkCache: false, progressIntervalMs: 0, heartbeatIntervalMs: 300, workRoot: dir });
  producer = new BeeQueue(REVIEW_PROXY_QUEUE, { prefix, redis: { url: TEST_REDIS_URL }, isWorker: false, getEvents: true, sendEvents: false });
  await producer.ready();
  pub = (producer as unknown as { client: typeof pub }).client;
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await producer?.close();
  await rm(dir, { recursive: true, force: true });
});

async function makeProxy(viewer: { name: string; email: string | null }, sourceKey = 'renders/r1/output.mp4') {
  const proxyId = randomUUID();
  const outputKey = `review-proxies/${proxyId}.mp4`;
  const job = await producer.createJob({ proxyId, sourceKey, outputKey, viewer: { ...viewer, issuedAt: '2026-12-02T08:15:00.000Z' }, durationFrames: FRAMES }).setId(proxyId).retries(2).backoff('fixed', 200).save();
  const progress: ReviewProxyProgress[] = [];
  const out = await new Promise<{ ok: boolean; value: unknown }>((resolve) => {
    job.on('progress', (p: unknown) => progress.push(ReviewProxyProgress.parse(p)));
    job.on('succeeded', (v: unknown) => resolve({ ok: true, value: v }));
    job.on('failed', (e: Error) => resolve({ ok: false, value: e.message }));
  });
  return { proxyId, outputKey, progress, out, path: join(dir, 'storage', outputKey) };
}

describe('review-proxy jobs (watermark burned in by the farm)', () => {
  it('the copy keeps every frame and its time, shows the same frame numbers, and carries the text', async () => {
    expect(worker.queues).toContain(REVIEW_PROXY_QUEUE);
    const p = await makeProxy({ name: 'Dana Reviewer', email: 'dana@agency.example' });
    expect(p.out.ok, String(p.out.value)).toBe(true);
    const result = ReviewProxyResult.parse(p.out.value);
    expect(result).toMatchObject({ proxyId: p.proxyId, outputKey: p.outputKey, frames: FRAMES, workerId: 'watermarker' });
    expect(p.progress.map((x) => x.stage)).toEqual(expect.arrayContaining(['probing', 'rendering', 'done']));
    const kept = await new Promise<string | null>((r) => pub.get(reviewProxyResultKey(prefix, p.proxyId), (_e, v) => r(v)));
    expect(ReviewProxyResult.parse(JSON.parse(kept!)).outputKey).toBe(p.outputKey);

    const frames = await decodeGrayFrames(p.path, W, H);
    expect(frames.length).toBe(FRAMES);
    expect(await videoPts(p.path)).toEqual(await videoPts(join(dir, 'storage', 'renders', 'r1', 'output.mp4')));
    frames.forEach((f, i) => {
      expect(numberAt(f)).toBe(i);
      expect(numberAt(renderFrames[i]!)).toBe(i);
    });
    // Three corner lines (name, email, time): each is drawn where the layout says, on every frame checked.
    for (const i of [0, 25, 49]) {
      for (const line of [0, 1, 2]) expect(meanDiff(frames[i]!, renderFrames[i]!, lineStart(line, 3))).toBeGreaterThan(12);
      // Away from the text (top-left corner) the copy is the render (only the encoder's error).
      expect(meanDiff(frames[i]!, renderFrames[i]!, { x: 0, y: 0, w: 200, h: 60 })).toBeLessThan(3);
    }
    // The argv holds none of the viewer's text: that lives in the ASS file the worker wrote.
    expect(result.ffmpegArgs.join(' ')).not.toMatch(/Dana|agency|2026/);
    expect(result.ffmpegArgs.filter((a) => a === '-filter_complex')).toHaveLength(1);
  }, 120_000);

  it('a hostile name is drawn literally and injects no filter or ASS override', async () => {
    // If the filter string took it: a black frame (drawbox) or a cut (trim). If libass took the
    // braces: the name line invisible (\alpha&HFF&) or moved to the top-left corner (\pos).
    const hostile = `{\\alpha&HFF&}{\\pos(0,0)}Eve' "q" %{pts} \\N\\b\nc:d,drawbox=t=fill;trim=end_frame=5`;
    const p = await makeProxy({ name: hostile, email: null });
    expect(p.out.ok, String(p.out.value)).toBe(true);
    const result = ReviewProxyResult.parse(p.out.value);
    expect(result.frames).toBe(FRAMES);
    expect(result.ffmpegArgs.join(' ')).not.toMatch(/drawbox|trim|alpha|Eve|%\{/);
    const frames = await decodeGrayFrames(p.path, W, H);
    expect(frames.length).toBe(FRAMES);
    frames.forEach((f, i) => expect(numberAt(f)).toBe(i));
    for (const i of [0, 10, 49]) {
      // Name line (line 0 of 2: no email) visible in its place: the braces were glyphs, not tags.
      expect(meanDiff(frames[i]!, renderFrames[i]!, lineStart(0, 2))).toBeGreaterThan(12);
      expect(meanDiff(frames[i]!, renderFrames[i]!, { x: 0, y: 0, w: 200, h: 60 })).toBeLessThan(3);
    }
    // Literal, not interpreted: libass honouring the tags would have hidden the name line; a copy
    // of the name with the override blocks removed draws different glyphs in the same place.
    const stripped = await makeProxy({ name: hostile.replace(/\{[^}]*\}/g, ''), email: null });
    expect(stripped.out.ok).toBe(true);
    const strippedFrames = await decodeGrayFrames(stripped.path, W, H);
    expect(meanDiff(frames[10]!, strippedFrames[10]!, lineStart(0, 2))).toBeGreaterThan(12);
  }, 120_000);

  it('a missing render fails permanently (no retries); bad job data too', async () => {
    const missing = await makeProxy({ name: 'Nobody', email: null }, 'renders/none/output.mp4');
    expect(missing.out.ok).toBe(false);
    expect(String(missing.out.value)).toContain(PERMANENT_ERROR_PREFIX);
    const job = await producer.createJob({ proxyId: randomUUID(), sourceKey: '../etc/passwd', outputKey: 'x.mp4', viewer: { name: 'x', issuedAt: 'now' }, durationFrames: 1 }).retries(2).save();
    const bad = await new Promise<string>((resolve) => job.on('failed', (e: Error) => resolve(e.message)));
    expect(bad).toContain(PERMANENT_ERROR_PREFIX);
  }, 60_000);
});
