/**
 * The contract between the app (producer) and the render farm (consumer). Both meet only here and in Redis.
 */
import { z } from 'zod';
import { INGEST_DEMUXERS } from '../media/ingest.ts';
import { StorageKey, type RenderSpec } from '../render-spec/schema.ts';

export const QUEUE_PREFIX = 'clipmaker';
/** bee-queue has no priorities: one queue per priority, workers poll high before normal before low. */
export const RENDER_QUEUES = { high: 'render-high', normal: 'render-normal', low: 'render-low' } as const;
export type RenderPriority = keyof typeof RENDER_QUEUES;

export const RenderJobData = z.object({
  renderId: z.string().uuid(),
  /** Storage key of the frozen RenderSpec JSON written by the app. */
  specKey: StorageKey,
  /** Storage key prefix where the worker writes output.mp4, poster.jpg, thumb.jpg. */
  outputPrefix: StorageKey,
  /** Chunk index and count; a whole render is chunk 0 of 1. */
  chunk: z.object({ index: z.number().int().min(0), count: z.number().int().min(1) }).default({ index: 0, count: 1 }),
  attempt: z.number().int().min(0).default(0),
  /**
   * Set by the producer for long renders: the worker taking this job becomes its coordinator: it
   * plans GOP-aligned chunks of about `chunkFrames`, fans them out on RENDER_CHUNK_QUEUE (plus one
   * audio job), waits for them, then stitches (-c copy) and muxes the audio. Null: one ffmpeg run.
   */
  chunking: z.object({ chunkFrames: z.number().int().min(1) }).nullable().default(null),
  priority: z.enum(['high', 'normal', 'low']).default('normal'),
});
export type RenderJobData = z.infer<typeof RenderJobData>;

export const RENDER_PRIORITIES = Object.keys(RENDER_QUEUES) as RenderPriority[];

/** How a render job is queued (bee-queue options): job id = render id, so a repeated enqueue cannot duplicate it. */
export const RENDER_JOB_OPTIONS = { retries: 3, backoff: { strategy: 'exponential', delayMs: 2000 }, timeoutMs: 60 * 60 * 1000 } as const;

/**
 * Renders longer than two chunks are split into GOP-aligned chunks of about `chunkSeconds` rendered
 * in parallel, audio once, stitched without re-encode. 0 (or less) turns chunking off.
 */
export function chunkingFor(spec: Pick<RenderSpec, 'output'>, chunkSeconds: number): { chunkFrames: number } | null {
  if (!(chunkSeconds > 0)) return null;
  const chunkFrames = Math.max(1, Math.round((chunkSeconds * spec.output.fps.num) / spec.output.fps.den));
  return spec.output.durationFrames > 2 * chunkFrames ? { chunkFrames } : null;
}

/**
 * THE job data of a whole render (submit, reconciler re-queue, admin retry and priority change all
 * build it here): the frozen spec decides chunking, the caller the priority.
 */
export function renderJobData(row: { renderId: string; specKey: string; outputPrefix: string }, spec: Pick<RenderSpec, 'output'>, priority: RenderPriority, chunkSeconds: number): RenderJobData {
  return RenderJobData.parse({ renderId: row.renderId, specKey: row.specKey, outputPrefix: row.outputPrefix, chunk: { index: 0, count: 1 }, attempt: 0, chunking: chunkingFor(spec, chunkSeconds), priority });
}

/** Chunk and audio jobs of chunked renders (one queue; the job's priority orders it in the worker's gate). */
export const RENDER_CHUNK_QUEUE = 'render-chunks';

export const ChunkJobData = z.object({
  renderId: z.string().uuid(),
  specKey: StorageKey,
  priority: z.enum(['high', 'normal', 'low']),
  /** 'video': frames [start, end) without audio, cached at chunks/<hash>.mp4; 'audio': the whole timeline, chunks/<hash>.m4a. */
  kind: z.enum(['video', 'audio']),
  chunk: z.object({ index: z.number().int().min(0), count: z.number().int().min(1), start: z.number().int().min(0), end: z.number().int().min(1), hash: z.string().regex(/^[0-9a-f]{64}$/) }),
  chunkFrames: z.number().int().min(1),
});
export type ChunkJobData = z.infer<typeof ChunkJobData>;

