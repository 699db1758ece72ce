/**
 * The chunk cache (chunks/<hash>.mp4, chunks/<hash>.m4a: content-addressed pieces of chunked renders,
 * reused by any render that shares them) is bounded: least recently used first, by bytes.
 *
 * "Used" is the object's modification time: a piece is written when rendered and touched when a
 * chunk job or a coordinator finds it cached, so the storage itself is the LRU clock (no index to
 * keep in step, on local disk and S3 alike). Every worker sweeps every RENDER_CHUNK_CACHE_SWEEP_SECONDS;
 * sweeps are idempotent, so several workers sweeping at once only delete what one of them would.
 * Pieces used in the last RENDER_CHUNK_CACHE_GRACE_SECONDS are never evicted (a render in flight
 * still needs them): the cache may exceed its cap by what is that fresh.
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import type { Storage, StoredObject } from './storage/index.ts';

export const CHUNK_CACHE_PREFIX = 'chunks';

export interface ChunkCachePolicy {
  /** Cap on the cache's total bytes. */
  maxBytes: number;
  /** Pieces used more recently than this are kept whatever the total. */
  graceMs: number;
}

export interface EvictionPlan {
  evict: StoredObject[];
  totalBytes: number;
  /** Bytes left after the evictions. */
  keptBytes: number;
}

/** Pure: oldest-used first, until the total is within the cap; fresh pieces are skipped. */
export function planEviction(objects: readonly StoredObject[], policy: ChunkCachePolicy, now: number): EvictionPlan {
  const totalBytes = objects.reduce((sum, o) => sum + o.size, 0);
  let keptBytes = totalBytes;
  const evict: StoredObject[] = [];
  const oldestFirst = [...objects].sort((a, b) => a.modifiedAt.getTime() - b.modifiedAt.getTime() || a.key.localeCompare(b.key));
  for (const o of oldestFirst) {
    if (keptBytes <= policy.maxBytes) break;
    if (now - o.modifiedAt.getTime() < policy.graceMs) break; // everything after it is fresher still
    evict.push(o);
    keptBytes -= o.size;
  }
  return { evict, totalBytes, keptBytes };
}

export interface SweepReport extends EvictionPlan {
  objects: number;
}

/** Lists the cache, deletes what planEviction picks, and says what it did. */
export async function sweepChunkCache(storage: Storage, policy: ChunkCachePolicy, opts: { now?: number; logger?: Logger } = {}): Promise<SweepReport> {
  const objects = await storage.listObjects(CHUNK_CACHE_PREFIX);
  const plan = planEviction(objects, policy, opts.now ?? Date.now());
  for (const o of plan.evict) await storage.delete(o.key);
  const report = { ...plan, objects: objects.length };
  if (plan.evict.length > 0)
    opts.logger?.info({ event: 'chunk_cache.sweep', evicted: plan.evict.length, evictedBytes: plan.totalBytes - plan.keptBytes, totalBytes: plan.totalBytes, keptBytes: plan.keptBytes, maxBytes: policy.maxBytes }, 'chunk cache evicted least recently used pieces');
  return report;
}

export const ChunkCacheEnv = z.object({
  /** Bytes; a plain number or with a K/M/G/T suffix (powers of 1024). Default 20G. */
  RENDER_CHUNK_CACHE_MAX_BYTES: z
    .string()
    .regex(/^\d+(\.\d+)?\s*[KMGT]?i?B?$/i, 'RENDER_CHUNK_CACHE_MAX_BYTES: a byte count such as 20G or 500M')
    .default('20G')
    .transform(parseBytes),
  RENDER_CHUNK_CACHE_SWEEP_SECONDS: z.coerce.number().int().min(1).default(600),
  RENDER_CHUNK_CACHE_GRACE_SECONDS: z.coerce.number().int().min(0).default(3600),
});

export function parseBytes(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)/i.exec(text.trim());
  if (!m) throw new Error(`not a byte count: ${text}`);
  const power = ' KMGT'.indexOf((m[2] || ' ').toUpperCase());
  return Math.floor(Number(m[1]) * 1024 ** power);
}

export interface ChunkCacheSettings extends ChunkCachePolicy {
  sweepIntervalMs: number;
}

export function chunkCacheSettings(env: NodeJS.ProcessEnv = process.env): ChunkCacheSettings {
  const e = ChunkCacheEnv.parse({
    RENDER_CHUNK_CACHE_MAX_BYTES: env.RENDER_CHUNK_CACHE_MAX_BYTES || undefined,
    RENDER_CHUNK_CACHE_SWEEP_SECONDS: env.RENDER_CHUNK_CACHE_SWEEP_SECONDS || undefined,
    RENDER_CHUNK_CACHE_GRACE_SECONDS: env.RENDER_CHUNK_CACHE_GRACE_SECONDS || undefined,
  });
  return { maxBytes: e.RENDER_CHUNK_CACHE_MAX_BYTES, graceMs: e.RENDER_CHUNK_CACHE_GRACE_SECONDS * 1000, sweepIntervalMs: e.RENDER_CHUNK_CACHE_SWEEP_SECONDS * 1000 };
}

export interface ChunkCacheSweeper {
  /** The sweep in flight, if any. */
  idle(): Promise<void>;
  stop(): Promise<void>;
}

/** Sweeps now and every settings.sweepIntervalMs; a failed sweep is logged and retried next time. */
export function startChunkCacheSweeper(storage: Storage, settings: ChunkCacheSettings, logger: Logger): ChunkCacheSweeper {
  let running: Promise<void> | null = null;
  const sweep = () => {
    if (running) return;
    running = sweepChunkCache(storage, settings, { logger })
      .then(() => {}, (err: unknown) => logger.warn({ event: 'chunk_cache.sweep_failed', err: err instanceof Error ? err.message : String(err) }, 'chunk cache sweep failed'))
      .finally(() => (running = null));
  };
  const timer = setInterval(sweep, settings.sweepIntervalMs);
  timer.unref();
  sweep();
  return {
    idle: async () => {
      while (running) await running;
    },
    stop: async () => {
      clearInterval(timer);
      while (running) await running;
    },
  };
}
