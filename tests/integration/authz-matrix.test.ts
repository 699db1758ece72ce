/// <reference path="../../app/src/app.d.ts" />
/**
 * Authorization matrix: EVERY tRPC procedure of appRouter (walked from its definition) x every kind
 * of caller, against a real AppContext on a fresh database. A procedure with no policy below fails
 * the test: new procedures must declare who may call them.
 *
 * "allowed" = the call got past the access checks (it resolved, or failed for a business reason:
 * BAD_REQUEST, CONFLICT, PRECONDITION_FAILED...). "refused" = UNAUTHORIZED, FORBIDDEN or NOT_FOUND.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../../drizzle/index.ts';
import { appRouter } from '../../app/src/lib/server/trpc/router.ts';
import { toTrpcError } from '../../app/src/lib/server/trpc/init.ts';
import { createReviewFixture, type FixtureRole, type ReviewFixture } from '../../app/test/integration/review-fixture.ts';
import { addComment, createShareLink } from '../../app/src/lib/server/services/review.ts';
import { createVersion } from '../../app/src/lib/server/services/versions.ts';
import { insertMembership, insertOrg, insertUser } from '../../app/src/lib/server/repositories/accounts.ts';
import { createInvite } from '../../app/src/lib/server/services/accounts/invites.ts';
import { endTranscript, insertTranscript } from '../../app/src/lib/server/repositories/transcripts.ts';

type Caller = FixtureRole | 'anonymous';
const CALLERS: Caller[] = ['owner', 'editor', 'reviewer', 'viewer', 'farm-admin', 'outsider', 'anonymous'];

const ANY: Caller[] = ['owner', 'editor', 'reviewer', 'viewer', 'farm-admin', 'outsider'];
const VIEW: Caller[] = ['owner', 'editor', 'reviewer', 'viewer'];
const REVIEW: Caller[] = ['owner', 'editor', 'reviewer'];
const EDIT: Caller[] = ['owner', 'editor'];
const ADMIN: Caller[] = ['farm-admin'];
/** The fixture's owner signed up first on a fresh database, so it is the instance admin. */
const INSTANCE_ADMIN: Caller[] = ['owner'];
const MANAGE: Caller[] = ['owner'];

let f: ReviewFixture;
let commentId: string;
/** An asset without audio (transcripts.create passes the role check, then refuses it: BAD_REQUEST). */
let silentAssetId: string;
/** An ended transcript (get reads it, cancel is a no-op on it: nothing reaches the queue). */
let transcriptId: string;
let versionId: string;

/** A throwaway succeeded render (for procedures that destroy or change what they are given). */
async function spareRender(status: 'succeeded' | 'queued' = 'succeeded', createdBy: string | null = null): Promise<string> {
  const id = crypto.randomUUID();
  const version = 100 + Math.floor(Math.random() * 1_000_000);
  await f.ctx.db.db.insert(schema.renders).values({ id, projectId: f.projectId, orgId: f.orgId, version, status, specKey: `renders/${f.renderId}/spec.json`, outputPrefix: `renders/${id}`, outputKey: status === 'succeeded' ? `renders/${id}/output.mp4` : null, durationFrames: 60, createdBy });
  return id;
}

let spareN = 0;
/** A fresh user (no memberships). */
async function spareUser(): Promise<string> {
  return (await spareAccount()).id;
}
async function spareAccount() {
  spareN += 1;
  return (await insertUser(f.ctx.db.db, { email: `spare${spareN}-${crypto.randomUUID().slice(0, 8)}@example.com`, name: `Spare ${spareN}`, passwordHash: 'x' }))!;
}
/** A fresh member of the fixture org (to be changed or removed). */
async function spareMember(): Promise<string> {
  const id = await spareUser();
  await insertMembership(f.ctx.db.db, { orgId: f.orgId, userId: id, role: 'viewer' });
  return id;
}
/**
 * A fresh org where every fixture caller has its fixture role (the owner owns it), for the calls that
 * would change the caller's own standing (leave, transfer) and so must not touch the fixture org.
 */