// ---------------------------------------------------------------- Redis keys, channels, TTLs
// Every key and channel the app and the farm share, beside bee-queue's own
// (`${prefix}:${queue}:{jobs,waiting,active,stalling,delayed,succeeded,failed,...}`).

/** bee-queue's own key for one of a queue's structures (`jobs` hash, `waiting` list, ...). */
export function queueKey(prefix: string, queue: string, part: 'jobs' | 'waiting' | 'active' | 'delayed' | 'succeeded' | 'failed' | 'stalling' | 'id'): string {
  return `${prefix}:${queue}:${part}`;
}

/** Redis pub/sub channel (under the queue prefix) carrying a cancelled render's id to every worker. */
export function cancelChannel(prefix: string): string {
  return `${prefix}:render-cancel`;
}
/** Redis key set when a render is cancelled, so workers skip its not-yet-started chunk jobs. */
export function cancelledKey(prefix: string, renderId: string): string {
  return `${prefix}:render-cancelled:${renderId}`;
}
export const CANCELLED_TTL_SECONDS = 7 * 86_400;
export const CANCELLED_MESSAGE = `${'PERMANENT:'} render cancelled`;

/** Hash: one worker's heartbeat (WorkerHeartbeat fields), rewritten every beat; TTL WORKER_GRACE_SECONDS. */
export function workerKey(prefix: string, workerId: string): string {
  return `${prefix}:workers:${workerId}`;
}
/** String: a farm admin's drain/pause flag for one worker (no TTL; deleted to resume). */
export function workerControlKey(prefix: string, workerId: string): string {
  return `${prefix}:workers:${workerId}:control`;
}
/**
 * drain: finish the job in hand, then take none (the worker goes idle, ready to be stopped);
 * pause: hand the job in hand back to the queue at once (ffmpeg stopped, no attempt spent) and take
 * none until resumed.
 */
export const WorkerControl = z.enum(['drain', 'pause']);
export type WorkerControl = z.infer<typeof WorkerControl>;
/**
 * Sorted set: workerId -> time of its last beat (ms). The worker registry: a worker that stops
 * cleanly removes itself; a dead one stays (health "lost") until WORKER_GRACE_SECONDS have passed,
 * then its hash expires and the next beat or admin listing drops it.
 */
export function workerRegistryKey(prefix: string): string {
  return `${prefix}:worker-registry`;
}
/** Default time between two heartbeats of a worker (HEARTBEAT_INTERVAL_MS). */
export const HEARTBEAT_INTERVAL_MS = 5000;
/** How long a dead worker stays listed (as lost) before it expires from the registry (WORKER_GRACE_SECONDS). */
export const WORKER_GRACE_SECONDS = 600;
/** docker/healthcheck.mjs: a worker is healthy while its last beat is at most this many intervals old. */
export const HEALTHCHECK_FRESH_INTERVALS = 3;
/** A worker whose last beat is older than this many of its intervals is lost (killed, hung or cut off). */
export const WORKER_LOST_AFTER_INTERVALS = 1.5;

const EncoderCapability = z.object({ listed: z.boolean(), opened: z.boolean(), error: z.string().nullable() });
/** The GPU a worker sees (nvidia-smi); null when there is none or nvidia-smi is missing. */
export const GpuInfo = z.object({
  model: z.string(),
  driver: z.string().nullable(),
  memoryTotalMiB: z.number().nullable(),
  memoryUsedMiB: z.number().nullable(),
  utilizationPercent: z.number().nullable(),
});
export type GpuInfo = z.infer<typeof GpuInfo>;
/** The capabilities JSON in a heartbeat: what this worker's ffmpeg really opened, and its GPUs. */
export const WorkerCapabilities = z.object({
  ffmpegPath: z.string().default('ffmpeg'),
  ffmpegVersion: z.string().nullable().default(null),
  hwaccels: z.array(z.string()).default([]),
  encoders: z.record(z.string(), EncoderCapability).default({}),
  cudaDevice: z.boolean().default(false),
  cudaDeviceError: z.string().nullable().default(null),
  filters: z.record(z.string(), z.boolean()).default({}),
  targets: z.array(z.enum(['cpu', 'cuda'])).default(['cpu']),
  gpus: z.array(GpuInfo).default([]),
  probeMs: z.number().default(0),
});
export type WorkerCapabilities = z.infer<typeof WorkerCapabilities>;

