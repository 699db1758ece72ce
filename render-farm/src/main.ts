/**
 * Worker process entry (`pnpm worker`). Environment:
 *   REDIS_URL            default redis://127.0.0.1:6379
 *   QUEUE_PREFIX         bee-queue key prefix shared with the app, default clipmaker
 *   STORAGE_DIR          default $DATA_DIR/storage, DATA_DIR default <cwd>/.data
 *   S3_BUCKET            set to use S3-compatible storage instead: S3_ENDPOINT, S3_REGION, S3_ACCESS_KEY_ID,
 *                        S3_SECRET_ACCESS_KEY, S3_KEY_PREFIX, S3_VIRTUAL_HOSTED, S3_MAX_ATTEMPTS, S3_CHECKSUMS
 *                        (shared/storage; the app reads the same ones)
 *   WORKER_CONCURRENCY   default 1
 *   WORKER_ID            default <host>-<pid>
 *   RENDER_TARGET        auto | cpu | cuda, default auto
 *   WORK_DIR             parent of per-job temp folders, default the OS temp dir
 *   STOP_TIMEOUT_MS      how long SIGTERM waits for a running render, default 120000
 *   STALL_INTERVAL_MS    stalled-job check period (a dead worker's job is re-queued within ~2x), default 10000
 *   BLOCKLIST_AFTER      transient failures of one job before this worker leaves it to others, default 2
 *   HEARTBEAT_INTERVAL_MS  time between heartbeats (the admin shows a worker lost after 1.5 of them), default 5000
 *   WORKER_GRACE_SECONDS   how long a dead worker stays listed (as lost) before it expires, default 600
 *   RENDER_CHUNK_CACHE_MAX_BYTES / _SWEEP_SECONDS / _GRACE_SECONDS  the chunk cache's LRU bound (chunk-cache.ts),
 *                        default 20G / 600 / 3600
 *   FFMPEG_PATH, FFPROBE_PATH, LOG_LEVEL
 */
import { hostname } from 'node:os';
import { HEARTBEAT_INTERVAL_MS, QUEUE_PREFIX, WORKER_GRACE_SECONDS } from '@clipmaker/shared/jobs';
import { z } from 'zod';
import { createLogger } from './logger.ts';
import { LocalDiskStorage, S3Storage, defaultStorageDir, s3OptionsFromEnv } from './storage/index.ts';
import { startWorker } from './worker.ts';

const Env = z.object({
  REDIS_URL: z.string().min(1).default('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: z.string().min(1).default(QUEUE_PREFIX),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(64).default(1),
  WORKER_ID: z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'WORKER_ID may only contain letters, digits and . _ : -').optional(),
  RENDER_TARGET: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
  WORK_DIR: z.string().min(1).optional(),
  STOP_TIMEOUT_MS: z.coerce.number().int().min(0).default(120_000),
  STALL_INTERVAL_MS: z.coerce.number().int().min(500).default(10_000),
  BLOCKLIST_AFTER: z.coerce.number().int().min(1).default(2),
  HEARTBEAT_INTERVAL_MS: z.coerce.number().int().min(100).default(HEARTBEAT_INTERVAL_MS),
  WORKER_GRACE_SECONDS: z.coerce.number().int().min(1).default(WORKER_GRACE_SECONDS),
});

async function main(): Promise<void> {
  const logger = createLogger();
  const parsed = Env.safeParse(process.env);
  if (!parsed.success) {
    logger.fatal({ issues: parsed.error.issues }, 'invalid environment');
    process.exit(2);
  }
  const env = parsed.data;
  const s3 = s3OptionsFromEnv();
  const storage = s3 ? new S3Storage(s3) : new LocalDiskStorage(defaultStorageDir());
  const worker = await startWorker({
    redisUrl: env.REDIS_URL,
    prefix: env.QUEUE_PREFIX,
    storage,
    concurrency: env.WORKER_CONCURRENCY,
    workerId: env.WORKER_ID ?? `${hostname()}-${process.pid}`,
    logger,
    target: env.RENDER_TARGET,
    workRoot: env.WORK_DIR,
    stopTimeoutMs: env.STOP_TIMEOUT_MS,
    stallIntervalMs: env.STALL_INTERVAL_MS,
    blocklistAfter: env.BLOCKLIST_AFTER,
    heartbeatIntervalMs: env.HEARTBEAT_INTERVAL_MS,
    workerGraceSeconds: env.WORKER_GRACE_SECONDS,
  });
  logger.info({ storage: storage instanceof LocalDiskStorage ? storage.root : `s3://${s3!.bucket}`, queues: worker.queues }, 'render worker ready');

  let signals = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    signals += 1;
    if (signals > 1) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    logger.info({ signal }, 'stopping');
    worker.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

main().catch((err: unknown) => {
  createLogger().fatal({ err }, 'worker failed to start');
  process.exit(1);
});
