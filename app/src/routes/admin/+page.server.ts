import { error, fail, redirect } from '@sveltejs/kit';
import { getContext } from '$lib/server/context';
import { ServiceError } from '$lib/server/services/errors';
import {
  JOB_STATUSES,
  PRIORITIES,
  adminCancel,
  adminRetry,
  adminSetPriority,
  forgetWorker,
  listJobs,
  listWorkers,
  queueDepths,
  quotaLedger,
  storageByOrg,
  requireFarmAdmin,
  setWorkerControl,
  type JobFilter,
} from '$lib/server/services/admin';
import { grantRenderMinutes } from '$lib/server/services/render-minutes';
import { logger } from '$lib/server/logger';
import type { Actions, PageServerLoad } from './$types';

function admin(locals: App.Locals) {
  if (!locals.user?.isFarmAdmin && locals.user?.isInstanceAdmin) redirect(303, '/admin/users');
  try {
    requireFarmAdmin(locals.user);
  } catch {
    error(404, 'Not found.');
  }
  return locals.user!;
}

export const load: PageServerLoad = async ({ locals, url }) => {
  admin(locals);
  const ctx = await getContext();
  const status = url.searchParams.get('status');
  const priority = url.searchParams.get('priority');
  const filter: JobFilter = {
    status: (JOB_STATUSES as readonly string[]).includes(status ?? '') ? (status as JobFilter['status']) : undefined,
    priority: (PRIORITIES as string[]).includes(priority ?? '') ? (priority as JobFilter['priority']) : undefined,
  };
  const [workers, queues, jobs, quotas, storage] = await Promise.all([
    listWorkers(ctx).catch((err) => (logger.error({ err }, 'admin: listing workers failed'), [])),
    queueDepths(ctx).catch((err) => (logger.error({ err }, 'admin: queue depths failed'), [])),
    listJobs(ctx, filter),
    quotaLedger(ctx),
    storageByOrg(ctx),
  ]);
  return { workers, queues, jobs, quotas, storage, filter: { status: filter.status ?? '', priority: filter.priority ?? '' }, statuses: JOB_STATUSES, priorities: PRIORITIES };
};

async function run(locals: App.Locals, what: string, fn: (ctx: Awaited<ReturnType<typeof getContext>>, form: FormData, adminId: string) => Promise<unknown>, request: Request) {
  const user = admin(locals);
  const form = await request.formData();
  const ctx = await getContext();
  try {
    await fn(ctx, form, user.id);
    logger.info({ admin: user.id, action: what, target: String(form.get('renderId') ?? form.get('workerId') ?? form.get('orgId') ?? '') }, 'farm admin action');
    return { ok: true, message: `${what}: done` };
  } catch (err) {
    if (err instanceof ServiceError) return fail(409, { ok: false, message: `${what}: ${err.message}` });
    throw err;
  }
}

const str = (f: FormData, k: string) => String(f.get(k) ?? '');

export const actions: Actions = {
  control: ({ locals, request }) =>
    run(locals, 'worker control', async (ctx, f) => {
      const c = str(f, 'control');
      await setWorkerControl(ctx, str(f, 'workerId'), c === 'drain' || c === 'pause' ? c : null);
    }, request),
  forget: ({ locals, request }) => run(locals, 'forget worker', (ctx, f) => forgetWorker(ctx, str(f, 'workerId')), request),
  retry: ({ locals, request }) => run(locals, 'retry', (ctx, f, adminId) => adminRetry(ctx, str(f, 'renderId'), adminId), request),
  grant: ({ locals, request }) =>
    run(locals, 'grant minutes', (ctx, f, adminId) => {
      const minutes = Number(str(f, 'minutes'));
      const orgId = str(f, 'orgId');
      if (!/^[0-9a-f-]{36}$/i.test(orgId)) throw new ServiceError('bad-request', 'unknown team');
      return grantRenderMinutes(ctx.db.db, { orgId, minutes, reason: str(f, 'reason'), actorId: adminId });
    }, request),
  cancel: ({ locals, request }) => run(locals, 'cancel', (ctx, f) => adminCancel(ctx, str(f, 'renderId')), request),
  priority: ({ locals, request }) =>
    run(locals, 'change priority', async (ctx, f) => {
      const p = str(f, 'priority');
      if (!(PRIORITIES as string[]).includes(p)) throw new ServiceError('bad-request', 'unknown priority');
      await adminSetPriority(ctx, str(f, 'renderId'), p as 'high' | 'normal' | 'low');
    }, request),
};
