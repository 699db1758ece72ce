/**
 * kill -9 a worker mid-render: two real worker processes (`tsx render-farm/src/main.ts`) against one
 * Redis; the app's render service (real Postgres) submits and follows the job. The worker that
 * holds the job is SIGKILLed while ffmpeg runs; the other worker's stalled-job check re-queues it
 * and renders it. Exactly one output set, the org charged once, the row succeeded on the survivor.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '@clipmaker/db';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { ffmpeg } from '../../../tests/support/media.ts';
import { loadConfig } from '../../src/lib/server/config.ts';
import type { AppContext } from '../../src/lib/server/context.ts';
import { RenderQueueProducer } from '../../src/lib/server/queue.ts';
import { testContext } from '../support/context.ts';
import { LocalStorage } from '../../src/lib/server/storage.ts';
import { signUp } from '../../src/lib/server/services/accounts/index.ts';
import { createProject } from '../../src/lib/server/services/projects.ts';
import { cancelRender, createRender, handleRenderEvents, renderMinutes } from '../../src/lib/server/services/renders.ts';
import { addVideoClip, waitForRenderDone } from './video-project.ts';
import { minutesLeft } from '../support/minutes.ts';
import { chargedMinutes } from '../../src/lib/server/services/render-minutes.ts';

interface RedisV3 {
  keys(pattern: string, cb: (err: Error | null, v: string[]) => void): void;
  hgetall(key: string, cb: (err: Error | null, v: Record<string, string> | null) => void): void;
  del(keys: string[], cb: (err: Error | null) => void): void;
}
const call = <T>(fn: (cb: (err: Error | null, v: T) => void) => void) => new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const prefix = uniquePrefix('kill');
let t: TestDb;
let dir: string;
let ctx: AppContext;
let redis: RedisV3;
const workers = new Map<string, ChildProcess>();

function startWorkerProcess(id: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', 'render-farm/src/main.ts'], {
    env: { ...process.env, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, STORAGE_DIR: join(dir, 'storage'), WORKER_ID: id, RENDER_TARGET: 'cpu', STALL_INTERVAL_MS: '1500', WORK_DIR: dir, LOG_LEVEL: 'warn' },
    cwd: resolve(fileURLToPath(import.meta.url), '../../../..'),
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', () => {});
  workers.set(id, child);
  return child;
}

beforeAll(async () => {
  t = await createTestDb();
  dir = await mkdtemp(join(tmpdir(), 'cm-kill-'));
  const config = loadConfig({ ...process.env, STORAGE_DIR: join(dir, 'storage'), QUEUE_PREFIX: prefix, REDIS_URL: TEST_REDIS_URL } as NodeJS.ProcessEnv);
  ctx = testContext({ config, db: t.handle, storage: new LocalStorage(join(dir, 'storage')) });
  ctx.queue = new RenderQueueProducer(TEST_REDIS_URL, prefix, handleRenderEvents(ctx));
  await ctx.queue.ready();
  redis = (ctx.queue as unknown as { queues: Map<string, { client: RedisV3 }> }).queues.get('normal')!.client;
}, 60_000);

afterAll(async () => {
  for (const w of workers.values()) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
  const keys = redis ? await call<string[]>((cb) => redis.keys(`${prefix}:*`, cb)) : [];
  if (keys.length) await call<unknown>((cb) => redis.del(keys, cb as never));
  await ctx?.queue.close();
  await t?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('farm: kill -9 mid-render', () => {
  it('the job completes on the other worker; exactly one output; charged once', async () => {
    startWorkerProcess('kill-a');
    startWorkerProcess('kill-b');
    await killMidRender('kill', ['kill-a', 'kill-b']);
  }, 180_000);

  it('chunked: kill -9 the coordinator mid-render; another worker adopts the chunk jobs and stitches once', async () => {
    startWorkerProcess('kill-c');
    const alive = ['kill-a', 'kill-b', 'kill-c'].filter((id) => workers.get(id)!.exitCode === null && workers.get(id)!.signalCode === null);
    expect(alive).toHaveLength(2);
    process.env.RENDER_CHUNK_SECONDS = '2';
    try {
      await killMidRender('killchunk', alive, true);
    } finally {
      delete process.env.RENDER_CHUNK_SECONDS;
    }
  }, 180_000);

  it('cancel mid-render: ffmpeg stops at once, the row is cancelled and refunded once, the worker is free again', async () => {
    const { user, org, project } = await prepareProject('cancel');
    const before = await minutesLeft(t.handle.db, org.id);
    const render = await createRender(ctx, user.id, { projectId: project.id, stateVector: null });
    const worker = await renderingWorker(render.id);
    expect(worker).not.toBeNull();
    const cancelledAt = Date.now();
    const view = await cancelRender(ctx, user.id, render.id);
    expect(view.status).toBe('cancelled');
    // The worker's heartbeat shows no current job once ffmpeg is gone.
    let freedMs = -1;
    for (let i = 0; i < 200 && freedMs < 0; i++) {
      const beat = await call<Record<string, string> | null>((cb) => redis.hgetall(`${prefix}:workers:${worker}`, cb));
      if (beat && !beat.currentJob) freedMs = Date.now() - cancelledAt;
      else await sleep(50);
    }
    expect(freedMs).toBeGreaterThanOrEqual(0);
    expect(freedMs).toBeLessThan(5000);
    await sleep(500); // the worker's late "failed" event must not refund twice
    expect(await minutesLeft(t.handle.db, org.id)).toBe(before);
    const [row] = await t.handle.db.select().from(schema.renders).where(eq(schema.renders.id, render.id));
    expect(row!.status).toBe('cancelled');
    expect(await ctx.storage.stat(`${row!.outputPrefix}/output.mp4`)).toBeNull();
  }, 120_000);
});

async function prepareProject(name: string) {
  {
    const { user, org } = await signUp(t.handle.db, { email: `${name}@example.com`, name: 'Kim', password: 'password-123' });
    const project = await createProject(ctx, user.id, { name, aspect: '1:1', fps: 30 });
    const key = `media/${project.id}/src.mp4`;
    await mkdir(join(dir, 'storage', 'media', project.id), { recursive: true });
    const seconds = 8;
    ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=640x360:rate=30:duration=${seconds}`, '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '30', '-c:a', 'aac', '-shortest', join(dir, 'storage', key)]);
    await addVideoClip(t, { orgId: org.id, projectId: project.id, userId: user.id, key, bytes: 1, sha256: 'e'.repeat(64), width: 640, height: 360, seconds });
    return { user, org, project, seconds };
  }
}

/** Waits for the render's row to show ffmpeg running (progress) and returns the worker doing it. */
async function renderingWorker(renderId: string): Promise<string | null> {
  for (let i = 0; i < 600; i++) {
    const [row] = await t.handle.db.select().from(schema.renders).where(eq(schema.renders.id, renderId));
    if (row?.stage === 'rendering' && row.workerId) return row.workerId;
    await sleep(50);
  }
  return null;
}

