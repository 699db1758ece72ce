/**
 * What the worker needs from bee-queue beyond its public API, in one place. bee-queue is pinned at
 * 2.0.0; the internals used here are `client`, `toKey`, `_finishJob`, `_isClosed` and `paused`.
 *
 * - Attempts: the worker claims a job before it does anything with it: `attemptKey` gets a fresh
 *   token. Only the holder of the token publishes outputs (FencedStorage) or finishes the job, and a
 *   running attempt renews the token every beat. A stalled-job check can re-queue the job of a live
 *   worker (its stall marker was not refreshed while Redis restarted); the worker that takes it next
 *   claims it, the older attempt sees the token change and stops without finishing anything.
 * - Finish: bee-queue's finish (one MULTI) is replaced by one Lua script with the same effects plus:
 *   the token check, dropping a stale re-queued copy of the job from `waiting`, and storing the
 *   RenderResult (renderResultKey) in the same step that marks a render job succeeded. It is retried
 *   until Redis answers, so a finish that meets a Redis restart is not lost.
 * - Hand back: a job this worker will not run (blocklisted, paused, stopping, stitch handed off) goes
 *   back to the front of `waiting` untouched: no retry used, no backoff grown, no event.
 */
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import type BeeQueue from 'bee-queue';
import { ATTEMPT_TTL_SECONDS, attemptKey, isRedisConnectionError, keepScriptsLoaded, RENDER_RESULT_TTL_SECONDS, type BeeQueueScripts, type ScriptKeeper } from '@clipmaker/shared/jobs';
import type { Logger } from 'pino';
import type { Storage } from './storage/index.ts';

const beeQueueScripts = createRequire(import.meta.url)('bee-queue/lib/lua') as BeeQueueScripts;

type Callback<T> = (err: Error | null, value: T) => void;
/** The node-redis v3 command client bee-queue holds. */
export interface RedisV3 {
  eval(...args: unknown[]): unknown;
  duplicate(): RedisV3;
  on(event: string, fn: (...args: never[]) => void): unknown;
  quit(cb?: Callback<unknown>): unknown;
  readonly ready: boolean;
}
interface QueueInternals {
  client: RedisV3;
  paused: boolean;
  _isClosed: boolean;
  toKey(name: string): string;
  _finishJob(err: Error | null, data: unknown, job: BeeQueue.Job<unknown>): Promise<[string, unknown]>;
}
type Job = BeeQueue.Job<unknown> & { status: string; toData(): string; computeDelay(): number };

export function evalScript<T>(client: RedisV3, script: string, keys: string[], args: (string | number)[]): Promise<T> {
  return new Promise<T>((resolve, reject) => client.eval(script, keys.length, ...keys, ...args, ((err, v) => (err ? reject(err) : resolve(v as T))) as Callback<unknown>));
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Retries a Redis call through connection errors (a restart); other errors are thrown at once. */
export async function untilRedisAnswers<T>(fn: () => Promise<T>, opts: { giveUp?: () => boolean } = {}): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (!isRedisConnectionError(err) || opts.giveUp?.()) throw err;
      await sleep(Math.min(100 * 2 ** i, 2000));
    }
  }
}

// KEYS: jobs, attempt, active, stalling. ARGV: jobId, token, ttl. 1 = claimed; 0 = the job is gone or finished.
const CLAIM = `
local raw = redis.call('hget', KEYS[1], ARGV[1])
local status = raw and cjson.decode(raw).status
if not raw or status == 'succeeded' or status == 'failed' then
  redis.call('lrem', KEYS[3], 0, ARGV[1])
  redis.call('srem', KEYS[4], ARGV[1])
  return 0
end
redis.call('set', KEYS[2], ARGV[2], 'EX', tonumber(ARGV[3]))
return 1`;

