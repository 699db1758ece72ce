/**
 * Server configuration from the environment, validated once. Defaults are the embedded ones that
 * `pnpm start` uses on a fresh machine; production sets every secret explicitly (secrets.ts: outside
 * production an unset secret is generated once under DATA_DIR, never taken from the source tree).
 */
import { z } from 'zod';
import path from 'node:path';
import { resolveSecrets } from './secrets.ts';

const Env = z.object({
  NODE_ENV: z.string().default('development'),
  PUBLIC_URL: z.string().url().optional(),
  DATA_DIR: z.string().default(path.resolve('.data')),
  STORAGE_DIR: z.string().optional(),
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]+$/).optional(),
  COLLAB_PUBLIC_URL: z.string().default('ws://127.0.0.1:1234'),
  FFPROBE_PATH: z.string().default('ffprobe'),
  FFMPEG_PATH: z.string().default('ffmpeg'),
  MAX_UPLOAD_BYTES: z.coerce.number().int().positive().default(2 * 1024 * 1024 * 1024),
  MAX_UPLOAD_DURATION_SECONDS: z.coerce.number().positive().default(60 * 60),
  /** A resumable (tus) upload not finished this long after it was created is refused and deleted. */
  UPLOAD_EXPIRY_HOURS: z.coerce.number().positive().default(24),
  /** How often render rows are repaired from the queue's own state (also at start and after a Redis reconnect). */
  RENDER_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(200).default(30_000),
  /** A queued render whose job the queue does not have is re-queued once it is this old. */
  RENDER_LOST_JOB_SECONDS: z.coerce.number().min(1).default(60),
  /** Unset: mail is off (links are shown to copy instead). */
  SMTP_URL: z.preprocess((v) => (v === '' ? undefined : v), z.string().regex(/^smtps?:\/\//, 'SMTP_URL must start with smtp:// or smtps://').optional()),
  MAIL_FROM: z.preprocess((v) => (v === '' ? undefined : v), z.string().min(3).default('ClipMaker <no-reply@localhost>')),
  /** adapter-node's public origin; links in emails are built on it. */
  ORIGIN: z.preprocess((v) => (v === '' ? undefined : v), z.string().url().optional()),
});

export type AppConfig = ReturnType<typeof loadConfig>;

/** The queue's settings alone (tools that only queue jobs: no secrets resolved, nothing written). */
export function loadQueueConfig(env: NodeJS.ProcessEnv = process.env) {
  return Env.pick({ REDIS_URL: true, QUEUE_PREFIX: true, RENDER_LOST_JOB_SECONDS: true }).parse(env);
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const e = Env.parse(env);
  return {
    ...e,
    /** COLLAB_SECRET signs collab tokens; SIGNING_SECRET signs media URLs and share-link proofs. */
    ...resolveSecrets(env, e.DATA_DIR),
    storageDir: path.resolve(e.STORAGE_DIR ?? path.join(e.DATA_DIR, 'storage')),
    isProduction: e.NODE_ENV === 'production',
  };
}
