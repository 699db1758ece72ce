/** Review services and the farm admin services against real Postgres and Redis. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import BeeQueue from 'bee-queue';
import { eq } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { workerKey, workerRegistryKey } from '@clipmaker/shared/jobs';
import { createReviewFixture, type ReviewFixture } from './review-fixture.ts';
import {
  AddCommentInput,
  addComment,
  checkLinkPassword,
  commentTarget,
  createShareLink,
  decide,
  findLiveLink,
  guestView,
  itemAtFrame,
  listComments,
  listVersionStack,
  projectAudit,
  revokeShareLink,
  setResolved,
  type Reviewer,
} from '../../src/lib/server/services/review.ts';
import { listNotifications, markRead, unreadCount } from '../../src/lib/server/services/notifications.ts';
import { adminCancel, adminSetPriority, listJobs, listWorkers, queueDepths, quotaLedger, setWorkerControl, workerControlKey } from '../../src/lib/server/services/admin.ts';
import { installMetrics } from '../../src/lib/server/metrics.ts';

let f: ReviewFixture;
beforeAll(async () => {
  f = await createReviewFixture();
});
afterAll(async () => {
  await f?.dispose();
});

const asUser = (role: keyof ReviewFixture['users']): Reviewer => ({ kind: 'user', userId: f.users[role].id, name: f.users[role].name });

describe('comments are tied to the timeline item of their frame', () => {
  it('itemAtFrame picks the clip and cue on screen and the offset inside the clip', () => {
    expect(itemAtFrame(f.spec, 10)).toEqual({ clipId: 'c1', cueId: null, itemOffset: 10 });
    expect(itemAtFrame(f.spec, 45)).toEqual({ clipId: 'c2', cueId: 'q1', itemOffset: 15 });
    expect(itemAtFrame(f.spec, 59)).toEqual({ clipId: 'c2', cueId: null, itemOffset: 29 });
  });

  it('a reviewer comments with an annotation; the comment stores c2/q1 and the editor target; replies share the frame', async () => {
    const input = AddCommentInput.parse({ renderId: f.renderId, frame: 45, text: 'logo too big', annotation: { shapes: [{ kind: 'rect', color: '#ff0000', from: { x: 0.1, y: 0.1 }, to: { x: 0.4, y: 0.3 } }] } });
    const c = await addComment(f.ctx, asUser('reviewer'), input);
    expect(c).toMatchObject({ frame: 45, clipId: 'c2', cueId: 'q1', itemOffset: 15, authorName: 'reviewer', resolved: false });
    expect(c.annotation?.shapes[0]?.kind).toBe('rect');
    const reply = await addComment(f.ctx, asUser('editor'), { renderId: f.renderId, frame: 0, text: 'fixed in v2', parentId: c.id });
    expect(reply.frame).toBe(45);
    expect(await commentTarget(f.ctx, f.users.editor.id, c.id)).toMatchObject({ projectId: f.projectId, clipId: 'c2', itemOffset: 15 });
    const resolved = await setResolved(f.ctx, asUser('editor'), c.id, true);
    expect(resolved).toMatchObject({ resolved: true, resolvedBy: 'editor' });
    expect((await setResolved(f.ctx, asUser('owner'), c.id, false)).resolved).toBe(false);
  });

  it('annotation shapes are validated; viewers cannot comment; outsiders see nothing', async () => {
    expect(AddCommentInput.safeParse({ renderId: f.renderId, frame: 1, text: 'x', annotation: { shapes: [{ kind: 'rect', color: '#ff0000', from: { x: 2, y: 0 }, to: { x: 0, y: 0 } }] } }).success).toBe(false);
    await expect(addComment(f.ctx, asUser('viewer'), { renderId: f.renderId, frame: 1, text: 'hi' })).rejects.toMatchObject({ name: 'ServiceError', code: 'forbidden' });
    await expect(listComments(f.ctx, asUser('outsider'), f.renderId)).rejects.toMatchObject({ name: 'ServiceError', code: 'not-found' });
    await expect(addComment(f.ctx, asUser('owner'), { renderId: f.renderId, frame: 60, text: 'past the end' })).rejects.toMatchObject({ code: 'bad-request' });
  });
});

describe('share links', () => {
  it('owner creates a password link; a guest comments and decides on that version only; the team is notified', async () => {
    await expect(createShareLink(f.ctx, f.users.reviewer, { renderId: f.renderId })).rejects.toMatchObject({ code: 'forbidden' });
    const link = await createShareLink(f.ctx, f.users.owner, { renderId: f.renderId, password: 'opensesame', expiresInHours: 24 });
    const live = await findLiveLink(f.ctx, link.token);
    expect(await checkLinkPassword(live, 'wrong')).toBe(false);
    expect(await checkLinkPassword(live, 'opensesame')).toBe(true);

    const guest: Reviewer = { kind: 'guest', linkId: live.id, renderId: live.renderId, name: 'Client Carla' };
    const before = await unreadCount(f.ctx.db.db, f.users.owner.id);
    const c = await addComment(f.ctx, guest, { renderId: f.renderId, frame: 12, text: 'warmer colours please' });
    expect(c).toMatchObject({ authorName: 'Client Carla', guest: true, clipId: 'c1', itemOffset: 12 });
    await decide(f.ctx, guest, f.renderId, 'changes_requested');
    expect(await unreadCount(f.ctx.db.db, f.users.owner.id)).toBe(before + 2);
    expect(await unreadCount(f.ctx.db.db, f.users.editor.id)).toBeGreaterThanOrEqual(2);
    expect(await unreadCount(f.ctx.db.db, f.users.viewer.id)).toBe(0);
    const list = await listNotifications(f.ctx.db.db, f.users.owner.id);
    expect(list[0]).toMatchObject({ kind: 'decision' });
    expect(list[1]?.text).toMatch(/Client Carla commented .* frame 12/);
    await markRead(f.ctx.db.db, f.users.owner.id, 'all');
    expect(await unreadCount(f.ctx.db.db, f.users.owner.id)).toBe(0);

    const view = await guestView(f.ctx, live.id);
    expect(view.render.id).toBe(f.renderId);
    expect(view.approval).toMatchObject({ state: 'changes_requested', byName: 'Client Carla' });
    expect(view.comments.some((x) => x.text === 'warmer colours please')).toBe(true);

    // The guest's link is for this render only.
    await expect(listComments(f.ctx, { ...guest, renderId: crypto.randomUUID() }, f.renderId)).rejects.toMatchObject({ code: 'not-found' });

    await revokeShareLink(f.ctx, f.users.editor, live.id);
    await expect(findLiveLink(f.ctx, link.token)).rejects.toMatchObject({ code: 'not-found' });
  });

  it('an expired link is refused like an unknown one', async () => {
    const link = await createShareLink(f.ctx, f.users.editor, { renderId: f.renderId, expiresInHours: 1 });
    await expect(findLiveLink(f.ctx, link.token, new Date(Date.now() + 2 * 3600_000))).rejects.toMatchObject({ code: 'not-found' });
    await expect(findLiveLink(f.ctx, 'x'.repeat(32))).rejects.toMatchObject({ code: 'not-found' });
  });

  it('the version stack shows the latest decision with who and when; the audit log records everything', async () => {
    await decide(f.ctx, asUser('owner'), f.renderId, 'approved');
    const stack = await listVersionStack(f.ctx, f.users.viewer.id, f.projectId);
    expect(stack.versions[0]).toMatchObject({ version: 1, approval: { state: 'approved', byName: 'Owner' } });
    const log = await projectAudit(f.ctx, f.users.owner.id, f.projectId);
    const actions = log.map((e) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['comment.create', 'comment.reply', 'comment.resolve', 'share_link.create', 'share_link.revoke', 'approval.changes_requested', 'approval.approved']));
    await expect(projectAudit(f.ctx, f.users.reviewer.id, f.projectId)).rejects.toMatchObject({ code: 'forbidden' });
  });
});

describe('farm admin', () => {
  it('lists a beating worker, shows it lost 1.5 beats after its last one, drops it when its grace period ends, and stores drain/pause flags', async () => {
    const prefix = f.ctx.config.QUEUE_PREFIX!;
    const q = new BeeQueue('admin-test', { prefix, redis: { url: f.ctx.config.REDIS_URL }, isWorker: false, getEvents: false });
    await q.ready();
    const client = (q as unknown as { client: Record<string, (...a: unknown[]) => void> }).client;
    const cmd = (name: string, ...args: unknown[]) => new Promise<unknown>((resolve, reject) => client[name]!.call(client, ...args, (err: Error | null, v: unknown) => (err ? reject(err) : resolve(v))));
    try {
      // What a worker's beat writes (render-farm/src/heartbeat.ts), interval 5 s.
      const caps = { ffmpegVersion: '5.1.9', encoders: { libx264: { listed: true, opened: true, error: null }, h264_nvenc: { listed: true, opened: false, error: 'no' } }, targets: ['cpu'], cudaDevice: false };
      const lastSeen = Date.now();
      await cmd('hset', workerKey(prefix, 'w1'), ...Object.entries({ workerId: 'w1', host: 'gpu-01', status: 'running', capabilities: JSON.stringify(caps), currentJob: `render-normal:1:${f.renderId}`, lastSeen: String(lastSeen), intervalMs: '5000' }).flat());
      await cmd('expire', workerKey(prefix, 'w1'), 600);
      await cmd('zadd', workerRegistryKey(prefix), lastSeen, 'w1');
      let [w] = await listWorkers(f.ctx, lastSeen + 1000);
      expect(w).toMatchObject({ id: 'w1', host: 'gpu-01', encoders: ['libx264'], ffmpegVersion: '5.1.9', health: 'ok', heartbeatIntervalMs: 5000, currentJob: `render-normal:1:${f.renderId}` });
      await setWorkerControl(f.ctx, 'w1', 'drain');
      expect(await cmd('get', workerControlKey(prefix, 'w1'))).toBe('drain');
      // Killed right after that beat: lost within two beats (here 7.6 s after it), still listed.
      [w] = await listWorkers(f.ctx, lastSeen + 7600);
      expect(w).toMatchObject({ id: 'w1', health: 'lost', control: 'drain' });
      // The grace period ends: its hash expires and it leaves the list (and the registry).
      await cmd('del', workerKey(prefix, 'w1'));
      expect(await listWorkers(f.ctx)).toEqual([]);
      expect(await cmd('zscore', workerRegistryKey(prefix), 'w1')).toBeNull();
      await setWorkerControl(f.ctx, 'w1', null);
      expect(await cmd('get', workerControlKey(prefix, 'w1'))).toBeNull();
    } finally {
      await q.close();
    }
  });

  it('queue depths, priority change and cancel of a queued render (refunded), jobs filter, quota ledger, /metrics text', async () => {
    const db = f.ctx.db.db;
    const id = crypto.randomUUID();
    await db.insert(schema.renders).values({ id, projectId: f.projectId, orgId: f.orgId, version: 2, status: 'queued', specKey: `renders/${f.renderId}/spec.json`, outputPrefix: `renders/${id}`, durationFrames: 60, chargedMinutes: 1 });
    await db.update(schema.orgs).set({ renderMinutesQuota: 10 }).where(eq(schema.orgs.id, f.orgId));
    await f.ctx.queue.enqueue({ renderId: id, specKey: `renders/${f.renderId}/spec.json`, outputPrefix: `renders/${id}`, chunk: { index: 0, count: 1 }, attempt: 0 } as never, 'normal');
    expect((await queueDepths(f.ctx)).find((q) => q.priority === 'normal')?.waiting).toBe(1);
    await adminSetPriority(f.ctx, id, 'high');
    const depths = await queueDepths(f.ctx);
    expect(depths.find((q) => q.priority === 'high')?.waiting).toBe(1);
    expect(depths.find((q) => q.priority === 'normal')?.waiting).toBe(0);
    expect((await listJobs(f.ctx, { status: 'queued' })).map((j) => [j.id, j.priority])).toEqual([[id, 'high']]);

    const metrics = await installMetrics(f.ctx).registry.metrics();
    expect(metrics).toMatch(/clipmaker_render_queue_depth\{priority="high",state="waiting"\} 1/);
    expect(metrics).toMatch(/clipmaker_render_job_duration_seconds_count\{status="succeeded"\} 1/);

    await adminCancel(f.ctx, id);
    const [row] = await db.select().from(schema.renders).where(eq(schema.renders.id, id));
    expect(row).toMatchObject({ status: 'cancelled', chargedMinutes: 0 });
    expect((await queueDepths(f.ctx)).every((q) => q.waiting === 0)).toBe(true);
    const ledger = await quotaLedger(f.ctx);
    expect(ledger.find((o) => o.orgId === f.orgId)).toMatchObject({ minutesLeft: 11, minutesInFlight: 0 });
    expect(await installMetrics(f.ctx).registry.metrics()).toMatch(/clipmaker_render_failures_total\{status="cancelled"\} 1/);
  });
});
