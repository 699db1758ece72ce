/**
 * The render-farm admin console (platform role farm-admin): workers from their Redis heartbeats,
 * queue depths, the jobs table, per-job detail, retry / cancel / change priority, worker drain and
 * pause flags, and the quota ledger per org.
 *
 * Cancel mirrors the renders service's cancelRender (failRender refund + the producer's cancel:
 * pub/sub abort of a running job, waiting job removed) without the project-role check. Retry and
 * change-priority are thin admin functions here over the queue producer (the renders service has no
 * equivalents).
 */
import { and, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { RENDER_PRIORITIES, workerHealth, WorkerControl as WorkerControlSchema, type GpuInfo, type RenderPriority, type WorkerHealth } from '@clipmaker/shared/jobs';
import { safeParseAnyRenderSpec, type RenderSpec } from '@clipmaker/shared/render-spec';
import type { AppContext } from '../context.ts';
import type { QueueDepth } from '../queue.ts';
import { ServiceError } from './errors.ts';
import { failRender, renderMinutes, requeueRender } from './renders.ts';
import { chargedMinutes, debitRenderMinutes, ledgerOverview, liveChargesByOrg, renderLedgerEntries } from './render-minutes.ts';

const { renders, orgs, projects, assets } = schema;

export interface AdminUser {
  id: string;
  isFarmAdmin: boolean;
}

/** Anyone else gets the same answer as for a page that does not exist. */
export function requireFarmAdmin(user: AdminUser | null | undefined): asserts user is AdminUser {
  if (!user?.isFarmAdmin) throw new ServiceError('not-found', 'not found');
}

export const PRIORITIES = RENDER_PRIORITIES;
export const WorkerControl = WorkerControlSchema.options;
export type WorkerControl = (typeof WorkerControl)[number];

// ---------------------------------------------------------------- workers

export interface WorkerRow {
  id: string;
  host: string;
  pid: string | null;
  status: string;
  /** e.g. "NVIDIA H200 (driver 550.54, 1 GiB of 141 GiB, 3 %)" or "none". */
  gpu: string;
  gpus: GpuInfo[];
  encoders: string[];
  targets: string[];
  ffmpegVersion: string | null;
  lastSeen: number;
  heartbeatAgeSeconds: number;
  currentJob: string | null;
  /** The flag an admin set (Redis). */
  control: WorkerControl | null;
  /** The flag the worker says it is obeying at its last beat ('draining', 'drained', 'paused' or null). */
  controlState: string | null;
  /** ok: beating; lost: its last beat is 1.5 of its intervals old (killed, hung or cut off from Redis). */
  health: WorkerHealth;
  /** The worker's own beat interval. */
  heartbeatIntervalMs: number;
  jobsLastHour: number;
  failuresLast24h: number;
}

export function gpuSummary(gpus: GpuInfo[]): string {
  if (!gpus.length) return 'none';
  return gpus
    .map((g) => {
      const parts = [g.driver && `driver ${g.driver}`, g.memoryTotalMiB != null && `${Math.round((g.memoryUsedMiB ?? 0) / 1024)} of ${Math.round(g.memoryTotalMiB / 1024)} GiB`, g.utilizationPercent != null && `${g.utilizationPercent} %`].filter(Boolean);
      return parts.length ? `${g.model} (${parts.join(', ')})` : g.model;
    })
    .join('; ');
}

/**
 * The workers in the registry (workerRegistryKey): live ones, and dead ones until their last beat's
 * grace period ends (their hash expires, and they are dropped from the registry by the repository).
 */
export async function listWorkers(ctx: AppContext, now = Date.now()): Promise<WorkerRow[]> {
  const beats = await ctx.queue.workerBeats();
  const ids = beats.map((b) => b.workerId);
  const since1h = new Date(now - 3600_000);
  const since24h = new Date(now - 24 * 3600_000);
  const stats = ids.length
    ? await ctx.db.db
        .select({
          workerId: renders.workerId,
          done: sql<number>`count(*) filter (where ${renders.status} = 'succeeded' and ${renders.finishedAt} >= ${since1h.toISOString()}::timestamptz)`,
          failed: sql<number>`count(*) filter (where ${renders.status} = 'failed' and ${renders.finishedAt} >= ${since24h.toISOString()}::timestamptz)`,
        })
        .from(renders)
        .where(inArray(renders.workerId, ids))
        .groupBy(renders.workerId)
    : [];
  const statsBy = new Map(stats.map((s) => [s.workerId, s]));
  return beats
    .map((b): WorkerRow => {
      const lastSeen = Number(b.lastSeen) || 0;
      const intervalMs = Number(b.intervalMs) || 0;
      const s = statsBy.get(b.workerId);
      return {
        id: b.workerId,
        host: b.host,
        pid: b.pid || null,
        status: b.status,
        gpu: gpuSummary(b.liveGpus),
        gpus: b.liveGpus,
        encoders: Object.entries(b.caps.encoders)
          .filter(([, e]) => e.opened)
          .map(([name]) => name),
        targets: b.caps.targets,
        ffmpegVersion: b.caps.ffmpegVersion,
        lastSeen,
        heartbeatAgeSeconds: Math.max(0, Math.round((now - lastSeen) / 1000)),
        currentJob: b.currentJob || null,
        control: b.control,
        controlState: b.controlState || null,
        health: workerHealth(lastSeen, intervalMs, now),
        heartbeatIntervalMs: intervalMs,
        jobsLastHour: Number(s?.done ?? 0),
        failuresLast24h: Number(s?.failed ?? 0),
      };
    })
    .sort((x, y) => x.id.localeCompare(y.id));
}

/**
 * Drain (finish the job in hand, then take none) or pause (hand the job in hand back at once, take
 * none until resumed) a worker: a flag in Redis the worker reads. null clears it.
 */
export async function setWorkerControl(ctx: AppContext, workerId: string, control: WorkerControl | null): Promise<void> {
  await ctx.queue.setWorkerControl(workerId, control);
}

/** Drops a lost worker from the list before its grace period ends (a live one re-registers at its next beat). */
export async function forgetWorker(ctx: AppContext, workerId: string): Promise<void> {
  await ctx.queue.forgetWorker(workerId);
}

// ---------------------------------------------------------------- queues and jobs

export type { QueueDepth };

export async function queueDepths(ctx: AppContext): Promise<QueueDepth[]> {
  return ctx.queue.depths();
}

export const JOB_STATUSES = ['queued', 'rendering', 'succeeded', 'failed', 'cancelled'] as const;

export interface JobFilter {
  status?: (typeof JOB_STATUSES)[number];
  priority?: RenderPriority;
  orgId?: string;
  limit?: number;
}

export async function listJobs(ctx: AppContext, f: JobFilter = {}) {
  const where: SQL[] = [];
  if (f.status) where.push(eq(renders.status, f.status));
  if (f.priority) where.push(eq(renders.priority, f.priority));
  if (f.orgId) where.push(eq(renders.orgId, f.orgId));
  const rows = await ctx.db.db
    .select({
      id: renders.id,
      version: renders.version,
      status: renders.status,
      priority: renders.priority,
      stage: renders.stage,
      progress: renders.progress,
      workerId: renders.workerId,
      encoder: renders.encoder,
      error: renders.error,
      durationFrames: renders.durationFrames,
      createdAt: renders.createdAt,
      startedAt: renders.startedAt,
      finishedAt: renders.finishedAt,
      projectId: renders.projectId,
      projectName: projects.name,
      orgId: renders.orgId,
      orgName: orgs.name,
    })
    .from(renders)
    .innerJoin(projects, eq(projects.id, renders.projectId))
    .innerJoin(orgs, eq(orgs.id, renders.orgId))
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(renders.createdAt))
    .limit(Math.min(Math.max(f.limit ?? 100, 1), 500));
  const charged = await chargedMinutes(ctx.db.db, rows.map((r) => r.id));
  return rows.map((r) => ({
    ...r,
    chargedMinutes: charged.get(r.id) ?? 0,
    createdAt: r.createdAt.toISOString(),
    startedAt: r.startedAt?.toISOString() ?? null,
    finishedAt: r.finishedAt?.toISOString() ?? null,
    durationSeconds: r.startedAt && r.finishedAt ? (r.finishedAt.getTime() - r.startedAt.getTime()) / 1000 : null,
  }));
}
export type AdminJob = Awaited<ReturnType<typeof listJobs>>[number];