/** What a worker writes in its heartbeat hash (all values are strings in Redis). */
export const WorkerHeartbeat = z.object({
  // Defaults: a beat from an older worker version still lists (with what it did write).
  workerId: z.string(),
  host: z.string().default('?'),
  pid: z.string().default(''),
  status: z.enum(['running', 'stopping']).catch('running'),
  concurrency: z.string().default('1'),
  queues: z.string().default(''),
  capabilities: z.string().default('{}'),
  currentJob: z.string().default(''),
  /** ms since the epoch of this beat. */
  lastSeen: z.string(),
  /** This worker's beat interval in ms: the admin judges "lost" against it. */
  intervalMs: z.string().default(String(HEARTBEAT_INTERVAL_MS)),
  startedAt: z.string().optional(),
  /**
   * What the worker is doing about its control flag at this beat: 'draining' (finishing its job),
   * 'drained' (idle, takes none), 'paused' (handed its job back, takes none), '' (normal).
   */
  controlState: z.enum(['', 'draining', 'drained', 'paused']).default(''),
  /** Live GPU figures (GpuInfo[] JSON), refreshed every beat; '' when the worker has no GPU. */
  gpus: z.string().default(''),
});
export type WorkerHeartbeat = z.infer<typeof WorkerHeartbeat>;

/** A heartbeat hash as read from Redis, with its capabilities decoded; null when it is not one. */
export function parseWorkerHeartbeat(hash: Record<string, string> | null): (WorkerHeartbeat & { caps: WorkerCapabilities; liveGpus: GpuInfo[] }) | null {
  const beat = WorkerHeartbeat.safeParse(hash ?? undefined);
  if (!beat.success) return null;
  const caps = WorkerCapabilities.safeParse(safeJson(beat.data.capabilities) ?? {});
  const live = z.array(GpuInfo).safeParse(safeJson(beat.data.gpus) ?? []);
  const c = caps.success ? caps.data : WorkerCapabilities.parse({});
  return { ...beat.data, caps: c, liveGpus: live.success && live.data.length ? live.data : c.gpus };
}

function safeJson(s: string | undefined): unknown {
  if (!s) return null;
  try {
    return JSON.parse(s);
  } catch {
    return null;
  }
}

export type WorkerHealth = 'ok' | 'lost';
/**
 * "lost" once a worker's last beat is older than WORKER_LOST_AFTER_INTERVALS of its own interval, so a
 * killed worker shows lost at most 1.5 beats after its last one (within 2 beats of the kill).
 */
export function workerHealth(lastSeenMs: number, intervalMs: number, now: number): WorkerHealth {
  const interval = intervalMs > 0 ? intervalMs : HEARTBEAT_INTERVAL_MS;
  return now - lastSeenMs > WORKER_LOST_AFTER_INTERVALS * interval ? 'lost' : 'ok';
}

/** Hash: per-job worker blocklist, field `w:<workerId>` -> transient failures, plus `skips`. */
export function blocklistKey(prefix: string, queue: string, jobId: string): string {
  return `${prefix}:blocklist:${queue}:${jobId}`;
}
export const BLOCKLIST_TTL_SECONDS = 86_400;

/**
 * String: the token of the attempt that currently holds a job. Set by the worker that starts the
 * attempt, renewed while it runs; only its holder may publish outputs or finish the job, so an
 * attempt re-queued under a live worker (stalled-job check after a Redis restart) never finishes twice.
 */
export function attemptKey(prefix: string, queue: string, jobId: string): string {
  return `${prefix}:attempt:${queue}:${jobId}`;
}
/** Renewed every heartbeat while the attempt runs; outlives any job timeout between two renewals. */
export const ATTEMPT_TTL_SECONDS = 3600;

/**
 * String: the RenderResult JSON of a succeeded render job, written in the same Redis transaction
 * that marks the job succeeded. The app reconciles render rows from it when it missed the event.
 */
export function renderResultKey(prefix: string, renderId: string): string {
  return `${prefix}:render-result:${renderId}`;
}
export const RENDER_RESULT_TTL_SECONDS = 30 * 86_400;

