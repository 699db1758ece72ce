/**
 * The app's ONE queue repository: every bee-queue call and every shared Redis key the app touches
 * (submit, admin console, metrics, reconciler) goes through RenderQueueProducer; no other module
 * imports bee-queue or spells a key.
 *
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
  parseWorkerHeartbeat,
  JobRun,
  jobRunsKey,
  QUEUE_PREFIX,
  queueKey,
  READINESS_PROBE_TTL_MS,
  RENDER_JOB_OPTIONS,
  RENDER_PRIORITIES,
  WorkerControl,
  workerControlKey,
  workerKey,
  workerRegistryKey,
  readinessProbeKey,
  redisClientOptions,
  RENDER_QUEUES,
  RenderJobData,
  RenderProgress,
  RenderResult,
  renderResultKey,
  REVIEW_PROXY_QUEUE,
  EDIT_PROXY_QUEUE,
  EditProxyJobData,
  EditProxyProgress,
  EditProxyResult,
  ReviewProxyJobData,
  ReviewProxyProgress,
  ReviewProxyResult,
  reviewProxyResultKey,
  type ReviewProxyJobInput,
  TRANSCRIBE_QUEUES,
  TranscribeJobData,
  TranscribeProgress,
  TranscribeResult,
  transcribeResultKey,
  type TranscribeJobInput,
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
  lrange(key: string, start: number, stop: number, cb: Cb<string[]>): unknown;
  del(key: string, cb: Cb<number>): unknown;
  hgetall(key: string, cb: Cb<Record<string, string> | null>): unknown;
  zrange(key: string, start: number, stop: number, cb: Cb<string[]>): unknown;
  zrem(key: string, member: string, cb: Cb<number>): unknown;
  set(key: string, value: string, cb: Cb<unknown>): unknown;
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
  /** Transcribe jobs (their job id is the transcript id). */
  onTranscribeProgress?(p: TranscribeProgress): void;
  onTranscribeSucceeded?(r: TranscribeResult): void;
  onTranscribeFailed?(transcriptId: string, message: string): void;
  /** Review-proxy (watermark) jobs (their job id is the proxy id). */
  onReviewProxyProgress?(p: ReviewProxyProgress): void;
  onReviewProxySucceeded?(r: ReviewProxyResult): void;
  onReviewProxyFailed?(proxyId: string, message: string): void;
  /** Edit-proxy jobs (their job id is the asset id). */
  onEditProxyProgress?(p: EditProxyProgress): void;
  onEditProxySucceeded?(r: EditProxyResult): void;
  onEditProxyFailed?(assetId: string, message: string): void;
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

/** A job as the admin console shows it (bee-queue's jobs hash entry). */
export interface QueueJobDetail {
  priority: RenderPriority;
  status: string;
  progress: unknown;
  retriesLeft: number | null;
  stacktraces: string[];
  data: RenderJobData | null;
}

/** Per priority queue, from bee-queue's checkHealth. */
export interface QueueDepth {
  priority: RenderPriority;
  waiting: number;
  active: number;
  delayed: number;
  failed: number;
  succeeded: number;
}

export type WorkerBeat = NonNullable<ReturnType<typeof parseWorkerHeartbeat>>;

