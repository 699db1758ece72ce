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

/** Redis pub/sub channel (under the queue prefix) carrying a cancelled render's id to every worker. */
export function cancelChannel(prefix: string): string {
  return `${prefix}:render-cancel`;
}
/** Redis key set when a render is cancelled, so workers skip its not-yet-started chunk jobs. */
export function cancelledKey(prefix: string, renderId: string): string {
  return `${prefix}:render-cancelled:${renderId}`;
}
export const CANCELLED_MESSAGE = `${'PERMANENT:'} render cancelled`;

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
