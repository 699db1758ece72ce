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
import BeeQueue from 'bee-queue';
import { and, desc, eq, gte, inArray, sql, type SQL } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import {
  QUEUE_PREFIX,
  RENDER_QUEUES,
  RenderJobData,
  cancelledKey,
  redisClientOptions,
  workerControlKey,
  workerHealth,
  workerKey,
  workerRegistryKey,
  WorkerControl as WorkerControlSchema,
  type RenderPriority,
  type WorkerHealth,
} from '@clipmaker/shared/jobs';
import { buildFfmpegCommand, commandToArgs, safeParseAnyRenderSpec, type RenderSpec } from '@clipmaker/shared/render-spec';
import type { AppContext } from '../context.ts';
import { ServiceError } from './errors.ts';
import { failRender, renderMinutes } from './renders.ts';

const { renders, orgs, projects } = schema;

export interface AdminUser {
  id: string;
  isFarmAdmin: boolean;
}

/** Anyone else gets the same answer as for a page that does not exist. */
export function requireFarmAdmin(user: AdminUser | null | undefined): asserts user is AdminUser {
  if (!user?.isFarmAdmin) throw new ServiceError('not-found', 'not found');
}

export const PRIORITIES = Object.keys(RENDER_QUEUES) as RenderPriority[];
export const WorkerControl = WorkerControlSchema.options;
export type WorkerControl = (typeof WorkerControl)[number];
export { workerControlKey };

// ---------------------------------------------------------------- Redis access

/** node-redis v3 (the client bee-queue holds), promisified for the few commands used here. */
interface RedisV3 {
  hgetall(key: string, cb: (err: Error | null, v: Record<string, string> | null) => void): void;
  zrange(...args: unknown[]): void;
  zrem(...args: unknown[]): void;
  get(key: string, cb: (err: Error | null, v: string | null) => void): void;
  set(...args: unknown[]): void;
  del(key: string, cb: (err: Error | null, v: unknown) => void): void;
}

interface AdminQueues {
  prefix: string;
  queues: Map<RenderPriority, BeeQueue<unknown>>;
  /** bee-queue's command client; it exists once the queue is ready. */
  readonly redis: RedisV3;
}

const cache = new WeakMap<AppContext, AdminQueues>();

function prefixOf(ctx: AppContext): string {
  return ctx.config.QUEUE_PREFIX ?? QUEUE_PREFIX;
}

async function adminQueues(ctx: AppContext): Promise<AdminQueues> {
  let a = cache.get(ctx);
  if (!a) {
    const prefix = prefixOf(ctx);
    const queues = new Map<RenderPriority, BeeQueue<unknown>>();
    for (const p of PRIORITIES) {
      const q = new BeeQueue<unknown>(RENDER_QUEUES[p], { prefix, redis: redisClientOptions(ctx.config.REDIS_URL), isWorker: false, getEvents: false, sendEvents: false, storeJobs: false });
      q.on('error', () => {});
      queues.set(p, q);
    }
    const normal = queues.get('normal') as unknown as { client: RedisV3 };
    a = { prefix, queues, get redis() { return normal.client; } };
    cache.set(ctx, a);
  }
  await Promise.all([...a.queues.values()].map((q) => q.ready()));
  return a;
}

