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
 * - Progress events carry RenderProgress; the 'succeeded' event carries RenderResult, which is also
 *   kept at renderResultKey for the app's reconciliation.
 * - A worker that dies mid-job stops refreshing its stall marker; another worker's stalled-job
 *   check (every stallIntervalMs) puts the job back in the waiting list. Its ffmpeg dies with it
 *   (parent-death signal) and the next sweep on this host removes its temp folder.
 * - Jobs this worker will not run (blocklisted, drained/paused, stopping, a stitch it could not do)
 *   are handed back to the front of their queue untouched (queue-runtime.ts).
 * - Redis outages: every client reconnects (redisClientOptions) and has an 'error' listener; work in
 *   progress carries on, finishing waits for Redis, bee-queue's scripts are reloaded on reconnect.
 */
import { hostname } from 'node:os';
import BeeQueue from 'bee-queue';
import {
  cancelChannel,
  cancelledKey,
  CANCELLED_MESSAGE,
  HEARTBEAT_INTERVAL_MS,
  QUEUE_PREFIX,
  redisClientOptions,
  RENDER_CHUNK_QUEUE,
  RENDER_QUEUES,
  RenderProgress,
  REVIEW_PROXY_QUEUE,
  EDIT_PROXY_QUEUE,
  EditProxyProgress,
  editProxyResultKey,
  ReviewProxyProgress,
  reviewProxyResultKey,
  renderResultKey,
  TRANSCRIBE_QUEUES,
  TranscribeProgress,
  transcribeResultKey,
  WORKER_GRACE_SECONDS,
  WorkerControl,
  workerControlKey,
  workerHealth,
  workerKey,
  workerRegistryKey,
  JOB_RUN_STDERR_LINES,
  JOB_RUNS_MAX,
  JOB_RUNS_TTL_SECONDS,
  JobRun,
  jobRunsKey,
  type RenderPriority,
} from '@clipmaker/shared/jobs';
import { pino, type Logger } from 'pino';
import { probeCapabilities, type Capabilities, type RenderTarget } from './capabilities.ts';
import { errorMessage, isPermanentError, RenderAbortedError, StitchError } from './errors.ts';
import { startHeartbeat, type Heartbeat, type HeartbeatRedis } from './heartbeat.ts';
import { chunkCacheSettings, startChunkCacheSweeper, type ChunkCacheSettings } from './chunk-cache.ts';
import { GateClosedError, PriorityGate } from './priority-gate.ts';
import { parseJobData, runRenderJob } from './render-job.ts';
import type { RunRecorder } from './render.ts';
import { queryGpus } from './gpu.ts';
import { BLOCKLISTED_MESSAGE, JobBlocklist, type BlocklistRedis } from './blocklist.ts';
import { runChunkedRender, runChunkJob } from './chunked.ts';
import { fencedStorage, QueueRuntime, SupersededError, type Attempt } from './queue-runtime.ts';
import { openWorkDir } from './workdir.ts';
import type { Storage } from './storage/index.ts';
import { runReviewProxyJob } from './review-proxy-job.ts';
import { runEditProxyJob } from './edit-proxy-job.ts';
import { probeEngines, runTranscribeJob, type EngineProbe, type SpeechEngine } from './transcribe/index.ts';

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
  /** Default HEARTBEAT_INTERVAL_MS (5 s); the attempt and cancel checks run as often. */
  heartbeatIntervalMs?: number;
  /** How long this worker's last beat stays listed after it died (default WORKER_GRACE_SECONDS). */
  workerGraceSeconds?: number;
  /** Parent of this worker's temp folder (default os.tmpdir()). */
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
  /** After handing a job back, how long this worker waits before taking one from that queue (default 1 s). */
  handBackPauseMs?: number;
  /** Transcribe queue names per priority (default TRANSCRIBE_QUEUES). */
  transcribeQueueNames?: Partial<Record<RenderPriority, string>>;
  /**
   * Speech engines (default: probed: pocketsphinx, whisper with WHISPER_MODEL). A worker with none
   * does not consume the transcribe queues; [] turns transcription off here.
   */
  engines?: readonly SpeechEngine[];
  /** Review-proxy (watermark) queue name (default REVIEW_PROXY_QUEUE); false: this worker takes none. */
  reviewProxyQueueName?: string | false;
  /** Edit-proxy queue name (default EDIT_PROXY_QUEUE); false: this worker takes none. */
  editProxyQueueName?: string | false;
  /** Bounds the shared chunk cache (chunk-cache.ts); default from RENDER_CHUNK_CACHE_* env, false: no sweeping here. */
  chunkCache?: ChunkCacheSettings | false;
}

