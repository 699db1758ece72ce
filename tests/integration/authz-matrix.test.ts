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

type Caller = FixtureRole | 'anonymous';
const CALLERS: Caller[] = ['owner', 'editor', 'reviewer', 'viewer', 'farm-admin', 'outsider', 'anonymous'];

const ANY: Caller[] = ['owner', 'editor', 'reviewer', 'viewer', 'farm-admin', 'outsider'];
const VIEW: Caller[] = ['owner', 'editor', 'reviewer', 'viewer'];
const REVIEW: Caller[] = ['owner', 'editor', 'reviewer'];
const EDIT: Caller[] = ['owner', 'editor'];
const ADMIN: Caller[] = ['farm-admin'];

let f: ReviewFixture;
let commentId: string;
let versionId: string;

/** A throwaway succeeded render (for procedures that destroy or change what they are given). */
async function spareRender(status: 'succeeded' | 'queued' = 'succeeded'): Promise<string> {
  const id = crypto.randomUUID();
  const version = 100 + Math.floor(Math.random() * 1_000_000);
  await f.ctx.db.db.insert(schema.renders).values({ id, projectId: f.projectId, orgId: f.orgId, version, status, specKey: `renders/${f.renderId}/spec.json`, outputPrefix: `renders/${id}`, outputKey: status === 'succeeded' ? `renders/${id}/output.mp4` : null, durationFrames: 60 });
  return id;
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
  'collab.token': { allowed: VIEW, input: P },
  'versions.create': { allowed: EDIT, input: () => ({ projectId: f.projectId, name: 'named', stateVector: null }) },
  'versions.list': { allowed: VIEW, input: P },
  'versions.get': { allowed: VIEW, input: () => ({ projectId: f.projectId, versionId }) },
  'renders.create': { allowed: EDIT, input: () => ({ projectId: f.projectId, stateVector: null }) },
  'renders.list': { allowed: VIEW, input: P },
  'renders.get': { allowed: VIEW, input: R },
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
  'review.createShareLink': { allowed: EDIT, input: R },
  'review.listShareLinks': { allowed: EDIT, input: R },
  'review.revokeShareLink': { allowed: EDIT, input: async () => ({ linkId: (await createShareLink(f.ctx, f.users.owner, { renderId: f.renderId })).id }) },
  'review.comments': { allowed: VIEW, input: R },
  'review.addComment': { allowed: REVIEW, input: () => ({ renderId: f.renderId, frame: 5, text: 'authz' }) },
  'review.setResolved': { allowed: REVIEW, input: () => ({ commentId, resolved: true }) },
  'review.decide': { allowed: REVIEW, input: () => ({ renderId: f.renderId, state: 'in_review' }) },
  'review.versions': { allowed: VIEW, input: P },
  'review.openComments': { allowed: VIEW, input: P },
  'review.commentTarget': { allowed: VIEW, input: () => ({ commentId }) },
  'review.audit': { allowed: EDIT, input: P },
  'notifications.list': { allowed: ANY, input: () => undefined },
  'notifications.unread': { allowed: ANY, input: () => undefined },
  'notifications.markRead': { allowed: ANY, input: () => ({ ids: 'all' }) },
};

const REFUSALS = new Set(['UNAUTHORIZED', 'FORBIDDEN', 'NOT_FOUND']);

const procedures = Object.keys((appRouter as unknown as { _def: { procedures: Record<string, unknown> } })._def.procedures).sort();

function userOf(c: Caller) {
  if (c === 'anonymous') return null;
  const u = f.users[c];
  return { id: u.id, email: u.email, name: u.name, isFarmAdmin: u.isFarmAdmin };
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
        // Non-admins must not even learn that the admin console exists.
        if (path.startsWith('admin.') && caller !== 'farm-admin' && caller !== 'anonymous' && code !== 'NOT_FOUND') wrong.push(`${path} x ${caller}: ${code} (expected NOT_FOUND)`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