async function renderRow(ctx: AppContext, renderId: string) {
  const [row] = await ctx.db.db.select().from(renders).where(eq(renders.id, renderId));
  if (!row) throw new ServiceError('not-found', 'render not found');
  return row;
}

async function loadSpec(ctx: AppContext, specKey: string): Promise<RenderSpec | null> {
  try {
    const bytes = await ctx.storage.getBytes(specKey);
    const parsed = safeParseAnyRenderSpec(JSON.parse(Buffer.from(bytes).toString('utf8')));
    return parsed.success ? (parsed.data as RenderSpec) : null;
  } catch {
    return null;
  }
}

export interface JobRunView {
  jobId: string;
  kind: string;
  chunkIndex: number | null;
  attempt: number;
  workerId: string;
  target: string;
  encoder: string | null;
  argv: string[];
  stagesMs: Record<string, number>;
  stderrTail: string[];
  ok: boolean;
  error: string | null;
  finishedAt: string;
}

/**
 * Every ffmpeg run of the render as its worker recorded it: stored ones (render_runs) and those
 * still only in Redis (a render in progress), oldest first.
 */
export async function jobRuns(ctx: AppContext, renderId: string): Promise<JobRunView[]> {
  const stored = await ctx.db.db.select().from(schema.renderRuns).where(eq(schema.renderRuns.renderId, renderId)).orderBy(schema.renderRuns.finishedAt, schema.renderRuns.id);
  const views: JobRunView[] = stored.map((r) => ({ jobId: r.jobId, kind: r.kind, chunkIndex: r.chunkIndex, attempt: r.attempt, workerId: r.workerId, target: r.target, encoder: r.encoder, argv: r.argv, stagesMs: r.stagesMs, stderrTail: r.stderrTail ? r.stderrTail.split('\n') : [], ok: r.ok, error: r.error, finishedAt: r.finishedAt.toISOString() }));
  const seen = new Set(views.map((v) => `${v.jobId}|${v.attempt}|${v.kind}|${v.finishedAt}`));
  for (const r of await ctx.queue.jobRuns(renderId).catch(() => [])) {
    const finishedAt = new Date(r.finishedAt).toISOString();
    if (seen.has(`${r.jobId}|${r.attempt}|${r.kind}|${finishedAt}`)) continue;
    views.push({ ...r, finishedAt });
  }
  return views.sort((a, b) => a.finishedAt.localeCompare(b.finishedAt));
}