async function spareOrg(): Promise<string> {
  const org = await insertOrg(f.ctx.db.db, { name: 'spare org' });
  for (const role of ['owner', 'editor', 'reviewer', 'viewer'] as const) await insertMembership(f.ctx.db.db, { orgId: org.id, userId: f.users[role].id, role });
  await insertMembership(f.ctx.db.db, { orgId: org.id, userId: f.users['farm-admin'].id, role: 'viewer' }).catch(() => null);
  return org.id;
}

/** A fresh project of the fixture org (trashed when asked), for the calls that rename, trash or delete it. */
async function spareProject(trashed = false): Promise<{ projectId: string }> {
  const [row] = await f.ctx.db.db.insert(schema.projects).values({ orgId: f.orgId, name: 'spare project', trashedAt: trashed ? new Date() : null }).returning();
  return { projectId: row!.id };
}

interface Policy {
  allowed: Caller[];
  input: () => unknown | Promise<unknown>;
}

const P = () => ({ projectId: f.projectId });
const R = () => ({ renderId: f.renderId });

const POLICY: Record<string, Policy> = {
  'projects.list': { allowed: ANY, input: () => undefined },
  'projects.create': { allowed: ANY, input: () => ({ name: 'authz' }) },
  'projects.open': { allowed: VIEW, input: P },
  'projects.onAccess': { allowed: VIEW, input: P },
  'projects.cards': { allowed: ANY, input: () => undefined },
  'projects.rename': { allowed: EDIT, input: async () => ({ ...(await spareProject()), name: 'renamed' }) },
  'projects.duplicate': { allowed: EDIT, input: P },
  'projects.trash': { allowed: EDIT, input: () => spareProject() },
  'projects.restore': { allowed: EDIT, input: () => spareProject(true) },
  'projects.deleteForever': { allowed: MANAGE, input: () => spareProject(true) },
  'collab.token': { allowed: VIEW, input: P },
  'versions.create': { allowed: EDIT, input: () => ({ projectId: f.projectId, name: 'named', stateVector: null }) },
  'versions.list': { allowed: VIEW, input: P },
  'versions.get': { allowed: VIEW, input: () => ({ projectId: f.projectId, versionId }) },
  'renders.create': { allowed: EDIT, input: () => ({ projectId: f.projectId, stateVector: null }) },
  'renders.list': { allowed: VIEW, input: P },
  'renders.get': { allowed: VIEW, input: R },
  // Every signed-in user reads their own list (what is in it is checked in renders-mine.test.ts).
  'renders.mine': { allowed: ANY, input: () => undefined },
  'transcripts.create': { allowed: EDIT, input: () => ({ projectId: f.projectId, assetId: silentAssetId }) },
  'transcripts.list': { allowed: VIEW, input: P },
  'transcripts.get': { allowed: VIEW, input: () => ({ transcriptId }) },
  'transcripts.cancel': { allowed: EDIT, input: () => ({ transcriptId }) },
  'transcripts.onUpdate': { allowed: VIEW, input: () => ({ transcriptId }) },
  'assets.onProxyUpdate': { allowed: VIEW, input: () => ({ assetId: silentAssetId }) },
  // A video with no proxy: the first editor's call queues one, later calls answer its state.
  'assets.makeProxy': { allowed: EDIT, input: () => ({ assetId: silentAssetId }) },
  'renders.cancel': { allowed: EDIT, input: R },
  'renders.delete': { allowed: EDIT, input: async () => ({ renderId: await spareRender() }) },
  'renders.onUpdate': { allowed: VIEW, input: R },
  'admin.workers': { allowed: ADMIN, input: () => undefined },
  'admin.setWorkerControl': { allowed: ADMIN, input: () => ({ workerId: 'authz-worker', control: null }) },
  'admin.forgetWorker': { allowed: ADMIN, input: () => ({ workerId: 'authz-worker' }) },
  'admin.queues': { allowed: ADMIN, input: () => undefined },
  'admin.jobs': { allowed: ADMIN, input: () => ({}) },
  'admin.job': { allowed: ADMIN, input: R },
  'admin.retry': { allowed: ADMIN, input: R },
  'admin.cancel': { allowed: ADMIN, input: R },
  'admin.setPriority': { allowed: ADMIN, input: () => ({ renderId: f.renderId, priority: 'high' }) },
  'admin.quotas': { allowed: ADMIN, input: () => undefined },
  'admin.storage': { allowed: ADMIN, input: () => undefined },
  'admin.ledger': { allowed: ADMIN, input: () => ({ orgId: f.orgId }) },
  'admin.grantMinutes': { allowed: ADMIN, input: () => ({ orgId: f.orgId, minutes: 1, reason: 'authz matrix' }) },
  'review.createShareLink': { allowed: EDIT, input: R },
  'review.listShareLinks': { allowed: EDIT, input: R },
  'review.projectShareLinks': { allowed: EDIT, input: P },
  // Owners only; sets the default back (allow: false) so other checks see the default rule.
  'review.setSelfApproval': { allowed: MANAGE, input: () => ({ projectId: f.projectId, allow: false }) },
  'review.revokeShareLink': { allowed: EDIT, input: async () => ({ linkId: (await createShareLink(f.ctx, f.users.owner, { renderId: f.renderId })).id }) },
  'review.comments': { allowed: VIEW, input: R },
  'review.addComment': { allowed: REVIEW, input: () => ({ renderId: f.renderId, frame: 5, text: 'authz' }) },
  'review.setResolved': { allowed: REVIEW, input: () => ({ commentId, resolved: true }) },
  'review.decide': { allowed: REVIEW, input: () => ({ renderId: f.renderId, state: 'in_review' }) },
  'review.versions': { allowed: VIEW, input: P },
  'review.openComments': { allowed: VIEW, input: P },
  'review.commentTarget': { allowed: VIEW, input: () => ({ commentId }) },
  'review.audit': { allowed: EDIT, input: P },
  'team.mine': { allowed: ANY, input: () => undefined },
  'team.settings': { allowed: VIEW, input: () => ({ orgId: f.orgId }) },
  'team.audit': { allowed: MANAGE, input: () => ({ orgId: f.orgId }) },
  'team.invite': { allowed: MANAGE, input: () => ({ orgId: f.orgId, email: null, role: 'editor', maxUses: null }) },
  'team.revokeInvite': { allowed: MANAGE, input: async () => ({ inviteId: (await createInvite(f.ctx.db.db, { orgId: f.orgId, email: 'revoke@example.com', role: 'viewer', invitedBy: f.users.owner.id })).invite.id }) },
  'team.changeRole': { allowed: MANAGE, input: async () => ({ orgId: f.orgId, userId: await spareMember(), role: 'reviewer' }) },
  'team.remove': { allowed: MANAGE, input: async () => ({ orgId: f.orgId, userId: await spareMember() }) },
  // The farm admin is a viewer of every spare org; the outsider is in none.
  'team.leave': { allowed: ['owner', 'editor', 'reviewer', 'viewer', 'farm-admin'], input: async () => ({ orgId: await spareOrg() }) },
  'team.transfer': { allowed: ['owner'], input: async () => {
    const orgId = await spareOrg();
    return { orgId, userId: f.users.editor.id };
  } },
  'team.setOverride': { allowed: MANAGE, input: async () => {
    return { projectId: f.projectId, email: (await spareAccount()).email, role: 'reviewer' };
  } },
  'instance.users': { allowed: INSTANCE_ADMIN, input: () => ({}) },
  'instance.setFlag': { allowed: INSTANCE_ADMIN, input: async () => ({ userId: await spareUser(), flag: 'farmAdmin', value: true }) },
  // Wrong passwords: past the access checks (BAD_REQUEST), and nobody's account changes.
  'account.requestEmailChange': { allowed: ANY, input: () => ({ password: 'not-the-password', newEmail: 'elsewhere@example.com' }) },
  'account.delete': { allowed: ANY, input: () => ({ password: 'not-the-password' }) },
  'notifications.list': { allowed: ANY, input: () => undefined },
  'notifications.unread': { allowed: ANY, input: () => undefined },
  'notifications.markRead': { allowed: ANY, input: () => ({ ids: 'all' }) },
};

