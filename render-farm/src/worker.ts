/**
 * The queue consumer. Producer contract (the app's $lib/server/queue), kept here beside the code
 * that depends on it:
 *
 *   const queue = new BeeQueue(RENDER_QUEUES[priority], { prefix: QUEUE_PREFIX, isWorker: false, redis });
 *   await queue.createJob(RenderJobData.parse(data)).retries(3).backoff('exponential', 2000).save();
 *
 * - Transient failures (ffmpeg crash, storage hiccup, worker shutdown) throw a plain Error and use
 *   the job's retries with its backoff.
 * - Permanent failures (invalid spec or payload, missing or non-media source) throw an Error whose
 *   message starts with PERMANENT_ERROR_PREFIX; the worker zeroes the job's remaining retries first,
 *   so bee-queue records it as failed at once ('failed' event, no 'retrying').
 * - Progress events carry RenderProgress; the 'succeeded' event carries RenderResult.
 * - A worker that dies mid-job stops refreshing its stall marker; another worker's stalled-job
 *   check (every stallIntervalMs) puts the job back in the waiting list.
 */
import { hostname } from 'node:os';
import BeeQueue from 'bee-queue';
import { cancelChannel, cancelledKey, CANCELLED_MESSAGE, QUEUE_PREFIX, RENDER_CHUNK_QUEUE, RENDER_QUEUES, RenderProgress, type RenderPriority, type RenderResult } from '@clipmaker/shared/jobs';
import { pino, type Logger } from 'pino';
import { probeCapabilities, type Capabilities, type RenderTarget } from './capabilities.ts';
import { errorMessage, isPermanentError, RenderAbortedError } from './errors.ts';
import { startHeartbeat, workerKey, type Heartbeat, type HeartbeatRedis } from './heartbeat.ts';
import { GateClosedError, PriorityGate } from './priority-gate.ts';
import { parseJobData, runRenderJob } from './render-job.ts';
import { BLOCKLISTED_MESSAGE, JobBlocklist, type BlocklistRedis } from './blocklist.ts';
import { runChunkedRender, runChunkJob } from './chunked.ts';
import type { Storage } from './storage/index.ts';

export const PRIORITIES: readonly RenderPriority[] = ['high', 'normal', 'low'];

export interface WorkerOptions {
  /** Default redis://127.0.0.1:6379. */
  redisUrl?: string;
  storage: Storage;
  /** Renders at once on this worker (default 1). */
  concurrency?: number;
  /** Default `${hostname}-${pid}`. */
  workerId?: string;
  logger?: Logger;
  /** bee-queue key prefix (default QUEUE_PREFIX); tests pass a unique one. */
  prefix?: string;
  /** Queue names per priority (default RENDER_QUEUES). */
  queueNames?: Partial<Record<RenderPriority, string>>;
  /** Priorities consumed, best first (default high, normal, low). */
  priorities?: readonly RenderPriority[];
  /** A job whose worker has not refreshed it for this long is re-queued (default 10 s). */
  stallIntervalMs?: number;
  heartbeatIntervalMs?: number;
  heartbeatTtlSeconds?: number;
  /** Parent of per-job work folders (default os.tmpdir()). */
  workRoot?: string;
  target?: RenderTarget | 'auto';
  /** Skips the capability probe (tests, or a probe shared by several workers). */
  capabilities?: Capabilities;
  /** How long stop() lets running renders finish before aborting them (default 120 s). */
  stopTimeoutMs?: number;
  /** Minimum time between two progress events of one job (default 1 s). */
  progressIntervalMs?: number;
  /** Chunk/audio job queue name (default RENDER_CHUNK_QUEUE). */
  chunkQueueName?: string;
  /** Transient failures of one job on this worker before it leaves the job to others (default 2). */
  blocklistAfter?: number;
}

export interface RenderWorker {
  readonly workerId: string;
  readonly capabilities: Capabilities;
  /** Queue names consumed, best priority first. */
  readonly queues: string[];
  /** Stops taking jobs, lets running renders finish (bounded), re-queues held ones, closes. */
  stop(): Promise<void>;
}

