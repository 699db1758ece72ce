/**
 * Auto-captions, app side (docs/CAPTIONS.md): a transcript row per request, a transcribe job on the
 * farm through the one queue repository (shared/jobs contract), progress from the job's events, and
 * the word-timed result stored in Postgres when the job succeeds. Editors start transcriptions;
 * every member may read them. The reconciler repairs rows whose job ended while nobody listened.
 */
import { z } from 'zod';
import { and, eq } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import { Transcript } from '@clipmaker/shared/captions';
import { isIngestDemuxer } from '@clipmaker/shared/media';
import type { TranscribeResult } from '@clipmaker/shared/jobs';
import type { AppContext } from '../context.ts';
import { logger } from '../logger.ts';
import { QueueUnavailableError, type QueueEvents } from '../queue.ts';
import * as repo from '../repositories/transcripts.ts';
import { EDIT_ROLES, VIEW_ROLES, requireProjectRole } from './accounts/index.ts';
import { ServiceError } from './errors.ts';

export const CreateTranscriptInput = z
  .object({
    projectId: z.string().uuid(),
    assetId: z.string().uuid(),
    mode: z.enum(['recognise', 'align']).default('recognise'),
    /** The known text, for align mode. */
    script: z.string().max(200_000).nullable().default(null),
    engine: z.enum(['auto', 'pocketsphinx', 'whisper']).default('auto'),
    language: z.string().regex(/^[a-z]{2,3}(-[a-z]{2,4})?$/).default('en-us'),
    range: z.object({ startMs: z.number().int().min(0), endMs: z.number().int().min(1) }).refine((r) => r.endMs > r.startMs, 'range end must be after its start').nullable().default(null),
    priority: z.enum(['high', 'normal', 'low']).default('normal'),
  })
  .refine((d) => d.mode !== 'align' || (d.script ?? '').trim() !== '', { message: 'align mode needs the known text', path: ['script'] });
export type CreateTranscriptInput = z.input<typeof CreateTranscriptInput>;

/** What the editor sees of a transcript (words only once it succeeded, via getTranscript). */
export function transcriptView(r: repo.TranscriptRow) {
  return {
    id: r.id,
    assetId: r.assetId,
    version: r.version,
    status: r.status,
    mode: r.mode,
    engine: r.engine,
    quality: r.quality,
    /** The UI labels pocketsphinx recognition "draft quality". */
    draft: r.quality === 'draft',
    language: r.language,
    range: r.rangeStartMs !== null && r.rangeEndMs !== null ? { startMs: r.rangeStartMs, endMs: r.rangeEndMs } : null,
    stage: r.stage,
    percent: r.progress,
    etaSeconds: r.etaSeconds,
    error: r.error,
    wordCount: r.wordCount,
    realTimeFactor: r.realTimeFactor,
    createdAt: r.createdAt.toISOString(),
    finishedAt: r.finishedAt?.toISOString() ?? null,
  };
}
export type TranscriptView = ReturnType<typeof transcriptView>;

/** Tells this instance's subscribers (transcripts.onUpdate) about a row that changed; null: nothing changed. */
function published(ctx: AppContext, row: repo.TranscriptRow | null): repo.TranscriptRow | null {
  if (row) ctx.transcriptEvents.publish(transcriptView(row));
  return row;
}