const REFUSALS = new Set(['UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND']);

const procedures = Object.keys((appRouter as unknown as { _def: { procedures: Record<string, unknown> } })._def.procedures).sort();

function userOf(c: Caller) {
  if (c === 'anonymous') return null;
  const u = f.users[c];
  return { id: u.id, email: u.email, name: u.name, isFarmAdmin: u.isFarmAdmin, isInstanceAdmin: c === 'owner' };
}

/** Calls `path` as `caller`: 'ok', or the tRPC error code. Subscriptions are read to their first event. */
async function call(caller: Caller, path: string, input: unknown): Promise<string> {
  const api = appRouter.createCaller({ app: f.ctx, user: userOf(caller) } as Parameters<typeof appRouter.createCaller>[0]);
  let fn: unknown = api;
  for (const part of path.split('.')) fn = (fn as Record<string, unknown>)[part];
  try {
    const result = await (fn as (i: unknown) => Promise<unknown>)(input);
    if (result && typeof result === 'object' && Symbol.asyncIterator in result) {
      const it = (result as AsyncIterable<unknown>)[Symbol.asyncIterator]();
      await it.next();
      await it.return?.();
    }
    return 'ok';
  } catch (raw) {
    // A subscription's body runs after the middlewares, so its access errors arrive unmapped
    // (over SSE they reach the client as errors too, without the tRPC code): map them the same way.
    const err = toTrpcError(raw);
    // TRPCError (not imported: @trpc/server is the app's dependency, not the root's).
    if (err instanceof Error && err.name === 'TRPCError') return (err as Error & { code: string }).code;
    throw err;
  }
}

