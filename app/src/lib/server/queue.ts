/**
 * The render queue producer (bee-queue over Redis). bee-queue has no priorities, so there is one queue
 * per priority; workers poll them in order. Job events from every worker arrive through bee-queue's
 * pub/sub (getEvents) and are handed to the render service, which persists them and fans them out.
 *
 * Redis restarts: every client reconnects on its own (redisClientOptions); bee-queue's Lua scripts
 * are reloaded after each reconnect and on NOSCRIPT (keepScriptsLoaded); events published while the
 * connection was down are lost, so the render service reconciles rows from the queue's durable job
 * state (jobRecord, renderResult) after each reconnect, at start and periodically.
 *
 * For health endpoints: `queueReadiness(producer)` (or `producer.readiness()`) answers what
 * enqueue() would do right now: Redis connected, bee-queue's scripts loaded (reloading them if a
 * restarted Redis lost them, as enqueue would) and Redis accepting writes. Bounded by a timeout; it
 * never throws. `producer.connected` is the cheap synchronous part (liveness-grade).
 */
import { createRequire } from 'node:module';
import BeeQueue from 'bee-queue';
import type { z } from 'zod';
import {
  cancelChannel,
  cancelledKey,
  CANCELLED_TTL_SECONDS,
  keepScriptsLoaded,
  QUEUE_PREFIX,
  READINESS_PROBE_TTL_MS,
  readinessProbeKey,
  redisClientOptions,
  RENDER_QUEUES,
  RenderJobData,
  RenderProgress,
  RenderResult,
  renderResultKey,
  type BeeQueueScripts,
  type RenderPriority,
  type ScriptKeeper,
} from '@clipmaker/shared/jobs';

const beeQueueScripts = createRequire(import.meta.url)('bee-queue/lib/lua') as BeeQueueScripts & { shas: Record<string, string> };

type Cb<T> = (err: Error | null, v: T) => void;
/** The node-redis v3 calls made on bee-queue's command client. */
interface RedisV3 {
  readonly ready: boolean;
  set(key: string, value: string, mode: 'EX' | 'PX', amount: number, cb: Cb<unknown>): unknown;
  get(key: string, cb: Cb<string | null>): unknown;
  hget(key: string, field: string, cb: Cb<string | null>): unknown;
  publish(channel: string, message: string, cb: Cb<unknown>): unknown;
  lrem(key: string, count: number, value: string, cb: Cb<number>): unknown;
  script(sub: 'exists', ...shasAndCb: unknown[]): unknown;
}
const call = <T>(fn: (cb: Cb<T>) => unknown) => new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms)))]).finally(() => clearTimeout(timer));
}

/** enqueue() refused before sending anything: Redis is not connected. Nothing was queued. */
export class QueueUnavailableError extends Error {
  override name = 'QueueUnavailableError';
}

export interface QueueEvents {
  onProgress(p: RenderProgress): void;
  onSucceeded(r: RenderResult): void;
  onFailed(renderId: string, message: string): void;
  onRetrying(renderId: string, message: string): void;
  /** The connection came back after an outage: events may have been missed meanwhile. */
  onReconnected?(): void;
}

export interface QueueReadiness {
  /** True when an enqueue now would reach Redis and run bee-queue's script. */
  ok: boolean;
  redis: 'connected' | 'disconnected';
  /** 'reloaded': a restarted Redis had lost them and this check loaded them, as enqueue would. */
  scripts: 'loaded' | 'reloaded' | 'unknown';
  /** Redis accepted a write (a replica, MISCONF or OOM refuses it). */
  writable: boolean;
  latencyMs: number;
  error: string | null;
}

/** What the queue itself (Redis, not an event) says about a render's job. */
export interface QueueJobRecord {
  priority: RenderPriority;
  /** bee-queue's status: created (waiting or active), retrying (delayed), succeeded, failed. */
  status: string;
  /** The last failure's message (first line of the stored stack), if any. */
  lastError: string | null;
}

export class RenderQueueProducer {
  private readonly queues = new Map<RenderPriority, BeeQueue<RenderJobData>>();
  private keeper: ScriptKeeper | null = null;
  private readonly readyPromise: Promise<void>;

  constructor(redisUrl: string, private readonly prefix = QUEUE_PREFIX, private readonly events?: QueueEvents) {
    for (const [priority, name] of Object.entries(RENDER_QUEUES) as [RenderPriority, string][]) {
      const q = new BeeQueue<RenderJobData>(name, {
        prefix,
        redis: redisClientOptions(redisUrl),
        isWorker: false,
        getEvents: true,
        sendEvents: false,
        // Read jobs from Redis, never from a local cache that missed events while disconnected.
        storeJobs: false,
        removeOnSuccess: false,
        removeOnFailure: false,
      });
      q.on('error', () => {}); // connection errors surface through readiness(); never crash the app
      q.on('job progress', (_jobId, progress) => {
        const p = RenderProgress.safeParse(progress);
        if (p.success) this.events?.onProgress(p.data);
      });
      q.on('job succeeded', (_jobId, result) => {
        const r = RenderResult.safeParse(result);
        if (r.success) this.events?.onSucceeded(r.data);
      });
      q.on('job failed', (jobId, err) => this.events?.onFailed(jobId, errorMessage(err)));
      q.on('job retrying', (jobId, err) => this.events?.onRetrying(jobId, errorMessage(err)));
      this.queues.set(priority, q);
    }
    // Installed once the clients exist; until then bee-queue itself waits for Redis.
    this.readyPromise = Promise.all([...this.queues.values()].map((q) => q.ready())).then(() => {
      for (const [priority, q] of this.queues) {
        const keeper = keepScriptsLoaded(q, beeQueueScripts, { onError: () => {}, onReconnect: priority === 'normal' ? () => this.events?.onReconnected?.() : undefined });
        if (priority === 'normal') this.keeper = keeper;
      }
    });
    this.readyPromise.catch(() => {});
  }

