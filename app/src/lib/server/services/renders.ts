/**
 * Renders: compile the SAVED document into a frozen RenderSpec, charge the org's quota, enqueue,
 * and follow the job through its events. The client's state vector must already be persisted, so
 * what renders is what the user saw.
 */
import { isIngestDemuxer } from '@clipmaker/shared/media';
import * as Y from 'yjs';
import { and, desc, eq, gt, inArray, or, sql } from 'drizzle-orm';
import { schema, type Db } from '@clipmaker/db';
import { loadDocumentState } from '@clipmaker/db/documents';
import { compileRenderSpec, EXPORT_PRESETS, migrateRenderSpec, presetFit, RenderSpec, type ExportPreset, type Source } from '@clipmaker/shared/render-spec';
import { chunkingFor as chunkingOf, renderJobData, type RenderPriority, type RenderResult } from '@clipmaker/shared/jobs';
import type { AppContext } from '../context.ts';
import { QueueUnavailableError, type QueueEvents } from '../queue.ts';
import type { RenderUpdate } from '../render-events.ts';
import { signedFileUrl } from '../signing.ts';
import { RENDER_ROLES, VIEW_ROLES, requireProjectRole } from './accounts/index.ts';
import type { Role } from './accounts/roles.ts';
import { logger } from '../logger.ts';
import { observeRenderReady } from '../metrics.ts';
import { ServiceError } from './errors.ts';
import { debitRenderMinutes, refundRenderMinutes } from './render-minutes.ts';
import { reconcileTranscripts } from './transcripts.ts';

const { renders, assets } = schema;
const log = logger.child({ service: 'app', module: 'renders' });

export interface CreateRenderInput {
  projectId: string;
  /** base64 of Y.encodeStateVector(clientDoc); null skips the "saved" check (server-side callers). */
  stateVector: string | null;
  priority?: RenderPriority;
  /** An export preset: refused unless the project's output is what it delivers. */
  preset?: ExportPreset['id'];
}

/** True when every client clock in `clientSv` is covered by the persisted document. */
export function isPersisted(persistedState: Uint8Array, clientSv: Uint8Array): boolean {
  const saved = Y.decodeStateVector(Y.encodeStateVectorFromUpdate(persistedState));
  for (const [client, clock] of Y.decodeStateVector(clientSv)) {
    if ((saved.get(client) ?? 0) < clock) return false;
  }
  return true;
}

/** Replaces every source's storage key and media facts with the DB's: the doc is client-edited. */
async function bindSources(db: Db, projectId: string, spec: RenderSpec): Promise<RenderSpec> {
  if (spec.sources.length === 0) return spec;
  const rows = await db
    .select()
    .from(assets)
    .where(and(eq(assets.projectId, projectId), inArray(assets.id, spec.sources.map((s) => s.id))));
  const byId = new Map(rows.map((r) => [r.id, r]));
  const sources: Source[] = spec.sources.map((s) => {
    const row = byId.get(s.id);
    if (!row) throw new ServiceError('bad-request', `the timeline uses media that is not in this project (${s.id})`);
    return {
      id: row.id,
      key: row.storageKey,
      kind: row.kind,
      width: row.width,
      height: row.height,
      fps: row.fpsNum && row.fpsDen ? { num: row.fpsNum, den: row.fpsDen } : null,
      durationFrames: row.durationFrames,
      durationUs: row.durationUs,
      hasAudio: row.hasAudio,
      sha256: row.sha256,
      container: row.container && isIngestDemuxer(row.container) ? row.container : null,
      videoStartUs: row.videoStartUs,
      audioStartUs: row.audioStartUs,
      sar: { num: row.sarNum, den: row.sarDen },
      vfr: row.vfr,
      colorTransfer: row.colorTransfer && /^[a-z0-9_-]{1,32}$/.test(row.colorTransfer) ? row.colorTransfer : null,
    };
  });
  const bound = RenderSpec.safeParse({ ...spec, sources });
  if (!bound.success) throw new ServiceError('bad-request', `the timeline cannot be rendered: ${bound.error.issues[0]?.message}`);
  return bound.data;
}

