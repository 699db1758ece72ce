/**
 * Chunked renders. The worker that takes a render job with `chunking` becomes its coordinator:
 *
 *   planChunks (pure, shared) -> one job per video chunk + one audio job on RENDER_CHUNK_QUEUE
 *   -> any worker renders them (cache first: chunks/<hash>.mp4, chunks/<hash>.m4a)
 *   -> the coordinator waits for every piece to be in storage -> concat demuxer -c copy + audio mux
 *   -> poster while uploading (tail.ts) -> RenderResult.
 *
 * The coordinator holds no render slot while it waits (the gate guards ffmpeg encodes only), so one
 * worker with concurrency 1 can coordinate and encode. If the coordinator dies, its render job
 * stalls and another worker re-runs it: pieces already in storage are reused, chunk jobs still
 * queued or running are adopted by id, failed ones are re-created. Every piece and the output are
 * written with an atomic put, so a duplicated encode never yields two outputs. A coordinator that
 * has every piece but cannot stitch throws StitchError: the worker hands the render job to another
 * worker, which only stitches. Redis going away while the coordinator waits is ridden out.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type BeeQueue from 'bee-queue';
import { ChunkJobData, isRedisConnectionError, PERMANENT_ERROR_PREFIX, RenderResult, type RenderJobData, type RenderProgress } from '@clipmaker/shared/jobs';
import { planChunks, type ChunkPlan } from '@clipmaker/shared/render-spec';
import { fileUrl, inputOptionsFor } from '@clipmaker/shared/media';
import type { Logger } from 'pino';
import { chooseTarget, type Capabilities, type RenderTarget } from './capabilities.ts';
import { isPermanentError, PermanentError, RenderAbortedError, StitchError } from './errors.ts';
import { FfmpegError, probe, run } from './ffmpeg/adapter.ts';
import { publishRender, TailClock } from './tail.ts';
import { parseRenderSpec, renderSpecToFile, type RunRecorder } from './render.ts';
import { loadSpecJson, outputKeys } from './render-job.ts';
import type { LocalFile, Storage } from './storage/index.ts';

export interface ChunkDeps {
  storage: Storage;
  capabilities: Capabilities;
  workerId: string;
  logger: Logger;
  target?: RenderTarget | 'auto';
  workRoot?: string;
  signal?: AbortSignal;
  onProgress?: (progress: RenderProgress) => void;
  /** Records every ffmpeg run (argv, encoder, stages, stderr) for the admin job page. */
  recordRun?: RunRecorder;
}

