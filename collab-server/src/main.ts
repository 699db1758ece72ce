/**
 * The standalone collab-server process (`pnpm collab`).
 *
 * Environment: COLLAB_PORT (1234), COLLAB_HOST (127.0.0.1), COLLAB_SECRET (required in production;
 * elsewhere read from $DATA_DIR/secrets/COLLAB_SECRET, which `pnpm start` generates), DATABASE_URL (unset: embedded
 * PGlite under $DATA_DIR, migrated here since no other process can reach it; with Postgres,
 * migrations are applied by `pnpm db:migrate` at deploy), COLLAB_COMPACT_EVERY, REDIS_URL (fan-out to the other collab processes and access changes
 * from the app; "off": a single process), QUEUE_PREFIX, METRICS_TOKEN (bearer token for /metrics),
 * COLLAB_MAX_MESSAGE_BYTES, COLLAB_UNLOAD_DELAY_MS, COLLAB_SYNCHRONOUS_COMMIT, LOG_LEVEL. Logs are pino JSON on stdout.
 * SIGINT/SIGTERM: graceful stop (everything received is stored and compacted), then exit 0.
 */
import { pino } from 'pino';
import { createDb } from '@clipmaker/db';
import { migrate } from '@clipmaker/db/migrate';
import { loadCollabConfig } from './config.ts';
import { startCollabServer } from './server.ts';

const log = pino({ name: 'collab-server', level: process.env.LOG_LEVEL ?? 'info' });

async function main(): Promise<void> {
  const config = loadCollabConfig();
  const db = await createDb({ url: config.databaseUrl ?? '' });
  if (db.kind === 'pglite') await migrate(db);
  const server = await startCollabServer({
    db,
    secret: config.secret,
    port: config.port,
    host: config.host,
    logger: log,
    compactEvery: config.compactEvery,
    maxMessageBytes: config.maxMessageBytes,
    unloadDelayMs: config.unloadDelayMs,
    dehydrateAfterMs: config.dehydrateAfterMs,
    synchronousCommit: config.synchronousCommit,
    redis: config.redis,
    metricsToken: config.metricsToken,
  });
  log.info({ port: server.port, host: config.host, db: db.kind }, 'collab-server listening');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => {
      log.error('graceful shutdown timed out');
      process.exit(1);
    }, 30_000);
    force.unref();
    try {
      await server.close();
      await db.close();
      clearTimeout(force);
      process.exit(0);
    } catch (err) {
      log.error({ err }, 'shutdown failed');
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err: unknown) => {
  log.fatal({ err }, 'collab-server failed to start');
  process.exit(1);
});