/**
 * Renders longer than two chunks are split: GOP-aligned chunks of about RENDER_CHUNK_SECONDS
 * (default 10) rendered in parallel by the farm, audio once, stitched without re-encode.
 * RENDER_CHUNK_SECONDS=0 turns chunking off.
 */
export function chunkingFor(spec: RenderSpec, chunkSeconds = renderChunkSeconds()): { chunkFrames: number } | null {
  return chunkingOf(spec, chunkSeconds);
}
function renderChunkSeconds(): number {
  return Number(process.env.RENDER_CHUNK_SECONDS ?? 10);
}

export function renderMinutes(spec: RenderSpec): number {
  return Math.max(1, Math.ceil((spec.output.durationFrames * spec.output.fps.den) / spec.output.fps.num / 60));
}

export async function createRender(ctx: AppContext, userId: string, input: CreateRenderInput) {
  const db = ctx.db.db;
  const { project } = await requireProjectRole(db, userId, input.projectId, RENDER_ROLES);
  const { state } = await loadDocumentState(db, project.id);
  if (input.stateVector !== null) {
    const sv = Buffer.from(input.stateVector, 'base64');
    if (!isPersisted(state, new Uint8Array(sv)))
      throw new ServiceError('precondition-failed', 'your latest edits are not saved yet; try again in a moment');
  }
  const doc = new Y.Doc();
  Y.applyUpdate(doc, state);
  let spec: RenderSpec;
  try {
    spec = compileRenderSpec(doc);
  } catch (err) {
    throw new ServiceError('bad-request', err instanceof Error ? err.message : 'the timeline cannot be rendered');
  } finally {
    doc.destroy();
  }
  if (input.preset) {
    const preset = EXPORT_PRESETS.find((p) => p.id === input.preset);
    const fit = preset ? presetFit(preset, spec.output) : { ok: false as const, reason: 'unknown export preset' };
    if (!fit.ok) throw new ServiceError('bad-request', fit.reason);
  }
  spec = await bindSources(db, project.id, spec);
  const minutes = renderMinutes(spec);
  const priority = input.priority ?? 'normal';

  // The frozen spec is stored before the row exists, so every row has its spec: a row whose job
  // never reached the queue (the app died right after the insert) is re-queued by the reconciler.
  const id = crypto.randomUUID();
  const prefix = `renders/${id}`;
  await ctx.storage.putBytes(`${prefix}/spec.json`, JSON.stringify(spec));
  const render = await db
    .transaction(async (tx) => {
      if (!(await debitRenderMinutes(tx, { orgId: project.orgId, renderId: id, minutes, reason: `render submitted (${priority} priority)`, actorId: userId }))) throw new ServiceError('quota-exceeded', `this render needs ${minutes} render minute(s) and your team has fewer left`);
      const [{ next }] = (await tx
        .select({ next: sql<number>`coalesce(max(${renders.version}), 0) + 1` })
        .from(renders)
        .where(eq(renders.projectId, project.id))) as [{ next: number }];
      const [row] = await tx
        .insert(renders)
        .values({
          id,
          projectId: project.id,
          orgId: project.orgId,
          version: Number(next),
          priority,
          specKey: `${prefix}/spec.json`,
          outputPrefix: prefix,
          durationFrames: spec.output.durationFrames,
          createdBy: userId,
        })
        .returning();
      return row!;
    })
    .catch(async (err: unknown) => {
      await ctx.storage.deletePrefix(prefix).catch(() => {});
      throw err;
    });

  try {
    await enqueueRender(ctx, render, spec);
  } catch (err) {
    await failRender(ctx, render.id, `could not be queued: ${err instanceof Error ? err.message : String(err)}`);
    // The job may exist anyway (the connection dropped mid-command): make the farm skip it.
    if (!(err instanceof QueueUnavailableError)) await ctx.queue.cancel(render.id).catch(() => {});
    throw new ServiceError('precondition-failed', 'the render queue is unavailable; nothing was charged');
  }
  return toView(ctx, render);
}

