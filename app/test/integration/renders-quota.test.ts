/**
 * The render service's money paths against real Postgres and real Redis (no worker): the quota is
 * debited on submit under concurrency and never goes negative, refunds happen exactly once however
 * often a failure is delivered, cancel refunds + tells the farm + empties the queue, delete removes
 * the row and its outputs.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as Y from 'yjs';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '@clipmaker/db';
import { appendUpdate, loadDocumentState } from '@clipmaker/db/documents';
import { addAsset, addClip } from '@clipmaker/shared/timeline';
import { cancelChannel, cancelledKey } from '@clipmaker/shared/jobs';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { loadConfig } from '../../src/lib/server/config.ts';
import type { AppContext } from '../../src/lib/server/context.ts';
import { RenderQueueProducer } from '../../src/lib/server/queue.ts';
import { RenderEventBus } from '../../src/lib/server/render-events.ts';
import { LocalStorage } from '../../src/lib/server/storage.ts';
import { signUp } from '../../src/lib/server/services/accounts/index.ts';
import { createProject } from '../../src/lib/server/services/projects.ts';
import { cancelRender, chunkingFor, createRender, deleteRender, failRender } from '../../src/lib/server/services/renders.ts';
import { ServiceError } from '../../src/lib/server/services/errors.ts';

interface RedisV3 {
  exists(key: string, cb: (err: Error | null, n: number) => void): void;
  lrange(key: string, a: number, b: number, cb: (err: Error | null, v: string[]) => void): void;
  keys(pattern: string, cb: (err: Error | null, v: string[]) => void): void;
  del(keys: string[], cb: (err: Error | null) => void): void;
  duplicate(): RedisV3 & { subscribe(ch: string): void; on(ev: 'message', fn: (ch: string, msg: string) => void): void; on(ev: 'subscribe', fn: () => void): void; quit(): void };
}
const call = <T>(fn: (cb: (err: Error | null, v: T) => void) => void) => new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));

const prefix = uniquePrefix('renders');
let t: TestDb;
let dir: string;
let ctx: AppContext;
let redis: RedisV3;
let n = 0;

beforeAll(async () => {
  t = await createTestDb();
  dir = await mkdtemp(join(tmpdir(), 'cm-renders-'));
  const config = loadConfig({ ...process.env, STORAGE_DIR: join(dir, 'storage'), QUEUE_PREFIX: prefix, REDIS_URL: TEST_REDIS_URL } as NodeJS.ProcessEnv);
  ctx = { config, db: t.handle, storage: new LocalStorage(join(dir, 'storage')), renderEvents: new RenderEventBus() } as Partial<AppContext> as AppContext;
  ctx.queue = new RenderQueueProducer(TEST_REDIS_URL, prefix);
  await ctx.queue.ready();
  redis = (ctx.queue as unknown as { queues: Map<string, { client: RedisV3 }> }).queues.get('normal')!.client;
}, 60_000);

afterAll(async () => {
  if (redis) {
    const keys = await call<string[]>((cb) => redis.keys(`${prefix}:*`, cb));
    if (keys.length) await call<unknown>((cb) => redis.del(keys, cb as never));
  }
  await ctx?.queue.close();
  await t?.dispose();
  await rm(dir, { recursive: true, force: true });
});

/** A user, a project with one 2 s clip on its saved timeline, and the org's quota set to `quota`. */
async function setup(quota: number) {
  n += 1;
  const { user, org } = await signUp(t.handle.db, { email: `r${n}@example.com`, name: 'Rita', password: 'password-123' });
  await t.handle.db.update(schema.orgs).set({ renderMinutesQuota: quota }).where(eq(schema.orgs.id, org.id));
  const project = await createProject(ctx, user.id, { name: 'P', aspect: '9:16', fps: 30 });
  const [asset] = await t.handle.db
    .insert(schema.assets)
    .values({ orgId: org.id, projectId: project.id, kind: 'video', name: 'a.mp4', storageKey: `media/${project.id}/a.mp4`, bytes: 1, sha256: 'd'.repeat(64), width: 640, height: 360, fpsNum: 30, fpsDen: 1, durationUs: 2_000_000, durationFrames: 60, hasAudio: false })
    .returning();
  const doc = new Y.Doc();
  Y.applyUpdate(doc, (await loadDocumentState(t.handle.db, project.id)).state);
  const before = Y.encodeStateVector(doc);
  addAsset(doc, { id: asset!.id, key: asset!.storageKey, kind: 'video', name: 'a.mp4', width: 640, height: 360, fps: { num: 30, den: 1 }, durationFrames: 60, durationUs: 2_000_000, hasAudio: false, sha256: asset!.sha256 });
  addClip(doc, { assetId: asset!.id });
  await appendUpdate(t.handle.db, project.id, Y.encodeStateAsUpdate(doc, before), user.id);
  doc.destroy();
  return { user, org, project };
}