export async function createTranscript(ctx: AppContext, userId: string, raw: CreateTranscriptInput): Promise<TranscriptView> {
  const parsed = CreateTranscriptInput.safeParse(raw);
  if (!parsed.success) throw new ServiceError('invalid-input', parsed.error.issues[0]?.message ?? 'invalid transcription request');
  const input = parsed.data;
  const db = ctx.db.db;
  const { project } = await requireProjectRole(db, userId, input.projectId, EDIT_ROLES);
  const [asset] = await db.select().from(schema.assets).where(and(eq(schema.assets.id, input.assetId), eq(schema.assets.projectId, project.id)));
  if (!asset) throw new ServiceError('not-found');
  if (!asset.hasAudio) throw new ServiceError('bad-request', `"${asset.name}" has no audio to transcribe`);
  const id = crypto.randomUUID();
  const row = await repo.insertTranscript(db, {
    id,
    orgId: project.orgId,
    projectId: project.id,
    assetId: asset.id,
    mode: input.mode,
    requestedEngine: input.engine,
    language: input.language,
    rangeStartMs: input.range?.startMs ?? null,
    rangeEndMs: input.range?.endMs ?? null,
    priority: input.priority,
    outputKey: `transcripts/${id}/transcript.json`,
    createdBy: userId,
  });
  try {
    await ctx.queue.enqueueTranscribe({
      transcriptId: row.id,
      mediaKey: asset.storageKey,
      demuxer: asset.container && isIngestDemuxer(asset.container) ? asset.container : null,
      range: input.range,
      mode: input.mode,
      script: input.mode === 'align' ? input.script : null,
      language: input.language,
      engine: input.engine,
      outputKey: row.outputKey,
      priority: input.priority,
    });
  } catch (err) {
    published(ctx, await repo.endTranscript(db, row.id, 'failed', `could not be queued: ${err instanceof Error ? err.message : String(err)}`));
    if (!(err instanceof QueueUnavailableError)) await ctx.queue.cancel(row.id).catch(() => {});
    throw new ServiceError('unavailable', 'the transcription queue is unavailable; try again in a moment');
  }
  return transcriptView(row);
}

async function visibleTranscript(ctx: AppContext, userId: string, transcriptId: string, roles: readonly (typeof VIEW_ROLES)[number][]) {
  const row = await repo.findTranscript(ctx.db.db, transcriptId);
  if (!row) throw new ServiceError('not-found');
  await requireProjectRole(ctx.db.db, userId, row.projectId, roles);
  return row;
}

/** The transcript with its words (empty until it succeeded). */
export async function getTranscript(ctx: AppContext, userId: string, transcriptId: string) {
  const row = await visibleTranscript(ctx, userId, transcriptId, VIEW_ROLES);
  const words = row.status === 'succeeded' ? await repo.transcriptWordsOf(ctx.db.db, row.id) : [];
  return { ...transcriptView(row), words };
}

export async function listTranscripts(ctx: AppContext, userId: string, projectId: string): Promise<TranscriptView[]> {
  const { project } = await requireProjectRole(ctx.db.db, userId, projectId, VIEW_ROLES);
  return (await repo.listProjectTranscripts(ctx.db.db, project.id)).map(transcriptView);
}

export async function cancelTranscript(ctx: AppContext, userId: string, transcriptId: string): Promise<TranscriptView> {
  const row = await visibleTranscript(ctx, userId, transcriptId, EDIT_ROLES);
  const ended = published(ctx, await repo.endTranscript(ctx.db.db, row.id, 'cancelled', null));
  if (ended) await ctx.queue.cancel(row.id);
  return transcriptView(ended ?? row);
}

const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * Live progress (transcripts.onUpdate, SSE): the row now, then every change this instance makes or
 * hears of from the queue, until it ends. The row is also re-read every `recheckMs` while nothing
 * arrives, so a change applied by another app instance or the reconciler still reaches the page.
 * The access check runs before the stream is returned, so an outsider is refused like a query.
 */
export async function transcriptUpdates(ctx: AppContext, userId: string, transcriptId: string, signal?: AbortSignal, recheckMs = 3000): Promise<AsyncGenerator<TranscriptView>> {
  const stop = new AbortController();
  signal?.addEventListener('abort', () => stop.abort(), { once: true });
  // Listen first, then read the current state: nothing published in between is missed.
  const updates = ctx.transcriptEvents.subscribe(transcriptId, stop.signal);
  let row: repo.TranscriptRow;
  try {
    row = await visibleTranscript(ctx, userId, transcriptId, VIEW_ROLES);
  } catch (err) {
    stop.abort();
    throw err;
  }
  return (async function* () {
    let last = transcriptView(row);
    try {
      yield last;
      let pending = updates.next();
      while (!FINISHED.has(last.status) && !stop.signal.aborted) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        const got = await Promise.race([pending, new Promise<'recheck'>((resolve) => (timer = setTimeout(() => resolve('recheck'), recheckMs)))]);
        clearTimeout(timer);
        let next: TranscriptView | null = null;
        if (got === 'recheck') {
          const fresh = await repo.findTranscript(ctx.db.db, transcriptId);
          if (fresh && (fresh.status !== last.status || fresh.stage !== last.stage || fresh.progress !== last.percent)) next = transcriptView(fresh);
        } else {
          if (got.done) return;
          next = got.value;
          pending = updates.next();
        }
        if (next) {
          last = next;
          yield next;
        }
      }
    } finally {
      stop.abort();
    }
  })();
}