export function parseChunkJobData(data: unknown): ChunkJobData {
  const parsed = ChunkJobData.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new PermanentError(`invalid chunk job data: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
}

export function chunkJobId(renderId: string, kind: 'video' | 'audio', index: number): string {
  return kind === 'audio' ? `${renderId}-audio` : `${renderId}-v${String(index).padStart(4, '0')}`;
}

/** One video chunk (no audio) or the whole-timeline audio; a no-op when the piece is cached. */
export async function runChunkJob(raw: unknown, deps: ChunkDeps): Promise<{ key: string; cached: boolean; encoder: string }> {
  const data = parseChunkJobData(raw);
  const spec = parseRenderSpec(await loadSpecJson(deps.storage, data.specKey));
  const plan = planChunks(spec, { chunkFrames: data.chunkFrames });
  const key = data.kind === 'audio' ? plan.audioKey : `chunks/${data.chunk.hash}.mp4`;
  const expected = data.kind === 'audio' ? plan.audioHash : plan.chunks[data.chunk.index]?.hash;
  if (expected !== data.chunk.hash) throw new PermanentError(`chunk ${data.kind} ${data.chunk.index} does not match the spec's plan`);
  if (await deps.storage.exists(key)) {
    await deps.storage.touch(key); // a cache hit: most recently used (chunk-cache.ts)
    return { key, cached: true, encoder: 'cache' };
  }

  const log = deps.logger.child({ renderId: data.renderId, kind: data.kind, chunk: data.chunk.index });
  // Every video chunk of one render must come from the same encoder family so `-c copy` concat
  // works; chunks stay on the CPU encoder (the probe's GPU choice applies to single-job renders).
  const choice = data.kind === 'video' ? chooseTarget(deps.capabilities, spec.output.video.codec, 'cpu') : null;
  log.info({ target: choice?.target ?? 'cpu', encoder: choice?.videoEncoder ?? 'aac', range: [data.chunk.start, data.chunk.end] }, 'chunk render target chosen');
  const work = await mkdtemp(join(deps.workRoot ?? tmpdir(), `clipmaker-chunk-${data.renderId}-`));
  try {
    const outPath = join(work, data.kind === 'audio' ? 'audio.m4a' : 'chunk.mp4');
    const rendered = await renderSpecToFile(spec, {
      storage: deps.storage,
      outPath,
      target: 'cpu',
      videoEncoder: choice?.videoEncoder,
      signal: deps.signal,
      workDir: work,
      logger: log,
      range: data.kind === 'audio' ? undefined : { start: data.chunk.start, end: data.chunk.end },
      audio: data.kind === 'audio' ? 'only' : 'none',
      onProgress: (p) => deps.onProgress?.({ renderId: data.renderId, workerId: deps.workerId, stage: p.stage, percent: p.percent ?? 0, fps: p.fps, etaSeconds: p.etaSeconds }),
      onFfmpegRun: (r) => deps.recordRun?.({ kind: data.kind === 'audio' ? 'audio' : 'video-chunk', chunkIndex: data.kind === 'audio' ? null : data.chunk.index, ...r }),
    });
    await deps.storage.put(key, outPath, { contentType: data.kind === 'audio' ? 'audio/mp4' : 'video/mp4' });
    return { key, cached: false, encoder: rendered.encoder };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

export interface CoordinatorDeps extends ChunkDeps {
  chunkQueue: BeeQueue<unknown>;
  pollMs?: number;
}

interface Piece {
  id: string;
  key: string;
  data: ChunkJobData;
  done: boolean;
  /** Found in the cache before this run started. */
  reused: boolean;
}

function piecesOf(plan: ChunkPlan, data: RenderJobData, chunkFrames: number): Piece[] {
  const base = { renderId: data.renderId, specKey: data.specKey, priority: data.priority, chunkFrames };
  const pieces: Piece[] = [
    {
      id: chunkJobId(data.renderId, 'audio', 0),
      key: plan.audioKey,
      data: { ...base, kind: 'audio', chunk: { index: 0, count: 1, start: 0, end: plan.chunks[plan.chunks.length - 1]!.end, hash: plan.audioHash } },
      done: false,
      reused: false,
    },
  ];
  for (const c of plan.chunks)
    pieces.push({ id: chunkJobId(data.renderId, 'video', c.index), key: plan.chunkKey(c), data: { ...base, kind: 'video', chunk: { index: c.index, count: c.count, start: c.start, end: c.end, hash: c.hash } }, done: false, reused: false });
  return pieces;
}

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const onAbort = () => {
      clearTimeout(t);
      resolve();
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

/** Makes sure a live job exists for the piece: adopts a queued/running one, replaces a failed one. */
async function ensureJob(queue: BeeQueue<unknown>, piece: Piece): Promise<'adopted' | 'created'> {
  const existing = await queue.getJob(piece.id);
  if (existing && existing.status !== 'failed' && existing.status !== 'succeeded') return 'adopted';
  if (existing) await queue.removeJob(piece.id);
  await queue.createJob(ChunkJobData.parse(piece.data)).setId(piece.id).retries(3).backoff('exponential', 1000).save();
  return 'created';
}

export async function runChunkedRender(data: RenderJobData, deps: CoordinatorDeps): Promise<RenderResult> {
  const started = performance.now();
  const log = deps.logger.child({ renderId: data.renderId, chunked: true });
  const progress = (p: Omit<RenderProgress, 'renderId' | 'workerId'>) => deps.onProgress?.({ renderId: data.renderId, workerId: deps.workerId, ...p });
  progress({ stage: 'probing', percent: 0, fps: null, etaSeconds: null });
  const spec = parseRenderSpec(await loadSpecJson(deps.storage, data.specKey));
  const chunkFrames = data.chunking!.chunkFrames;
  const plan = planChunks(spec, { chunkFrames });
  const pieces = piecesOf(plan, data, chunkFrames);

  for (const p of pieces) {
    p.done = p.reused = await deps.storage.exists(p.key);
    if (p.reused) await deps.storage.touch(p.key); // reused: most recently used (chunk-cache.ts)
  }
  const reused = pieces.filter((p) => p.done).length;
  for (const p of pieces) if (!p.done) await ensureJob(deps.chunkQueue, p);
  log.info({ chunks: plan.chunks.length, chunkFrames, reused, toRender: pieces.length - reused }, 'chunked render planned');

  const renderStarted = performance.now();
  let lastDone = -1;
  for (;;) {
    if (deps.signal?.aborted) throw new RenderAbortedError();
    for (const p of pieces) {
      if (p.done) continue;
      if (await deps.storage.exists(p.key)) {
        p.done = true;
        continue;
      }
      let job: BeeQueue.Job<unknown> | null;
      try {
        job = await deps.chunkQueue.getJob(p.id);
        if (!job) await ensureJob(deps.chunkQueue, p);
      } catch (err) {
        // Redis restarting: the pieces keep rendering; look again on the next round.
        if (isRedisConnectionError(err)) break;
        throw err;
      }
      if (job?.status === 'failed') {
        const message = String(job.options.stacktraces?.[0] ?? 'chunk failed').split('\n')[0]!.replace(/^Error: /, '');
        const what = p.data.kind === 'audio' ? 'audio' : `chunk ${p.data.chunk.index + 1}/${p.data.chunk.count}`;
        if (message.includes(PERMANENT_ERROR_PREFIX)) throw new PermanentError(`${what}: ${message.slice(message.indexOf(PERMANENT_ERROR_PREFIX) + PERMANENT_ERROR_PREFIX.length).trim()}`);
        // Transient: the render job's own retry re-creates the failed piece; finished pieces stay cached.
        throw new Error(`${what} failed after its retries: ${message}`);
      }
    }
    const done = pieces.filter((p) => p.done).length;
    if (done !== lastDone) {
      lastDone = done;
      const fresh = done - reused;
      const elapsed = (performance.now() - renderStarted) / 1000;
      const eta = fresh > 0 ? ((pieces.length - done) * elapsed) / fresh : null;
      // Farm-wide throughput: frames of the video chunks rendered by this run, per second so far.
      const frames = pieces.filter((p) => p.done && !p.reused && p.data.kind === 'video').reduce((n, p) => n + p.data.chunk.end - p.data.chunk.start, 0);
      const fps = frames > 0 && elapsed > 0 ? Math.round((frames / elapsed) * 10) / 10 : null;
      progress({ stage: 'rendering', percent: Math.min(95, Math.round((done / pieces.length) * 95)), fps, etaSeconds: eta === null ? null : Math.round(eta) });
    }
    if (done === pieces.length) break;
    await sleep(deps.pollMs ?? 250, deps.signal);
  }

  progress({ stage: 'stitching', percent: 96, fps: null, etaSeconds: null });
  try {
    return await stitch(data, deps, { spec, plan, pieces, started, reused, log, progress });
  } catch (err) {
    if (isPermanentError(err) || err instanceof RenderAbortedError || deps.signal?.aborted || (err instanceof Error && err.name === 'SupersededError')) throw err;
    throw new StitchError(err instanceof Error ? err.message : String(err), { cause: err });
  }
}

interface StitchInput {
  spec: ReturnType<typeof parseRenderSpec>;
  plan: ChunkPlan;
  pieces: Piece[];
  started: number;
  reused: number;
  log: Logger;
  progress: (p: Omit<RenderProgress, 'renderId' | 'workerId'>) => void;
}

/** Every piece is in storage: concat -c copy + audio mux, poster, upload. */
async function stitch(data: RenderJobData, deps: CoordinatorDeps, { spec, plan, pieces, started, reused, log, progress }: StitchInput): Promise<RenderResult> {
  if (deps.workRoot) await mkdir(deps.workRoot, { recursive: true });
  const work = await mkdtemp(join(deps.workRoot ?? tmpdir(), `clipmaker-stitch-${data.renderId}-`));
  const files: LocalFile[] = [];
  try {
    for (const p of pieces) files.push(await deps.storage.localPath(p.key));
    const [audio, ...videos] = files;
    const listPath = join(work, 'chunks.ffconcat');
    await writeFile(listPath, plan.concatList(videos.map((f) => f.path)));
    const outPath = join(work, 'output.mp4');
    const stitchStarted = performance.now();
    const stitchCommand = {
        globalOptions: ['-hide_banner', '-nostdin', '-y'],
        inputs: [
          // The concat list is ours (chunk files in storage); it may open files, nothing else.
          { options: ['-f', 'concat', '-safe', '0', '-protocol_whitelist', 'file'], path: listPath },
          { options: inputOptionsFor('mov'), path: fileUrl(audio!.path) },
        ],
        filterComplex: '',
        outputOptions: ['-map', '0:v:0', '-map', '1:a:0', '-c', 'copy', '-movflags', '+faststart'],
        outputPath: outPath,
      };
    const stitchEncoder = 'copy';
    const stitched = await run(stitchCommand, { signal: deps.signal, workDir: work }).catch((err: unknown) => {
      if (err instanceof FfmpegError) deps.recordRun?.({ kind: 'stitch', chunkIndex: null, args: err.args, encoder: stitchEncoder, target: 'cpu', ok: false, error: err.message, stderrTail: err.stderrTail, stagesMs: { stitch: Math.round(performance.now() - stitchStarted) } });
      throw err;
    });
    const tail = new TailClock({ at: Date.now(), perf: performance.now() });
    deps.recordRun?.({ kind: 'stitch', chunkIndex: null, args: stitched.args, encoder: stitchEncoder, target: 'cpu', ok: true, error: null, stderrTail: stitched.stderrTail, stagesMs: { stitch: stitched.wallMs } });
    const info = await tail.time('verify', () => probe(outPath, { signal: deps.signal }));
    if (info.durationFrames !== spec.output.durationFrames) log.warn({ expected: spec.output.durationFrames, actual: info.durationFrames }, 'stitched frame count differs from the spec');

    const keys = outputKeys(data.outputPrefix);
    const { bytes } = await publishRender({
      storage: deps.storage,
      outPath,
      workDir: work,
      keys,
      durationUs: info.durationUs,
      signal: deps.signal,
      tail,
      onStage: (stage) => progress({ stage, percent: stage === 'poster' ? 98 : 99, fps: null, etaSeconds: null }),
    });
    await tail.time('jobCleanup', async () => {
      await Promise.all(files.splice(0).map((f) => f.release().catch(() => {})));
      await rm(work, { recursive: true, force: true });
    });
    const result = RenderResult.parse({
      renderId: data.renderId,
      ...keys,
      durationMs: Math.round(performance.now() - started),
      bytes,
      workerId: deps.workerId,
      encoder: `${chooseTarget(deps.capabilities, spec.output.video.codec, 'cpu').videoEncoder ?? 'libx264'} (${plan.chunks.length} chunks, ${reused} reused)`,
      ffmpegArgs: stitched.args,
      tail: tail.result(),
    });
    progress({ stage: 'done', percent: 100, fps: null, etaSeconds: null });
    log.info({ durationMs: result.durationMs, chunks: plan.chunks.length, reused, tail: result.tail }, 'chunked render done');
    return result;
  } finally {
    await Promise.all(files.map((f) => f.release().catch(() => {})));
    await rm(work, { recursive: true, force: true });
  }
}
