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
});
export type RenderJobData = z.infer<typeof RenderJobData>;

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