/** Reads the Transcript JSON the worker wrote and stores its words. False when the row was not live. */
export async function succeedTranscript(ctx: AppContext, r: TranscribeResult): Promise<boolean> {
  const row = await repo.findTranscript(ctx.db.db, r.transcriptId);
  if (!row || (row.status !== 'queued' && row.status !== 'transcribing')) return false;
  let transcript: Transcript;
  try {
    // The key is the row's own (never the event's): a result cannot point the app at another object.
    transcript = Transcript.parse(JSON.parse((await ctx.storage.getBytes(row.outputKey)).toString('utf8')));
  } catch (err) {
    published(ctx, await repo.endTranscript(ctx.db.db, row.id, 'failed', `the transcript the farm wrote could not be read: ${err instanceof Error ? err.message.slice(0, 200) : 'unknown error'}`));
    return false;
  }
  const done = published(ctx, await repo.completeTranscript(ctx.db.db, row.id, { engine: transcript.engine, quality: transcript.quality, mediaDurationMs: r.mediaDurationMs, realTimeFactor: r.realTimeFactor, workerId: r.workerId }, transcript.words));
  return done !== null;
}

/** Transcribe job events -> transcript rows. Idempotent, so any app instance may apply them. */
export function handleTranscribeEvents(ctx: AppContext): Pick<QueueEvents, 'onTranscribeProgress' | 'onTranscribeSucceeded' | 'onTranscribeFailed'> {
  const log = (err: unknown) => logger.child({ service: 'app', module: 'transcripts' }).error({ event: 'transcript.event_failed', error: err instanceof Error ? err.message : String(err) }, 'transcript event handling failed');
  return {
    onTranscribeProgress(p) {
      void repo.markTranscriptProgress(ctx.db.db, p.transcriptId, { stage: p.stage, percent: p.percent, etaSeconds: p.etaSeconds, workerId: p.workerId }).then((row) => published(ctx, row)).catch(log);
    },
    onTranscribeSucceeded(r) {
      void succeedTranscript(ctx, r).catch(log);
    },
    onTranscribeFailed(transcriptId, message) {
      void repo.endTranscript(ctx.db.db, transcriptId, 'failed', message).then((row) => published(ctx, row)).catch(log);
    },
  };
}

/**
 * Repairs live rows from the queue's durable state: a job that succeeded (stored result) or failed
 * while no app listened; a row whose job the queue lost is failed (transcription is free and quick
 * to ask for again, unlike a charged render).
 */
export async function reconcileTranscripts(ctx: AppContext, opts: { lostAfterMs?: number; now?: number } = {}): Promise<{ succeeded: number; failed: number }> {
  const report = { succeeded: 0, failed: 0 };
  if (!ctx.queue.connected) return report;
  const now = opts.now ?? Date.now();
  const lostAfterMs = opts.lostAfterMs ?? ctx.config.RENDER_LOST_JOB_SECONDS * 1000;
  for (const row of await repo.liveTranscripts(ctx.db.db)) {
    const job = await ctx.queue.transcribeJobRecord(row.id);
    if (job?.status === 'succeeded') {
      const result = await ctx.queue.transcribeResult(row.id);
      if (result && (await succeedTranscript(ctx, result))) report.succeeded += 1;
      else if (!result && published(ctx, await repo.endTranscript(ctx.db.db, row.id, 'failed', 'the transcription finished but its result is missing'))) report.failed += 1;
    } else if (job?.status === 'failed') {
      if (published(ctx, await repo.endTranscript(ctx.db.db, row.id, 'failed', job.lastError ?? 'the transcription failed'))) report.failed += 1;
    } else if (!job && now - row.createdAt.getTime() > lostAfterMs) {
      if (published(ctx, await repo.endTranscript(ctx.db.db, row.id, 'failed', 'the queue lost this transcription; start it again'))) report.failed += 1;
    }
  }
  return report;
}
