/**
 * Per-job worker blocklist, as render farm managers keep one: a worker that has failed the same job
 * `maxFailures` times stops taking it, so a worker with a broken GPU or a full disk cannot burn every
 * retry of a job that another worker would render fine.
 *
 * Redis hash `${prefix}:blocklist:${queue}:${jobId}`: field = workerId -> failures, plus `skips`.
 * bee-queue has no worker affinity, so "skipping" means: the blocked worker gives the attempt back
 * (retries + 1) and fails the attempt with BLOCKLISTED_MESSAGE; the job goes back through its backoff
 * and any worker may take it next. Limits (honest): the blocked worker may well take it again (it is
 * re-checked each time, costing one backoff delay). A worker only skips while some other live worker
 * (heartbeat key present) is not blocked for the job, and after `maxSkips` skips it runs the job anyway.
 */

/** The node-redis v3 calls used here (bee-queue's client, duplicated). */
export interface BlocklistRedis {
  hincrby(key: string, field: string, by: number, cb: (err: Error | null, n: number) => void): unknown;
  hget(key: string, field: string, cb: (err: Error | null, v: string | null) => void): unknown;
  expire(key: string, seconds: number, cb: (err: Error | null) => void): unknown;
}

export const BLOCKLISTED_MESSAGE = 'worker is blocklisted for this job; re-queued for another worker';

function call<T>(fn: (cb: (err: Error | null, v: T) => void) => unknown): Promise<T> {
  return new Promise((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));
}

export class JobBlocklist {
  constructor(
    private readonly redis: BlocklistRedis,
    private readonly prefix: string,
    private readonly opts: { maxFailures?: number; maxSkips?: number; ttlSeconds?: number } = {},
  ) {}

  key(queue: string, jobId: string): string {
    return `${this.prefix}:blocklist:${queue}:${jobId}`;
  }

  /** Counts a transient failure of `workerId` on this job; returns its failures so far. */
  async recordFailure(queue: string, jobId: string, workerId: string): Promise<number> {
    const key = this.key(queue, jobId);
    const n = await call<number>((cb) => this.redis.hincrby(key, `w:${workerId}`, 1, cb));
    await call<void>((cb) => this.redis.expire(key, this.opts.ttlSeconds ?? 86_400, cb));
    return n;
  }

  async failures(queue: string, jobId: string, workerId: string): Promise<number> {
    return Number((await call<string | null>((cb) => this.redis.hget(this.key(queue, jobId), `w:${workerId}`, cb))) ?? 0);
  }

  /**
   * True when this worker must leave the job to others (and counts the skip): it has failed the job
   * maxFailures times and some other live worker has not.
   */
  async shouldSkip(queue: string, jobId: string, workerId: string, liveWorkers: () => Promise<string[]>): Promise<boolean> {
    const max = this.opts.maxFailures ?? 2;
    if ((await this.failures(queue, jobId, workerId)) < max) return false;
    let someoneElse = false;
    for (const other of await liveWorkers()) {
      if (other !== workerId && (await this.failures(queue, jobId, other)) < max) someoneElse = true;
    }
    if (!someoneElse) return false;
    const skips = await call<number>((cb) => this.redis.hincrby(this.key(queue, jobId), 'skips', 1, cb));
    return skips <= (this.opts.maxSkips ?? 10);
  }
}
