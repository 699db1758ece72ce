/** Review services and the farm admin services against real Postgres and Redis. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import BeeQueue from 'bee-queue';
import { eq } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { workerControlKey, workerKey, workerRegistryKey } from '@clipmaker/shared/jobs';
import { createReviewFixture, verifiedGuestEmail, type ReviewFixture } from './review-fixture.ts';
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
  linkMayServe,
  listComments,
  listVersionStack,
  projectAudit,
  revokeShareLink,
  setResolved,
  type Reviewer,
} from '../../src/lib/server/services/review.ts';
import { listNotifications, markRead, unreadCount } from '../../src/lib/server/services/notifications.ts';
import { adminCancel, adminSetPriority, listJobs, listWorkers, queueDepths, quotaLedger, setWorkerControl } from '../../src/lib/server/services/admin.ts';
import { installMetrics, observeRequest } from '../../src/lib/server/metrics.ts';
import { chargeRender, setRenderMinutes } from '../support/minutes.ts';
import { chargedMinutes } from '../../src/lib/server/services/render-minutes.ts';

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
  it('range comments: stored with their last frame, validated against the render, replies stay points', async () => {
    const c = await addComment(f.ctx, asUser('reviewer'), AddCommentInput.parse({ renderId: f.renderId, frame: 10, frameEnd: 20, text: 'this second drags' }));
    expect(c).toMatchObject({ frame: 10, frameEnd: 20 });
    const [row] = await f.ctx.db.db.select().from(schema.comments).where(eq(schema.comments.id, c.id));
    expect(row!.frameEnd).toBe(20);
    await expect(addComment(f.ctx, asUser('reviewer'), { renderId: f.renderId, frame: 20, frameEnd: 10, text: 'backwards' })).rejects.toMatchObject({ code: 'bad-request' });
    await expect(addComment(f.ctx, asUser('reviewer'), { renderId: f.renderId, frame: 50, frameEnd: 60, text: 'past the end' })).rejects.toMatchObject({ code: 'bad-request' });
    expect(await addComment(f.ctx, asUser('reviewer'), { renderId: f.renderId, frame: 5, frameEnd: 5, text: 'one frame' })).toMatchObject({ frame: 5, frameEnd: null });
    const reply = await addComment(f.ctx, asUser('editor'), { renderId: f.renderId, frame: 0, frameEnd: 30, text: 'tightened', parentId: c.id });
    expect(reply).toMatchObject({ frame: 10, frameEnd: null });
  });

  it('owner creates a password link; a guest comments and decides on that version only; the team is notified', async () => {
    await expect(createShareLink(f.ctx, f.users.reviewer, { renderId: f.renderId })).rejects.toMatchObject({ code: 'forbidden' });
    const link = await createShareLink(f.ctx, f.users.owner, { renderId: f.renderId, password: 'opensesame', expiresInHours: 24, allowApprove: true });
    const live = await findLiveLink(f.ctx, link.token);
    expect(await checkLinkPassword(live, 'wrong')).toBe(false);
    expect(await checkLinkPassword(live, 'opensesame')).toBe(true);

    const guest: Reviewer = { kind: 'guest', linkId: live.id, renderId: live.renderId, name: 'Client Carla', verificationId: await verifiedGuestEmail(f, live.id, 'carla@client.example') };
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
    await expect(listComments(f.ctx, guest, crypto.randomUUID())).rejects.toMatchObject({ code: 'not-found' });

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
    await db.insert(schema.renders).values({ id, projectId: f.projectId, orgId: f.orgId, version: 2, status: 'queued', specKey: `renders/${f.renderId}/spec.json`, outputPrefix: `renders/${id}`, durationFrames: 60 });
    await setRenderMinutes(db, f.orgId, 11);
    await chargeRender(db, f.orgId, id, 1);
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
    observeRequest('GET', '/api/health', 200, 0.02);
    observeRequest('POST', '/api/trpc/[...path]', 503, 1.2);
    const more = await installMetrics(f.ctx).registry.metrics();
    expect(more).toMatch(/clipmaker_http_request_duration_seconds_bucket\{le="0.025",method="GET",route="\/api\/health",status="200"\} 1/);
    expect(more).toMatch(/clipmaker_http_errors_total\{method="POST",route="\/api\/trpc\/\[...path\]",status="503"\} 1/);
    expect(more).not.toMatch(/clipmaker_http_errors_total\{[^}]*status="200"/);
    expect(Number(/clipmaker_storage_disk_bytes\{kind="size"\} (\d+)/.exec(more)?.[1])).toBeGreaterThan(0);

    await adminCancel(f.ctx, id);
    const [row] = await db.select().from(schema.renders).where(eq(schema.renders.id, id));
    expect(row).toMatchObject({ status: 'cancelled' });
    expect((await chargedMinutes(db, [id])).get(id)).toBe(0);
    expect((await queueDepths(f.ctx)).every((q) => q.waiting === 0)).toBe(true);
    const ledger = await quotaLedger(f.ctx);
    expect(ledger.find((o) => o.orgId === f.orgId)).toMatchObject({ minutesLeft: 11, minutesInFlight: 0 });
    expect(await installMetrics(f.ctx).registry.metrics()).toMatch(/clipmaker_render_failures_total\{status="cancelled"\} 1/);
  });
});

describe('share link permissions and stack links', () => {
  it('view-only and comment-only guests are refused what the link does not grant; revoking stops a held Reviewer at once', async () => {
    const view = await createShareLink(f.ctx, f.users.owner, { renderId: f.renderId, allowComment: false });
    const comment = await createShareLink(f.ctx, f.users.owner, { renderId: f.renderId });
    expect(comment).toMatchObject({ allowComment: true, allowApprove: false, allowDownload: false, followLatest: false });
    const viewer: Reviewer = { kind: 'guest', linkId: view.id, renderId: f.renderId, name: 'Vera' };
    const commenter: Reviewer = { kind: 'guest', linkId: comment.id, renderId: f.renderId, name: 'Cam' };
    await expect(addComment(f.ctx, viewer, { renderId: f.renderId, frame: 3, text: 'hi' })).rejects.toMatchObject({ code: 'forbidden' });
    expect((await guestView(f.ctx, view.id)).permissions).toEqual({ comment: false, approve: false, download: false });
    const c = await addComment(f.ctx, commenter, { renderId: f.renderId, frame: 3, frameEnd: 9, text: 'ok' });
    await expect(setResolved(f.ctx, viewer, c.id, true)).rejects.toMatchObject({ code: 'forbidden' });
    await expect(decide(f.ctx, commenter, f.renderId, 'approved')).rejects.toMatchObject({ code: 'forbidden', message: expect.stringMatching(/approve/) });
    await expect(decide(f.ctx, commenter, f.renderId, 'changes_requested')).rejects.toMatchObject({ code: 'forbidden' });
    await revokeShareLink(f.ctx, f.users.owner, comment.id);
    await expect(addComment(f.ctx, commenter, { renderId: f.renderId, frame: 4, text: 'still here?' })).rejects.toMatchObject({ code: 'not-found' });
  });

  it("a stack link opens the latest finished version, switches to older ones, and serves only this project's files", async () => {
    const db = f.ctx.db.db;
    const [v1] = await db.select().from(schema.renders).where(eq(schema.renders.id, f.renderId));
    const single = await createShareLink(f.ctx, f.users.owner, { renderId: f.renderId, allowApprove: true });
    const stack = await createShareLink(f.ctx, f.users.owner, { renderId: f.renderId, followLatest: true, allowApprove: true });
    const top = Math.max(...(await db.select().from(schema.renders).where(eq(schema.renders.projectId, f.projectId))).map((r) => r.version));
    const v2Id = crypto.randomUUID();
    await db.insert(schema.renders).values({ ...v1!, id: v2Id, version: top + 1, outputKey: `renders/${v2Id}/out.mp4`, posterKey: null, thumbKey: null });
    const v3Id = crypto.randomUUID();
    await db.insert(schema.renders).values({ ...v1!, id: v3Id, version: top + 2, status: 'rendering', outputKey: `renders/${v3Id}/out.mp4`, posterKey: null, thumbKey: null });

    const latest = await guestView(f.ctx, stack.id);
    expect(latest).toMatchObject({ render: { id: v2Id, version: top + 1 }, latest: true });
    expect(latest.versions[0]).toBe(top + 1);
    expect(latest.versions).toContain(1);
    expect(latest.versions).not.toContain(top + 2);
    const older = await guestView(f.ctx, stack.id, 1);
    expect(older).toMatchObject({ render: { id: f.renderId }, latest: false });
    expect((await guestView(f.ctx, stack.id, top + 2)).render.id).toBe(v2Id); // unfinished versions are not offered
    expect((await guestView(f.ctx, single.id)).versions).toEqual([1]);

    const onStack: Reviewer = { kind: 'guest', linkId: stack.id, renderId: f.renderId, name: 'Stacy', verificationId: await verifiedGuestEmail(f, stack.id, 'stacy@client.example') };
    const onSingle: Reviewer = { kind: 'guest', linkId: single.id, renderId: f.renderId, name: 'Sid', verificationId: await verifiedGuestEmail(f, single.id, 'sid@client.example') };
    expect(await decide(f.ctx, onStack, v2Id, 'approved')).toMatchObject({ state: 'approved', byName: 'Stacy' });
    await expect(decide(f.ctx, onStack, v3Id, 'approved')).rejects.toMatchObject({ code: 'not-found' });
    await expect(decide(f.ctx, onSingle, v2Id, 'approved')).rejects.toMatchObject({ code: 'not-found' });

    expect(await linkMayServe(f.ctx, stack.id, `renders/${v2Id}/out.mp4`, false)).toBe(true);
    expect(await linkMayServe(f.ctx, single.id, `renders/${v2Id}/out.mp4`, false)).toBe(false);
    expect(await linkMayServe(f.ctx, stack.id, `renders/${v3Id}/out.mp4`, false)).toBe(false);
    expect(await linkMayServe(f.ctx, stack.id, `renders/${v2Id}/out.mp4`, true)).toBe(false); // no download permission
  });
});