interface RunningJob {
  id: string;
  queue: string;
  renderId: string | null;
  abort: AbortController;
  done: Promise<unknown>;
  cancelled: boolean;
}

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Message of the error that sends a job back to the queue when the worker stops before starting it. */
export const NOT_STARTED_MESSAGE = 'worker stopping: job not started, re-queued';

export async function startWorker(opts: WorkerOptions): Promise<RenderWorker> {
  const workerId = opts.workerId ?? `${hostname()}-${process.pid}`;
  const logger = (opts.logger ?? pino({ name: 'render-farm' })).child({ workerId });
  const prefix = opts.prefix ?? QUEUE_PREFIX;
  const priorities = opts.priorities ?? PRIORITIES;
  const concurrency = opts.concurrency ?? 1;
  const stallInterval = opts.stallIntervalMs ?? 10_000;
  const progressInterval = opts.progressIntervalMs ?? 1000;

  const capabilities = opts.capabilities ?? (await probeCapabilities());
  logger.info({ capabilities }, 'ffmpeg capabilities');

  const gate = new PriorityGate(concurrency, priorities);
  const running = new Map<string, RunningJob>();
  let stopping = false;

  const queueSpecs: { priority: RenderPriority | null; name: string }[] = [
    ...priorities.map((priority) => ({ priority, name: opts.queueNames?.[priority] ?? RENDER_QUEUES[priority] })),
    // Chunk and audio jobs of chunked renders; each carries its render's priority for the gate.
    { priority: null, name: opts.chunkQueueName ?? RENDER_CHUNK_QUEUE },
  ];
  const queues = queueSpecs.map(({ priority, name }) => {
    const queue = new BeeQueue<unknown>(name, {
      prefix,
      redis: { url: opts.redisUrl ?? DEFAULT_REDIS_URL },
      isWorker: true,
      getEvents: false,
      sendEvents: true,
      stallInterval,
      // Retries with a backoff sit in the delayed set; some queue instance must activate them.
      activateDelayedJobs: true,
      removeOnSuccess: false,
      removeOnFailure: false,
    });
    queue.on('error', (err) => logger.error({ err, queue: name }, 'queue error'));
    queue.on('stalled', (jobId) => logger.warn({ jobId, queue: name }, 're-queued a stalled job'));
    return { priority, name, queue };
  });
  await Promise.all(queues.map((q) => q.queue.ready()));
  const chunkQueue = queues[queues.length - 1]!.queue;

  type RedisV3 = BlocklistRedis & {
    exists(key: string, cb: (err: Error | null, n: number) => void): unknown;
    get(key: string, cb: (err: Error | null, v: string | null) => void): unknown;
    keys(pattern: string, cb: (err: Error | null, keys: string[]) => void): unknown;
    subscribe(channel: string): unknown;
    on(event: 'message', fn: (channel: string, message: string) => void): unknown;
    on(event: 'error', fn: (err: Error) => void): unknown;
    quit(cb?: (err: Error | null) => void): unknown;
  };
  const baseClient = (queues[0]!.queue as unknown as { client: { duplicate(): RedisV3 } }).client;
  const commands = baseClient.duplicate();
  commands.on('error', (err) => logger.warn({ err }, 'redis command client error'));
  const blocklist = new JobBlocklist(commands, prefix, { maxFailures: opts.blocklistAfter ?? 2 });
  const liveWorkerIds = () =>
    new Promise<string[]>((resolve, reject) =>
      commands.keys(workerKey(prefix, '*'), (err, keys) => (err ? reject(err) : resolve(keys.map((k) => k.slice(workerKey(prefix, '').length))))),
    );
  const isCancelled = (renderId: string) =>
    new Promise<boolean>((resolve, reject) => commands.exists(cancelledKey(prefix, renderId), (err, n) => (err ? reject(err) : resolve(n > 0))));
  // Cancel: the app publishes the render id; every job of that render running here stops at once.
  const subscriber = baseClient.duplicate();
  subscriber.on('error', (err) => logger.warn({ err }, 'cancel subscriber error'));
  subscriber.on('message', (_channel, renderId) => {
    for (const j of running.values()) {
      if (j.renderId !== renderId) continue;
      j.cancelled = true;
      j.abort.abort();
      logger.info({ jobId: j.id, renderId }, 'render cancelled: ffmpeg aborted');
    }
  });
  subscriber.subscribe(cancelChannel(prefix));

  const heartbeat: Heartbeat = startHeartbeat({
    // Its own connection, so the beat and the final DEL do not race the queues' shutdown.
    client: (queues[0]!.queue as unknown as { client: { duplicate(): HeartbeatRedis } }).client.duplicate(),
    key: workerKey(prefix, workerId),
    intervalMs: opts.heartbeatIntervalMs ?? 5000,
    ttlSeconds: opts.heartbeatTtlSeconds ?? 30,
    fields: () => ({
      workerId,
      host: hostname(),
      pid: String(process.pid),
      status: stopping ? 'stopping' : 'running',
      concurrency: String(concurrency),
      queues: queues.map((q) => q.name).join(','),
      capabilities: JSON.stringify(capabilities),
      currentJob: [...running.values()].map((j) => `${j.queue}:${j.id}${j.renderId ? `:${j.renderId}` : ''}`).join(','),
    }),
    onError: (err) => logger.warn({ err }, 'heartbeat failed'),
  });
  await heartbeat.beat();

  const handle = async (queueName: string, queuePriority: RenderPriority | null, job: BeeQueue.Job<unknown>): Promise<unknown> => {
    const isChunk = queuePriority === null;
    const rawPriority = (job.data as { priority?: unknown })?.priority;
    const priority: RenderPriority = queuePriority ?? (rawPriority === 'high' || rawPriority === 'low' ? rawPriority : 'normal');
    // A coordinator (chunked render job) only plans, waits and stitches: it takes no encode slot.
    let coordinator = false;
    if (!isChunk) {
      try {
        coordinator = parseJobData(job.data).chunking !== null;
      } catch {
        coordinator = false; // runRenderJob reports the payload error
      }
    }
    const renderIdOf = typeof (job.data as { renderId?: unknown })?.renderId === 'string' ? (job.data as { renderId: string }).renderId : null;
    if (await blocklist.shouldSkip(queueName, job.id, workerId, () => liveWorkerIds()).catch(() => false)) {
      job.options.retries = (Number(job.options.retries) || 0) + 1;
      logger.warn({ jobId: job.id, queue: queueName }, 'blocklisted for this job: leaving it to another worker');
      throw new Error(BLOCKLISTED_MESSAGE);
    }
    // Farm admin drain/pause (app services/admin.ts sets `${prefix}:workers:${id}:control`): start nothing new here.
    const control = await new Promise<string | null>((resolve) => commands.get(`${workerKey(prefix, workerId)}:control`, (err, v) => resolve(err ? null : v)));
    if (control === 'drain' || control === 'pause') {
      job.options.retries = (Number(job.options.retries) || 0) + 1; // handed back: no attempt lost
      throw new Error(`worker ${control === 'drain' ? 'draining' : 'paused'}: job handed back to the queue`);
    }
    if (renderIdOf && (await isCancelled(renderIdOf).catch(() => false))) {
      job.options.retries = 0;
      throw new Error(CANCELLED_MESSAGE);
    }
    let release: () => void;
    try {
      release = coordinator ? () => {} : await gate.acquire(priority);
    } catch (err) {
      if (err instanceof GateClosedError) {
        // Taken from Redis but never started: give the attempt back so only the delay is lost.
        job.options.retries = (Number(job.options.retries) || 0) + 1;
        throw new Error(NOT_STARTED_MESSAGE);
      }
      throw err;
    }
    const renderId = typeof (job.data as { renderId?: unknown })?.renderId === 'string' ? (job.data as { renderId: string }).renderId : null;
    const jobLog = logger.child({ jobId: job.id, queue: queueName, renderId });
    const abort = new AbortController();
    // bee-queue enforces job.timeout() by rejecting the handler's promise; it cannot stop ffmpeg.
    const timeoutMs = Number(job.options.timeout) || 0;
    const timeoutTimer = timeoutMs > 0 ? setTimeout(() => abort.abort(), timeoutMs) : null;
    let lastProgressAt = 0;
    let lastStage = '';
    const onProgress = (p: RenderProgress) => {
      const now = Date.now();
      if (p.stage === lastStage && p.percent < 100 && now - lastProgressAt < progressInterval) return;
      lastStage = p.stage;
      lastProgressAt = now;
      const parsed = RenderProgress.safeParse(p);
      if (parsed.success) Promise.resolve(job.reportProgress(parsed.data)).catch((err: unknown) => jobLog.warn({ err }, 'progress report failed'));
    };
    const deps = { storage: opts.storage, capabilities, workerId, logger: jobLog, target: opts.target, workRoot: opts.workRoot, signal: abort.signal, onProgress };
    const done: Promise<unknown> = isChunk
      ? runChunkJob(job.data, { ...deps, onProgress: undefined })
      : coordinator
        ? runChunkedRender(parseJobData(job.data), { ...deps, chunkQueue })
        : runRenderJob(job.data, deps);
    const entry: RunningJob = { id: job.id, queue: queueName, renderId, abort, done, cancelled: false };
    running.set(job.id, entry);
    heartbeat.beat().catch(() => {});
    jobLog.info({ attempt: (job.options.stacktraces?.length ?? 0) + 1, retriesLeft: job.options.retries }, 'job started');
    try {
      return await done;
    } catch (err) {
      if (entry.cancelled) {
        job.options.retries = 0;
        jobLog.info('job cancelled');
        throw new Error(CANCELLED_MESSAGE);
      }
      if (!isPermanentError(err) && !(err instanceof RenderAbortedError)) {
        const n = await blocklist.recordFailure(queueName, job.id, workerId).catch(() => 0);
        if (n >= (opts.blocklistAfter ?? 2)) jobLog.warn({ failures: n }, 'this worker is now blocklisted for the job');
      }
      if (isPermanentError(err)) {
        job.options.retries = 0; // bee-queue reads this when it records the failure: no retry
        jobLog.error({ reason: errorMessage(err) }, 'job failed permanently');
      } else if (err instanceof RenderAbortedError) {
        const why = stopping ? 'worker stopping' : `job timeout of ${timeoutMs} ms reached`;
        jobLog.warn({ why }, 'render aborted; the queue retries it if attempts remain');
        throw new Error(`render aborted: ${why}`);
      } else {
        jobLog.error({ err, retriesLeft: job.options.retries }, 'job failed');
      }
      throw err;
    } finally {
      if (timeoutTimer) clearTimeout(timeoutTimer);
      running.delete(job.id);
      release();
      heartbeat.beat().catch(() => {});
    }
  };

  for (const { queue, name, priority } of queues) {
    // Each queue may hold up to `concurrency` jobs; the gate lets `concurrency` of them run in total.
    queue.process(concurrency, (job: BeeQueue.Job<unknown>) => handle(name, priority, job));
    queue.checkStalledJobs(stallInterval, (err) => {
      if (err) logger.warn({ err, queue: name }, 'stalled-job check failed');
    });
  }
  logger.info({ queues: queues.map((q) => q.name), prefix, concurrency }, 'worker started');

  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      const timeoutMs = opts.stopTimeoutMs ?? 120_000;
      logger.info({ running: running.size, timeoutMs }, 'worker stopping');
      // Closing a bee-queue stops its blocking pop at once (no new jobs), then waits for its active
      // handlers; the gate makes held-but-not-started handlers settle right away.
      const closing = queues.map((q) => q.queue.close(timeoutMs + 10_000).catch((err: unknown) => logger.warn({ err, queue: q.name }, 'queue close timed out')));
      gate.close();
      const settled = Promise.allSettled([...running.values()].map((j) => j.done));
      const timedOut = await Promise.race([settled.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref())]);
      if (timedOut) {
        logger.warn({ running: [...running.keys()] }, 'stop timeout: aborting running renders');
        for (const j of running.values()) j.abort.abort();
        await settled;
      }
      await heartbeat.stop().catch(() => {});
      await Promise.all(closing);
      subscriber.quit();
      commands.quit();
      logger.info('worker stopped');
    })());

  return { workerId, capabilities, queues: queues.map((q) => q.name), stop };
}
