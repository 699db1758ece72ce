/**
 * The one requeue path (shared/jobs renderJobData through the app's queue repository): an admin's
 * retry and priority change re-queue a long render CHUNKED, exactly as its submit did, and a real
 * render worker then renders it as chunks (one cached piece per chunk in storage) with the right frames.
 */
import { mkdir, readdir } from 'node:fs/promises';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { schema } from '@clipmaker/db';
import { LocalDiskStorage } from '../../../render-farm/src/storage/index.ts';
import { startWorker, type RenderWorker } from '../../../render-farm/src/worker.ts';
import { makeFrameIndexVideo } from '../../../render-farm/test/support/media.ts';
import { frameIndexSpec } from '../../../render-farm/test/support/spec.ts';
import { probe } from '../../../render-farm/src/ffmpeg/adapter.ts';
import { posterFrameIndex } from '../../../render-farm/src/poster.ts';
import type { RenderSpec } from '@clipmaker/shared/render-spec';

/** The spec as the worker builds from it: each source with what its ingest probe detects (container, starts, SAR). */
async function asProbed(s: RenderSpec, file: string): Promise<RenderSpec> {
  const info = await probe(file);
  return { ...s, sources: s.sources.map((src) => ({ ...src, container: info.container, videoStartUs: info.videoStartUs, audioStartUs: info.audioStartUs, sar: info.sar })) } as RenderSpec;
}
import { buildFfmpegCommand, commandToArgs } from '@clipmaker/shared/render-spec';
import { adminRetry, adminSetPriority, jobDetail } from '../../src/lib/server/services/admin.ts';
import { persistRenderRuns } from '../../src/lib/server/services/renders.ts';
import { outputFrameNumbers } from '../support/farm.ts';
import { createReviewFixture, type ReviewFixture } from './review-fixture.ts';
import { chargeRender, minutesLeft, setRenderMinutes } from '../support/minutes.ts';

let f: ReviewFixture;
let worker: RenderWorker | null = null;
const chunkSecondsBefore = process.env.RENDER_CHUNK_SECONDS;
// 1 s chunks: a 90-frame render at 30 fps is longer than two chunks, so every path must chunk it.
process.env.RENDER_CHUNK_SECONDS = '1';
const spec = frameIndexSpec({ key: 'media/src.mp4', sourceFrames: 90, width: 320, height: 180, hasAudio: true, clips: [{ sourceIn: 0, sourceOut: 90 }] });

beforeAll(async () => {
  f = await createReviewFixture();
  const dir = f.ctx.config.storageDir;
  await mkdir(path.join(dir, 'media'), { recursive: true });
  await makeFrameIndexVideo(path.join(dir, 'media', 'src.mp4'), { width: 640, height: 360, fps: 30, frames: 90, audio: true });
}, 60_000);

afterAll(async () => {
  await worker?.stop();
  await f?.dispose();
  if (chunkSecondsBefore === undefined) delete process.env.RENDER_CHUNK_SECONDS;
  else process.env.RENDER_CHUNK_SECONDS = chunkSecondsBefore;
});

async function insertRender(status: 'queued' | 'failed', chargedMinutes: number) {
  const id = crypto.randomUUID();
  const prefix = `renders/${id}`;
  await f.ctx.storage.putBytes(`${prefix}/spec.json`, JSON.stringify(spec));
  await f.ctx.db.db.insert(schema.renders).values({ id, projectId: f.projectId, orgId: f.orgId, version: 10 + Math.floor(Math.random() * 1e6), status, specKey: `${prefix}/spec.json`, outputPrefix: prefix, durationFrames: spec.output.durationFrames, error: status === 'failed' ? 'source missing' : null });
  if (chargedMinutes > 0) await chargeRender(f.ctx.db.db, f.orgId, id, chargedMinutes);
  return id;
}

it('a priority change re-queues a queued long render chunked, at the new priority, without charging', async () => {
  const id = await insertRender('queued', 1);
  await setRenderMinutes(f.ctx.db.db, f.orgId, 3);
  await adminSetPriority(f.ctx, id, 'low'); // no job yet (e.g. lost): the requeue creates one
  await adminSetPriority(f.ctx, id, 'high');
  const q = await f.ctx.queue.jobDetail(id);
  expect(q).toMatchObject({ priority: 'high', status: 'created', data: { renderId: id, priority: 'high', chunking: { chunkFrames: 30 } } });
  expect((await jobDetail(f.ctx, id)).queue?.chunking).toEqual({ chunkFrames: 30 });
  expect(await minutesLeft(f.ctx.db.db, f.orgId)).toBe(3);
  await f.ctx.queue.remove(id);
  await f.ctx.db.db.update(schema.renders).set({ status: 'cancelled' }).where(eq(schema.renders.id, id));
});