async function quotaOf(orgId: string): Promise<number> {
  const [row] = await t.handle.db.select().from(schema.orgs).where(eq(schema.orgs.id, orgId));
  return row!.renderMinutesQuota;
}

describe('render quota ledger', () => {
  it('20 parallel submits with quota for 7: exactly 7 succeed, the rest are refused, never negative', async () => {
    const { user, org, project } = await setup(7);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => createRender(ctx, user.id, { projectId: project.id, stateVector: null })));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    expect(ok).toHaveLength(7);
    expect(refused.every((r) => (r as PromiseRejectedResult).reason instanceof ServiceError && (r as PromiseRejectedResult).reason.code === 'quota-exceeded')).toBe(true);
    expect(await quotaOf(org.id)).toBe(0);
    const rows = await t.handle.db.select().from(schema.renders).where(eq(schema.renders.projectId, project.id));
    expect(rows).toHaveLength(7);
    expect(rows.map((r) => r.version).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  }, 60_000);

  it('a failure delivered many times (and concurrently) refunds exactly once', async () => {
    const { user, org, project } = await setup(3);
    const r = await createRender(ctx, user.id, { projectId: project.id, stateVector: null });
    expect(await quotaOf(org.id)).toBe(2);
    await Promise.all(Array.from({ length: 5 }, () => failRender(ctx, r.id, 'ffmpeg exited with code 1')));
    await failRender(ctx, r.id, 'again');
    expect(await quotaOf(org.id)).toBe(3);
  });

  it('cancel: refunds once, flags + publishes the cancel for the farm, takes the waiting job off the queue', async () => {
    const { user, org, project } = await setup(5);
    const r = await createRender(ctx, user.id, { projectId: project.id, stateVector: null });
    const waitingKey = `${prefix}:render-normal:waiting`;
    expect(await call<string[]>((cb) => redis.lrange(waitingKey, 0, -1, cb))).toContain(r.id);
    const sub = redis.duplicate();
    const subscribed = new Promise<void>((resolve) => sub.on('subscribe', () => resolve()));
    const heard = new Promise<string>((resolve) => sub.on('message', (_ch, msg) => resolve(msg)));
    sub.subscribe(cancelChannel(prefix));
    await subscribed;
    const view = await cancelRender(ctx, user.id, r.id);
    expect(view.status).toBe('cancelled');
    expect(await heard).toBe(r.id);
    sub.quit();
    expect(await quotaOf(org.id)).toBe(5);
    expect(await call<number>((cb) => redis.exists(cancelledKey(prefix, r.id), cb))).toBe(1);
    expect(await call<string[]>((cb) => redis.lrange(waitingKey, 0, -1, cb))).not.toContain(r.id);
    expect(await ctx.queue.jobState(r.id)).toBeNull();
    // The worker's late "failed: cancelled" event changes nothing.
    await failRender(ctx, r.id, 'PERMANENT: render cancelled');
    expect(await quotaOf(org.id)).toBe(5);
    await expect(cancelRender(ctx, user.id, r.id)).rejects.toMatchObject({ code: 'precondition-failed' });
  });

  it('delete: removes the row and every output file; a running render is cancelled and refunded first', async () => {
    const { user, org, project } = await setup(5);
    const r = await createRender(ctx, user.id, { projectId: project.id, stateVector: null });
    const [row] = await t.handle.db.select().from(schema.renders).where(eq(schema.renders.id, r.id));
    const out = join(dir, 'storage', row!.outputPrefix);
    await mkdir(out, { recursive: true });
    await writeFile(join(out, 'output.mp4'), 'x');
    await writeFile(join(out, 'poster.jpg'), 'x');
    await deleteRender(ctx, user.id, r.id);
    expect(await t.handle.db.select().from(schema.renders).where(eq(schema.renders.id, r.id))).toHaveLength(0);
    expect(await ctx.storage.stat(`${row!.outputPrefix}/output.mp4`)).toBeNull();
    expect(await ctx.storage.stat(row!.specKey)).toBeNull();
    expect(await quotaOf(org.id)).toBe(5);
  });

  it('chunks only renders longer than two chunks', async () => {
    const spec = { output: { fps: { num: 30, den: 1 }, durationFrames: 75 } } as Parameters<typeof chunkingFor>[0];
    expect(chunkingFor(spec, 10)).toBeNull();
    expect(chunkingFor({ ...spec, output: { ...spec.output, durationFrames: 1800 } }, 10)).toEqual({ chunkFrames: 300 });
    expect(chunkingFor({ ...spec, output: { ...spec.output, durationFrames: 1800 } }, 0)).toBeNull();
  });
});
