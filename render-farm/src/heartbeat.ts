/**
 * Worker liveness in Redis: one hash per worker, `${prefix}:workers:${workerId}`, rewritten every
 * few seconds with a short TTL, so a crashed worker disappears from the admin view on its own.
 */

/** The slice of a node-redis v3 client (the one bee-queue holds) the heartbeat uses. */
export interface HeartbeatRedis {
  multi(): HeartbeatMulti;
  del(key: string, cb: (err: Error | null) => void): unknown;
  quit(cb: (err: Error | null) => void): unknown;
}
interface HeartbeatMulti {
  del(key: string): HeartbeatMulti;
  hset(key: string, ...fieldsAndValues: string[]): HeartbeatMulti;
  expire(key: string, seconds: number): HeartbeatMulti;
  exec(cb: (err: Error | null) => void): unknown;
}

export function workerKey(prefix: string, workerId: string): string {
  return `${prefix}:workers:${workerId}`;
}

export interface HeartbeatOptions {
  client: HeartbeatRedis;
  key: string;
  intervalMs: number;
  ttlSeconds: number;
  /** Read at every beat. */
  fields: () => Record<string, string>;
  onError: (err: Error) => void;
}

export interface Heartbeat {
  /** Writes one beat now. */
  beat(): Promise<void>;
  /** Stops beating, deletes the key and quits the client (the heartbeat owns it). */
  stop(): Promise<void>;
}

export function startHeartbeat(opts: HeartbeatOptions): Heartbeat {
  const beat = () =>
    new Promise<void>((resolve, reject) => {
      const flat = Object.entries({ ...opts.fields(), lastSeen: String(Date.now()) }).flat();
      // DEL first: a field that is gone (currentJob of a finished job) must not linger.
      opts.client
        .multi()
        .del(opts.key)
        .hset(opts.key, ...flat)
        .expire(opts.key, opts.ttlSeconds)
        .exec((err) => (err ? reject(err) : resolve()));
    });
  const timer = setInterval(() => beat().catch(opts.onError), opts.intervalMs);
  timer.unref();
  return {
    beat,
    stop: async () => {
      clearInterval(timer);
      await new Promise<void>((resolve) => opts.client.del(opts.key, () => resolve()));
      await new Promise<void>((resolve) => opts.client.quit(() => resolve()));
    },
  };
}
