/**
 * The contract between the app (producer) and the render farm (consumer). Both meet only here and in Redis.
 */
import { z } from 'zod';
import { StorageKey } from '../render-spec/schema.ts';

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
/** A worker whose last beat is older than this many of its intervals is lost (killed, hung or cut off). */
export const WORKER_LOST_AFTER_INTERVALS = 1.5;

/** What a worker writes in its heartbeat hash (all values are strings in Redis). */
export const WorkerHeartbeat = z.object({
  workerId: z.string(),
  host: z.string(),
  pid: z.string(),
  status: z.enum(['running', 'stopping']),
  concurrency: z.string(),
  queues: z.string(),
  capabilities: z.string(),
  currentJob: z.string().default(''),
  /** ms since the epoch of this beat. */
  lastSeen: z.string(),
  /** This worker's beat interval in ms: the admin judges "lost" against it. */
  intervalMs: z.string().default(String(HEARTBEAT_INTERVAL_MS)),
  startedAt: z.string().optional(),
});
export type WorkerHeartbeat = z.infer<typeof WorkerHeartbeat>;

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
});
export type RenderResult = z.infer<typeof RenderResult>;

/** Errors a worker classifies as permanent are not retried (bad media, invalid spec). */
export const PERMANENT_ERROR_PREFIX = 'PERMANENT:';

export { redisClientOptions, isRedisConnectionError, isNoScriptError, keepScriptsLoaded, REDIS_RECONNECT_MAX_DELAY_MS, type BeeQueueScripts, type ScriptKeeper } from './redis.ts';
