/**
 * The render's tail (issue 14: the output is ready within 2 s of ffmpeg exiting): a real worker,
 * real ffmpeg and Redis, on local disk and on S3 (the signature-verifying s3rver process). The job
 * result and the worker's `job.succeeded` line carry the per-step timings; the poster, now grabbed
 * while the output uploads, still shows the frame at 1 s. Durations are not asserted (benchmarks do that).
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import BeeQueue from 'bee-queue';
import { pino } from 'pino';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RENDER_QUEUES, RenderResult } from '@clipmaker/shared/jobs';
import { s3ConfigFromEnv } from '@clipmaker/shared/storage';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { startS3TestServer, type S3TestServer } from '../../../tests/support/s3-process.ts';
import { LocalDiskStorage, S3Storage, type Storage } from '../../src/storage/index.ts';
import { startWorker } from '../../src/worker.ts';
import { makeFrameIndexVideo, readFrameIndex, tempDir } from '../support/media.ts';
import { frameIndexSpec } from '../support/spec.ts';

const TAIL_STEPS = ['verify', 'renderCleanup', 'poster', 'uploadOutput', 'uploadPoster', 'uploadThumb', 'jobCleanup'];
/** Output frames [0, 75) show source frames 10..84; output GOP 24, so the poster's frame (1 s = 30) is no keyframe. */
const SOURCE_IN = 10;
const POSTER_FRAME = 30;

let dir: string;
let s3: S3TestServer;
beforeAll(async () => {
  dir = await tempDir('tail');
  await makeFrameIndexVideo(join(dir, 'src.mp4'), { width: 640, height: 360, fps: 30, frames: 90, audio: true });
  s3 = await startS3TestServer();
});
afterAll(async () => {
  await s3?.stop();
  await rm(dir, { recursive: true, force: true });
});

/** The frame number a stored JPEG shows (decoded to gray at its own size). */
async function frameShown(storage: Storage, key: string): Promise<{ index: number; width: number; height: number }> {
  const file = await storage.localPath(key);
  try {
    const { data, info } = await sharp(file.path).greyscale().raw().toBuffer({ resolveWithObject: true });
    const gray = info.channels === 1 ? data : Uint8Array.from({ length: info.width * info.height }, (_, i) => data[i * info.channels]!);
    return { index: readFrameIndex(gray, info.width, info.height), width: info.width, height: info.height };
  } finally {
    await file.release();
  }
}

const storages: Array<[string, () => Storage]> = [
  ['local disk', () => new LocalDiskStorage(join(dir, `storage-${randomUUID().slice(0, 6)}`))],
  ['S3', () => new S3Storage({ ...s3ConfigFromEnv({ ...s3.env, S3_KEY_PREFIX: `tail-${randomUUID().slice(0, 6)}` })!, tempDir: dir })],
];

describe.each(storages)('render tail on %s', (_name, makeStorage) => {
  it('reports every step after ffmpeg exits in the result and the log; the poster shows the frame at 1 s', async () => {
    const storage = makeStorage();
    const prefix = uniquePrefix('tail');
    await storage.put('media/src.mp4', join(dir, 'src.mp4'));
    const spec = frameIndexSpec({ key: 'media/src.mp4', sourceFrames: 90, width: 360, height: 640, hasAudio: true, clips: [{ sourceIn: SOURCE_IN, sourceOut: 85 }] });
    spec.output.gop = 24;
    const specFile = join(dir, `spec-${randomUUID()}.json`);
    await writeFile(specFile, JSON.stringify(spec));
    await storage.put('specs/tail.json', specFile);

    const lines: Array<Record<string, unknown>> = [];
    await mkdir(join(dir, 'work'), { recursive: true });
    const worker = await startWorker({ redisUrl: TEST_REDIS_URL, storage, prefix, workerId: `tail-${randomUUID().slice(0, 6)}`, logger: pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) }), target: 'cpu', workRoot: join(dir, 'work'), engines: [], reviewProxyQueueName: false, editProxyQueueName: false, chunkCache: false });
    const producer = new BeeQueue(RENDER_QUEUES.normal, { prefix, redis: { url: TEST_REDIS_URL }, isWorker: false, getEvents: true, sendEvents: false });
    try {
      await producer.ready();
      const renderId = randomUUID();
      const enqueuedAt = Date.now();
      const job = producer.createJob({ renderId, specKey: 'specs/tail.json', outputPrefix: `renders/${renderId}` }).setId(renderId).retries(0);
      const value = await new Promise<unknown>((resolve, reject) => {
        job.on('succeeded', resolve);
        job.on('failed', reject);
        void job.save();
      });
      const seenAt = Date.now();
      const result = RenderResult.parse(value);

      // The tail in the result: when ffmpeg exited, each step, the whole.
      expect(result.tail).toBeDefined();
      const tail = result.tail!;
      expect(Object.keys(tail.stagesMs).sort()).toEqual([...TAIL_STEPS].sort());
      for (const step of TAIL_STEPS) expect(Number.isInteger(tail.stagesMs[step]), step).toBe(true);
      expect(tail.ffmpegExitedAt).toBeGreaterThanOrEqual(enqueuedAt);
      expect(tail.ffmpegExitedAt + tail.totalMs).toBeLessThanOrEqual(seenAt);
      // ... and in the worker's log line for the finished job.
      const succeeded = lines.find((l) => l.event === 'job.succeeded' && l.renderId === renderId);
      expect(succeeded?.tail).toEqual(tail);
      const done = lines.find((l) => l.msg === 'render done' && l.renderId === renderId);
      expect(done?.tail).toEqual(tail);

      // The poster frame came out of the encode (a tapped PNG output), not from decoding the output.
      expect(result.ffmpegArgs.slice(-11, -1)).toEqual(['-map', '[pv]', '-frames:v', '1', '-update', '1', '-c:v', 'png', '-f', 'image2']);
      // Everything the tail published is there and right.
      const output = await storage.stat(result.outputKey);
      expect(output?.size).toBe(result.bytes);
      const poster = await frameShown(storage, result.posterKey);
      expect(poster).toEqual({ index: SOURCE_IN + POSTER_FRAME, width: 360, height: 640 });
      const thumb = await frameShown(storage, result.thumbKey);
      expect(thumb).toEqual({ index: SOURCE_IN + POSTER_FRAME, width: 320, height: 569 });
      // The job's temp folder is gone by the time the success is published.
      expect((await readdir(worker.workDir)).filter((n) => n !== 'owner.json')).toEqual([]);

      // Backward compatible: a result from a worker before the tail still parses.
      const { tail: _dropped, ...older } = result;
      expect(RenderResult.parse(older)).toEqual(older);
    } finally {
      await worker.stop();
      await producer.close();
    }
  });
});