/** String the app's readiness check writes (PX READINESS_PROBE_TTL_MS): proves Redis accepts writes. */
export function readinessProbeKey(prefix: string): string {
  return `${prefix}:readiness-probe`;
}
export const READINESS_PROBE_TTL_MS = 10_000;

export const RenderProgress = z.object({
  renderId: z.string().uuid(),
  stage: z.enum(['queued', 'probing', 'rendering', 'stitching', 'uploading', 'poster', 'done']),
  percent: z.number().min(0).max(100),
  fps: z.number().min(0).nullable(),
  etaSeconds: z.number().min(0).nullable(),
  workerId: z.string().nullable(),
});
export type RenderProgress = z.infer<typeof RenderProgress>;

/**
 * What a render did after its encoding ffmpeg exited (issue 14: the output is ready within 2 s of
 * it). Steps may overlap (the poster is made while the output uploads): each is its own wall time,
 * totalMs is ffmpeg's exit to the result handed to the queue.
 */
export const RenderTail = z.object({
  /** Epoch ms when the encoding (or stitching) ffmpeg exited; the app measures "ready" from it. */
  ffmpegExitedAt: z.number().int().min(0),
  totalMs: z.number().int().min(0),
  /**
   * Per step, ms: verify (ffprobe of the output), renderCleanup (the render's temp files), poster
   * (frame grab + JPEGs), uploadOutput, uploadPoster, uploadThumb, jobCleanup (the job's temp folder).
   */
  stagesMs: z.record(z.string().max(64), z.number().int().min(0)),
});
export type RenderTail = z.infer<typeof RenderTail>;

export const RenderResult = z.object({
  renderId: z.string().uuid(),
  outputKey: StorageKey,
  posterKey: StorageKey,
  thumbKey: StorageKey,
  durationMs: z.number().int().min(0),
  bytes: z.number().int().min(0),
  workerId: z.string(),
  encoder: z.string(),
  /** The exact ffmpeg argument list that produced the output, for the admin job view. */
  ffmpegArgs: z.array(z.string()),
  /** The post-encode tail's timings; absent in results of workers older than issue 14. */
  tail: RenderTail.optional(),
});
export type RenderResult = z.infer<typeof RenderResult>;

// ---------------------------------------------------------------- transcription (docs/CAPTIONS.md)

/** Transcribe jobs: one queue per priority like renders; only workers with a speech engine consume them. */
export const TRANSCRIBE_QUEUES = { high: 'transcribe-high', normal: 'transcribe-normal', low: 'transcribe-low' } as const;

/** ffmpeg demuxer names the asset may record (ingest's probe); anything else is refused. */
export const DemuxerName = z.string().regex(/^[a-z0-9_]{1,32}(,[a-z0-9_]{1,32}){0,8}$/, 'not a demuxer name');

export const TranscribeJobData = z
  .object({
    transcriptId: z.string().uuid(),
    /** Storage key of the media (an asset's original or its proxy). */
    mediaKey: StorageKey,
    /** The demuxer ingest recorded for the asset: forced with -f so the file is read as that format only. */
    demuxer: DemuxerName.nullable().default(null),
    /** Part of the media to transcribe (ms of the media); null = all. Word times stay media times. */
    range: z.object({ startMs: z.number().int().min(0), endMs: z.number().int().min(1) }).refine((r) => r.endMs > r.startMs, 'range end must be after its start').nullable().default(null),
    mode: z.enum(['recognise', 'align']).default('recognise'),
    /** Known text for align mode (pasted, TXT, or an SRT's cue text). */
    script: z.string().max(200_000).nullable().default(null),
    language: z.string().regex(/^[a-z]{2,3}(-[a-z]{2,4})?$/).default('en-us'),
    engine: z.enum(['auto', 'pocketsphinx', 'whisper']).default('auto'),
    /** Where the worker writes the Transcript JSON. */
    outputKey: StorageKey,
    priority: z.enum(['high', 'normal', 'low']).default('normal'),
  })
  .refine((d) => d.mode !== 'align' || (d.script ?? '').trim() !== '', { message: 'align mode needs the known text (script)', path: ['script'] });
export type TranscribeJobData = z.infer<typeof TranscribeJobData>;
export type TranscribeJobInput = z.input<typeof TranscribeJobData>;