/**
 * The one way a render row becomes a queue job (submit, and the reconciler's re-queue of a job the
 * queue lost): the row's frozen spec decides chunking, the row its priority. Idempotent: the job id
 * is the render id, and bee-queue refuses a second job with the same id.
 */
export async function enqueueRender(ctx: AppContext, row: Pick<RenderRow, 'id' | 'specKey' | 'outputPrefix' | 'priority'>, spec: RenderSpec): Promise<void> {
  const priority = row.priority as RenderPriority;
  await ctx.queue.enqueue(renderJobData({ renderId: row.id, specKey: row.specKey, outputPrefix: row.outputPrefix }, spec, priority, renderChunkSeconds()), priority);
}

/**
 * The one REQUEUE path (admin retry and priority change): the old job and any cancel flag go, a
 * fresh job is built from the row's frozen spec exactly as a submit builds it (chunking included)
 * at `priority`. Quota is the caller's business: a retry charges again, a priority change does not.
 */
export async function requeueRender(ctx: AppContext, row: Pick<RenderRow, 'id' | 'specKey' | 'outputPrefix'>, spec: RenderSpec, priority: RenderPriority): Promise<void> {
  await ctx.queue.requeue(renderJobData({ renderId: row.id, specKey: row.specKey, outputPrefix: row.outputPrefix }, spec, priority, renderChunkSeconds()), priority);
}

type RenderRow = typeof renders.$inferSelect;

/**
 * A render as its viewers see it. Members' media URLs live an hour; a guest's (`link`) carry the share
 * link's id, are re-checked against it on every request (revoked or expired: refused at once), and
 * include a download URL only when the link allows downloads.
 */
export function toView(ctx: AppContext, r: RenderRow, link?: { id: string; allowDownload: boolean }) {
  const secret = ctx.config.SIGNING_SECRET;
  const url = (key: string | null, download?: string) => (r.status === 'succeeded' && key ? signedFileUrl(secret, key, { linkId: link?.id, download }) : null);
  return {
    id: r.id,
    projectId: r.projectId,
    version: r.version,
    status: r.status,
    stage: r.stage,
    percent: r.progress,
    fps: r.fps,
    etaSeconds: r.etaSeconds,
    error: r.error,
    encoder: r.encoder,
    bytes: r.bytes,
    durationFrames: r.durationFrames,
    createdAt: r.createdAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
    downloadUrl: !link || link.allowDownload ? url(r.outputKey, `render-v${r.version}.mp4`) : null,
    videoUrl: url(r.outputKey),
    posterUrl: url(r.posterKey),
    thumbUrl: url(r.thumbKey),
  };
}
export type RenderView = ReturnType<typeof toView>;

export async function listRenders(ctx: AppContext, userId: string, projectId: string) {
  const db = ctx.db.db;
  await requireProjectRole(db, userId, projectId, VIEW_ROLES);
  const rows = await db.select().from(renders).where(eq(renders.projectId, projectId)).orderBy(desc(renders.version));
  return rows.map((r) => toView(ctx, r));
}

/** How far back the tray lists the caller's finished renders. */
export const MY_RENDERS_WINDOW_MS = 24 * 60 * 60 * 1000;
const MY_RENDERS_LIMIT = 20;

/**
 * The tray on every page: renders the caller started, still running or finished in the last day,
 * newest first, each with its project's name and whether the caller may cancel it. Only projects the
 * caller can still see (the role is re-checked now, not taken from when the render was started).
 */