function call<T>(fn: (cb: (err: Error | null, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

// ---------------------------------------------------------------- workers

export interface WorkerRow {
  id: string;
  host: string;
  pid: string | null;
  status: string;
  gpu: string;
  encoders: string[];
  targets: string[];
  ffmpegVersion: string | null;
  lastSeen: number;
  heartbeatAgeSeconds: number;
  currentJob: string | null;
  control: WorkerControl | null;
  /** ok: beating; lost: its last beat is 1.5 of its intervals old (killed, hung or cut off from Redis). */
  health: WorkerHealth;
  /** The worker's own beat interval. */
  heartbeatIntervalMs: number;
  jobsLastHour: number;
  failuresLast24h: number;
}

interface Caps {
  ffmpegVersion?: string | null;
  encoders?: Record<string, { opened?: boolean }>;
  targets?: string[];
  cudaDevice?: boolean;
  gpuModel?: string;
  gpu?: string;
}

/**
 * The workers in the registry (workerRegistryKey): live ones, and dead ones until their last beat's
 * grace period ends (their hash expires, and they are dropped from the registry here or by any beat).
 */
export async function listWorkers(ctx: AppContext, now = Date.now()): Promise<WorkerRow[]> {
  const a = await adminQueues(ctx);
  const registry = workerRegistryKey(a.prefix);
  const registered = await call<string[]>((cb) => a.redis.zrange(registry, 0, -1, cb));
  const beats = new Map<string, Record<string, string>>();
  for (const id of registered) {
    const h = await call<Record<string, string> | null>((cb) => a.redis.hgetall(workerKey(a.prefix, id), cb));
    if (h) beats.set(id, h);
    else await call((cb) => a.redis.zrem(registry, id, cb)); // grace period over: expired
  }
  const ids = new Set(beats.keys());
  const since1h = new Date(now - 3600_000);
  const since24h = new Date(now - 24 * 3600_000);
  const stats = ids.size
    ? await ctx.db.db
        .select({
          workerId: renders.workerId,
          done: sql<number>`count(*) filter (where ${renders.status} = 'succeeded' and ${renders.finishedAt} >= ${since1h.toISOString()}::timestamptz)`,
          failed: sql<number>`count(*) filter (where ${renders.status} = 'failed' and ${renders.finishedAt} >= ${since24h.toISOString()}::timestamptz)`,
        })
        .from(renders)
        .where(inArray(renders.workerId, [...ids]))
        .groupBy(renders.workerId)
    : [];
  const statsBy = new Map(stats.map((s) => [s.workerId, s]));
  const rows: WorkerRow[] = [];
  for (const id of ids) {
    const h = beats.get(id)!;
    const caps = safeJson<Caps>(h.capabilities) ?? {};
    const lastSeen = Number(h.lastSeen) || 0;
    const intervalMs = Number(h.intervalMs) || 0;
    const age = Math.max(0, Math.round((now - lastSeen) / 1000));
    const control = await call<string | null>((cb) => a.redis.get(workerControlKey(a.prefix, id), cb));
    const s = statsBy.get(id);
    rows.push({
      id,
      host: h.host ?? '?',
      pid: h.pid ?? null,
      status: h.status ?? '?',
      gpu: caps.gpuModel ?? caps.gpu ?? (caps.cudaDevice ? 'CUDA device' : 'none'),
      encoders: Object.entries(caps.encoders ?? {})
        .filter(([, e]) => e?.opened)
        .map(([name]) => name),
      targets: caps.targets ?? [],
      ffmpegVersion: caps.ffmpegVersion ?? null,
      lastSeen,
      heartbeatAgeSeconds: age,
      currentJob: h.currentJob || null,
      control: control === 'drain' || control === 'pause' ? control : null,
      health: workerHealth(lastSeen, intervalMs, now),
      heartbeatIntervalMs: intervalMs,
      jobsLastHour: Number(s?.done ?? 0),
      failuresLast24h: Number(s?.failed ?? 0),
    });
  }
  return rows.sort((x, y) => x.id.localeCompare(y.id));
}

/**
 * Drain (finish running jobs, take no new ones) or pause (take no new jobs until resumed) a worker:
 * a flag in Redis the worker reads. null clears it.
 */
export async function setWorkerControl(ctx: AppContext, workerId: string, control: WorkerControl | null): Promise<void> {
  const a = await adminQueues(ctx);
  const key = workerControlKey(a.prefix, workerId);
  if (control) await call((cb) => a.redis.set(key, control, cb));
  else await call((cb) => a.redis.del(key, cb));
}

/** Drops a lost worker from the list before its grace period ends (a live one re-registers at its next beat). */
export async function forgetWorker(ctx: AppContext, workerId: string): Promise<void> {
  const a = await adminQueues(ctx);
  await call((cb) => a.redis.zrem(workerRegistryKey(a.prefix), workerId, cb));
  await call((cb) => a.redis.del(workerKey(a.prefix, workerId), cb));
}

// ---------------------------------------------------------------- queues and jobs

export interface QueueDepth {
  priority: RenderPriority;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  succeeded: number;
}

export async function queueDepths(ctx: AppContext): Promise<QueueDepth[]> {
  const a = await adminQueues(ctx);
  return Promise.all(
    PRIORITIES.map(async (priority) => {
      const h = await a.queues.get(priority)!.checkHealth();
      return { priority, waiting: h.waiting, active: h.active, delayed: h.delayed, failed: h.failed, succeeded: h.succeeded };
    }),
  );
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
      chargedMinutes: renders.chargedMinutes,
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
  return rows.map((r) => ({
    ...r,
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

/** The job with its spec summary, the ffmpeg command the cpu target would run, and the queue's record. */
export async function jobDetail(ctx: AppContext, renderId: string) {
  const row = await renderRow(ctx, renderId);
  const spec = await loadSpec(ctx, row.specKey);
  let ffmpegArgs: string[] | null = null;
  let ffmpegError: string | null = null;
  if (spec) {
    try {
      const inputs = Object.fromEntries(spec.sources.map((s) => [s.id, `<${s.key}>`]));
      const cmd = buildFfmpegCommand({ spec, target: 'cpu', inputs, workDir: '<work>', fontsDir: '<fonts>', outputPath: '<work>/out.mp4' });
      ffmpegArgs = ['ffmpeg', ...commandToArgs(cmd)];
    } catch (err) {
      ffmpegError = err instanceof Error ? err.message : String(err);
    }
  }
  const a = await adminQueues(ctx);
  let queue: { priority: RenderPriority; status: string; progress: unknown; retriesLeft: number | null; stacktraces: string[] } | null = null;
  for (const p of PRIORITIES) {
    const job = await a.queues.get(p)!.getJob(row.id);
    if (job) {
      queue = {
        priority: p,
        status: job.status,
        progress: job.progress ?? null,
        retriesLeft: typeof job.options?.retries === 'number' ? job.options.retries : null,
        stacktraces: Array.isArray(job.options?.stacktraces) ? (job.options.stacktraces as string[]).map((s) => s.slice(0, 4000)) : [],
      };
      break;
    }
  }
  return {
    render: { ...row, createdAt: row.createdAt.toISOString(), startedAt: row.startedAt?.toISOString() ?? null, finishedAt: row.finishedAt?.toISOString() ?? null },
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
    ffmpegArgs,
    ffmpegError,
    queue,
  };
}

/** The job payload for a whole (unchunked) render; parsed so that fields the contract adds get their defaults. */
function jobData(row: { id: string; specKey: string; outputPrefix: string }, priority: RenderPriority): RenderJobData {
  return RenderJobData.parse({ renderId: row.id, specKey: row.specKey, outputPrefix: row.outputPrefix, chunk: { index: 0, count: 1 }, attempt: 0, priority });
}

/** Cancels a queued or running render: refunds its charge and removes its job from the queues. */
export async function adminCancel(ctx: AppContext, renderId: string): Promise<void> {
  const row = await renderRow(ctx, renderId);
  if (row.status !== 'queued' && row.status !== 'rendering') throw new ServiceError('conflict', `a ${row.status} render cannot be cancelled`);
  await failRender(ctx, renderId, 'cancelled by a farm admin', 'cancelled');
  await ctx.queue.cancel(renderId);
}

/** Re-queues a failed or cancelled render with the same frozen spec, charging its minutes again. */
export async function adminRetry(ctx: AppContext, renderId: string): Promise<void> {
  const row = await renderRow(ctx, renderId);
  if (row.status !== 'failed' && row.status !== 'cancelled') throw new ServiceError('conflict', `a ${row.status} render cannot be retried`);
  const spec = await loadSpec(ctx, row.specKey);
  if (!spec) throw new ServiceError('precondition-failed', 'the render spec is missing or unreadable');
  const minutes = renderMinutes(spec);
  await ctx.db.db.transaction(async (tx) => {
    const debited = await tx
      .update(orgs)
      .set({ renderMinutesQuota: sql`${orgs.renderMinutesQuota} - ${minutes}` })
      .where(and(eq(orgs.id, row.orgId), gte(orgs.renderMinutesQuota, minutes)))
      .returning({ id: orgs.id });
    if (debited.length === 0) throw new ServiceError('quota-exceeded', 'the org has too few render minutes left');
    const updated = await tx
      .update(renders)
      .set({ status: 'queued', stage: 'queued', progress: 0, error: null, fps: null, etaSeconds: null, finishedAt: null, startedAt: null, chargedMinutes: minutes })
      .where(and(eq(renders.id, renderId), inArray(renders.status, ['failed', 'cancelled'])))
      .returning({ id: renders.id });
    if (updated.length === 0) throw new ServiceError('conflict', 'the render changed meanwhile');
  });
  await ctx.queue.remove(renderId);
  // A cancelled render leaves a flag that makes workers skip its jobs: a retry clears it.
  const a = await adminQueues(ctx);
  await call((cb) => a.redis.del(cancelledKey(a.prefix, renderId), cb));
  try {
    await ctx.queue.enqueue(jobData(row, row.priority as RenderPriority), row.priority as RenderPriority);
  } catch (err) {
    await failRender(ctx, renderId, `could not be queued: ${err instanceof Error ? err.message : String(err)}`);
    throw new ServiceError('precondition-failed', 'the render queue is unavailable');
  }
  ctx.renderEvents.publish({ renderId, status: 'queued', stage: 'queued', percent: 0, fps: null, etaSeconds: null, error: null });
}

/** Moves a job that no worker has taken yet to another priority queue. */
export async function adminSetPriority(ctx: AppContext, renderId: string, priority: RenderPriority): Promise<void> {
  const row = await renderRow(ctx, renderId);
  if (row.status !== 'queued') throw new ServiceError('conflict', 'only a queued render can change priority');
  const state = await ctx.queue.jobState(renderId);
  if (state && state.status !== 'created') throw new ServiceError('conflict', 'a worker has already taken this job');
  if (state?.priority === priority) return;
  await ctx.queue.remove(renderId);
  await ctx.queue.enqueue(jobData(row, priority), priority);
  await ctx.db.db.update(renders).set({ priority }).where(eq(renders.id, renderId));
}

// ---------------------------------------------------------------- quota

/** Per org: minutes left, minutes held by live renders, and what it spent in the last 30 days. */
export async function quotaLedger(ctx: AppContext, now = Date.now()) {
  const since = new Date(now - 30 * 24 * 3600_000);
  const rows = await ctx.db.db
    .select({
      orgId: orgs.id,
      orgName: orgs.name,
      minutesLeft: orgs.renderMinutesQuota,
      renders30d: sql<number>`count(${renders.id}) filter (where ${renders.createdAt} >= ${since.toISOString()}::timestamptz)`,
      minutesCharged30d: sql<number>`coalesce(sum(${renders.chargedMinutes}) filter (where ${renders.createdAt} >= ${since.toISOString()}::timestamptz), 0)`,
      minutesInFlight: sql<number>`coalesce(sum(${renders.chargedMinutes}) filter (where ${renders.status} in ('queued', 'rendering')), 0)`,
      failed30d: sql<number>`count(${renders.id}) filter (where ${renders.status} = 'failed' and ${renders.createdAt} >= ${since.toISOString()}::timestamptz)`,
    })
    .from(orgs)
    .leftJoin(renders, eq(renders.orgId, orgs.id))
    .groupBy(orgs.id)
    .orderBy(orgs.name);
  return rows.map((r) => ({ ...r, renders30d: Number(r.renders30d), minutesCharged30d: Number(r.minutesCharged30d), minutesInFlight: Number(r.minutesInFlight), failed30d: Number(r.failed30d) }));
}

/** Closes the admin's queue connections (tests). */
export async function closeAdmin(ctx: AppContext): Promise<void> {
  const a = cache.get(ctx);
  if (!a) return;
  cache.delete(ctx);
  await Promise.all([...a.queues.values()].map((q) => q.close(1000).catch(() => {})));
}

function safeJson<T>(s: string | undefined): T | null {
  if (!s) return null;
  try {
    return JSON.parse(s) as T;
  } catch {
    return null;
  }
}