beforeAll(async () => {
  f = await createReviewFixture();
  versionId = (await createVersion(f.ctx, f.users.owner.id, { projectId: f.projectId, name: 'v-named', stateVector: null })).id;
  const [silent] = await f.ctx.db.db
    .insert(schema.assets)
    .values({ orgId: f.orgId, projectId: f.projectId, kind: 'video', name: 'silent.mp4', storageKey: `media/${f.projectId}/silent.mp4`, bytes: 1, sha256: 'e'.repeat(64), width: 64, height: 64, fpsNum: 30, fpsDen: 1, durationUs: 1e6, durationFrames: 30, hasAudio: false })
    .returning();
  silentAssetId = silent!.id;
  const t = await insertTranscript(f.ctx.db.db, { id: crypto.randomUUID(), orgId: f.orgId, projectId: f.projectId, assetId: silentAssetId, mode: 'recognise', requestedEngine: 'auto', language: 'en-us', rangeStartMs: null, rangeEndMs: null, priority: 'normal', outputKey: 'transcripts/authz/transcript.json', createdBy: f.users.owner.id });
  await endTranscript(f.ctx.db.db, t.id, 'cancelled', null);
  transcriptId = t.id;
  commentId = (await addComment(f.ctx, { kind: 'user', userId: f.users.owner.id, name: 'Owner' }, { renderId: f.renderId, frame: 3, text: 'seed' })).id;
});
afterAll(async () => {
  await f?.dispose();
});

