/** The render-farm admin console API: farm admins only; everyone else gets NOT_FOUND. */
import { TRPCError } from '@trpc/server';
import { z } from 'zod';
import { authedProcedure, router } from '../init.ts';
import {
  JOB_STATUSES,
  PRIORITIES,
  WorkerControl,
  adminCancel,
  adminRetry,
  adminSetPriority,
  forgetWorker,
  jobDetail,
  listJobs,
  listWorkers,
  queueDepths,
  quotaLedger,
  storageByOrg,
  setWorkerControl,
} from '../../services/admin.ts';
import { grantRenderMinutes, orgLedgerEntries } from '../../services/render-minutes.ts';

export const farmAdminProcedure = authedProcedure.use(({ ctx, next }) => {
  if (!ctx.user.isFarmAdmin) throw new TRPCError({ code: 'NOT_FOUND', message: 'not found' });
  return next();
});

const RenderId = z.object({ renderId: z.string().uuid() });
const WorkerId = z.string().min(1).max(200);
const Priority = z.enum(PRIORITIES as ['high', 'normal', 'low']);

export const adminRouter = router({
  workers: farmAdminProcedure.query(({ ctx }) => listWorkers(ctx.app)),
  setWorkerControl: farmAdminProcedure
    .input(z.object({ workerId: WorkerId, control: z.enum(WorkerControl).nullable() }))
    .mutation(({ ctx, input }) => setWorkerControl(ctx.app, input.workerId, input.control)),
  forgetWorker: farmAdminProcedure.input(z.object({ workerId: WorkerId })).mutation(({ ctx, input }) => forgetWorker(ctx.app, input.workerId)),
  queues: farmAdminProcedure.query(({ ctx }) => queueDepths(ctx.app)),
  jobs: farmAdminProcedure
    .input(z.object({ status: z.enum(JOB_STATUSES).optional(), priority: Priority.optional(), orgId: z.string().uuid().optional(), limit: z.number().int().min(1).max(500).optional() }).default({}))
    .query(({ ctx, input }) => listJobs(ctx.app, input)),
  job: farmAdminProcedure.input(RenderId).query(({ ctx, input }) => jobDetail(ctx.app, input.renderId)),
  retry: farmAdminProcedure.input(RenderId).mutation(({ ctx, input }) => adminRetry(ctx.app, input.renderId, ctx.user.id)),
  cancel: farmAdminProcedure.input(RenderId).mutation(({ ctx, input }) => adminCancel(ctx.app, input.renderId)),
  setPriority: farmAdminProcedure.input(RenderId.extend({ priority: Priority })).mutation(({ ctx, input }) => adminSetPriority(ctx.app, input.renderId, input.priority)),
  quotas: farmAdminProcedure.query(({ ctx }) => quotaLedger(ctx.app)),
  /** Bytes of media and rendered outputs per org, largest first. */
  storage: farmAdminProcedure.query(({ ctx }) => storageByOrg(ctx.app)),
  /** The org's latest ledger entries, newest first. */
  ledger: farmAdminProcedure
    .input(z.object({ orgId: z.string().uuid(), limit: z.number().int().min(1).max(500).optional() }))
    .query(({ ctx, input }) => orgLedgerEntries(ctx.app.db.db, input.orgId, input.limit)),
  /** Adds (or, negative, takes back) render minutes with a reason; returns the new balance. */
  grantMinutes: farmAdminProcedure
    .input(z.object({ orgId: z.string().uuid(), minutes: z.number().int().min(-1_000_000).max(1_000_000).refine((m) => m !== 0, 'not zero'), reason: z.string().trim().min(3).max(500) }))
    .mutation(({ ctx, input }) => grantRenderMinutes(ctx.app.db.db, { ...input, actorId: ctx.user.id })),
});