export interface RenderWorker {
  readonly workerId: string;
  readonly capabilities: Capabilities;
  /** Speech engines this worker runs transcribe jobs with (empty: it takes none). */
  readonly engines: readonly SpeechEngine[];
  /** Queue names consumed, best priority first. */
  readonly queues: string[];
  /** This worker's temp folder (per-job folders inside). */
  readonly workDir: string;
  /** Stops taking jobs, lets running renders finish (bounded), hands held ones back, closes. */
  stop(): Promise<void>;
}

interface RunsMulti {
  rpush(key: string, value: string): RunsMulti;
  ltrim(key: string, start: number, stop: number): RunsMulti;
  expire(key: string, seconds: number): RunsMulti;
  exec(cb: (err: Error | null) => void): unknown;
}

interface RunningJob {
  id: string;
  queue: string;
  renderId: string | null;
  abort: AbortController;
  attempt: Attempt;
  done: Promise<unknown>;
  cancelled: boolean;
  /** Stopped by a farm admin's pause: handed back to the queue untouched, not failed. */
  paused: boolean;
}

/** What one attempt came to when it did not settle with a value or an error. */
type HandedBack = { handedBack: 'control' | 'blocklist' | 'stitch' | 'stopping' | 'finished-elsewhere' };

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

/** Logged when the worker stops before starting a job it held: the job went back to its queue. */
export const NOT_STARTED_MESSAGE = 'worker stopping: job not started, handed back';

type Cb<T> = (err: Error | null, v: T) => void;
type RedisV3 = BlocklistRedis & {
  exists(key: string, cb: Cb<number>): unknown;
  get(key: string, cb: Cb<string | null>): unknown;
  hmget(key: string, ...fieldsAndCb: unknown[]): unknown;
  zrangebyscore(key: string, min: number | string, max: number | string, cb: Cb<string[]>): unknown;
  subscribe(channel: string): unknown;
  on(event: 'message', fn: (channel: string, message: string) => void): unknown;
  on(event: 'error', fn: (err: Error) => void): unknown;
  quit(cb?: Cb<unknown>): unknown;
};
const call = <T>(fn: (cb: Cb<T>) => unknown) => new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));

