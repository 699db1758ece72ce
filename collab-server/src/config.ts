/** Environment of the standalone collab-server process (main.ts). */
import { z } from 'zod';

/**
 * Development-only default, the same one the app and `pnpm start` use so that a local setup works
 * without configuration. Refused when NODE_ENV=production.
 */
export const DEV_COLLAB_SECRET = 'clipmaker-dev-secret-change-me-in-production';

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
  logLevel: string;
}

export function loadCollabConfig(env: NodeJS.ProcessEnv = process.env): CollabConfig {
  const e = Env.parse(env);
  const production = e.NODE_ENV === 'production';
  const secret = e.COLLAB_SECRET || (production ? undefined : DEV_COLLAB_SECRET);
  if (!secret) throw new Error('COLLAB_SECRET is required when NODE_ENV=production');
  if (production && secret === DEV_COLLAB_SECRET) throw new Error('COLLAB_SECRET must not be the development default in production');
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
    logLevel: e.LOG_LEVEL,
  };
}