export class RenderQueueProducer {
  private readonly queues = new Map<RenderPriority, BeeQueue<RenderJobData>>();
  /** The transcribe queues (one per priority, consumed only by workers with a speech engine). */
  private readonly transcribeQueues = new Map<RenderPriority, BeeQueue<TranscribeJobData>>();
  /** Watermarked review copies (one queue, every worker consumes it). */
  private readonly reviewProxyQueue: BeeQueue<ReviewProxyJobData>;
  /** Edit proxies of uploaded videos (one queue, every worker consumes it). */
  private readonly editProxyQueue: BeeQueue<EditProxyJobData>;
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
    for (const [priority, name] of Object.entries(TRANSCRIBE_QUEUES) as [RenderPriority, string][]) {
      const q = new BeeQueue<TranscribeJobData>(name, { prefix, redis: redisClientOptions(redisUrl), isWorker: false, getEvents: true, sendEvents: false, storeJobs: false, removeOnSuccess: false, removeOnFailure: false });
      q.on('error', () => {});
      q.on('job progress', (_jobId, progress) => {
        const p = TranscribeProgress.safeParse(progress);
        if (p.success) this.events?.onTranscribeProgress?.(p.data);
      });
      q.on('job succeeded', (_jobId, result) => {
        const r = TranscribeResult.safeParse(result);
        if (r.success) this.events?.onTranscribeSucceeded?.(r.data);
      });
      q.on('job failed', (jobId, err) => this.events?.onTranscribeFailed?.(jobId, errorMessage(err)));
      this.transcribeQueues.set(priority, q);
    }
    this.reviewProxyQueue = new BeeQueue<ReviewProxyJobData>(REVIEW_PROXY_QUEUE, { prefix, redis: redisClientOptions(redisUrl), isWorker: false, getEvents: true, sendEvents: false, storeJobs: false, removeOnSuccess: false, removeOnFailure: false });
    this.reviewProxyQueue.on('error', () => {});
    this.reviewProxyQueue.on('job progress', (_jobId, progress) => {
      const p = ReviewProxyProgress.safeParse(progress);
      if (p.success) this.events?.onReviewProxyProgress?.(p.data);
    });
    this.reviewProxyQueue.on('job succeeded', (_jobId, result) => {
      const r = ReviewProxyResult.safeParse(result);
      if (r.success) this.events?.onReviewProxySucceeded?.(r.data);
    });
    this.reviewProxyQueue.on('job failed', (jobId, err) => this.events?.onReviewProxyFailed?.(jobId, errorMessage(err)));
    this.editProxyQueue = new BeeQueue<EditProxyJobData>(EDIT_PROXY_QUEUE, { prefix, redis: redisClientOptions(redisUrl), isWorker: false, getEvents: true, sendEvents: false, storeJobs: false, removeOnSuccess: false, removeOnFailure: false });
    this.editProxyQueue.on('error', () => {});
    this.editProxyQueue.on('job progress', (_jobId, progress) => {
      const p = EditProxyProgress.safeParse(progress);
      if (p.success) this.events?.onEditProxyProgress?.(p.data);
    });
    this.editProxyQueue.on('job succeeded', (_jobId, result) => {
      const r = EditProxyResult.safeParse(result);
      if (r.success) this.events?.onEditProxySucceeded?.(r.data);
    });
    this.editProxyQueue.on('job failed', (jobId, err) => this.events?.onEditProxyFailed?.(jobId, errorMessage(err)));
    // Installed once the clients exist; until then bee-queue itself waits for Redis.
    this.readyPromise = Promise.all([...this.queues.values(), ...this.transcribeQueues.values(), this.reviewProxyQueue, this.editProxyQueue].map((q) => q.ready())).then(() => {
      for (const [priority, q] of this.queues) {
        const keeper = keepScriptsLoaded(q, beeQueueScripts, { onError: () => {}, onReconnect: priority === 'normal' ? () => this.events?.onReconnected?.() : undefined });
        if (priority === 'normal') this.keeper = keeper;
      }
      for (const q of this.transcribeQueues.values()) keepScriptsLoaded(q, beeQueueScripts, { onError: () => {} });
      keepScriptsLoaded(this.reviewProxyQueue, beeQueueScripts, { onError: () => {} });
      keepScriptsLoaded(this.editProxyQueue, beeQueueScripts, { onError: () => {} });
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
      .retries(RENDER_JOB_OPTIONS.retries)
      .backoff(RENDER_JOB_OPTIONS.backoff.strategy, RENDER_JOB_OPTIONS.backoff.delayMs)
      .timeout(RENDER_JOB_OPTIONS.timeoutMs)
      .save();
  }

  // ---------------------------------------------------------------- transcribe jobs

  /** Job id = transcript id (a repeated submit cannot create a second job). Throws QueueUnavailableError when Redis is not connected. */
  async enqueueTranscribe(data: TranscribeJobInput): Promise<void> {
    const job = TranscribeJobData.parse(data);
    const q = this.transcribeQueues.get(job.priority)!;
    if (!this.keeper || (q as unknown as { client: RedisV3 | null }).client?.ready !== true) throw new QueueUnavailableError('Redis is not connected');
    await q
      .createJob(job)
      .setId(job.transcriptId)
      .retries(RENDER_JOB_OPTIONS.retries)
      .backoff(RENDER_JOB_OPTIONS.backoff.strategy, RENDER_JOB_OPTIONS.backoff.delayMs)
      .timeout(RENDER_JOB_OPTIONS.timeoutMs)
      .save();
  }

  /** bee-queue's status of a transcript's job (created, retrying, succeeded, failed), or null when the queue has none. */
  async transcribeJobRecord(transcriptId: string): Promise<QueueJobRecord | null> {
    return this.recordIn(this.transcribeQueues, transcriptId);
  }

  /** The TranscribeResult a worker stored with the job's success (transcribeResultKey), if still there. */
  async transcribeResult(transcriptId: string): Promise<TranscribeResult | null> {
    const raw = await call<string | null>((cb) => this.connectedClient().get(transcribeResultKey(this.prefix, transcriptId), cb));
    if (!raw) return null;
    const parsed = TranscribeResult.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  }

  // ---------------------------------------------------------------- review-proxy (watermark) jobs

  /** Job id = proxy id. Throws QueueUnavailableError when Redis is not connected (nothing sent). */
  async enqueueReviewProxy(data: ReviewProxyJobInput): Promise<void> {
    const job = ReviewProxyJobData.parse(data);
    if (!this.keeper || (this.reviewProxyQueue as unknown as { client: RedisV3 | null }).client?.ready !== true) throw new QueueUnavailableError('Redis is not connected');
    await this.reviewProxyQueue
      .createJob(job)
      .setId(job.proxyId)
      .retries(RENDER_JOB_OPTIONS.retries)
      .backoff(RENDER_JOB_OPTIONS.backoff.strategy, RENDER_JOB_OPTIONS.backoff.delayMs)
      .timeout(RENDER_JOB_OPTIONS.timeoutMs)
      .save();
  }

  async reviewProxyJobRecord(proxyId: string): Promise<QueueJobRecord | null> {
    return this.recordIn(new Map<RenderPriority, BeeQueue<ReviewProxyJobData>>([['normal', this.reviewProxyQueue]]), proxyId);
  }

  /** The ReviewProxyResult a worker stored with the job's success, if still there. */
  async reviewProxyResult(proxyId: string): Promise<ReviewProxyResult | null> {
    const raw = await call<string | null>((cb) => this.connectedClient().get(reviewProxyResultKey(this.prefix, proxyId), cb));
    if (!raw) return null;
    const parsed = ReviewProxyResult.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : null;
  }

  // ---------------------------------------------------------------- edit-proxy jobs

  /**
   * Job id = asset id (of the asset that requested it). A finished job of that id (a failed proxy
   * being retried) is removed first: bee-queue keeps finished jobs and ignores a new one with their id.
   * Throws QueueUnavailableError when Redis is not connected (nothing sent).
   */
  async enqueueEditProxy(data: EditProxyJobData): Promise<void> {
    const job = EditProxyJobData.parse(data);
    if (!this.keeper || (this.editProxyQueue as unknown as { client: RedisV3 | null }).client?.ready !== true) throw new QueueUnavailableError('Redis is not connected');
    const old = await this.editProxyJobRecord(job.assetId);
    if (old?.status === 'failed' || old?.status === 'succeeded') await this.editProxyQueue.removeJob(job.assetId);
    await this.editProxyQueue
      .createJob(job)
      .setId(job.assetId)
      .retries(RENDER_JOB_OPTIONS.retries)
      .backoff(RENDER_JOB_OPTIONS.backoff.strategy, RENDER_JOB_OPTIONS.backoff.delayMs)
      .timeout(RENDER_JOB_OPTIONS.timeoutMs)
      .save();
  }

  async editProxyJobRecord(assetId: string): Promise<QueueJobRecord | null> {
    return this.recordIn(new Map<RenderPriority, BeeQueue<EditProxyJobData>>([['normal', this.editProxyQueue]]), assetId);
  }

  /**
   * Puts a render back on the queue as a fresh job (admin retry, priority change): the old job and
   * a cancel flag are removed first. `data` comes from shared/jobs renderJobData, so chunking is kept.
   */
  async requeue(data: RenderJobData, priority: RenderPriority): Promise<void> {
    await this.remove(data.renderId);
    await this.clearCancelled(data.renderId);
    await this.enqueue(data, priority);
  }

  /** Drops the cancel flag that makes workers skip a render's jobs. */
  async clearCancelled(renderId: string): Promise<void> {
    const client = this.connectedClient();
    await call((cb) => client.del(cancelledKey(this.prefix, renderId), cb));
  }

  private connectedClient(): RedisV3 {
    const client = this.client();
    if (!this.keeper || client?.ready !== true) throw new QueueUnavailableError('Redis is not connected');
    return client;
  }

  async depths(): Promise<QueueDepth[]> {
    await this.ready();
    return Promise.all(
      RENDER_PRIORITIES.map(async (priority) => {
        const h = await this.queues.get(priority)!.checkHealth();
        return { priority, waiting: h.waiting, active: h.active, delayed: h.delayed, failed: h.failed, succeeded: h.succeeded };
      }),
    );
  }

  /** The job's full record in whichever priority queue holds it. */
  async jobDetail(renderId: string): Promise<QueueJobDetail | null> {
    await this.ready();
    for (const [priority, q] of this.queues) {
      const raw = await call<string | null>((cb) => this.client(priority)!.hget(queueKey(this.prefix, q.name, 'jobs'), renderId, cb));
      if (!raw) continue;
      const stored = JSON.parse(raw) as { status?: string; progress?: unknown; data?: unknown; options?: { retries?: unknown; stacktraces?: unknown[] } };
      const data = RenderJobData.safeParse(stored.data);
      return {
        priority,
        status: stored.status ?? 'created',
        progress: stored.progress ?? null,
        retriesLeft: typeof stored.options?.retries === 'number' ? stored.options.retries : null,
        stacktraces: (stored.options?.stacktraces ?? []).filter((s): s is string => typeof s === 'string').map((s) => s.slice(0, 4000)),
        data: data.success ? data.data : null,
      };
    }
    return null;
  }

  /** The ffmpeg runs workers recorded for a render (shared/jobs JobRun), oldest first. */
  async jobRuns(renderId: string): Promise<JobRun[]> {
    await this.ready();
    const client = this.connectedClient();
    const raw = await call<string[]>((cb) => client.lrange(jobRunsKey(this.prefix, renderId), 0, -1, cb));
    return raw.flatMap((r) => {
      try {
        const parsed = JobRun.safeParse(JSON.parse(r));
        return parsed.success ? [parsed.data] : [];
      } catch {
        return [];
      }
    });
  }

  // ---------------------------------------------------------------- workers (heartbeats, control flags)

  /**
   * Every registered worker's last heartbeat (parsed with shared/jobs' schema). A member whose hash
   * has expired (its grace period is over) is dropped from the registry here.
   */
  async workerBeats(): Promise<Array<WorkerBeat & { control: WorkerControl | null }>> {
    await this.ready();
    const client = this.connectedClient();
    const registry = workerRegistryKey(this.prefix);
    const ids = await call<string[]>((cb) => client.zrange(registry, 0, -1, cb));
    const out: Array<WorkerBeat & { control: WorkerControl | null }> = [];
    for (const id of ids) {
      const beat = parseWorkerHeartbeat(await call<Record<string, string> | null>((cb) => client.hgetall(workerKey(this.prefix, id), cb)));
      if (!beat) {
        await call((cb) => client.zrem(registry, id, cb));
        continue;
      }
      const control = WorkerControl.safeParse(await call<string | null>((cb) => client.get(workerControlKey(this.prefix, id), cb))).data ?? null;
      out.push({ ...beat, workerId: id, control });
    }
    return out;
  }

  async setWorkerControl(workerId: string, control: WorkerControl | null): Promise<void> {
    await this.ready();
    const client = this.connectedClient();
    const key = workerControlKey(this.prefix, workerId);
    if (control) await call((cb) => client.set(key, control, cb));
    else await call((cb) => client.del(key, cb));
  }

  async forgetWorker(workerId: string): Promise<void> {
    await this.ready();
    const client = this.connectedClient();
    await call((cb) => client.zrem(workerRegistryKey(this.prefix), workerId, cb));
    await call((cb) => client.del(workerKey(this.prefix, workerId), cb));
  }

  async jobState(renderId: string): Promise<{ priority: RenderPriority; status: string } | null> {
    const record = await this.jobRecord(renderId);
    return record && { priority: record.priority, status: record.status };
  }

  /** The job as Redis stores it (bee-queue's jobs hash), looked up in every priority queue. */
  async jobRecord(renderId: string): Promise<QueueJobRecord | null> {
    return this.recordIn(this.queues, renderId);
  }

  private async recordIn<T>(queues: Map<RenderPriority, BeeQueue<T>>, jobId: string): Promise<QueueJobRecord | null> {
    for (const [priority, q] of queues) {
      const client = (q as unknown as { client: RedisV3 | null }).client!;
      const raw = await call<string | null>((cb) => client.hget(queueKey(this.prefix, q.name, 'jobs'), jobId, cb));
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
      // The id is a render's or a transcript's: workers check both kinds of job against the flag.
      for (const q of [...this.queues.values(), ...this.transcribeQueues.values()] as BeeQueue<unknown>[]) {
        const waiting = queueKey(this.prefix, q.name, 'waiting');
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
    await Promise.all([...this.queues.values(), ...this.transcribeQueues.values(), this.reviewProxyQueue, this.editProxyQueue].map((q) => q.close(3000).catch(() => {})));
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
