/**
 * Edit proxies, app side, with every real component: Postgres, Redis, a render-farm worker, ffmpeg.
 * An uploaded video's proxy is queued once its row exists, followed live (watchEditProxy, what the
 * media bin subscribes to) to 'ready' with its key stored; a proxy whose events the app missed is
 * reconciled from the queue on the next read; an upload whose proxy cannot be queued still succeeds.
 */
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '@clipmaker/db';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { LocalDiskStorage } from '../../../render-farm/src/storage/index.ts';
import { startWorker, type RenderWorker } from '../../../render-farm/src/worker.ts';
import { ffmpeg, tempDir } from '../../../render-farm/test/support/media.ts';
import { loadConfig } from '../../src/lib/server/config.ts';
import type { AppContext } from '../../src/lib/server/context.ts';
import { RenderQueueProducer } from '../../src/lib/server/queue.ts';
import { type ProxyUpdate } from '../../src/lib/server/render-events.ts';
import { testContext } from '../support/context.ts';
import { LocalStorage } from '../../src/lib/server/storage.ts';
import { signUp } from '../../src/lib/server/services/accounts/index.ts';
import { uploadAsset } from '../../src/lib/server/services/assets.ts';
import { currentProxy, handleEditProxyEvents, watchEditProxy } from '../../src/lib/server/services/edit-proxies.ts';
import { createProject } from '../../src/lib/server/services/projects.ts';

const prefix = uniquePrefix('edit-proxies');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
let t: TestDb;
let dir: string;
let storageDir: string;
let ctx: AppContext;
let worker: RenderWorker;
let userId: string;
let outsiderId: string;
let projectId: string;
let video: Uint8Array<ArrayBuffer>;
/** While false, the app "misses" every edit-proxy event (as when it is down). */
let listening = true;

beforeAll(async () => {
  t = await createTestDb();
  dir = await tempDir('app-edit-proxies');
  storageDir = join(dir, 'storage');
  await mkdir(storageDir, { recursive: true });
  const config = loadConfig({ ...process.env, DATA_DIR: dir, STORAGE_DIR: storageDir, QUEUE_PREFIX: prefix, REDIS_URL: TEST_REDIS_URL } as NodeJS.ProcessEnv);
  ctx = testContext({ config, db: t.handle, storage: new LocalStorage(storageDir) });
  const events = handleEditProxyEvents(ctx);
  ctx.queue = new RenderQueueProducer(TEST_REDIS_URL, prefix, {
    onProgress() {},
    onSucceeded() {},
    onFailed() {},
    onRetrying() {},
    onEditProxyProgress: (p) => listening && events.onEditProxyProgress!(p),
    onEditProxySucceeded: (r) => listening && events.onEditProxySucceeded!(r),
    onEditProxyFailed: (id, m) => listening && events.onEditProxyFailed!(id, m),
  });
  await ctx.queue.ready();
  worker = await startWorker({ redisUrl: TEST_REDIS_URL, storage: new LocalDiskStorage(storageDir), prefix, workerId: 'app-proxies', logger: pino({ level: 'silent' }), target: 'cpu', capabilities: { cudaDevice: false, targets: ['cpu'], gpus: [] } as never, engines: [], chunkCache: false, progressIntervalMs: 0, heartbeatIntervalMs: 500, workRoot: dir });
  userId = (await signUp(t.handle.db, { email: 'proxies@example.com', name: 'Pro', password: 'password-123' })).user.id;
  outsiderId = (await signUp(t.handle.db, { email: 'outsider-proxies@example.com', name: 'Out', password: 'password-123' })).user.id;
  projectId = (await createProject(ctx, userId, { name: 'proxies', aspect: '16:9', fps: 30 })).id;
  const mkv = join(dir, 'clip.mkv');
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=1280x720:r=30:d=3', '-f', 'lavfi', '-i', 'sine=d=3', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '90', '-c:a', 'aac', '-shortest', mkv]);
  video = new Uint8Array(await readFile(mkv));
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await ctx?.queue.close();
  await t?.dispose();
  await rm(dir, { recursive: true, force: true });
});

const row = async (id: string) => (await t.handle.db.select().from(schema.assets).where(eq(schema.assets.id, id)))[0]!;

describe('edit proxies: app -> farm -> Postgres', () => {
  it('an upload queues the proxy; the live feed goes to ready and the proxy is stored beside the original', async () => {
    const asset = await uploadAsset(ctx, userId, projectId, 'clip.mkv', new Blob([video]).stream());
    expect(asset.proxy).toEqual({ status: 'queued', percent: 0 });
    const seen: ProxyUpdate[] = [];
    for await (const u of await watchEditProxy(ctx, userId, asset.id, AbortSignal.timeout(60_000))) seen.push(u);
    expect(seen[0]!.status).toMatch(/^(queued|encoding|ready)$/);
    expect(seen.at(-1)).toEqual({ assetId: asset.id, status: 'ready', percent: 100 });
    const r = await row(asset.id);
    expect(r.proxyKey).toBe(r.storageKey.replace(/original\.[a-z0-9]+$/, 'proxy.mp4'));
    expect((await stat(join(storageDir, r.proxyKey!))).size).toBeGreaterThan(1000);
    // A finished proxy's feed answers its state once and ends.
    const again: ProxyUpdate[] = [];
    for await (const u of await watchEditProxy(ctx, userId, asset.id)) again.push(u);
    expect(again).toEqual([{ assetId: asset.id, status: 'ready', percent: 100 }]);
  }, 90_000);

  it('outsiders cannot watch an asset\'s proxy', async () => {
    const [a] = await t.handle.db.select().from(schema.assets).where(eq(schema.assets.projectId, projectId));
    await expect(watchEditProxy(ctx, outsiderId, a!.id)).rejects.toMatchObject({ code: 'not-found' });
  });

  it('a proxy whose events the app missed is reconciled from the queue on the next read', async () => {
    listening = false;
    try {
      const asset = await uploadAsset(ctx, userId, projectId, 'missed.mkv', new Blob([video]).stream());
      for (let i = 0; i < 600 && (await ctx.queue.editProxyJobRecord(asset.id))?.status !== 'succeeded'; i++) await sleep(100);
      expect((await row(asset.id)).proxyStatus).toBe('queued');
      expect(await currentProxy(ctx, await row(asset.id))).toEqual({ assetId: asset.id, status: 'ready', percent: 100 });
      expect((await row(asset.id)).proxyKey).toMatch(/\/proxy\.mp4$/);
    } finally {
      listening = true;
    }
  }, 90_000);

  it('an upload whose proxy cannot be queued still succeeds, its proxy marked failed', async () => {
    const noQueue = { ...ctx, queue: undefined } as unknown as AppContext;
    const asset = await uploadAsset(noQueue, userId, projectId, 'offline.mkv', new Blob([video]).stream());
    expect(asset.proxy).toEqual({ status: 'failed', percent: 0 });
    expect((await row(asset.id)).proxyKey).toBeNull();
  });
});