export async function listMyRenders(ctx: AppContext, userId: string) {
  const db = ctx.db.db;
  const since = new Date(Date.now() - MY_RENDERS_WINDOW_MS);
  const rows = await db
    .select({ render: renders, projectName: schema.projects.name })
    .from(renders)
    .innerJoin(schema.projects, eq(schema.projects.id, renders.projectId))
    .where(and(eq(renders.createdBy, userId), or(inArray(renders.status, ['queued', 'rendering']), gt(renders.createdAt, since), gt(renders.finishedAt, since))))
    .orderBy(desc(renders.createdAt))
    .limit(MY_RENDERS_LIMIT);
  const roles = new Map<string, Role | null>();
  for (const projectId of new Set(rows.map((r) => r.render.projectId))) {
    const found = await requireProjectRole(db, userId, projectId, VIEW_ROLES).catch(() => null);
    roles.set(projectId, found?.role ?? null);
  }
  return rows.flatMap(({ render, projectName }) => {
    const role = roles.get(render.projectId);
    return role ? [{ ...toView(ctx, render), projectName, canCancel: RENDER_ROLES.includes(role) }] : [];
  });
}
export type MyRenderView = Awaited<ReturnType<typeof listMyRenders>>[number];

export async function getRender(ctx: AppContext, userId: string, renderId: string) {
  const db = ctx.db.db;
  const [row] = await db.select().from(renders).where(eq(renders.id, renderId));
  if (!row) throw new ServiceError('not-found', 'render not found');
  await requireProjectRole(db, userId, row.projectId, VIEW_ROLES);
  return toView(ctx, row);
}

const FINISHED = ['succeeded', 'failed', 'cancelled'] as const;

/**
 * Cancel (owners and editors): the row is marked cancelled and refunded exactly once (failRender),
 * then the farm is told: a waiting job leaves the queue, a running one has its ffmpeg aborted.
 */
export async function cancelRender(ctx: AppContext, userId: string, renderId: string) {
  const db = ctx.db.db;
  const [row] = await db.select().from(renders).where(eq(renders.id, renderId));
  if (!row) throw new ServiceError('not-found', 'render not found');
  await requireProjectRole(db, userId, row.projectId, RENDER_ROLES);
  if ((FINISHED as readonly string[]).includes(row.status)) throw new ServiceError('precondition-failed', `the render has already ${row.status === 'cancelled' ? 'been cancelled' : row.status}`);
  await failRender(ctx, renderId, 'cancelled', 'cancelled');
  await ctx.queue.cancel(renderId);
  const [after] = await db.select().from(renders).where(eq(renders.id, renderId));
  return toView(ctx, after!);
}

/** Delete (owners and editors): cancels it if still running, removes the row and every output file. */
export async function deleteRender(ctx: AppContext, userId: string, renderId: string) {
  const db = ctx.db.db;
  const [row] = await db.select().from(renders).where(eq(renders.id, renderId));
  if (!row) throw new ServiceError('not-found', 'render not found');
  await requireProjectRole(db, userId, row.projectId, RENDER_ROLES);
  if (!(FINISHED as readonly string[]).includes(row.status)) {
    await failRender(ctx, renderId, 'cancelled (deleted)', 'cancelled');
    await ctx.queue.cancel(renderId);
  }
  await db.delete(renders).where(eq(renders.id, renderId));
  // Chunk pieces under chunks/ are content-addressed and may be shared with other renders: kept.
  await ctx.storage.deletePrefix(row.outputPrefix);
  return { id: renderId, deleted: true as const };
}

function updateOf(r: RenderRow): RenderUpdate {
  return { renderId: r.id, status: r.status, stage: r.stage, percent: r.progress, fps: r.fps, etaSeconds: r.etaSeconds, error: r.error };
}

/**
 * Marks a render failed and refunds each of its debits exactly once (the row lock orders concurrent
 * deliveries; the ledger's unique refund_of makes a second refund of a debit impossible anyway).
 * Returns the updated row, or null when the render was already finished (nothing changed).
 */