async function killMidRender(name: string, ids: string[], chunked = false): Promise<void> {
  {
    const { user, org, project, seconds } = await prepareProject(name);
    const before = await minutesLeft(t.handle.db, org.id);

    // Both workers up (heartbeats) before the job exists, so either may take it.
    for (let i = 0; i < 200; i++) {
      if ((await call<string[]>((cb) => redis.keys(`${prefix}:workers:*`, cb))).length >= 2) break;
      await sleep(100);
    }
    const render = await createRender(ctx, user.id, { projectId: project.id, stateVector: null });

    // Find the worker rendering it (heartbeat currentJob) once ffmpeg is running (progress in the row).
    let victim: string | null = null;
    for (let i = 0; i < 600 && !victim; i++) {
      const [row] = await t.handle.db.select().from(schema.renders).where(eq(schema.renders.id, render.id));
      if (row?.stage === 'rendering' && row.workerId) victim = row.workerId;
      else await sleep(50);
    }
    expect(victim).not.toBeNull();
    workers.get(victim!)!.kill('SIGKILL');
    const survivor = ids.find((id) => id !== victim)!;

    const row = await waitForRenderDone(t, render.id);
    expect(row?.status, row?.error ?? '').toBe('succeeded');
    expect(row!.workerId).toBe(survivor);
    const files = (await readdir(join(dir, 'storage', row!.outputPrefix))).sort();
    expect(files).toEqual(['output.mp4', 'poster.jpg', 'spec.json', 'thumb.jpg']);
    const charged = before - (await minutesLeft(t.handle.db, org.id));
    expect(charged).toBe((await chargedMinutes(t.handle.db, [row!.id])).get(row!.id));
    expect(charged).toBe(renderMinutes({ output: { durationFrames: seconds * 30, fps: { num: 30, den: 1 } } } as never));
    if (chunked) expect(row!.encoder).toMatch(/^libx264 \(4 chunks, \d reused\)$/);
  }
}