describe('authorization matrix', () => {
  it('every procedure has a declared policy (and no policy names a procedure that is gone)', () => {
    expect(procedures.filter((p) => !(p in POLICY))).toEqual([]);
    expect(Object.keys(POLICY).filter((p) => !procedures.includes(p))).toEqual([]);
  });

  it('each procedure x caller is allowed or refused as declared', async () => {
    const wrong: string[] = [];
    for (const path of procedures) {
      const policy = POLICY[path];
      if (!policy) continue;
      for (const caller of CALLERS) {
        const code = await call(caller, path, await policy.input());
        const refused = REFUSALS.has(code);
        const shouldAllow = policy.allowed.includes(caller);
        if (caller === 'anonymous' && code !== 'UNAUTHORIZED') wrong.push(`${path} x anonymous: ${code} (expected UNAUTHORIZED)`);
        else if (shouldAllow === refused) wrong.push(`${path} x ${caller}: ${code} (expected ${shouldAllow ? 'allowed' : 'refused'})`);
        if (path.startsWith('instance.') && !shouldAllow && caller !== 'anonymous' && code !== 'NOT_FOUND') wrong.push(`${path} x ${caller}: ${code} (expected NOT_FOUND)`);
        // Non-admins must not even learn that the admin console exists.
        if (path.startsWith('admin.') && caller !== 'farm-admin' && caller !== 'anonymous' && code !== 'NOT_FOUND') wrong.push(`${path} x ${caller}: ${code} (expected NOT_FOUND)`);
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe('role rules beyond the matrix', () => {
  it('a trashed project is closed to everything but restore and delete forever', async () => {
    const { projectId } = await spareProject(true);
    for (const caller of VIEW) expect(await call(caller, 'projects.open', { projectId })).toBe('NOT_FOUND');
    expect(await call('owner', 'collab.token', { projectId })).toBe('NOT_FOUND');
    expect(await call('owner', 'renders.create', { projectId, stateVector: null })).toBe('NOT_FOUND');
    expect(await call('owner', 'projects.duplicate', { projectId })).toBe('NOT_FOUND');
    // Not trashed: restore and delete forever refuse for a business reason.
    expect(await call('owner', 'projects.deleteForever', P())).toBe('PRECONDITION_FAILED');
    expect(await call('editor', 'projects.restore', P())).toBe('PRECONDITION_FAILED');
  });

  it('an editor cannot approve a render they started; another editor and the owner can', async () => {
    const own = await spareRender('succeeded', f.users.editor.id);
    expect(await call('editor', 'review.decide', { renderId: own, state: 'approved' })).toBe('FORBIDDEN');
    // Requesting changes on your own work is not approving it.
    expect(await call('editor', 'review.decide', { renderId: own, state: 'changes_requested' })).toBe('ok');
    expect(await call('reviewer', 'review.decide', { renderId: own, state: 'approved' })).toBe('ok');
    expect(await call('owner', 'review.decide', { renderId: own, state: 'approved' })).toBe('ok');
  });

  it('a project override gives a non-member a role on that one project only', async () => {
    const u = await spareAccount();
    const id = u.id;
    const api = appRouter.createCaller({ app: f.ctx, user: { id, email: u!.email, name: u!.name, isFarmAdmin: false, isInstanceAdmin: false } } as Parameters<typeof appRouter.createCaller>[0]);
    await expect(api.projects.open({ projectId: f.projectId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await call('owner', 'team.setOverride', { projectId: f.projectId, email: u!.email, role: 'reviewer' })).toBe('ok');
    expect((await api.projects.open({ projectId: f.projectId })).role).toBe('reviewer');
    expect((await api.projects.list()).map((p) => p.id)).toEqual([f.projectId]);
    await expect(api.team.settings({ orgId: f.orgId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(api.review.addComment({ renderId: f.renderId, frame: 1, text: 'client note' })).resolves.toBeTruthy();
    await expect(api.renders.create({ projectId: f.projectId, stateVector: null })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    expect(await call('owner', 'team.setOverride', { projectId: f.projectId, email: u!.email, role: null })).toBe('ok');
    await expect(api.projects.open({ projectId: f.projectId })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
