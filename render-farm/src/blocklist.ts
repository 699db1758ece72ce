/**
 * Per-job worker blocklist, as render farm managers keep one: a worker that has failed the same job
 * `maxFailures` times stops taking it, so a worker with a broken GPU or a full disk cannot burn every
 * retry of a job that another worker would render fine.
 *
 * Redis hash blocklistKey(prefix, queue, jobId): field `w:<workerId>` -> failures, plus `skips`.
 * bee-queue has no worker affinity, so "skipping" means: the blocked worker hands the job back to the
 * front of its queue untouched (QueueRuntime's hand back: no retry used, no backoff grown) and waits
 * a moment before it takes another job, so an idle worker gets it first. A worker only skips while
 * some other live worker consuming that queue is not blocked for the job; after `maxSkips` skips it
 * runs the job anyway (the other workers may be busy for long). A coordinator whose stitch failed
 * blocks itself at once (block()) and hands the stitch on the same way.
 */
import { BLOCKLIST_TTL_SECONDS, blocklistKey } from '@clipmaker/shared/jobs';

/** The node-redis v3 calls used here (bee-queue's client, duplicated). */
export interface BlocklistRedis {
  hincrby(key: string, field: string, by: number, cb: (err: Error | null, n: number) => void): unknown;
  hget(key: string, field: string, cb: (err: Error | null, v: string | null) => void): unknown;
  hset(key: string, field: string, value: string, cb: (err: Error | null) => void): unknown;
  expire(key: string, seconds: number, cb: (err: Error | null) => void): unknown;
}

export const BLOCKLISTED_MESSAGE = 'worker is blocklisted for this job; handed back for another worker';

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
    return blocklistKey(this.prefix, queue, jobId);
  }

  get maxFailures(): number {
    return this.opts.maxFailures ?? 2;
  }

  /** Counts a transient failure of `workerId` on this job; returns its failures so far. */
  async recordFailure(queue: string, jobId: string, workerId: string): Promise<number> {
    const key = this.key(queue, jobId);
    const n = await call<number>((cb) => this.redis.hincrby(key, `w:${workerId}`, 1, cb));
    await call<void>((cb) => this.redis.expire(key, this.opts.ttlSeconds ?? BLOCKLIST_TTL_SECONDS, cb));
    return n;
  }

  /** Blocks `workerId` for this job at once (a coordinator that could not stitch). */
  async block(queue: string, jobId: string, workerId: string): Promise<void> {
    const key = this.key(queue, jobId);
    await call<void>((cb) => this.redis.hset(key, `w:${workerId}`, String(this.maxFailures), cb));
    await call<void>((cb) => this.redis.expire(key, this.opts.ttlSeconds ?? BLOCKLIST_TTL_SECONDS, cb));
  }

  /** True when some live worker other than `workerId` is not blocked for the job. */
  async someoneElseCan(queue: string, jobId: string, workerId: string, liveWorkers: () => Promise<string[]>): Promise<boolean> {
    for (const other of await liveWorkers()) {
      if (other !== workerId && (await this.failures(queue, jobId, other)) < this.maxFailures) return true;
    }
    return false;
  }

  async failures(queue: string, jobId: string, workerId: string): Promise<number> {
    return Number((await call<string | null>((cb) => this.redis.hget(this.key(queue, jobId), `w:${workerId}`, cb))) ?? 0);
  }

  /**
   * True when this worker must leave the job to others (and counts the skip): it has failed the job
   * maxFailures times and some other live worker consuming the queue has not.
   */
  async shouldSkip(queue: string, jobId: string, workerId: string, liveWorkers: () => Promise<string[]>): Promise<boolean> {
    if ((await this.failures(queue, jobId, workerId)) < this.maxFailures) return false;
    if (!(await this.someoneElseCan(queue, jobId, workerId, liveWorkers))) return false;
    const skips = await call<number>((cb) => this.redis.hincrby(this.key(queue, jobId), 'skips', 1, cb));
    return skips <= (this.opts.maxSkips ?? 20);
  }
}