export async function startWorker(opts: WorkerOptions): Promise<RenderWorker> {
  const workerId = opts.workerId ?? `${hostname()}-${process.pid}`;
  // Every line names its service and worker; job lines add jobId/queue/renderId, lifecycle lines an `event` and `durationMs`.
  const logger = (opts.logger ?? pino({ name: 'render-farm' })).child({ service: 'render-farm', workerId });
  const prefix = opts.prefix ?? QUEUE_PREFIX;
  const priorities = opts.priorities ?? PRIORITIES;
  const concurrency = opts.concurrency ?? 1;
  const stallInterval = opts.stallIntervalMs ?? 10_000;
  const progressInterval = opts.progressIntervalMs ?? 1000;
  const heartbeatInterval = opts.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS;
  // The hash must outlive a few beats, or a live worker would flicker out of the registry.
  const graceSeconds = Math.max(opts.workerGraceSeconds ?? WORKER_GRACE_SECONDS, Math.ceil((3 * heartbeatInterval) / 1000));
  const handBackPause = opts.handBackPauseMs ?? 1000;
  const chunkCache = opts.chunkCache ?? chunkCacheSettings(); // invalid env: refused before anything starts
  const startedAt = Date.now();

  const capabilities = opts.capabilities ?? (await probeCapabilities());
  logger.info({ capabilities }, 'ffmpeg capabilities');
  let engines: readonly SpeechEngine[];
  if (opts.engines) engines = opts.engines;
  else {
    const probes: EngineProbe[] = await probeEngines({ gpu: capabilities.cudaDevice });
    for (const p of probes) if (!p.available) logger.info({ engine: p.id, reason: p.reason }, 'speech engine unavailable');
    engines = probes.flatMap((p) => (p.engine ? [p.engine] : []));
  }
  // Sweeps the folders that dead workers on this host left behind, before taking any job.
  const workdir = await openWorkDir({ parent: opts.workRoot, workerId, logger });

  const gate = new PriorityGate(concurrency, priorities);
  const running = new Map<string, RunningJob>();
  let stopping = false;
  let heartbeat: Heartbeat | null = null;

  type QueueKind = 'render' | 'chunk' | 'transcribe' | 'review-proxy' | 'edit-proxy';
  const queueSpecs: { priority: RenderPriority | null; name: string; kind: QueueKind }[] = [
    ...priorities.map((priority) => ({ priority, name: opts.queueNames?.[priority] ?? RENDER_QUEUES[priority], kind: 'render' as const })),
    // Transcription: only where a speech engine runs (capability-based routing).
    ...(engines.length > 0 ? priorities.map((priority) => ({ priority, name: opts.transcribeQueueNames?.[priority] ?? TRANSCRIBE_QUEUES[priority], kind: 'transcribe' as const })) : []),
    // Watermarked review copies: a viewer is waiting on the share page, so they go first in the gate.
    ...(opts.reviewProxyQueueName === false ? [] : [{ priority: 'high' as const, name: opts.reviewProxyQueueName ?? REVIEW_PROXY_QUEUE, kind: 'review-proxy' as const }]),
    // Edit proxies of new uploads: the editor previews the original until one is ready.
    ...(opts.editProxyQueueName === false ? [] : [{ priority: 'normal' as const, name: opts.editProxyQueueName ?? EDIT_PROXY_QUEUE, kind: 'edit-proxy' as const }]),
    // Chunk and audio jobs of chunked renders; each carries its render's priority for the gate. Last.
    { priority: null, name: opts.chunkQueueName ?? RENDER_CHUNK_QUEUE, kind: 'chunk' as const },
  ];
  const queues = queueSpecs.map(({ priority, name, kind }) => {
    const queue = new BeeQueue<unknown>(name, {
      prefix,
      redis: redisClientOptions(opts.redisUrl ?? DEFAULT_REDIS_URL),
      isWorker: true,
      getEvents: false,
      sendEvents: true,
      stallInterval,
      // Retries with a backoff sit in the delayed set; some queue instance must activate them.
      activateDelayedJobs: true,
      removeOnSuccess: false,
      removeOnFailure: false,
      // A blocking pop that failed (Redis away) is retried after this, doubling; reconnects are separate.
      initialRedisFailureRetryDelay: 250,
    } as BeeQueue.QueueSettings);
    queue.on('error', (err) => logger.warn({ err: errorMessage(err), queue: name }, 'queue redis error'));
    queue.on('stalled', (jobId) => logger.warn({ jobId, queue: name }, 're-queued a stalled job'));
    return { priority, name, kind, queue };
  });
  // Waits for Redis however long it is away: a worker started before Redis simply waits.
  await Promise.all(queues.map((q) => q.queue.ready()));
  const runtimes = new Map(
    queues.map((q) => [q.name, new QueueRuntime(q.queue, q.name, prefix, logger, { onReconnect: () => q.priority === 'high' && logger.info('redis reconnected: scripts reloaded') })]),
  );
  const chunkQueue = queues[queues.length - 1]!.queue;

  const baseClient = runtimes.get(queues[0]!.name)!.client as unknown as { duplicate(): RedisV3 & HeartbeatRedis };
  const commands = baseClient.duplicate();
  commands.on('error', (err) => logger.warn({ err: errorMessage(err) }, 'redis command client error'));
  const blocklist = new JobBlocklist(commands, prefix, { maxFailures: opts.blocklistAfter ?? 2 });
  /** Other workers that are beating and consume `queueName`. */
  const liveWorkersOn = async (queueName: string): Promise<string[]> => {
    const now = Date.now();
    const ids = await call<string[]>((cb) => commands.zrangebyscore(workerRegistryKey(prefix), now - graceSeconds * 1000, '+inf', cb));
    const live: string[] = [];
    for (const id of ids) {
      const [queuesField, status, intervalMs, lastSeen] = await call<(string | null)[]>((cb) => commands.hmget(workerKey(prefix, id), 'queues', 'status', 'intervalMs', 'lastSeen', cb));
      if (status !== 'running' || !(queuesField ?? '').split(',').includes(queueName)) continue;
      if (workerHealth(Number(lastSeen), Number(intervalMs), now) === 'ok') live.push(id);
    }
    return live;
  };
  /** Appends one ffmpeg run to its render's run list (shared/jobs JobRun); never fails the job. */
  const recordRun = (renderId: string, jobId: string, attemptNo: number, jobLog: Logger): RunRecorder => (r) => {
    const parsed = JobRun.safeParse({ renderId, jobId, attempt: attemptNo, workerId, finishedAt: Date.now(), kind: r.kind, chunkIndex: r.chunkIndex, target: r.target, encoder: r.encoder, argv: r.args, stagesMs: r.stagesMs, stderrTail: r.stderrTail.slice(-JOB_RUN_STDERR_LINES), ok: r.ok, error: r.error?.slice(0, 4000) ?? null });
    if (!parsed.success) return void jobLog.warn({ issues: parsed.error.issues.slice(0, 3) }, 'job run record invalid: not stored');
    const key = jobRunsKey(prefix, renderId);
    (commands as unknown as { multi(): RunsMulti }).multi().rpush(key, JSON.stringify(parsed.data)).ltrim(key, -JOB_RUNS_MAX, -1).expire(key, JOB_RUNS_TTL_SECONDS).exec((err) => {
      if (err) jobLog.warn({ err: errorMessage(err) }, 'job run record not stored');
    });
  };
  const isCancelled = (renderId: string) => call<number>((cb) => commands.exists(cancelledKey(prefix, renderId), cb)).then((n) => n > 0);
  /** Live GPU figures (nvidia-smi), refreshed in the background every 15 s (or beat); only on GPU hosts. */
  let liveGpus = capabilities.gpus ?? [];
  const gpuTimer = liveGpus.length
    ? setInterval(() => void queryGpus().then((g) => (liveGpus = g.length ? g : liveGpus)), Math.max(heartbeatInterval, 15_000))
    : null;
  gpuTimer?.unref();
  /** The last control flag read (drain/pause), for the heartbeat's controlState. */
  let control: WorkerControl | null = null;
  const controlFlag = () =>
    call<string | null>((cb) => commands.get(workerControlKey(prefix, workerId), cb)).then(
      (v) => (control = WorkerControl.safeParse(v).data ?? null),
      () => control,
    );
  const controlState = () => (control === 'pause' ? 'paused' : control === 'drain' ? (running.size > 0 ? 'draining' : 'drained') : '');
  /** Pause = hand back at once: every running attempt stops and goes back to its queue untouched. */
  const pauseRunning = () => {
    for (const j of running.values()) {
      if (j.paused || j.cancelled) continue;
      j.paused = true;
      j.abort.abort();
      logger.info({ jobId: j.id, queue: j.queue, renderId: j.renderId }, 'worker paused: running job stopped and handed back');
    }
  };

  const cancelRunning = (renderId: string, why: string) => {
    for (const j of running.values()) {
      if (j.renderId !== renderId || j.cancelled) continue;
      j.cancelled = true;
      j.abort.abort();
      logger.info({ jobId: j.id, renderId, why }, 'render cancelled: ffmpeg aborted');
    }
  };
  // Cancel: the app publishes the render id; every job of that render running here stops at once.
  const subscriber = baseClient.duplicate();
  subscriber.on('error', (err) => logger.warn({ err: errorMessage(err) }, 'cancel subscriber error'));
  subscriber.on('message', (_channel, renderId) => cancelRunning(renderId, 'cancel message'));
  subscriber.subscribe(cancelChannel(prefix));

  heartbeat = startHeartbeat({
    // Its own connection, so the beat and the final removal do not race the queues' shutdown.
    client: baseClient.duplicate(),
    prefix,
    workerId,
    intervalMs: heartbeatInterval,
    graceSeconds,
    fields: () => ({
      workerId,
      host: hostname(),
      pid: String(process.pid),
      status: stopping ? 'stopping' : 'running',
      concurrency: String(concurrency),
      queues: queues.map((q) => q.name).join(','),
      capabilities: JSON.stringify(capabilities),
      currentJob: [...running.values()].map((j) => `${j.queue}:${j.id}${j.renderId ? `:${j.renderId}` : ''}`).join(','),
      startedAt: String(startedAt),
      controlState: controlState(),
      gpus: liveGpus.length ? JSON.stringify(liveGpus) : '',
    }),
    onError: (err) => logger.warn({ err: errorMessage(err) }, 'heartbeat failed'),
  });
  await heartbeat.beat();

  // Every beat: renew each running attempt (a superseded one stops) and catch a cancel whose
  // message was lost while the subscriber reconnected.
  let watching = false;
  const watch = setInterval(() => {
    if (watching || running.size === 0) return;
    watching = true;
    void (async () => {
      // drain: the running jobs finish; pause: they stop now and go back to the queue.
      if ((await controlFlag()) === 'pause') pauseRunning();
      for (const j of [...running.values()]) {
        if (!(await j.attempt.renew().catch(() => true))) {
          logger.warn({ jobId: j.id, queue: j.queue }, 'another attempt holds this job now: stopping this one');
          j.abort.abort();
        } else if (j.renderId && (await isCancelled(j.renderId).catch(() => false))) cancelRunning(j.renderId, 'cancel flag');
      }
    })().finally(() => (watching = false));
  }, heartbeatInterval);
  watch.unref();

  const pause = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, stopping ? 0 : ms));

  const handle = async (rt: QueueRuntime, queuePriority: RenderPriority | null, kind: QueueKind, job: BeeQueue.Job<unknown>): Promise<unknown> => {
    const queueName = rt.name;
    const attempt = await rt.claim(job);
    if (!attempt) {
      logger.info({ jobId: job.id, queue: queueName }, 'job already finished by an earlier attempt: dropped');
      return { handedBack: 'finished-elsewhere' } satisfies HandedBack;
    }
    const outcome = await runAttempt(rt, queuePriority, kind, job, attempt);
    if (outcome && typeof outcome === 'object' && 'handedBack' in outcome) {
      // Let an idle worker draw the job first; a drained or paused worker waits until resumed.
      if ((outcome as HandedBack).handedBack === 'control') while (!stopping && (await controlFlag())) await pause(1000);
      else await pause(handBackPause);
    }
    return outcome;
  };

  const runAttempt = async (rt: QueueRuntime, queuePriority: RenderPriority | null, kind: QueueKind, job: BeeQueue.Job<unknown>, attempt: Attempt): Promise<unknown> => {
    const queueName = rt.name;
    const isChunk = kind === 'chunk';
    const isTranscribe = kind === 'transcribe';
    const isReviewProxy = kind === 'review-proxy';
    const isEditProxy = kind === 'edit-proxy';
    const rawPriority = (job.data as { priority?: unknown })?.priority;
    const priority: RenderPriority = queuePriority ?? (rawPriority === 'high' || rawPriority === 'low' ? rawPriority : 'normal');
    // A coordinator (chunked render job) only plans, waits and stitches: it takes no encode slot.
    let coordinator = false;
    if (kind === 'render') {
      try {
        coordinator = parseJobData(job.data).chunking !== null;
      } catch {
        coordinator = false; // runRenderJob reports the payload error
      }
    }
    // The job's owner id: a render's, or a transcript's (cancel messages carry either).
    const ownerField = isTranscribe ? 'transcriptId' : isReviewProxy ? 'proxyId' : isEditProxy ? 'assetId' : 'renderId';
    const rawOwner = (job.data as Record<string, unknown> | null)?.[ownerField];
    const renderId = typeof rawOwner === 'string' ? rawOwner : null;
    const jobLog = logger.child({ jobId: job.id, queue: queueName, renderId });
    // Farm admin drain/pause: start nothing new here.
    const flag = await controlFlag();
    if (flag) {
      await attempt.handBack();
      jobLog.info({ event: 'job.handed_back', reason: 'control', control: flag }, `worker ${flag === 'drain' ? 'draining' : 'paused'}: job handed back to the queue`);
      return { handedBack: 'control' } satisfies HandedBack;
    }
    if (await blocklist.shouldSkip(queueName, job.id, workerId, () => liveWorkersOn(queueName)).catch(() => false)) {
      await attempt.handBack();
      jobLog.warn({ event: 'job.handed_back', reason: 'blocklist' }, BLOCKLISTED_MESSAGE);
      return { handedBack: 'blocklist' } satisfies HandedBack;
    }
    if (renderId && (await isCancelled(renderId).catch(() => false))) {
      job.options.retries = 0;
      throw new Error(CANCELLED_MESSAGE);
    }
    let release: () => void;
    try {
      release = coordinator ? () => {} : await gate.acquire(priority);
    } catch (err) {
      if (err instanceof GateClosedError) {
        // Taken from Redis but never started: back to the queue, nothing used up.
        await attempt.handBack();
        jobLog.info({ event: 'job.handed_back', reason: 'stopping' }, NOT_STARTED_MESSAGE);
        return { handedBack: 'stopping' } satisfies HandedBack;
      }
      throw err;
    }
    if (!isChunk && renderId) attempt.resultKey = isTranscribe ? transcribeResultKey(prefix, renderId) : isReviewProxy ? reviewProxyResultKey(prefix, renderId) : isEditProxy ? editProxyResultKey(prefix, renderId) : renderResultKey(prefix, renderId);
    const abort = new AbortController();
    // bee-queue enforces job.timeout() by rejecting the handler's promise; it cannot stop ffmpeg.
    const timeoutMs = Number(job.options.timeout) || 0;
    const timeoutTimer = timeoutMs > 0 ? setTimeout(() => abort.abort(), timeoutMs) : null;
    let lastProgressAt = 0;
    let lastStage = '';
    const report = <T>(schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }, p: T & { stage: string; percent: number }) => {
      const now = Date.now();
      if (p.stage === lastStage && p.percent < 100 && now - lastProgressAt < progressInterval) return;
      lastStage = p.stage;
      lastProgressAt = now;
      const parsed = schema.safeParse(p);
      if (parsed.success) Promise.resolve(job.reportProgress(parsed.data)).catch((err: unknown) => jobLog.warn({ err: errorMessage(err) }, 'progress report failed'));
    };
    const onProgress = (p: RenderProgress) => report(RenderProgress, p);
    const onTranscribeProgress = (p: TranscribeProgress) => report(TranscribeProgress, p);
    const onReviewProxyProgress = (p: ReviewProxyProgress) => report(ReviewProxyProgress, p);
    const onEditProxyProgress = (p: EditProxyProgress) => report(EditProxyProgress, p);
    let jobDir: string | null = null;
    const done: Promise<unknown> = (async () => {
      // A coordinator only needs a folder to stitch, once every piece is in: it makes it then.
      jobDir = coordinator ? workdir.jobDirPath(`job-${job.id}`) : await workdir.jobDir(`${isChunk ? 'chunk' : isTranscribe ? 'transcribe' : isReviewProxy ? 'review-proxy' : isEditProxy ? 'edit-proxy' : 'job'}-${job.id}`);
      // Only the attempt that still holds the job may publish anything.
      const attemptNo = (job.options.stacktraces?.length ?? 0) + 1;
      const deps = { storage: fencedStorage(opts.storage, attempt), capabilities, workerId, logger: jobLog, target: opts.target, workRoot: jobDir, signal: abort.signal, onProgress, recordRun: renderId && !isTranscribe && !isReviewProxy && !isEditProxy ? recordRun(renderId, job.id, attemptNo, jobLog) : undefined };
      if (isTranscribe) return runTranscribeJob(job.data, { storage: deps.storage, engines, workerId, logger: jobLog, workRoot: jobDir, signal: abort.signal, onProgress: onTranscribeProgress });
      if (isEditProxy) return runEditProxyJob(job.data, { storage: deps.storage, workerId, logger: jobLog, workRoot: jobDir, signal: abort.signal, onProgress: onEditProxyProgress });
      if (isReviewProxy) return runReviewProxyJob(job.data, { storage: deps.storage, workerId, logger: jobLog, workRoot: jobDir, signal: abort.signal, onProgress: onReviewProxyProgress });
      if (isChunk) return runChunkJob(job.data, { ...deps, onProgress: undefined });
      if (coordinator) return runChunkedRender(parseJobData(job.data), { ...deps, chunkQueue });
      return runRenderJob(job.data, deps);
    })();
    const entry: RunningJob = { id: job.id, queue: queueName, renderId, abort, attempt, done, cancelled: false, paused: false };
    running.set(job.id, entry);
    heartbeat?.beat().catch(() => {});
    const startedAt = performance.now();
    const ms = () => Math.round(performance.now() - startedAt);
    jobLog.info({ event: 'job.started', kind: isTranscribe ? 'transcribe' : isReviewProxy ? 'review-proxy' : isEditProxy ? 'edit-proxy' : isChunk ? 'chunk' : coordinator ? 'chunked-render' : 'render', attempt: (job.options.stacktraces?.length ?? 0) + 1, retriesLeft: job.options.retries }, 'job started');
    try {
      const result = await done;
      // Renders carry their post-encode tail (RenderTail): ffmpeg exit -> output stored, per step.
      const tail = (result as { tail?: unknown } | null)?.tail;
      jobLog.info({ event: 'job.succeeded', durationMs: ms(), ...(tail ? { tail } : {}) }, 'job succeeded');
      return result;
    } catch (err) {
      if (attempt.outcome === 'superseded' || err instanceof SupersededError) {
        attempt.outcome = 'superseded';
        jobLog.warn({ event: 'job.superseded', durationMs: ms() }, 'attempt superseded: nothing published, the job is not finished from here');
        throw err;
      }
      if (entry.cancelled) {
        job.options.retries = 0;
        jobLog.info({ event: 'job.cancelled', durationMs: ms() }, 'job cancelled');
        throw new Error(CANCELLED_MESSAGE);
      }
      if (entry.paused && !stopping) {
        await attempt.handBack();
        jobLog.info({ event: 'job.handed_back', reason: 'paused', durationMs: ms() }, 'paused: job handed back to the queue (no attempt spent)');
        return { handedBack: 'control' } satisfies HandedBack;
      }
      if (!isPermanentError(err) && !(err instanceof RenderAbortedError)) {
        const n = await blocklist.recordFailure(queueName, job.id, workerId).catch(() => 0);
        if (n >= blocklist.maxFailures) jobLog.warn({ failures: n }, 'this worker is now blocklisted for the job');
      }
      if (err instanceof StitchError) {
        // Every piece is cached: another worker stitches in seconds, so do not spend a retry here.
        await blocklist.block(queueName, job.id, workerId).catch(() => {});
        if (await blocklist.someoneElseCan(queueName, job.id, workerId, () => liveWorkersOn(queueName)).catch(() => false)) {
          await attempt.handBack();
          jobLog.warn({ event: 'job.handed_back', reason: 'stitch', error: err.message, durationMs: ms() }, 'could not stitch here: render handed to another worker (its pieces are cached)');
          return { handedBack: 'stitch' } satisfies HandedBack;
        }
      }
      if (isPermanentError(err)) {
        job.options.retries = 0; // the finish reads this: no retry
        jobLog.error({ event: 'job.failed', permanent: true, error: errorMessage(err), durationMs: ms() }, 'job failed permanently');
      } else if (err instanceof RenderAbortedError) {
        const why = stopping ? 'worker stopping' : `job timeout of ${timeoutMs} ms reached`;
        jobLog.warn({ event: 'job.aborted', why, durationMs: ms() }, 'render aborted; the queue retries it if attempts remain');
        throw new Error(`render aborted: ${why}`);
      } else {
        jobLog.error({ event: 'job.failed', permanent: false, err, retriesLeft: job.options.retries, durationMs: ms() }, 'job failed');
      }
      throw err;
    } finally {
      if (timeoutTimer) clearTimeout(timeoutTimer);
      running.delete(job.id);
      release();
      if (jobDir) await workdir.releaseJobDir(jobDir).catch((err: unknown) => jobLog.warn({ err: errorMessage(err) }, 'could not remove the job folder'));
      await workdir.sweep().catch(() => []);
      heartbeat?.beat().catch(() => {});
    }
  };

  for (const { queue, name, priority, kind } of queues) {
    const rt = runtimes.get(name)!;
    // Each queue may hold up to `concurrency` jobs; the gate lets `concurrency` of them run in total.
    queue.process(concurrency, (job: BeeQueue.Job<unknown>) => handle(rt, priority, kind, job));
    queue.checkStalledJobs(stallInterval, (err) => {
      if (err) logger.warn({ err: errorMessage(err), queue: name }, 'stalled-job check failed');
    });
  }
  const sweeper = chunkCache ? startChunkCacheSweeper(opts.storage, chunkCache, logger) : null;
  logger.info({ queues: queues.map((q) => q.name), prefix, concurrency, workDir: workdir.root, chunkCacheMaxBytes: chunkCache ? chunkCache.maxBytes : null }, 'worker started');

  let stopped: Promise<void> | null = null;
  const stop = () =>
    (stopped ??= (async () => {
      stopping = true;
      const timeoutMs = opts.stopTimeoutMs ?? 120_000;
      logger.info({ running: running.size, timeoutMs }, 'worker stopping');
      // Closing a bee-queue stops its blocking pop at once (no new jobs), then waits for its active
      // handlers; the gate makes held-but-not-started handlers settle right away.
      const closing = queues.map((q) => q.queue.close(timeoutMs + 10_000).catch((err: unknown) => logger.warn({ err: errorMessage(err), queue: q.name }, 'queue close timed out')));
      gate.close();
      const settled = Promise.allSettled([...running.values()].map((j) => j.done));
      const timedOut = await Promise.race([settled.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), timeoutMs).unref())]);
      if (timedOut) {
        logger.warn({ running: [...running.keys()] }, 'stop timeout: aborting running renders');
        for (const j of running.values()) j.abort.abort();
        await settled;
      }
      clearInterval(watch);
      if (gpuTimer) clearInterval(gpuTimer);
      await sweeper?.stop();
      await heartbeat?.stop().catch(() => {});
      await Promise.all(closing);
      subscriber.quit();
      commands.quit();
      await workdir.close().catch((err: unknown) => logger.warn({ err: errorMessage(err) }, 'could not remove the worker temp folder'));
      logger.info('worker stopped');
    })());

  return { workerId, capabilities, engines, queues: queues.map((q) => q.name), workDir: workdir.root, stop };
}