/** The job with its spec summary, the ffmpeg runs that really happened, and the queue's record. */
export async function jobDetail(ctx: AppContext, renderId: string) {
  const row = await renderRow(ctx, renderId);
  const spec = await loadSpec(ctx, row.specKey);
  const runs = await jobRuns(ctx, renderId);
  const detail = await ctx.queue.jobDetail(row.id);
  const ledger = await renderLedgerEntries(ctx.db.db, row.id);
  const queue = detail && { priority: detail.priority, status: detail.status, progress: detail.progress, retriesLeft: detail.retriesLeft, stacktraces: detail.stacktraces, chunking: detail.data?.chunking ?? null };
  return {
    render: { ...row, chargedMinutes: -ledger.reduce((sum, e) => sum + e.minutes, 0), createdAt: row.createdAt.toISOString(), startedAt: row.startedAt?.toISOString() ?? null, finishedAt: row.finishedAt?.toISOString() ?? null },
    spec: spec
      ? {
          width: spec.output.width,
          height: spec.output.height,
          fps: `${spec.output.fps.num}/${spec.output.fps.den}`,
          durationFrames: spec.output.durationFrames,
          codec: spec.output.video.codec,
          clips: spec.clips.length,
          tracks: spec.tracks.map((t) => ({ id: t.id, kind: t.kind, name: t.name, clips: spec.clips.filter((c) => c.trackId === t.id).length })),
          cues: spec.subtitles.cues.length,
          sources: spec.sources.map((s) => ({ id: s.id, kind: s.kind, key: s.key })),
          loudness: spec.output.audio.loudness,
        }
      : null,
    runs,
    queue,
    ledger,
  };
}

/** Cancels a queued or running render: refunds its charge and removes its job from the queues. */
export async function adminCancel(ctx: AppContext, renderId: string): Promise<void> {
  const row = await renderRow(ctx, renderId);
  if (row.status !== 'queued' && row.status !== 'rendering') throw new ServiceError('conflict', `a ${row.status} render cannot be cancelled`);
  await failRender(ctx, renderId, 'cancelled by a farm admin', 'cancelled');
  await ctx.queue.cancel(renderId);
}

/**
 * Re-queues a failed or cancelled render with the same frozen spec, charging its minutes again
 * (the submit's quota rule), through the one requeue path: a long render is chunked again.
 */
export async function adminRetry(ctx: AppContext, renderId: string, adminId: string | null = null): Promise<void> {
  const row = await renderRow(ctx, renderId);
  if (row.status !== 'failed' && row.status !== 'cancelled') throw new ServiceError('conflict', `a ${row.status} render cannot be retried`);
  const spec = await loadSpec(ctx, row.specKey);
  if (!spec) throw new ServiceError('precondition-failed', 'the render spec is missing or unreadable');
  const minutes = renderMinutes(spec);
  await ctx.db.db.transaction(async (tx) => {
    if (!(await debitRenderMinutes(tx, { orgId: row.orgId, renderId, minutes, reason: 'render retried by a farm admin', actorId: adminId }))) throw new ServiceError('quota-exceeded', 'the org has too few render minutes left');
    const updated = await tx
      .update(renders)
      .set({ status: 'queued', stage: 'queued', progress: 0, error: null, fps: null, etaSeconds: null, finishedAt: null, startedAt: null })
      .where(and(eq(renders.id, renderId), inArray(renders.status, ['failed', 'cancelled'])))
      .returning({ id: renders.id });
    if (updated.length === 0) throw new ServiceError('conflict', 'the render changed meanwhile');
  });
  try {
    await requeueRender(ctx, row, spec, row.priority as RenderPriority);
  } catch (err) {
    await failRender(ctx, renderId, `could not be queued: ${err instanceof Error ? err.message : String(err)}`);
    throw new ServiceError('precondition-failed', 'the render queue is unavailable');
  }
  ctx.renderEvents.publish({ renderId, status: 'queued', stage: 'queued', percent: 0, fps: null, etaSeconds: null, error: null });
}

