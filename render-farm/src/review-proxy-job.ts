/**
 * One review-proxy job (shared/jobs ReviewProxyJobData): a finished render from storage -> the same
 * frames with the viewer's name, email and time burned in (shared/render-spec reviewProxyCommand,
 * run by the ffmpeg adapter) -> storage -> ReviewProxyResult. worker.ts wires it to its queue.
 * Transient failures throw plain errors (the queue retries); a missing or unreadable render, bad job
 * data or a copy whose frame count differs are permanent.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReviewProxyJobData, ReviewProxyResult, type ReviewProxyProgress } from '@clipmaker/shared/jobs';
import { FfmpegBuildError, reviewProxyCommand } from '@clipmaker/shared/render-spec';
import type { Logger } from 'pino';
import { PermanentError, RenderAbortedError } from './errors.ts';
import { MediaProbeError, probe, run } from './ffmpeg/adapter.ts';
import { bundledFontsDir } from './render.ts';
import { StorageNotFoundError, type Storage } from './storage/index.ts';

export interface ReviewProxyJobDeps {
  storage: Storage;
  workerId: string;
  logger: Logger;
  workRoot?: string;
  signal?: AbortSignal;
  onProgress?: (progress: ReviewProxyProgress) => void;
  /** Test hook: the bundled fonts folder is the default. */
  fontsDir?: string;
}

export function parseReviewProxyJobData(data: unknown): ReviewProxyJobData {
  const parsed = ReviewProxyJobData.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new PermanentError(`invalid review-proxy job data: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
}

export async function runReviewProxyJob(rawData: unknown, deps: ReviewProxyJobDeps): Promise<ReviewProxyResult> {
  const started = performance.now();
  const data = parseReviewProxyJobData(rawData);
  const progress = (stage: ReviewProxyProgress['stage'], percent: number, etaSeconds: number | null = null) =>
    deps.onProgress?.({ proxyId: data.proxyId, stage, percent: Math.max(0, Math.min(100, Math.round(percent))), etaSeconds, workerId: deps.workerId });
  progress('probing', 0);
  let local;
  try {
    local = await deps.storage.localPath(data.sourceKey);
  } catch (err) {
    if (err instanceof StorageNotFoundError) throw new PermanentError(`render ${data.sourceKey} is missing from storage`);
    throw err;
  }
  const work = await mkdtemp(join(deps.workRoot ?? tmpdir(), `clipmaker-review-proxy-${data.proxyId}-`));
  try {
    const info = await probe(local.path, { signal: deps.signal, container: 'mov' }).catch((err: Error) => {
      if (err instanceof MediaProbeError) throw new PermanentError(`render ${data.sourceKey}: ${err.message}`);
      throw err;
    });
    if (info.kind !== 'video') throw new PermanentError(`render ${data.sourceKey} has no video`);
    const outPath = join(work, 'proxy.mp4');
    let command;
    try {
      command = reviewProxyCommand({ inputPath: local.path, outputPath: outPath, workDir: work, fontsDir: deps.fontsDir ?? (await bundledFontsDir()), width: info.width, height: info.height, viewer: data.viewer, hasAudio: info.hasAudio });
    } catch (err) {
      if (err instanceof FfmpegBuildError) throw new PermanentError(`cannot build the watermark command: ${err.message}`);
      throw err;
    }
    const frames = info.durationFrames ?? data.durationFrames;
    progress('rendering', 0);
    const result = await run(command, { signal: deps.signal, durationFrames: frames, workDir: work, onProgress: (p) => progress('rendering', Math.min(99, p.percent ?? 0), p.etaSeconds ?? null) });
    if (deps.signal?.aborted) throw new RenderAbortedError();
    const output = await probe(outPath, { signal: deps.signal });
    // Frame for frame: a comment's frame number must mean the same picture in the copy.
    if (info.durationFrames !== null && output.durationFrames !== info.durationFrames) throw new PermanentError(`the watermarked copy has ${output.durationFrames} frames, the render ${info.durationFrames}`);
    progress('uploading', 100);
    await deps.storage.put(data.outputKey, outPath, { contentType: 'video/mp4' });
    const bytes = (await stat(outPath)).size;
    const done = ReviewProxyResult.parse({ proxyId: data.proxyId, outputKey: data.outputKey, frames: output.durationFrames ?? 0, bytes, durationMs: Math.round(performance.now() - started), workerId: deps.workerId, ffmpegArgs: result.args });
    progress('done', 100);
    deps.logger.info({ proxyId: data.proxyId, frames: done.frames, ms: done.durationMs }, 'review proxy done');
    return done;
  } finally {
    await local.release();
    await rm(work, { recursive: true, force: true });
  }
}
