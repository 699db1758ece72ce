/** Environment of the standalone collab-server process (main.ts). */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

/** Production refuses shorter secrets (the app applies the same rule). */
export const PRODUCTION_SECRET_MIN_LENGTH = 32;

/**
 * No secret value lives in the source tree. Outside production an unset COLLAB_SECRET is read from
 * $DATA_DIR/secrets/COLLAB_SECRET, the file `pnpm start` (or the app) generates with the CSPRNG, so
 * `pnpm collab` next to a local app shares its secret; with neither, the process refuses to start.
 */
function secretFromDataDir(env: NodeJS.ProcessEnv): string | undefined {
  try {
    return readFileSync(path.join(path.resolve(env.DATA_DIR || '.data'), 'secrets', 'COLLAB_SECRET'), 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}

const Env = z.object({
  NODE_ENV: z.string().optional(),
  COLLAB_PORT: z.coerce.number().int().min(0).max(65535).default(1234),
  COLLAB_HOST: z.string().min(1).default('127.0.0.1'),
  COLLAB_SECRET: z.string().optional(),
  DATABASE_URL: z.string().optional(),
  /** Compact after this many stored updates per document. */
  COLLAB_COMPACT_EVERY: z.coerce.number().int().min(1).default(200),
  COLLAB_MAX_MESSAGE_BYTES: z.coerce.number().int().min(1024).default(10 * 1024 * 1024),
  COLLAB_UNLOAD_DELAY_MS: z.coerce.number().int().min(0).default(2000),
  /** Keep an open document only encoded after this long without changes (0: never). */
  COLLAB_DEHYDRATE_AFTER_MS: z.coerce.number().int().min(0).default(10_000),
  /**
   * "off": the update writer's commits return before their WAL is flushed (see UpdateWriterOptions
   * in drizzle/documents.ts: safe against a crash of this process, not of Postgres). Default "on".
   */
  COLLAB_SYNCHRONOUS_COMMIT: z.enum(['on', 'off']).default('on'),
  /** Redis for fan-out between collab processes and access changes from the app. Unset: redis://127.0.0.1:6379; "off": single process. */
  REDIS_URL: z.string().optional(),
  /** The deployment's key prefix (the app's QUEUE_PREFIX). */
  QUEUE_PREFIX: z.string().regex(/^[A-Za-z0-9:_-]+$/).optional(),
  METRICS_TOKEN: z.string().optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface CollabConfig {
  port: number;
  host: string;
  secret: string;
  /** undefined: embedded PGlite (createDb's default). */
  databaseUrl: string | undefined;
  compactEvery: number;
  maxMessageBytes: number;
  unloadDelayMs: number;
  dehydrateAfterMs: number;
  /** false: COLLAB_SYNCHRONOUS_COMMIT=off. */
  synchronousCommit: boolean;
  /** null: fan-out off (one process only). */
  redis: { url: string; prefix: string } | null;
  metricsToken: string | undefined;
  logLevel: string;
}

export function loadCollabConfig(env: NodeJS.ProcessEnv = process.env): CollabConfig {
  const e = Env.parse(env);
  const production = e.NODE_ENV === 'production';
  const secret = e.COLLAB_SECRET || (production ? undefined : secretFromDataDir(env));
  if (!secret) throw new Error(production ? 'COLLAB_SECRET is required when NODE_ENV=production' : 'COLLAB_SECRET is not set and $DATA_DIR/secrets/COLLAB_SECRET does not exist: set it to the app\'s COLLAB_SECRET, or run `pnpm start` once');
  if (production && secret.length < PRODUCTION_SECRET_MIN_LENGTH) throw new Error(`COLLAB_SECRET must be at least ${PRODUCTION_SECRET_MIN_LENGTH} characters in production`);
  if (secret.length < 16) throw new Error('COLLAB_SECRET must be at least 16 characters');
  return {
    port: e.COLLAB_PORT,
    host: e.COLLAB_HOST,
    secret,
    databaseUrl: e.DATABASE_URL || undefined,
    compactEvery: e.COLLAB_COMPACT_EVERY,
    maxMessageBytes: e.COLLAB_MAX_MESSAGE_BYTES,
    unloadDelayMs: e.COLLAB_UNLOAD_DELAY_MS,
    dehydrateAfterMs: e.COLLAB_DEHYDRATE_AFTER_MS,
    synchronousCommit: e.COLLAB_SYNCHRONOUS_COMMIT === 'on',
    redis: e.REDIS_URL === 'off' ? null : { url: e.REDIS_URL || 'redis://127.0.0.1:6379', prefix: e.QUEUE_PREFIX || 'clipmaker' },
    metricsToken: e.METRICS_TOKEN || undefined,
    logLevel: e.LOG_LEVEL,
  };
}