export async function failRender(ctx: AppContext, renderId: string, message: string, status: 'failed' | 'cancelled' = 'failed') {
  const db = ctx.db.db;
  const row = await db.transaction(async (tx) => {
    const [before] = await tx.select().from(renders).where(eq(renders.id, renderId)).for('update');
    if (!before || before.status === 'succeeded' || before.status === 'failed' || before.status === 'cancelled') return null;
    const [after] = await tx
      .update(renders)
      .set({ status, error: message.slice(0, 2000), finishedAt: new Date() })
      .where(eq(renders.id, renderId))
      .returning();
    await refundRenderMinutes(tx, renderId, `render ${status}: ${message}`);
    return after!;
  });
  if (row) ctx.renderEvents.publish(updateOf(row));
  if (row) await persistRenderRuns(ctx, renderId).catch((err: unknown) => log.error({ event: 'render.runs_not_stored', renderId, err }, 'could not store ffmpeg runs'));
  return row;
}

/**
 * Copies the ffmpeg runs the farm recorded for a render (Redis, shared/jobs JobRun) into render_runs;
 * idempotent (a run already stored is skipped). Best effort: a Redis outage leaves them for later.
 */
export async function persistRenderRuns(ctx: AppContext, renderId: string): Promise<number> {
  const runs = await ctx.queue.jobRuns(renderId).catch(() => []);
  if (runs.length === 0) return 0;
  const stored = await ctx.db.db
    .insert(schema.renderRuns)
    .values(
      runs.map((r) => ({
        renderId,
        jobId: r.jobId,
        kind: r.kind,
        chunkIndex: r.chunkIndex,
        attempt: r.attempt,
        workerId: r.workerId,
        target: r.target,
        encoder: r.encoder,
        argv: r.argv,
        stagesMs: r.stagesMs,
        stderrTail: r.stderrTail.join('\n'),
        ok: r.ok,
        error: r.error,
        finishedAt: new Date(r.finishedAt),
      })),
    )
    .onConflictDoNothing()
    .returning({ id: schema.renderRuns.id });
  return stored.length;
}

/** Marks a live render succeeded with its outputs (idempotent: a finished row is left alone). */
export async function succeedRender(ctx: AppContext, r: RenderResult): Promise<boolean> {
  const [row] = await ctx.db.db
    .update(renders)
    .set({ status: 'succeeded', stage: 'done', progress: 100, etaSeconds: 0, outputKey: r.outputKey, posterKey: r.posterKey, thumbKey: r.thumbKey, bytes: r.bytes, encoder: r.encoder, workerId: r.workerId, finishedAt: new Date(), error: null })
    .where(and(eq(renders.id, r.renderId), inArray(renders.status, ['queued', 'rendering'])))
    .returning();
  if (row) ctx.renderEvents.publish(updateOf(row));
  if (row && r.tail) {
    // Issue 14: ready within 2 s of ffmpeg's exit. The worker's clock stamped the exit (same host or NTP).
    const readyAfterFfmpegMs = Math.max(0, Date.now() - r.tail.ffmpegExitedAt);
    observeRenderReady(readyAfterFfmpegMs / 1000);
    log.info({ event: 'render.succeeded', renderId: r.renderId, readyAfterFfmpegMs, workerTailMs: r.tail.totalMs, tailStagesMs: r.tail.stagesMs }, 'render succeeded');
  }
  if (row) await persistRenderRuns(ctx, r.renderId).catch((err: unknown) => log.error({ event: 'render.runs_not_stored', renderId: r.renderId, err }, 'could not store ffmpeg runs'));
  return row !== undefined;
}

