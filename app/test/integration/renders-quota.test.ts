/**
 * The render service's money paths against real Postgres and real Redis (no worker): the ledger
 * debits on submit under concurrency and never goes negative, refunds happen exactly once however
 * often (and however concurrently) a failure is delivered, grants carry reasons, cancel refunds + tells the farm + empties the queue, delete removes
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
import { testContext } from '../support/context.ts';
import { LocalStorage } from '../../src/lib/server/storage.ts';
import { signUp } from '../../src/lib/server/services/accounts/index.ts';
import { createProject } from '../../src/lib/server/services/projects.ts';
import { cancelRender, chunkingFor, createRender, deleteRender, failRender } from '../../src/lib/server/services/renders.ts';
import { ServiceError } from '../../src/lib/server/services/errors.ts';
import { debitRenderMinutes, grantRenderMinutes, refundRenderMinutes } from '../../src/lib/server/services/render-minutes.ts';
import { minutesLeft, setRenderMinutes } from '../support/minutes.ts';

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
  ctx = testContext({ config, db: t.handle, storage: new LocalStorage(join(dir, 'storage')) });
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
  await setRenderMinutes(t.handle.db, org.id, quota);
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

const ledgerOf = (renderId: string) => t.handle.db.select().from(schema.renderMinuteLedger).where(eq(schema.renderMinuteLedger.renderId, renderId)).orderBy(schema.renderMinuteLedger.id);

async function quotaOf(orgId: string): Promise<number> {
  return minutesLeft(t.handle.db, orgId);
}

describe('render quota ledger', () => {
  it('20 parallel submits with quota for 7: exactly 7 succeed, the rest are refused, never negative', async () => {
    const { user, org, project } = await setup(7);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => createRender(ctx, user.id, { projectId: project.id, stateVector: null })));
    const ok = results.filter((r) => r.status === 'fulfilled');
    const refused = results.filter((r) => r.status === 'rejected');
    expect(ok).toHaveLength(7);
    const debits = (await t.handle.db.select().from(schema.renderMinuteLedger).where(eq(schema.renderMinuteLedger.orgId, org.id))).filter((e) => e.kind === 'debit');
    expect(debits).toHaveLength(7);
    expect(new Set(debits.map((d) => d.renderId))).toEqual(new Set(ok.map((r) => (r as PromiseFulfilledResult<{ id: string }>).value.id)));
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
    const entries = await ledgerOf(r.id);
    expect(entries.map((e) => [e.kind, e.minutes])).toEqual([['debit', -1], ['refund', 1]]);
    expect(entries[1]!.refundOf).toBe(entries[0]!.id);
    expect(entries[1]!.reason).toBe('render failed: ffmpeg exited with code 1');
    expect(entries[0]).toMatchObject({ orgId: org.id, actorId: user.id, reason: 'render submitted (normal priority)' });
  });

  it('the ledger itself refunds a debit once: concurrent refunds that skip the render-row lock still land one', async () => {
    const { user, org, project } = await setup(4);
    const r = await createRender(ctx, user.id, { projectId: project.id, stateVector: null });
    // The failure event delivered twice to two app instances whose reads both saw "not refunded yet".
    const refunded = await Promise.all(Array.from({ length: 6 }, () => t.handle.db.transaction((tx) => refundRenderMinutes(tx, r.id, 'failed (delivered twice)'))));
    expect(refunded.reduce((a, b) => a + b, 0)).toBe(1);
    expect(await quotaOf(org.id)).toBe(4);
    // A refund that names an already refunded debit is refused by the table, not only by the code.
    const [debit] = (await ledgerOf(r.id)).filter((e) => e.kind === 'debit');
    await expect(t.handle.db.insert(schema.renderMinuteLedger).values({ orgId: org.id, kind: 'refund', minutes: 1, reason: 'x', renderId: r.id, refundOf: debit!.id })).rejects.toThrow();
    // So is a debit that would add minutes.
    await expect(t.handle.db.insert(schema.renderMinuteLedger).values({ orgId: org.id, kind: 'debit', minutes: 5, reason: 'x', renderId: r.id })).rejects.toThrow();
  });

  it('a retried render is debited again and its second failure refunds only the second debit', async () => {
    const { user, org, project } = await setup(5);
    const r = await createRender(ctx, user.id, { projectId: project.id, stateVector: null });
    await failRender(ctx, r.id, 'first failure');
    await t.handle.db.transaction(async (tx) => {
      expect(await debitRenderMinutes(tx, { orgId: org.id, renderId: r.id, minutes: 1, reason: 'render retried by a farm admin' })).toBe(true);
      await tx.update(schema.renders).set({ status: 'queued', finishedAt: null }).where(eq(schema.renders.id, r.id));
    });
    expect(await quotaOf(org.id)).toBe(4);
    await Promise.all([failRender(ctx, r.id, 'second failure'), failRender(ctx, r.id, 'second failure')]);
    expect(await quotaOf(org.id)).toBe(5);
    expect((await ledgerOf(r.id)).map((e) => [e.kind, e.minutes, e.reason])).toEqual([
      ['debit', -1, 'render submitted (normal priority)'],
      ['refund', 1, 'render failed: first failure'],
      ['debit', -1, 'render retried by a farm admin'],
      ['refund', 1, 'render failed: second failure'],
    ]);
  });

  it('grants: an admin adds or takes back minutes with a reason, never below zero', async () => {
    const { user, org } = await setup(2);
    expect(await grantRenderMinutes(t.handle.db, { orgId: org.id, minutes: 30, reason: 'bought a pack', actorId: user.id })).toBe(32);
    await expect(grantRenderMinutes(t.handle.db, { orgId: org.id, minutes: -33, reason: 'claw back', actorId: user.id })).rejects.toMatchObject({ code: 'conflict' });
    await expect(grantRenderMinutes(t.handle.db, { orgId: org.id, minutes: 5, reason: '', actorId: user.id })).rejects.toMatchObject({ code: 'bad-request' });
    expect(await grantRenderMinutes(t.handle.db, { orgId: org.id, minutes: -32, reason: 'claw back', actorId: user.id })).toBe(0);
    const grants = (await t.handle.db.select().from(schema.renderMinuteLedger).where(eq(schema.renderMinuteLedger.orgId, org.id)).orderBy(schema.renderMinuteLedger.id)).filter((e) => e.kind === 'grant');
    expect(grants.map((g) => [g.minutes, g.reason])).toEqual([[600, 'new team allowance'], [-598, 'test: balance set to 2'], [30, 'bought a pack'], [-32, 'claw back']]);
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
