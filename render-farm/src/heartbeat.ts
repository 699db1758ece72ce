/**
 * Worker liveness in Redis (keys from @clipmaker/shared/jobs):
 *  - workerKey: one hash per worker (WorkerHeartbeat), rewritten every beat, TTL = the grace period;
 *  - workerRegistryKey: sorted set workerId -> last beat (ms); each beat also drops members older
 *    than the grace period, so dead instances leave the admin list on their own.
 * A killed worker keeps its last hash until the grace period ends; the admin shows it "lost" once
 * its beat is 1.5 intervals old (workerHealth). A worker that stops cleanly removes both at once.
 * Beats never overlap, and one is sent right after a reconnect, so a Redis restart shows up as one
 * missed beat, not as a queue of stale ones.
 */
import { workerKey, workerRegistryKey } from '@clipmaker/shared/jobs';

/** The slice of a node-redis v3 client (the one bee-queue holds) the heartbeat uses. */
export interface HeartbeatRedis {
  multi(): HeartbeatMulti;
  on(event: 'ready', fn: () => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  quit(cb: (err: Error | null) => void): unknown;
}
interface HeartbeatMulti {
  del(key: string): HeartbeatMulti;
  hset(key: string, ...fieldsAndValues: string[]): HeartbeatMulti;
  expire(key: string, seconds: number): HeartbeatMulti;
  zadd(key: string, score: number, member: string): HeartbeatMulti;
  zrem(key: string, member: string): HeartbeatMulti;
  zremrangebyscore(key: string, min: string | number, max: string | number): HeartbeatMulti;
  exec(cb: (err: Error | null) => void): unknown;
}

export { workerKey };

export interface HeartbeatOptions {
  client: HeartbeatRedis;
  prefix: string;
  workerId: string;
  intervalMs: number;
  /** How long a dead worker's last beat stays (key TTL and registry window). */
  graceSeconds: number;
  /** Read at every beat (lastSeen and intervalMs are added). */
  fields: () => Record<string, string>;
  onError: (err: Error) => void;
}

export interface Heartbeat {
  /** Writes one beat now (joins the one in flight, if any). */
  beat(): Promise<void>;
  /** Stops beating, removes this worker from the registry and quits the client (the heartbeat owns it). */
  stop(): Promise<void>;
}

export function startHeartbeat(opts: HeartbeatOptions): Heartbeat {
  const key = workerKey(opts.prefix, opts.workerId);
  const registry = workerRegistryKey(opts.prefix);
  let inFlight: Promise<void> | null = null;
  let stopped = false;
  const write = () =>
    new Promise<void>((resolve, reject) => {
      const now = Date.now();
      const flat = Object.entries({ ...opts.fields(), lastSeen: String(now), intervalMs: String(opts.intervalMs) }).flat();
      // DEL first: a field that is gone (currentJob of a finished job) must not linger.
      opts.client
        .multi()
        .del(key)
        .hset(key, ...flat)
        .expire(key, opts.graceSeconds)
        .zadd(registry, now, opts.workerId)
        .zremrangebyscore(registry, '-inf', now - opts.graceSeconds * 1000)
        .exec((err) => (err ? reject(err) : resolve()));
    });
  const beat = (): Promise<void> =>
    stopped
      ? Promise.resolve()
      : (inFlight ??= write().finally(() => {
          inFlight = null;
        }));
  const timer = setInterval(() => beat().catch(opts.onError), opts.intervalMs);
  timer.unref();
  opts.client.on('error', opts.onError);
  opts.client.on('ready', () => void beat().catch(opts.onError));
  return {
    beat,
    stop: async () => {
      stopped = true;
      clearInterval(timer);
      // Bounded: with Redis away the commands would wait for it; the grace period then cleans up.
      const bounded = (p: Promise<unknown>) => Promise.race([p, new Promise((r) => setTimeout(r, 3000).unref())]);
      await bounded(inFlight?.catch(() => {}) ?? Promise.resolve());
      await bounded(new Promise<void>((resolve) => opts.client.multi().del(key).zrem(registry, opts.workerId).exec(() => resolve())));
      await bounded(new Promise<void>((resolve) => opts.client.quit(() => resolve())));
    },
  };
}