// KEYS: attempt. ARGV: token, ttl. 1 = still ours (renewed); 0 = another attempt holds the job.
const RENEW = `
local owner = redis.call('get', KEYS[1])
if owner and owner ~= ARGV[1] then return 0 end
redis.call('set', KEYS[1], ARGV[1], 'EX', tonumber(ARGV[2]))
return 1`;

// KEYS: attempt, active, stalling, waiting, jobs, target (succeeded/failed set or delayed zset),
// events channel, earlierDelayed channel, result key. ARGV: jobId, token, status, job JSON, event
// JSON, retry time, result JSON ('' = none), result ttl. 1 = finished; 0 = superseded.
const FINISH = `
local owner = redis.call('get', KEYS[1])
if owner and owner ~= ARGV[2] then return 0 end
redis.call('lrem', KEYS[2], 0, ARGV[1])
redis.call('srem', KEYS[3], ARGV[1])
redis.call('lrem', KEYS[4], 0, ARGV[1])
redis.call('hset', KEYS[5], ARGV[1], ARGV[4])
if ARGV[3] == 'retrying' then
  redis.call('zadd', KEYS[6], tonumber(ARGV[6]), ARGV[1])
  redis.call('publish', KEYS[8], ARGV[6])
else
  redis.call('sadd', KEYS[6], ARGV[1])
end
if ARGV[7] ~= '' then redis.call('set', KEYS[9], ARGV[7], 'EX', tonumber(ARGV[8])) end
redis.call('publish', KEYS[7], ARGV[5])
redis.call('del', KEYS[1])
return 1`;

// KEYS: active, stalling, waiting, attempt. ARGV: jobId, token. Front of the line (BRPOPLPUSH pops the tail).
const HAND_BACK = `
local n = redis.call('lrem', KEYS[1], 0, ARGV[1])
redis.call('srem', KEYS[2], ARGV[1])
if n > 0 then redis.call('rpush', KEYS[3], ARGV[1]) end
if redis.call('get', KEYS[4]) == ARGV[2] then redis.call('del', KEYS[4]) end
return n`;

export class SupersededError extends Error {
  override name = 'SupersededError';
  constructor(jobId: string) {
    super(`attempt superseded: job ${jobId} was re-queued and another attempt holds it`);
  }
}

/** One attempt at one job on this worker. */
export class Attempt {
  readonly token = randomUUID();
  /** How the handler's settlement reaches Redis: finish it (default), or nothing (handed back / superseded). */
  outcome: 'finish' | 'handed-back' | 'superseded' = 'finish';
  /** Set for render jobs: the RenderResult is stored under it with the success. */
  resultKey: string | null = null;
  constructor(
    readonly runtime: QueueRuntime,
    readonly job: Job,
  ) {}

  get key(): string {
    return attemptKey(this.runtime.prefix, this.runtime.name, this.job.id);
  }

  /** Renews the claim; false (and outcome 'superseded') once another attempt holds the job. */
  async renew(): Promise<boolean> {
    if (this.outcome === 'superseded') return false;
    const ours = await evalScript<number>(this.runtime.client, RENEW, [this.key], [this.token, ATTEMPT_TTL_SECONDS]);
    if (ours !== 1) this.outcome = 'superseded';
    return ours === 1;
  }

  /** Throws SupersededError unless this attempt still holds the job (waits for Redis if it is away). */
  async assertLive(): Promise<void> {
    if (!(await untilRedisAnswers(() => this.renew()))) throw new SupersededError(this.job.id);
  }

  /** Puts the job back at the front of its queue, retries and backoff untouched. */
  async handBack(): Promise<void> {
    const rt = this.runtime;
    await untilRedisAnswers(() => evalScript(rt.client, HAND_BACK, [rt.key('active'), rt.key('stalling'), rt.key('waiting'), this.key], [this.job.id, this.token]), { giveUp: () => rt.closed });
    this.outcome = 'handed-back';
  }
}

