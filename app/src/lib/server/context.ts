/**
 * The process-wide server context: config, database, storage, queue producer, the render event
 * bus, a Redis client and the throttles on it. Created once, when the server starts (hooks.server.ts
 * init) or on first use; `pnpm start` composes the same handles in one process.
 */
import { Redis } from 'ioredis';
import { QUEUE_PREFIX } from '@clipmaker/shared/jobs';
import { getDb, type DbHandle } from '@clipmaker/db';
import { loadConfig, type AppConfig } from './config.ts';
import { createStorage, type AppStorage } from './storage.ts';
import { RenderQueueProducer } from './queue.ts';
import { ProxyEventBus, RenderEventBus, TranscriptEventBus } from './render-events.ts';
import { handleRenderEvents, startRenderReconciler, type RenderReconciler } from './services/renders.ts';
import { handleTranscribeEvents } from './services/transcripts.ts';
import { handleReviewProxyEvents } from './services/review-proxies.ts';
import { handleEditProxyEvents } from './services/edit-proxies.ts';
import { Throttles } from './throttle.ts';
import { HealthMonitor } from './health.ts';
import { closeAccessWatch, forgetSessionsOnAccessChange } from './access-watch.ts';
import { SessionCache } from './auth/session-cache.ts';

export interface AppContext {
  config: AppConfig;
  db: DbHandle;
  storage: AppStorage;
  queue: RenderQueueProducer;
  renderEvents: RenderEventBus;
  /** Transcript rows as they change (transcripts.onUpdate). */
  transcriptEvents: TranscriptEventBus;
  /** Edit-proxy progress per asset id (the media bin's live badge). */
  proxyEvents: ProxyEventBus;
  /** ioredis on REDIS_URL: fails fast while Redis is down (no offline queue), never crashes the app. */
  redis: Redis;
  throttles: Throttles;
  /** Cached readiness (health.ts); ffmpeg/ffprobe are probed once, when the context is created. */
  health: HealthMonitor;
  /** Session rows cached for a couple of seconds (auth/session-cache.ts); absent in hand-built test contexts. */
  sessions?: SessionCache;
  /** Repairs render rows from the queue's state; started by createContext (absent in hand-built test contexts). */
  reconciler?: RenderReconciler;
  /** Stops the reconciler, closes the queue, Redis and the database (shutdown). */
  close(): Promise<void>;
}

const KEY = Symbol.for('clipmaker.app.context');
type G = typeof globalThis & { [KEY]?: Promise<AppContext> };

export function getContext(): Promise<AppContext> {
  const g = globalThis as G;
  g[KEY] ??= createContext().catch((err: unknown) => {
    delete g[KEY]; // the next caller tries again
    throw err;
  });
  return g[KEY];
}

export async function createContext(config: AppConfig = loadConfig()): Promise<AppContext> {
  const db = await getDb();
  const storage = createStorage(config.storageDir);
  const renderEvents = new RenderEventBus();
  const transcriptEvents = new TranscriptEventBus();
  // commandTimeout: a stuck Redis never holds a request (throttles fall back to their in-memory insurance).
  const redis = new Redis(config.REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1, connectTimeout: 2_000, commandTimeout: 2_000 });
  redis.on('error', () => {}); // reconnects on its own; health checks report it
  const throttles = new Throttles(redis, config.QUEUE_PREFIX ?? QUEUE_PREFIX);
  const ctx = { config, db, storage, renderEvents, transcriptEvents, proxyEvents: new ProxyEventBus(), redis, throttles } as AppContext;
  ctx.queue = new RenderQueueProducer(config.REDIS_URL, config.QUEUE_PREFIX, { ...handleRenderEvents(ctx), ...handleTranscribeEvents(ctx), ...handleReviewProxyEvents(ctx), ...handleEditProxyEvents(ctx) });
  ctx.health = new HealthMonitor(ctx);
  ctx.sessions = new SessionCache();
  // Another process ended a session or changed a user's flags: drop what is cached for that user.
  void forgetSessionsOnAccessChange(ctx);
  // At start, periodically and after every Redis reconnect: no render (or transcript) stays live after its job ended.
  ctx.reconciler = startRenderReconciler(ctx);
  ctx.close = async () => {
    ctx.reconciler?.stop();
    await ctx.reconciler?.idle();
    await ctx.queue.close().catch(() => {});
    closeAccessWatch(ctx);
    redis.disconnect();
    await db.close().catch(() => {});
  };
  return ctx;
}
