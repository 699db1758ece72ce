/**
 * The process-wide server context: config, database, storage, queue producer and the render event
 * bus. Created once on first use; `pnpm start` composes the same handles in one process.
 */
import { getDb, type DbHandle } from '@clipmaker/db';
import { loadConfig, type AppConfig } from './config.ts';
import { createStorage, type AppStorage } from './storage.ts';
import { RenderQueueProducer } from './queue.ts';
import { RenderEventBus } from './render-events.ts';
import { handleRenderEvents } from './services/renders.ts';

export interface AppContext {
  config: AppConfig;
  db: DbHandle;
  storage: AppStorage;
  queue: RenderQueueProducer;
  renderEvents: RenderEventBus;
}

const KEY = Symbol.for('clipmaker.app.context');
type G = typeof globalThis & { [KEY]?: Promise<AppContext> };

export function getContext(): Promise<AppContext> {
  const g = globalThis as G;
  g[KEY] ??= createContext();
  return g[KEY];
}

export async function createContext(config: AppConfig = loadConfig()): Promise<AppContext> {
  const db = await getDb();
  const storage = createStorage(config.storageDir);
  const renderEvents = new RenderEventBus();
  const ctx = { config, db, storage, renderEvents } as AppContext;
  ctx.queue = new RenderQueueProducer(config.REDIS_URL, config.QUEUE_PREFIX, handleRenderEvents(ctx));
  return ctx;
}