export const TranscribeProgress = z.object({
  transcriptId: z.string().uuid(),
  stage: z.enum(['queued', 'decoding', 'recognising', 'aligning', 'uploading', 'done']),
  percent: z.number().min(0).max(100),
  etaSeconds: z.number().min(0).nullable(),
  workerId: z.string().nullable(),
});
export type TranscribeProgress = z.infer<typeof TranscribeProgress>;

export const TranscribeResult = z.object({
  transcriptId: z.string().uuid(),
  transcriptKey: StorageKey,
  engine: z.enum(['pocketsphinx', 'whisper']),
  quality: z.enum(['draft', 'standard', 'aligned']),
  wordCount: z.number().int().min(0),
  mediaDurationMs: z.number().int().min(0),
  /** Wall time of the job; realTimeFactor = wall / media duration. */
  durationMs: z.number().int().min(0),
  realTimeFactor: z.number().min(0),
  workerId: z.string(),
});
export type TranscribeResult = z.infer<typeof TranscribeResult>;

/** String: the TranscribeResult JSON of a succeeded transcribe job (the app reconciles from it). */
export function transcribeResultKey(prefix: string, transcriptId: string): string {
  return `${prefix}:transcribe-result:${transcriptId}`;
}

// ---------------------------------------------------------------- review proxies (watermarked copies for share links)

/**
 * Review-proxy jobs: a share link with `watermark` on never serves its render; each viewer gets a
 * copy with their name, email and the time burned in (so a leaked file names its viewer). One
 * queue; every worker with ffmpeg consumes it. Job id = proxy id.
 */
export const REVIEW_PROXY_QUEUE = 'review-proxy';

/**
 * Who the copy is for. Plain text, never placed in a filter string: the worker writes it into an
 * ASS script of its own (shared/render-spec reviewProxyCommand), escaped so it renders literally.
 */
export const WatermarkViewer = z.object({
  /** The name the guest gave on the link (or a member's name). */
  name: z.string().trim().min(1).max(80),
  /** The guest's email when verified by a one-time code; null when only a name is known. */
  email: z.string().email().max(254).nullable().default(null),
  /** When the viewer opened the link (ISO 8601, UTC); printed as YYYY-MM-DD HH:MM UTC. */
  issuedAt: z.string().datetime(),
});
export type WatermarkViewer = z.infer<typeof WatermarkViewer>;

export const ReviewProxyJobData = z.object({
  proxyId: z.string().uuid(),
  /** The finished render's output.mp4 (written by this farm). */
  sourceKey: StorageKey,
  /** Where the worker writes the watermarked MP4. */
  outputKey: StorageKey,
  viewer: WatermarkViewer,
  /** Frames of the render, for progress (the copy has exactly as many). */
  durationFrames: z.number().int().min(1),
});
export type ReviewProxyJobData = z.infer<typeof ReviewProxyJobData>;
export type ReviewProxyJobInput = z.input<typeof ReviewProxyJobData>;

export const ReviewProxyProgress = z.object({
  proxyId: z.string().uuid(),
  stage: z.enum(['queued', 'probing', 'rendering', 'uploading', 'done']),
  percent: z.number().min(0).max(100),
  etaSeconds: z.number().min(0).nullable(),
  workerId: z.string().nullable(),
});
export type ReviewProxyProgress = z.infer<typeof ReviewProxyProgress>;

export const ReviewProxyResult = z.object({
  proxyId: z.string().uuid(),
  outputKey: StorageKey,
  frames: z.number().int().min(0),
  bytes: z.number().int().min(0),
  durationMs: z.number().int().min(0),
  workerId: z.string(),
  /** The exact ffmpeg argument list (no viewer text in it: that is in the ASS file). */
  ffmpegArgs: z.array(z.string()),
});
export type ReviewProxyResult = z.infer<typeof ReviewProxyResult>;

/** String: the ReviewProxyResult JSON of a succeeded review-proxy job (the app reconciles from it). */
export function reviewProxyResultKey(prefix: string, proxyId: string): string {
  return `${prefix}:review-proxy-result:${proxyId}`;
}

// ---------------------------------------------------------------- edit proxies (what the editor previews and scrubs)