it('an admin retry of a failed long render charges once more and re-queues it chunked; a real worker renders it as chunks', async () => {
  const id = await insertRender('failed', 0);
  await setRenderMinutes(f.ctx.db.db, f.orgId, 3);
  await adminRetry(f.ctx, id);
  const [row] = await f.ctx.db.db.select().from(schema.renders).where(eq(schema.renders.id, id));
  expect(row).toMatchObject({ status: 'queued', error: null });
  expect((await jobDetail(f.ctx, id)).render.chargedMinutes).toBe(1);
  expect(await minutesLeft(f.ctx.db.db, f.orgId)).toBe(2);
  expect((await f.ctx.queue.jobDetail(id))?.data).toMatchObject({ renderId: id, priority: 'normal', chunking: { chunkFrames: 30 } });

  const storageDir = f.ctx.config.storageDir;
  worker = await startWorker({ redisUrl: f.ctx.config.REDIS_URL, storage: new LocalDiskStorage(storageDir), prefix: f.ctx.config.QUEUE_PREFIX!, workerId: 'requeue-worker', logger: pino({ level: process.env.TEST_WORKER_LOG ?? 'silent' }), target: 'cpu', heartbeatIntervalMs: 500, workRoot: path.join(storageDir, '..', 'work') });
  let result = null;
  for (let i = 0; i < 240 && !result; i++) {
    result = await f.ctx.queue.renderResult(id);
    if (!result) await new Promise((r) => setTimeout(r, 250));
  }
  expect(result, `the retried render finished: ${JSON.stringify(await f.ctx.queue.jobDetail(id))}`).not.toBeNull();
  // Rendered as chunks: one cached video piece per chunk (3 x 30 frames) and the audio once.
  const pieces = (await readdir(path.join(storageDir, 'chunks'))).sort();
  expect(pieces.filter((p) => p.endsWith('.mp4'))).toHaveLength(3);
  expect(pieces.filter((p) => p.endsWith('.m4a'))).toHaveLength(1);
  expect(await outputFrameNumbers(path.join(storageDir, result!.outputKey))).toEqual(Array.from({ length: 90 }, (_, i) => i));

  // Every ffmpeg run was recorded by the worker: 3 video chunks, the audio, the stitch.
  await persistRenderRuns(f.ctx, id);
  const { runs } = await jobDetail(f.ctx, id);
  expect(runs.filter((r) => r.ok).map((r) => `${r.kind}${r.chunkIndex ?? ''}`).sort()).toEqual(['audio', 'stitch', 'video-chunk0', 'video-chunk1', 'video-chunk2']);
  const chunk1 = runs.find((r) => r.kind === 'video-chunk' && r.chunkIndex === 1 && r.ok)!;
  expect(chunk1).toMatchObject({ workerId: 'requeue-worker', target: 'cpu', encoder: 'libx264' });
  expect(Object.keys(chunk1.stagesMs)).toEqual(expect.arrayContaining(['probe', 'encode']));
  // The stored argv IS the builder's output for that chunk (same spec, range, input and output path).
  const src = path.join(storageDir, 'media', 'src.mp4');
  const built = buildFfmpegCommand({ spec: await asProbed(spec, src), target: 'cpu', inputs: { src }, workDir: '/unused', fontsDir: '/unused', outputPath: chunk1.argv.at(-1)!, range: { start: 30, end: 60 }, audio: 'none', videoEncoder: 'libx264' });
  expect(chunk1.argv).toEqual(built.args);
  expect(built.args).toEqual(commandToArgs(built));
  // ... and ffmpeg's stderr is kept (at most 200 lines), here with the encoder's summary.
  expect(chunk1.stderrTail.length).toBeGreaterThan(0);
  expect(chunk1.stderrTail.length).toBeLessThanOrEqual(200);
  expect(chunk1.stderrTail.join('\n')).toMatch(/libx264/);
}, 120_000);

it('a whole (unchunked) render: the stored argv equals buildFfmpegCommand().args, which is also what the result reports', async () => {
  const shortSpec = frameIndexSpec({ key: 'media/src.mp4', sourceFrames: 90, width: 320, height: 180, hasAudio: true, clips: [{ sourceIn: 10, sourceOut: 50 }] });
  const id = crypto.randomUUID();
  await f.ctx.storage.putBytes(`renders/${id}/spec.json`, JSON.stringify(shortSpec));
  await f.ctx.queue.enqueue({ renderId: id, specKey: `renders/${id}/spec.json`, outputPrefix: `renders/${id}`, chunk: { index: 0, count: 1 }, attempt: 0, chunking: null, priority: 'normal' }, 'normal');
  let result = null;
  for (let i = 0; i < 240 && !result; i++) {
    result = await f.ctx.queue.renderResult(id);
    if (!result) await new Promise((r) => setTimeout(r, 250));
  }
  expect(result).not.toBeNull();
  const [run] = await f.ctx.queue.jobRuns(id);
  expect(run).toMatchObject({ kind: 'render', ok: true, attempt: 1, workerId: 'requeue-worker', target: 'cpu', encoder: 'libx264' });
  const srcPath = path.join(f.ctx.config.storageDir, 'media', 'src.mp4');
  // A whole render also writes its poster frame from the encode graph: the last output is that PNG.
  const outputPath = run!.argv.find((a) => a.endsWith('output.mp4'))!;
  const posterPath = run!.argv.at(-1)!;
  expect(posterPath).toMatch(/poster-frame\.png$/);
  const probed = await asProbed(shortSpec, srcPath);
  const posterFrame = { frame: posterFrameIndex(probed.output.durationFrames, probed.output.fps), path: posterPath };
  const built = buildFfmpegCommand({ spec: probed, target: 'cpu', inputs: { src: srcPath }, workDir: '/unused', fontsDir: '/unused', outputPath, videoEncoder: 'libx264', posterFrame });
  expect(run!.argv).toEqual(built.args);
  expect(result!.ffmpegArgs).toEqual(built.args);
  expect(built.encoder).toBe('libx264');
}, 120_000);
