/**
 * One render job, queue-agnostic: spec from storage -> render -> poster while uploading (tail.ts) -> RenderResult.
 * worker.ts wires it to bee-queue; tests and tools can call it directly.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RenderJobData, RenderResult, type RenderProgress } from '@clipmaker/shared/jobs';
import type { Logger } from 'pino';
import { chooseTarget, type Capabilities, type RenderTarget } from './capabilities.ts';
import { PermanentError } from './errors.ts';
import { renderSpecToFile, type RunRecorder } from './render.ts';
import { StorageNotFoundError, type Storage } from './storage/index.ts';
import { publishRender, TailClock } from './tail.ts';

export interface RenderJobDeps {
  storage: Storage;
  capabilities: Capabilities;
  workerId: string;
  logger: Logger;
  /** 'auto' picks from the capabilities; default 'auto'. */
  target?: RenderTarget | 'auto';
  workRoot?: string;
  signal?: AbortSignal;
  onProgress?: (progress: RenderProgress) => void;
  /** Records every ffmpeg run (argv, encoder, stages, stderr) for the admin job page. */
  recordRun?: RunRecorder;
}

/** Job payload validation; a malformed payload is permanent. */
export function parseJobData(data: unknown): RenderJobData {
  const parsed = RenderJobData.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new PermanentError(`invalid job data: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
}

export async function loadSpecJson(storage: Storage, specKey: string): Promise<unknown> {
  let file;
  try {
    file = await storage.localPath(specKey);
  } catch (err) {
    if (err instanceof StorageNotFoundError) throw new PermanentError(`render spec ${specKey} is missing from storage`);
    throw err;
  }
  try {
    return JSON.parse(await readFile(file.path, 'utf8'));
  } catch (err) {
    if (err instanceof SyntaxError) throw new PermanentError(`render spec ${specKey} is not valid JSON: ${err.message}`);
    throw err;
  } finally {
    await file.release();
  }
}

export function outputKeys(outputPrefix: string) {
  return { outputKey: `${outputPrefix}/output.mp4`, posterKey: `${outputPrefix}/poster.jpg`, thumbKey: `${outputPrefix}/thumb.jpg` };
}

export async function runRenderJob(rawData: unknown, deps: RenderJobDeps): Promise<RenderResult> {
  const started = performance.now();
  const data = parseJobData(rawData);
  const log = deps.logger.child({ renderId: data.renderId, chunk: data.chunk });
  if (data.chunk.count !== 1) {
    // Chunked renders (plan, per-chunk encode, stitch) are a later slice of the farm.
    throw new PermanentError(`chunked renders are not supported by this worker yet (chunk ${data.chunk.index + 1} of ${data.chunk.count})`);
  }
  const progress = (p: Omit<RenderProgress, 'renderId' | 'workerId'>) => deps.onProgress?.({ renderId: data.renderId, workerId: deps.workerId, ...p });

  progress({ stage: 'probing', percent: 0, fps: null, etaSeconds: null });
  const spec = await loadSpecJson(deps.storage, data.specKey);
  const codec = (spec as { output?: { video?: { codec?: unknown } } })?.output?.video?.codec === 'hevc' ? 'hevc' : 'h264';
  const choice = chooseTarget(deps.capabilities, codec, deps.target ?? 'auto');
  log.info({ target: choice.target, encoder: choice.videoEncoder, reason: choice.reason }, 'render target chosen');

  const work = await mkdtemp(join(deps.workRoot ?? tmpdir(), `clipmaker-job-${data.renderId}-`));
  let workLeft = true;
  try {
    const outPath = join(work, 'output.mp4');
    const keys = outputKeys(data.outputPrefix);
    // The tail (ffmpeg exited -> output ready): the output is published while it is verified.
    let tail: TailClock | null = null;
    let published: { bytes: number; at: number } | null = null;
    const rendered = await renderSpecToFile(spec, {
      storage: deps.storage,
      outPath,
      target: choice.target,
      videoEncoder: choice.videoEncoder,
      signal: deps.signal,
      workDir: work,
      logger: log,
      onProgress: (p) => progress({ stage: p.stage, percent: p.percent ?? 0, fps: p.fps, etaSeconds: p.etaSeconds }),
      onFfmpegRun: (r) => deps.recordRun?.({ kind: 'render', chunkIndex: null, ...r }),
      // The poster frame comes out of the encode: no decode of the output after ffmpeg exits.
      posterFramePath: join(work, 'poster-frame.png'),
      whileVerifying: async (encoded) => {
        const clock = (tail = new TailClock(encoded.exited));
        const { bytes } = await publishRender({
          storage: deps.storage,
          outPath,
          workDir: work,
          keys,
          durationUs: encoded.durationUs,
          posterFrame: encoded.posterFramePath,
          signal: deps.signal,
          tail: clock,
          onStage: (stage) => progress({ stage, percent: 100, fps: null, etaSeconds: null }),
        });
        published = { bytes, at: performance.now() };
      },
    });
    if (rendered.fellBack) log.warn({ encoder: rendered.encoder }, 'rendered on cpu after the cuda attempt failed');
    if (!tail || !published) throw new Error('render finished without publishing its output');
    const clock: TailClock = tail;
    const { bytes, at: publishedAt } = published as { bytes: number; at: number };
    const verifyMs = rendered.stagesMs.verify ?? 0;
    clock.record('verify', verifyMs);
    // The render's own temp files, removed once both the verify and the publish were done.
    clock.record('renderCleanup', performance.now() - Math.max(publishedAt, rendered.ffmpegExited.perf + verifyMs));
    await clock.time('jobCleanup', () => rm(work, { recursive: true, force: true }));
    workLeft = false;

    const result = RenderResult.parse({
      renderId: data.renderId,
      ...keys,
      durationMs: Math.round(performance.now() - started),
      bytes,
      workerId: deps.workerId,
      encoder: rendered.encoder,
      ffmpegArgs: rendered.ffmpegArgs,
      tail: clock.result(),
    });
    progress({ stage: 'done', percent: 100, fps: null, etaSeconds: null });
    log.info({ durationMs: result.durationMs, renderMs: rendered.durationMs, stagesMs: rendered.stagesMs, tail: result.tail, bytes, encoder: result.encoder }, 'render done');
    return result;
  } finally {
    if (workLeft) await rm(work, { recursive: true, force: true });
  }
}