/** Moves a job that no worker has taken yet to another priority queue (no charge: it was paid at submit). */
export async function adminSetPriority(ctx: AppContext, renderId: string, priority: RenderPriority): Promise<void> {
  const row = await renderRow(ctx, renderId);
  if (row.status !== 'queued') throw new ServiceError('conflict', 'only a queued render can change priority');
  const state = await ctx.queue.jobState(renderId);
  if (state && state.status !== 'created') throw new ServiceError('conflict', 'a worker has already taken this job');
  if (state?.priority === priority) return;
  const spec = await loadSpec(ctx, row.specKey);
  if (!spec) throw new ServiceError('precondition-failed', 'the render spec is missing or unreadable');
  await requeueRender(ctx, row, spec, priority);
  await ctx.db.db.update(renders).set({ priority }).where(eq(renders.id, renderId));
}

// ---------------------------------------------------------------- quota

/**
 * Per org, from the render-minute ledger: balance, minutes held by live renders, the last 30 days'
 * debits / refunds / grants, and the renders submitted and failed in that window.
 */
export async function quotaLedger(ctx: AppContext, now = Date.now()) {
  const since = new Date(now - 30 * 24 * 3600_000);
  const recent = sql`${renders.createdAt} >= ${since.toISOString()}::timestamptz`;
  const [ledger, counts, inFlight] = await Promise.all([
    ledgerOverview(ctx.db.db, now),
    ctx.db.db
      .select({
        orgId: renders.orgId,
        renders30d: sql<number>`count(*) filter (where ${recent})`,
        failed30d: sql<number>`count(*) filter (where ${renders.status} = 'failed' and ${recent})`,
      })
      .from(renders)
      .groupBy(renders.orgId),
    liveChargesByOrg(ctx.db.db),
  ]);
  const byOrg = new Map(counts.map((c) => [c.orgId, c]));
  return ledger.map((l) => ({
    orgId: l.orgId,
    orgName: l.orgName,
    minutesLeft: l.balance,
    minutesInFlight: inFlight.get(l.orgId) ?? 0,
    minutesCharged30d: l.debited30d,
    minutesRefunded30d: l.refunded30d,
    minutesGranted30d: l.granted30d,
    renders30d: Number(byOrg.get(l.orgId)?.renders30d ?? 0),
    failed30d: Number(byOrg.get(l.orgId)?.failed30d ?? 0),
  }));
}

// ---------------------------------------------------------------- storage

export interface OrgStorage {
  orgId: string;
  orgName: string;
  mediaFiles: number;
  mediaBytes: number;
  renderOutputs: number;
  renderBytes: number;
  totalBytes: number;
}

/**
 * What each org keeps in storage: uploaded media (assets) and rendered outputs (the mp4 of every
 * succeeded render), largest first. The shared chunk cache belongs to no org (it is content-addressed
 * and bounded on its own, RENDER_CHUNK_CACHE_MAX_BYTES).
 */
export async function storageByOrg(ctx: AppContext): Promise<OrgStorage[]> {
  const db = ctx.db.db;
  const [media, outputs, all] = await Promise.all([
    db.select({ orgId: assets.orgId, files: sql<string>`count(*)`, bytes: sql<string>`coalesce(sum(${assets.bytes}), 0)` }).from(assets).groupBy(assets.orgId),
    db
      .select({ orgId: renders.orgId, files: sql<string>`count(*)`, bytes: sql<string>`coalesce(sum(${renders.bytes}), 0)` })
      .from(renders)
      .where(sql`${renders.bytes} is not null`)
      .groupBy(renders.orgId),
    db.select({ id: orgs.id, name: orgs.name }).from(orgs),
  ]);
  const m = new Map(media.map((r) => [r.orgId, r]));
  const o = new Map(outputs.map((r) => [r.orgId, r]));
  return all
    .map((org) => {
      const mediaBytes = Number(m.get(org.id)?.bytes ?? 0);
      const renderBytes = Number(o.get(org.id)?.bytes ?? 0);
      return { orgId: org.id, orgName: org.name, mediaFiles: Number(m.get(org.id)?.files ?? 0), mediaBytes, renderOutputs: Number(o.get(org.id)?.files ?? 0), renderBytes, totalBytes: mediaBytes + renderBytes };
    })
    .sort((a, b) => b.totalBytes - a.totalBytes || a.orgName.localeCompare(b.orgName));
}