/**
 * Edit-proxy jobs: each uploaded video gets a 540p H.264 copy with short GOPs (shared/media
 * editProxyArgs), frame for frame the original, which the editor's preview plays; renders read the
 * original. One queue; every worker consumes it. Job id = asset id.
 */
export const EDIT_PROXY_QUEUE = 'edit-proxy';

export const EditProxyJobData = z.object({
  assetId: z.string().uuid(),
  /** The uploaded original. */
  sourceKey: StorageKey,
  /** Where the worker writes the proxy MP4. */
  outputKey: StorageKey,
  /** The original's stored ingest facts (assets row): how to open and scale it. */
  facts: z.object({
    container: z.enum(INGEST_DEMUXERS),
    width: z.number().int().min(1),
    height: z.number().int().min(1),
    colorTransfer: z.string().max(40).nullable(),
  }),
  /** The original's frame count, for progress (the proxy has exactly as many); null when unknown. */
  durationFrames: z.number().int().min(1).nullable(),
});
export type EditProxyJobData = z.infer<typeof EditProxyJobData>;

export const EditProxyProgress = z.object({
  assetId: z.string().uuid(),
  stage: z.enum(['queued', 'encoding', 'uploading', 'done']),
  percent: z.number().min(0).max(100),
  etaSeconds: z.number().min(0).nullable(),
  workerId: z.string().nullable(),
});
export type EditProxyProgress = z.infer<typeof EditProxyProgress>;

export const EditProxyResult = z.object({
  assetId: z.string().uuid(),
  outputKey: StorageKey,
  frames: z.number().int().min(0),
  width: z.number().int().min(1),
  height: z.number().int().min(1),
  bytes: z.number().int().min(0),
  durationMs: z.number().int().min(0),
  workerId: z.string(),
  ffmpegArgs: z.array(z.string()),
});
export type EditProxyResult = z.infer<typeof EditProxyResult>;

/** String: the EditProxyResult JSON of a succeeded edit-proxy job (the app reconciles from it). */
export function editProxyResultKey(prefix: string, assetId: string): string {
  return `${prefix}:edit-proxy-result:${assetId}`;
}

/**
 * One ffmpeg run of a render (the whole render, a video chunk, the audio of a chunked render, or the
 * stitch), as the worker that ran it records it: the EXACT argv the adapter spawned (the builder's),
 * the target and encoder, the worker, per-stage timings and the last lines of ffmpeg's stderr. The
 * worker appends it to jobRunsKey; the app stores it in render_runs and shows it on the admin job page.
 */
export const JOB_RUN_STDERR_LINES = 200;
export const JobRun = z.object({
  renderId: z.string().uuid(),
  jobId: z.string().max(200),
  kind: z.enum(['render', 'video-chunk', 'audio', 'stitch']),
  chunkIndex: z.number().int().min(0).nullable(),
  attempt: z.number().int().min(1),
  workerId: z.string().max(200),
  target: z.string().max(20),
  encoder: z.string().max(50).nullable(),
  argv: z.array(z.string()),
  /** Stage name -> ms (probe, loudness, encode, verify, poster, upload...). */
  stagesMs: z.record(z.string(), z.number().min(0)),
  stderrTail: z.array(z.string()).max(JOB_RUN_STDERR_LINES),
  ok: z.boolean(),
  error: z.string().nullable(),
  finishedAt: z.number().int(),
});
export type JobRun = z.infer<typeof JobRun>;
/** List of JobRun JSON for one render, newest last (trimmed to JOB_RUNS_MAX), TTL JOB_RUNS_TTL_SECONDS. */
export function jobRunsKey(prefix: string, renderId: string): string {
  return `${prefix}:render-runs:${renderId}`;
}
export const JOB_RUNS_MAX = 500;
export const JOB_RUNS_TTL_SECONDS = 30 * 86_400;

/** Errors a worker classifies as permanent are not retried (bad media, invalid spec). */
export const PERMANENT_ERROR_PREFIX = 'PERMANENT:';

export { redisClientOptions, isRedisConnectionError, isNoScriptError, keepScriptsLoaded, REDIS_RECONNECT_MAX_DELAY_MS, type BeeQueueScripts, type ScriptKeeper } from './redis.ts';