  async ready(): Promise<void> {
    await this.readyPromise;
  }

  private client(priority: RenderPriority = 'normal'): RedisV3 | null {
    return (this.queues.get(priority) as unknown as { client: RedisV3 | null }).client;
  }

  /** Every command client is connected right now (no I/O). */
  get connected(): boolean {
    return this.keeper !== null && [...this.queues.keys()].every((p) => this.client(p)?.ready === true);
  }

  /**
   * Job id = render id, so a repeated submit cannot create a second job. Throws QueueUnavailableError
   * (nothing sent) when Redis is not connected, instead of waiting in the client's offline queue.
   */
  async enqueue(data: z.input<typeof RenderJobData>, priority: RenderPriority = 'normal'): Promise<void> {
    if (!this.keeper || this.client(priority)?.ready !== true) throw new QueueUnavailableError('Redis is not connected');
    const q = this.queues.get(priority)!;
    await q
      .createJob(RenderJobData.parse(data))
      .setId(data.renderId)
      .retries(3)
      .backoff('exponential', 2000)
      .timeout(60 * 60 * 1000)
      .save();
  }

  async jobState(renderId: string): Promise<{ priority: RenderPriority; status: string } | null> {
    const record = await this.jobRecord(renderId);
    return record && { priority: record.priority, status: record.status };
  }

  /** The job as Redis stores it (bee-queue's jobs hash), looked up in every priority queue. */
  async jobRecord(renderId: string): Promise<QueueJobRecord | null> {
    for (const [priority, q] of this.queues) {
      const raw = await call<string | null>((cb) => this.client(priority)!.hget((q as unknown as { toKey(k: string): string }).toKey('jobs'), renderId, cb));
      if (!raw) continue;
      const stored = JSON.parse(raw) as { status?: string; options?: { stacktraces?: unknown[] } };
      const stack = stored.options?.stacktraces?.[0];
      return { priority, status: stored.status ?? 'created', lastError: typeof stack === 'string' ? stack.split('\n')[0]!.replace(/^Error: /, '') : null };
    }
    return null;
  }

  /** The RenderResult a worker stored with the job's success (renderResultKey), if still there. */
  async renderResult(renderId: string): Promise<RenderResult | null> {
    const raw = await call<string | null>((cb) => this.client()!.get(renderResultKey(this.prefix, renderId), cb));
    if (!raw) return null;
    const parsed = RenderResult.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  }

  /**
   * Cancel on the farm side: a flag (so chunk jobs not yet started are skipped), a pub/sub message
   * (the worker running it aborts ffmpeg at once), and a waiting job leaves its queue. A job that is
   * already running is not removed here: its worker fails it with CANCELLED_MESSAGE. While Redis is
   * away the commands wait in the client for the reconnect instead of holding the caller.
   */
  async cancel(renderId: string): Promise<void> {
    const client = this.client();
    if (!client) return;
    const work = (async () => {
      await call((cb) => client.set(cancelledKey(this.prefix, renderId), '1', 'EX', CANCELLED_TTL_SECONDS, cb));
      await call((cb) => client.publish(cancelChannel(this.prefix), renderId, cb));
      for (const q of this.queues.values()) {
        const waiting = (q as unknown as { toKey(k: string): string }).toKey('waiting');
        const removed = await call<number>((cb) => client.lrem(waiting, 0, renderId, cb));
        if (removed > 0) await q.removeJob(renderId).catch(() => {});
      }
    })();
    if (client.ready) await work;
    else work.catch(() => {});
  }

  async remove(renderId: string): Promise<void> {
    for (const q of this.queues.values()) await q.removeJob(renderId).catch(() => {});
  }

  /** What enqueue() would do now; never throws (see the file comment). */
  async readiness(timeoutMs = 2000): Promise<QueueReadiness> {
    const started = Date.now();
    const client = this.client();
    const answer = (r: Omit<QueueReadiness, 'latencyMs'>): QueueReadiness => ({ ...r, latencyMs: Date.now() - started });
    if (!this.keeper || !this.connected || !client) return answer({ ok: false, redis: 'disconnected', scripts: 'unknown', writable: false, error: 'Redis is not connected' });
    const keeper = this.keeper;
    let scripts: QueueReadiness['scripts'] = 'unknown';
    let writable = false;
    try {
      await withTimeout(
        (async () => {
          const shas = Object.values(beeQueueScripts.shas);
          const exists = shas.length ? await call<number[]>((cb) => client.script('exists', ...shas, cb)) : [0];
          if (exists.some((e) => e !== 1)) {
            await keeper.reload();
            scripts = 'reloaded';
          } else scripts = 'loaded';
          await call((cb) => client.set(readinessProbeKey(this.prefix), String(Date.now()), 'PX', READINESS_PROBE_TTL_MS, cb));
          writable = true;
        })(),
        timeoutMs,
        'the Redis readiness check',
      );
      return answer({ ok: true, redis: 'connected', scripts, writable, error: null });
    } catch (err) {
      return answer({ ok: false, redis: this.connected ? 'connected' : 'disconnected', scripts, writable, error: errorMessage(err) });
    }
  }

  /** readiness().ok, for callers that only need a yes or no. */
  async ping(): Promise<boolean> {
    return (await this.readiness()).ok;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close(3000).catch(() => {})));
  }
}

/** For /readyz-style endpoints: what an enqueue would do right now (see RenderQueueProducer.readiness). */
export function queueReadiness(producer: RenderQueueProducer, timeoutMs?: number): Promise<QueueReadiness> {
  return producer.readiness(timeoutMs);
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : 'unknown error';
}
