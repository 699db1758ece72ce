/**
 * Edit proxies, app side, with every real component: Postgres, Redis, a render-farm worker, ffmpeg.
 * An uploaded video's proxy is queued once its row exists, followed live (watchEditProxy, what the
 * media bin subscribes to) to 'ready' with its key stored; a proxy whose events the app missed is
 * reconciled from the queue on the next read; an upload whose proxy cannot be queued still succeeds.
 * A project duplicated while a proxy encodes: the copy follows the original's job to 'ready'. A video
 * without a proxy (older uploads, failed ones) gets one on request (assets.makeProxy, `pnpm admin
 * proxies`), queued once however often it is asked, shared with the file's other rows.
 */
import { mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { eq, inArray } from 'drizzle-orm';
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
import { currentProxy, handleEditProxyEvents, makeEditProxy, watchEditProxy } from '../../src/lib/server/services/edit-proxies.ts';
import { duplicateProject } from '../../src/lib/server/services/project-library.ts';
import { createProject } from '../../src/lib/server/services/projects.ts';
import { insertMembership } from '../../src/lib/server/repositories/accounts.ts';
import type { EditProxyJobData } from '@clipmaker/shared/jobs';
import { runAdmin } from '../../../scripts/admin.ts';

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
/** Follows an asset's proxy feed to its end (ready or failed); the last update. */
async function settled(assetId: string): Promise<ProxyUpdate | undefined> {
  let last: ProxyUpdate | undefined;
  for await (const u of await watchEditProxy(ctx, userId, assetId, AbortSignal.timeout(60_000))) last = u;
  return last;
}
/** ctx with its queue's enqueueEditProxy counted (every other call goes to the real queue). */
function countingEnqueues(): { ctx: AppContext; jobs: EditProxyJobData[] } {
  const jobs: EditProxyJobData[] = [];
  const queue = Object.create(ctx.queue) as RenderQueueProducer;
  queue.enqueueEditProxy = async (d) => {
    jobs.push(d);
    await ctx.queue.enqueueEditProxy(d);
  };
  return { ctx: { ...ctx, queue }, jobs };
}
/** The row as an upload from before edit proxies left it: no proxy, no job. */
const noProxy = (ids: string[]) => t.handle.db.update(schema.assets).set({ proxyStatus: null, proxyPercent: 0, proxyKey: null, proxyJobId: null, proxyRequestedAt: null }).where(inArray(schema.assets.id, ids));
const assetsOf = (pid: string) => t.handle.db.select().from(schema.assets).where(eq(schema.assets.projectId, pid));

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

describe('edit proxies of duplicated projects', () => {
  it('a copy made while the proxy is on the way follows the original\'s job and turns ready with it', async () => {
    const pid = (await createProject(ctx, userId, { name: 'dup while encoding', aspect: '16:9', fps: 30 })).id;
    // The upload's job is held back until the copy exists: the copy is made while the proxy is queued.
    const held: EditProxyJobData[] = [];
    const holding = { ...ctx, queue: { enqueueEditProxy: async (d: EditProxyJobData) => void held.push(d) } } as unknown as AppContext;
    const original = await uploadAsset(holding, userId, pid, 'dup.mkv', new Blob([video]).stream());
    expect(original.proxy).toEqual({ status: 'queued', percent: 0 });
    const copy = await duplicateProject(ctx, { id: userId, name: 'Pro' }, { projectId: pid });
    const [copied] = await assetsOf(copy.id);
    expect(copied!.id).not.toBe(original.id);
    expect(copied!.proxyStatus).toBe('queued');
    expect(held).toHaveLength(1);
    await ctx.queue.enqueueEditProxy(held[0]!);
    // Both feeds end ready: the copy's without waiting for the lost-job timeout.
    const [a, b] = await Promise.all([settled(original.id), settled(copied!.id)]);
    expect(a).toEqual({ assetId: original.id, status: 'ready', percent: 100 });
    expect(b).toEqual({ assetId: copied!.id, status: 'ready', percent: 100 });
    const [ro, rc] = [await row(original.id), await row(copied!.id)];
    expect(rc.proxyKey).toBe(ro.proxyKey);
    expect(rc.proxyKey).toMatch(/\/proxy\.mp4$/);
    expect((await stat(join(storageDir, rc.proxyKey!))).size).toBeGreaterThan(1000);
  }, 90_000);

  it('a copy whose job events the app missed is reconciled from the original\'s job', async () => {
    const pid = (await createProject(ctx, userId, { name: 'dup missed', aspect: '16:9', fps: 30 })).id;
    listening = false;
    try {
      const original = await uploadAsset(ctx, userId, pid, 'dup-missed.mkv', new Blob([video]).stream());
      const copy = await duplicateProject(ctx, { id: userId, name: 'Pro' }, { projectId: pid });
      const [copied] = await assetsOf(copy.id);
      for (let i = 0; i < 600 && (await ctx.queue.editProxyJobRecord(original.id))?.status !== 'succeeded'; i++) await sleep(100);
      expect((await row(copied!.id)).proxyStatus).toMatch(/^(queued|encoding)$/);
      expect(await currentProxy(ctx, await row(copied!.id))).toEqual({ assetId: copied!.id, status: 'ready', percent: 100 });
      // One read settles every row on the job.
      expect((await row(original.id)).proxyStatus).toBe('ready');
    } finally {
      listening = true;
    }
  }, 90_000);
});

describe('making a proxy on request (older uploads, failed proxies)', () => {
  let pid: string;
  let viewerId: string;

  beforeAll(async () => {
    pid = (await createProject(ctx, userId, { name: 'on request', aspect: '16:9', fps: 30 })).id;
    viewerId = (await signUp(t.handle.db, { email: 'viewer-proxies@example.com', name: 'Vi', password: 'password-123' })).user.id;
    const [p] = await t.handle.db.select().from(schema.projects).where(eq(schema.projects.id, pid));
    await insertMembership(t.handle.db, { orgId: p!.orgId, userId: viewerId, role: 'viewer' });
  });

  it('a video without a proxy gets one, queued once however often (and concurrently) it is asked', async () => {
    const asset = await uploadAsset(ctx, userId, pid, 'old.mkv', new Blob([video]).stream());
    expect(await settled(asset.id)).toMatchObject({ status: 'ready' });
    await noProxy([asset.id]);
    await rm(join(storageDir, (await row(asset.id)).storageKey.replace(/original\.[a-z0-9]+$/, 'proxy.mp4')));
    const counted = countingEnqueues();
    const [first, second] = await Promise.all([makeEditProxy(counted.ctx, userId, asset.id), makeEditProxy(counted.ctx, userId, asset.id)]);
    expect(first!.status).toMatch(/^(queued|encoding)$/);
    expect(second!.status).toMatch(/^(queued|encoding|ready)$/);
    const third = await makeEditProxy(counted.ctx, userId, asset.id);
    expect(third!.status).toMatch(/^(queued|encoding|ready)$/);
    expect(await settled(asset.id)).toEqual({ assetId: asset.id, status: 'ready', percent: 100 });
    expect(await makeEditProxy(counted.ctx, userId, asset.id)).toEqual({ assetId: asset.id, status: 'ready', percent: 100 });
    expect(counted.jobs.map((j) => j.assetId)).toEqual([asset.id]);
    const r = await row(asset.id);
    expect((await stat(join(storageDir, r.proxyKey!))).size).toBeGreaterThan(1000);
  }, 90_000);

  it('a failed proxy is made again by a fresh job (the finished one of the same id is replaced)', async () => {
    const asset = await uploadAsset(ctx, userId, pid, 'failed.mkv', new Blob([video]).stream());
    expect(await settled(asset.id)).toMatchObject({ status: 'ready' });
    const r = await row(asset.id);
    // As if the farm had failed it: the job of this id is finished, its file gone.
    await t.handle.db.update(schema.assets).set({ proxyStatus: 'failed', proxyKey: null }).where(eq(schema.assets.id, asset.id));
    await rm(join(storageDir, r.proxyKey!));
    expect((await makeEditProxy(ctx, userId, asset.id))!.status).toMatch(/^(queued|encoding)$/);
    expect(await settled(asset.id)).toEqual({ assetId: asset.id, status: 'ready', percent: 100 });
    expect((await stat(join(storageDir, r.proxyKey!))).size).toBeGreaterThan(1000);
  }, 90_000);

  it('the file\'s other rows share the request: a copy asks, the original follows; a ready copy answers at once', async () => {
    const dupPid = (await createProject(ctx, userId, { name: 'shared request', aspect: '16:9', fps: 30 })).id;
    const asset = await uploadAsset({ ...ctx, queue: undefined } as unknown as AppContext, userId, dupPid, 'shared.mkv', new Blob([video]).stream());
    expect(asset.proxy).toEqual({ status: 'failed', percent: 0 });
    const copy = await duplicateProject(ctx, { id: userId, name: 'Pro' }, { projectId: dupPid });
    const [copied] = await assetsOf(copy.id);
    const counted = countingEnqueues();
    expect((await makeEditProxy(counted.ctx, userId, copied!.id))!.status).toMatch(/^(queued|encoding)$/);
    expect((await row(asset.id)).proxyJobId).toBe(copied!.id);
    const [a, b] = await Promise.all([settled(asset.id), settled(copied!.id)]);
    expect([a!.status, b!.status]).toEqual(['ready', 'ready']);
    // A third row of the file (the copy of the copy's project) was already ready; one made proxy-less asks and is ready at once.
    const third = await duplicateProject(ctx, { id: userId, name: 'Pro' }, { projectId: copy.id });
    const [t3] = await assetsOf(third.id);
    await noProxy([t3!.id]);
    expect(await makeEditProxy(counted.ctx, userId, t3!.id)).toEqual({ assetId: t3!.id, status: 'ready', percent: 100 });
    expect((await row(t3!.id)).proxyKey).toBe((await row(asset.id)).proxyKey);
    expect(counted.jobs).toHaveLength(1);
  }, 90_000);

  it('only editors may ask; outsiders are not told the asset exists; only videos get one', async () => {
    const [a] = await assetsOf(pid);
    await expect(makeEditProxy(ctx, viewerId, a!.id)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(makeEditProxy(ctx, outsiderId, a!.id)).rejects.toMatchObject({ code: 'not-found' });
    await expect(makeEditProxy(ctx, userId, crypto.randomUUID())).rejects.toMatchObject({ code: 'not-found' });
    const [img] = await t.handle.db.insert(schema.assets).values({ ...a!, id: crypto.randomUUID(), kind: 'image', proxyStatus: null, proxyJobId: null, createdAt: undefined as never }).returning();
    await expect(makeEditProxy(ctx, userId, img!.id)).rejects.toMatchObject({ code: 'bad-request' });
  });

  it('`pnpm admin proxies` queues one for every video without one (and with --failed, failed ones)', async () => {
    const pid2 = (await createProject(ctx, userId, { name: 'admin backfill', aspect: '16:9', fps: 30 })).id;
    const offline = { ...ctx, queue: undefined } as unknown as AppContext;
    const none = await uploadAsset(offline, userId, pid2, 'none.mkv', new Blob([video]).stream());
    const failedOne = await uploadAsset(offline, userId, pid2, 'failed-one.mkv', new Blob([video]).stream());
    await noProxy([none.id]);
    // Every other row of this database has a proxy by now, or failed: the command picks exactly these.
    await t.handle.db.update(schema.assets).set({ proxyStatus: 'ready' }).where(inArray(schema.assets.proxyStatus, ['failed']));
    await t.handle.db.update(schema.assets).set({ proxyStatus: 'failed' }).where(eq(schema.assets.id, failedOne.id));
    const lines: string[] = [];
    const env = { DATABASE_URL: process.env.DATABASE_URL, REDIS_URL: process.env.REDIS_URL, QUEUE_PREFIX: process.env.QUEUE_PREFIX };
    Object.assign(process.env, { DATABASE_URL: t.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix });
    try {
      expect(await runAdmin(['proxies'], (l) => lines.push(l))).toBe(0);
      expect(lines.pop()).toBe('1 video without a proxy: 1 queued, 0 encoding, 0 ready (shared with a copy), 0 failed');
      expect(await settled(none.id)).toEqual({ assetId: none.id, status: 'ready', percent: 100 });
      expect((await row(failedOne.id)).proxyStatus).toBe('failed');
      expect(await runAdmin(['proxies', '--failed'], (l) => lines.push(l))).toBe(0);
      expect(lines.pop()).toMatch(/^1 video without a proxy: 1 queued/);
      expect(await settled(failedOne.id)).toEqual({ assetId: failedOne.id, status: 'ready', percent: 100 });
      expect(await runAdmin(['proxies'], (l) => lines.push(l))).toBe(0);
      expect(lines.pop()).toMatch(/^0 videos without a proxy/);
      expect(await runAdmin(['proxies', 'x@example.com'], (l) => lines.push(l))).toBe(2);
    } finally {
      for (const [k, v] of Object.entries(env)) if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }, 120_000);
});
