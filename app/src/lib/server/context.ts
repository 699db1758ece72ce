/**
 * The process-wide server context: config, database, storage, queue producer, the render event
 * bus and the render reconciler. Created once, when the server starts (hooks.server.ts init) or on
 * first use; `pnpm start` composes the same handles in one process.
 */
import { getDb, type DbHandle } from '@clipmaker/db';
import { loadConfig, type AppConfig } from './config.ts';
import { createStorage, type AppStorage } from './storage.ts';
import { RenderQueueProducer } from './queue.ts';
import { RenderEventBus } from './render-events.ts';
import { handleRenderEvents, startRenderReconciler, type RenderReconciler } from './services/renders.ts';

export interface AppContext {
  config: AppConfig;
  db: DbHandle;
  storage: AppStorage;
  queue: RenderQueueProducer;
  renderEvents: RenderEventBus;
  /** Repairs render rows from the queue's state; started by createContext (absent in hand-built test contexts). */
  reconciler?: RenderReconciler;
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
  const ctx = { config, db, storage, renderEvents } as AppContext;
  ctx.queue = new RenderQueueProducer(config.REDIS_URL, config.QUEUE_PREFIX, handleRenderEvents(ctx));
  // At start, periodically and after every Redis reconnect: no render stays "rendering" after its job ended.
  ctx.reconciler = startRenderReconciler(ctx);
  return ctx;
}