/** Queue events -> DB rows -> subscribed pages. Updates are idempotent: any app instance may apply them. */
export function handleRenderEvents(ctx: AppContext): QueueEvents {
  const db = () => ctx.db.db;
  const failed = (renderId: string) => (err: unknown) => log.error({ event: 'render.event_failed', renderId, err }, 'render event handling failed');
  return {
    onProgress(p) {
      void db()
        .update(renders)
        .set({ status: 'rendering', stage: p.stage, progress: p.percent, fps: p.fps, etaSeconds: p.etaSeconds, workerId: p.workerId, startedAt: sql`coalesce(${renders.startedAt}, now())` })
        .where(and(eq(renders.id, p.renderId), inArray(renders.status, ['queued', 'rendering'])))
        .returning()
        .then(([row]) => row && ctx.renderEvents.publish(updateOf(row)))
        .catch(failed(p.renderId));
    },
    onSucceeded(r) {
      void succeedRender(ctx, r).catch(failed(r.renderId));
    },
    onFailed(renderId, message) {
      void failRender(ctx, renderId, message).catch(failed(renderId));
    },
    onRetrying(renderId, message) {
      ctx.renderEvents.publish({ renderId, status: 'rendering', stage: 'retrying', percent: 0, fps: null, etaSeconds: null, error: message });
    },
    onReconnected() {
      // Events published while Redis was away are gone: repair from the queue's own state.
      ctx.reconciler?.trigger();
    },
  };
}

// ---------------------------------------------------------------- reconciliation

export interface ReconcileReport {
  /** False when Redis was not connected: nothing was looked at. */
  ran: boolean;
  checked: number;
  succeeded: number;
  failed: number;
  requeued: number;
  recancelled: number;
}

export interface ReconcileOptions {
  /** A live row with no job at all is re-queued once it is this old (default RENDER_LOST_JOB_SECONDS, 60 s). */
  lostAfterMs?: number;
  now?: number;
  /** Rows looked at per pass (oldest first). */
  limit?: number;
}

/**
 * Repairs render rows from the queue's durable state, whatever was down when a job ended (this app,
 * its pub/sub connection, Redis):
 *  - job succeeded -> the row gets its outputs (stored RenderResult; else the output files);
 *  - job failed -> failed and refunded exactly once (failRender);
 *  - no job at all (Redis lost it, or the app died between insert and enqueue) -> re-queued from the
 *    frozen spec through enqueueRender, or succeeded if its output is already in storage;
 *  - a cancelled row whose job is still live -> the cancel is sent again (it may have been lost).
 * Every step is idempotent, so any number of app instances may run it at once.
 */
export async function reconcileRenders(ctx: AppContext, opts: ReconcileOptions = {}): Promise<ReconcileReport> {
  const report: ReconcileReport = { ran: false, checked: 0, succeeded: 0, failed: 0, requeued: 0, recancelled: 0 };
  if (!ctx.queue.connected) return report;
  report.ran = true;
  const now = opts.now ?? Date.now();
  const lostAfterMs = opts.lostAfterMs ?? ctx.config.RENDER_LOST_JOB_SECONDS * 1000;
  const db = ctx.db.db;
  const live = await db
    .select()
    .from(renders)
    .where(inArray(renders.status, ['queued', 'rendering']))
    .orderBy(renders.createdAt)
    .limit(opts.limit ?? 500);
  for (const row of live) {
    report.checked += 1;
    const job = await ctx.queue.jobRecord(row.id);
    if (job?.status === 'succeeded') {
      const result = (await ctx.queue.renderResult(row.id)) ?? (await resultFromStorage(ctx, row));
      if (result) {
        if (await succeedRender(ctx, result)) report.succeeded += 1;
      } else if (await failRenderIfLive(ctx, row.id, 'the render finished but its output is missing')) report.failed += 1;
    } else if (job?.status === 'failed') {
      if (await failRenderIfLive(ctx, row.id, job.lastError ?? 'the render failed')) report.failed += 1;
    } else if (!job && now - row.createdAt.getTime() > lostAfterMs) {
      const stored = await resultFromStorage(ctx, row);
      if (stored) {
        if (await succeedRender(ctx, stored)) report.succeeded += 1;
        continue;
      }
      let spec: RenderSpec | null = null;
      try {
        spec = RenderSpec.parse(migrateRenderSpec(JSON.parse(Buffer.from(await ctx.storage.getBytes(row.specKey)).toString('utf8'))));
      } catch {
        spec = null;
      }
      if (!spec) {
        if (await failRenderIfLive(ctx, row.id, 'the render was never queued and its spec is missing; nothing was charged, render it again')) report.failed += 1;
        continue;
      }
      await enqueueRender(ctx, row, spec);
      report.requeued += 1;
      log.warn({ event: 'render.requeued', renderId: row.id, reason: 'job lost by the queue' }, 're-queued a render whose job the queue had lost');
    }
  }
  const recentlyCancelled = await db
    .select({ id: renders.id })
    .from(renders)
    .where(and(eq(renders.status, 'cancelled'), sql`${renders.finishedAt} > ${new Date(now - 86_400_000).toISOString()}::timestamptz`))
    .orderBy(desc(renders.finishedAt))
    .limit(200);
  for (const { id } of recentlyCancelled) {
    const job = await ctx.queue.jobRecord(id);
    if (job && job.status !== 'succeeded' && job.status !== 'failed') {
      await ctx.queue.cancel(id);
      report.recancelled += 1;
    }
  }
  return report;
}

