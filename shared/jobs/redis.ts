/**
 * How the app and the farm keep their Redis connections through a Redis restart. Both talk to Redis
 * through bee-queue 2 and the node-redis v3 clients it creates; these helpers are duck-typed so
 * shared/ keeps depending on nothing but zod.
 *
 * - redisClientOptions(): every client reconnects forever, at most REDIS_RECONNECT_MAX_DELAY_MS
 *   apart (node-redis v3 otherwise gives up after an hour and backs off to many seconds). With a
 *   retry_strategy set, node-redis reports connection failures through the strategy instead of
 *   'error' events; callers still attach an 'error' listener to every client.
 * - keepScriptsLoaded(): bee-queue loads its Lua scripts once, at connect, and calls them by SHA.
 *   A restarted Redis has an empty script cache (scripts are not in the AOF), so every EVALSHA then
 *   fails with NOSCRIPT. The keeper reloads the scripts after every reconnect, and retries a call
 *   that still hit NOSCRIPT once after reloading.
 */

export const REDIS_RECONNECT_MAX_DELAY_MS = 500;

/** node-redis v3 options (bee-queue's `redis` setting) for a client that never gives up. */
export function redisClientOptions(url: string): { url: string; retry_strategy: (o: { attempt: number }) => number; connect_timeout: number } {
  return {
    url,
    retry_strategy: ({ attempt }) => Math.min(50 * 2 ** Math.min(attempt, 10), REDIS_RECONNECT_MAX_DELAY_MS),
    // The total reconnect budget (node-redis default: one hour); the largest value a timer takes.
    connect_timeout: 2 ** 31 - 1,
  };
}

const CONNECTION_CODES = new Set(['UNCERTAIN_STATE', 'NR_CLOSED', 'CONNECTION_BROKEN', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'LOADING']);

/** A command that failed because Redis was unreachable or restarting (worth retrying), not because it was wrong. */
export function isRedisConnectionError(err: unknown): boolean {
  const e = err as { name?: unknown; code?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.name === 'AbortError') return true;
  if (typeof e.code === 'string' && CONNECTION_CODES.has(e.code)) return true;
  return typeof e.message === 'string' && /connection (is )?(lost|closed|gone)|stream isn't writeable|LOADING /i.test(e.message);
}

export function isNoScriptError(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown } | null;
  return !!e && (e.code === 'NOSCRIPT' || (typeof e.message === 'string' && e.message.includes('NOSCRIPT')));
}

/** bee-queue's script cache module (`bee-queue/lib/lua`), passed in by the package that depends on bee-queue. */
export interface BeeQueueScripts {
  buildCache(client: unknown): Promise<unknown>;
}

interface EventSource {
  on(event: 'ready', fn: () => void): unknown;
}
/** The bee-queue 2.0 internals the keeper patches. */
interface BeeQueueInternals {
  client: EventSource | null;
  _evalScript: (...args: unknown[]) => Promise<unknown>;
  _activateDelayed(): void;
  settings: { activateDelayedJobs?: boolean };
}

export interface ScriptKeeper {
  /** Loads any missing script now (what a NOSCRIPT would trigger); concurrent calls share one load. */
  reload(): Promise<void>;
  /** Reconnects seen since install (the first 'ready' is not one). */
  readonly reconnects: number;
}

/**
 * Installs the NOSCRIPT recovery on a bee-queue that is ready (its command client exists).
 * `onReconnect` runs after each reconnect once the scripts are back.
 */
export function keepScriptsLoaded(queue: object, scripts: BeeQueueScripts, hooks: { onError(err: unknown): void; onReconnect?(): void }): ScriptKeeper {
  const q = queue as BeeQueueInternals;
  const client = q.client;
  if (!client) throw new Error('keepScriptsLoaded: the queue is not ready yet');
  let loading: Promise<void> | null = null;
  const reload = (): Promise<void> =>
    (loading ??= Promise.resolve(scripts.buildCache(client))
      .then(() => undefined)
      .finally(() => {
        loading = null;
      }));
  const evalScript = q._evalScript.bind(q);
  q._evalScript = (...args: unknown[]) =>
    evalScript(...args).catch(async (err: unknown) => {
      if (!isNoScriptError(err)) throw err;
      await reload();
      return evalScript(...args);
    });
  const keeper = { reload, reconnects: 0 };
  // node-redis emits 'ready' after every (re)connect; the queue's first one has already passed.
  client.on('ready', () => {
    keeper.reconnects += 1;
    reload().then(() => {
      // A delayed-job activation that failed during the outage is not rescheduled by bee-queue.
      if (q.settings.activateDelayedJobs) q._activateDelayed();
      hooks.onReconnect?.();
    }, hooks.onError);
  });
  return keeper;
}
