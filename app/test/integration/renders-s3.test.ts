/**
 * Both sides on one S3 bucket, against the signature-verifying S3 server process
 * (tests/support/s3-verifying-server.ts): the app's S3 storage (AWS SDK) stores an upload (multipart
 * above 8 MiB) and the render spec, a real worker process (`render-farm/src/main.ts` with S3_*) reads
 * them and writes the output, and the app serves the output with HTTP ranges (signed Range requests)
 * from the same bucket. Every request the two processes made was signature- and checksum-verified.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { ffmpeg } from '../../../tests/support/media.ts';
import { startS3TestServer, type S3TestServer } from '../../../tests/support/s3-process.ts';
import { loadConfig } from '../../src/lib/server/config.ts';
import type { AppContext } from '../../src/lib/server/context.ts';
import { fileResponse } from '../../src/lib/server/file-response.ts';
import { RenderQueueProducer } from '../../src/lib/server/queue.ts';
import { testContext } from '../support/context.ts';
import { createStorage, S3AppStorage } from '../../src/lib/server/storage.ts';
import { addVideoClip, waitForRenderDone } from './video-project.ts';
import { signUp } from '../../src/lib/server/services/accounts/index.ts';
import { createProject } from '../../src/lib/server/services/projects.ts';
import { createRender, handleRenderEvents } from '../../src/lib/server/services/renders.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const prefix = uniquePrefix('s3');
let t: TestDb;
let dir: string;
let s3: S3TestServer;
let ctx: AppContext;
let worker: ChildProcess | null = null;

beforeAll(async () => {
  [t, s3] = await Promise.all([createTestDb(), startS3TestServer()]);
  dir = await mkdtemp(join(tmpdir(), 'cm-s3app-'));
  const env = { ...process.env, ...s3.env, S3_KEY_PREFIX: 'app', QUEUE_PREFIX: prefix, REDIS_URL: TEST_REDIS_URL, DATA_DIR: dir } as NodeJS.ProcessEnv;
  const config = loadConfig(env);
  const storage = createStorage(config.storageDir, env);
  expect(storage).toBeInstanceOf(S3AppStorage);
  ctx = testContext({ config, db: t.handle, storage });
  ctx.queue = new RenderQueueProducer(TEST_REDIS_URL, prefix, handleRenderEvents(ctx));
  await ctx.queue.ready();
  worker = spawn(process.execPath, ['--import', 'tsx', 'render-farm/src/main.ts'], {
    env: { ...env, STORAGE_DIR: join(dir, 'must-not-be-used'), WORKER_ID: 's3-worker', RENDER_TARGET: 'cpu', WORK_DIR: dir, LOG_LEVEL: 'warn' },
    cwd: resolve(fileURLToPath(import.meta.url), '../../../..'),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}, 60_000);

afterAll(async () => {
  if (worker && worker.exitCode === null) {
    const exited = new Promise((r) => worker!.once('exit', r));
    worker.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000)]);
    if (worker.exitCode === null) worker.kill('SIGKILL');
  }
  await ctx?.queue.close();
  await s3?.stop();
  await t?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('app and render farm on one S3 bucket (verifying server)', () => {
  it('app stores, worker renders from and to S3, app serves the output with ranges', { timeout: 180_000 }, async () => {
    const before = await s3.stats();
    const { user, org } = await signUp(t.handle.db, { email: 's3@example.com', name: 'Essie', password: 'password-123' });
    const project = await createProject(ctx, user.id, { name: 's3', aspect: '1:1', fps: 30 });
    const key = `media/${project.id}/src.mp4`;
    const seconds = 5;
    // High bitrate so that the upload is bigger than one 8 MiB part and goes multipart.
    const src = join(dir, 'src.mp4');
    ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=1280x720:rate=30:duration=${seconds}`, '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-qp', '0', '-pix_fmt', 'yuv420p', '-g', '30', '-c:a', 'aac', '-shortest', src]);
    const srcBytes = await readFile(src);
    expect(srcBytes.length).toBeGreaterThan(8 * 1024 * 1024);
    await ctx.storage.putFile(key, src);
    expect((await ctx.storage.stat(key))?.size).toBe(srcBytes.length);
    await addVideoClip(t, { orgId: org.id, projectId: project.id, userId: user.id, key, bytes: srcBytes.length, sha256: 'f'.repeat(64), width: 1280, height: 720, seconds });

    const render = await createRender(ctx, user.id, { projectId: project.id, stateVector: null });
    const row = await waitForRenderDone(t, render.id);
    expect(row?.status, row?.error ?? '').toBe('succeeded');

    // The app serves the worker's output from the bucket: whole, and a byte range.
    const outKey = `${row!.outputPrefix}/output.mp4`;
    const whole = await fileResponse(ctx.storage, outKey, null);
    expect(whole.status).toBe(200);
    const mp4 = Buffer.from(await whole.arrayBuffer());
    expect(mp4.length).toBe(Number(whole.headers.get('content-length')));
    expect(mp4.subarray(4, 8).toString('latin1')).toBe('ftyp');
    const part = await fileResponse(ctx.storage, outKey, 'bytes=100-1099');
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer()).equals(mp4.subarray(100, 1100))).toBe(true);
    await writeFile(join(dir, 'out.mp4'), mp4);
    ffmpeg(['-i', join(dir, 'out.mp4'), '-map', '0:v', '-f', 'null', '-']); // decodes cleanly (throws otherwise)
    expect(JSON.parse((await ctx.storage.getBytes(`${row!.outputPrefix}/spec.json`)).toString('utf8')).output.durationFrames).toBe(seconds * 30);
    expect((await ctx.storage.stat(`${row!.outputPrefix}/poster.jpg`))?.size).toBeGreaterThan(1000);
    await expect(fileResponse(ctx.storage, `${row!.outputPrefix}/nope.mp4`, null)).rejects.toMatchObject({ code: 'not-found' });

    // Deleting the render's prefix empties it in the bucket.
    await ctx.storage.deletePrefix(row!.outputPrefix);
    expect(await ctx.storage.stat(outKey)).toBeNull();

    const after = await s3.stats();
    expect(after.rejected).toEqual(before.rejected);
    expect(after.verified - before.verified).toBe(after.requests - before.requests);
    expect(after.multipartParts - before.multipartParts).toBeGreaterThanOrEqual(2);
    expect(after.verified - before.verified).toBeGreaterThan(10);
  });
});