async function failRenderIfLive(ctx: AppContext, renderId: string, message: string): Promise<boolean> {
  return (await failRender(ctx, renderId, message)) !== null;
}

/** A RenderResult rebuilt from the output files, for a succeeded job whose stored result expired. */
async function resultFromStorage(ctx: AppContext, row: RenderRow): Promise<RenderResult | null> {
  const keys = { outputKey: `${row.outputPrefix}/output.mp4`, posterKey: `${row.outputPrefix}/poster.jpg`, thumbKey: `${row.outputPrefix}/thumb.jpg` };
  const [output, poster, thumb] = await Promise.all([ctx.storage.stat(keys.outputKey), ctx.storage.stat(keys.posterKey), ctx.storage.stat(keys.thumbKey)]);
  if (!output || !poster || !thumb) return null;
  return { renderId: row.id, ...keys, durationMs: 0, bytes: output.size, workerId: row.workerId ?? 'unknown', encoder: row.encoder ?? 'unknown', ffmpegArgs: [] };
}

export interface RenderReconciler {
  /** Runs a pass soon (coalesced with one already running). */
  trigger(): void;
  /** The pass in flight, if any. */
  idle(): Promise<void>;
  stop(): void;
}

/** Reconciles now, every `intervalMs` (RENDER_RECONCILE_INTERVAL_MS, default 30 s), and on trigger(). */
export function startRenderReconciler(ctx: AppContext, opts: { intervalMs?: number; lostAfterMs?: number } = {}): RenderReconciler {
  let running: Promise<void> | null = null;
  let again = false;
  let stopped = false;
  const pass = (): void => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      try {
        await ctx.queue.ready();
        const started = performance.now();
        const r = await reconcileRenders(ctx, { lostAfterMs: opts.lostAfterMs });
        if (r.succeeded + r.failed + r.requeued + r.recancelled > 0) log.warn({ event: 'render.reconciled', ...r, durationMs: Math.round(performance.now() - started) }, 'reconciled render rows from the queue');
        const t = await reconcileTranscripts(ctx, { lostAfterMs: opts.lostAfterMs });
        if (t.succeeded + t.failed > 0) log.warn({ event: 'transcript.reconciled', ...t }, 'reconciled transcript rows from the queue');
      } catch (err) {
        log.error({ event: 'render.reconcile_failed', error: err instanceof Error ? err.message : String(err) }, 'render reconciliation failed');
      }
    })().finally(() => {
      running = null;
      if (again) {
        again = false;
        pass();
      }
    });
  };
  const timer = setInterval(pass, opts.intervalMs ?? ctx.config.RENDER_RECONCILE_INTERVAL_MS);
  timer.unref();
  pass();
  return {
    trigger: pass,
    idle: async () => {
      while (running) await running;
    },
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}