/** A Storage whose writes first check that the attempt still holds its job. */
export function fencedStorage(storage: Storage, attempt: Attempt): Storage {
  return new Proxy(storage, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (prop === 'put' || prop === 'delete' || prop === 'deletePrefix') {
        return async (...args: unknown[]) => {
          await attempt.assertLive();
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return (value as (...a: unknown[]) => unknown).bind(target);
    },
  });
}

/** One bee-queue the worker consumes, with claimed attempts and the fenced finish installed. */
export class QueueRuntime {
  private readonly attempts = new WeakMap<object, Attempt>();
  readonly scripts: ScriptKeeper;

  constructor(
    readonly queue: BeeQueue<unknown>,
    readonly name: string,
    readonly prefix: string,
    private readonly logger: Logger,
    hooks: { onReconnect?(): void } = {},
  ) {
    const q = this.internals;
    this.scripts = keepScriptsLoaded(queue, beeQueueScripts, { onError: (err) => logger.warn({ err, queue: name }, 'reloading bee-queue scripts failed'), onReconnect: hooks.onReconnect });
    q._finishJob = (err, data, job) => this.finish(err, data, job as Job);
  }

  private get internals(): QueueInternals {
    return this.queue as unknown as QueueInternals;
  }
  get client(): RedisV3 {
    return this.internals.client;
  }
  get closed(): boolean {
    return this.internals.paused;
  }
  key(name: string): string {
    return this.internals.toKey(name);
  }

  /** Claims the job for a new attempt; null when it is already finished (by an earlier attempt) or gone. */
  async claim(job: BeeQueue.Job<unknown>): Promise<Attempt | null> {
    const attempt = new Attempt(this, job as Job);
    const ok = await untilRedisAnswers(() => evalScript<number>(this.client, CLAIM, [this.key('jobs'), attempt.key, this.key('active'), this.key('stalling')], [job.id, attempt.token, ATTEMPT_TTL_SECONDS]), { giveUp: () => this.closed });
    if (ok !== 1) return null;
    this.attempts.set(job, attempt);
    return attempt;
  }

  private async finish(err: Error | null, data: unknown, job: Job): Promise<[string, unknown]> {
    const attempt = this.attempts.get(job);
    if (!attempt || attempt.outcome !== 'finish') return [attempt?.outcome ?? 'unclaimed', err ?? data];
    if (this.internals._isClosed) throw new Error(`unable to update the status of job ${job.id}: queue closed`);
    // bee-queue's own bookkeeping, computed once (computeDelay grows an exponential backoff).
    const delay = err ? job.computeDelay() : -1;
    const status = err ? (delay >= 0 ? 'retrying' : 'failed') : 'succeeded';
    job.status = status;
    if (err) job.options.stacktraces.unshift(err.stack || err.message || String(err));
    if (status === 'retrying') job.options.retries = Number(job.options.retries) - 1;
    const retryAt = Date.now() + Math.max(0, delay);
    const target = status === 'retrying' ? 'delayed' : status;
    const event = JSON.stringify({ id: job.id, event: status, data: err ? err.message : data });
    const result = status === 'succeeded' && attempt.resultKey ? JSON.stringify(data) : '';
    const keys = [attempt.key, this.key('active'), this.key('stalling'), this.key('waiting'), this.key('jobs'), this.key(target), this.key('events'), this.key('earlierDelayed'), attempt.resultKey ?? attemptKey(this.prefix, this.name, job.id)];
    const started = Date.now();
    const done = await untilRedisAnswers(() => evalScript<number>(this.client, FINISH, keys, [job.id, attempt.token, status, job.toData(), event, retryAt, result, RENDER_RESULT_TTL_SECONDS]), {
      // While the worker stops, a Redis that stays away must not hold the process forever.
      giveUp: () => this.closed && Date.now() - started > 10_000,
    });
    if (done !== 1) {
      attempt.outcome = 'superseded';
      this.logger.warn({ jobId: job.id, queue: this.name, status }, 'attempt superseded: another attempt holds the job; this one finishes nothing');
      return ['superseded', err ?? data];
    }
    return [status, err ?? data];
  }
}
