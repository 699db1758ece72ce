/**
 * One edit-proxy job (shared/jobs EditProxyJobData): an uploaded video from storage -> the 540p,
 * short-GOP H.264 copy the editor previews and scrubs (shared/media editProxyArgs, run by the ffmpeg
 * adapter) -> storage -> EditProxyResult. worker.ts wires it to its queue. Transient failures throw
 * plain errors (the queue retries); a missing original, bad job data or a proxy whose frame count
 * differs from the original's are permanent.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EditProxyJobData, EditProxyResult, type EditProxyProgress } from '@clipmaker/shared/jobs';
import { editProxyArgs, fileUrl, inputOptionsFor } from '@clipmaker/shared/media';
import type { Logger } from 'pino';
import { PermanentError, RenderAbortedError } from './errors.ts';
import { execTool, ffprobeBinary, MediaProbeError, probe, run } from './ffmpeg/adapter.ts';
import { StorageNotFoundError, type Storage } from './storage/index.ts';

export interface EditProxyJobDeps {
  storage: Storage;
  workerId: string;
  logger: Logger;
  workRoot?: string;
  signal?: AbortSignal;
  onProgress?: (progress: EditProxyProgress) => void;
}

export function parseEditProxyJobData(data: unknown): EditProxyJobData {
  const parsed = EditProxyJobData.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new PermanentError(`invalid edit-proxy job data: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}`);
}

export async function runEditProxyJob(rawData: unknown, deps: EditProxyJobDeps): Promise<EditProxyResult> {
  const started = performance.now();
  const data = parseEditProxyJobData(rawData);
  const progress = (stage: EditProxyProgress['stage'], percent: number, etaSeconds: number | null = null) =>
    deps.onProgress?.({ assetId: data.assetId, stage, percent: Math.max(0, Math.min(100, Math.round(percent))), etaSeconds, workerId: deps.workerId });
  progress('encoding', 0);
  let local;
  try {
    local = await deps.storage.localPath(data.sourceKey);
  } catch (err) {
    if (err instanceof StorageNotFoundError) throw new PermanentError(`original ${data.sourceKey} is missing from storage`);
    throw err;
  }
  const work = await mkdtemp(join(deps.workRoot ?? tmpdir(), `clipmaker-edit-proxy-${data.assetId}-`));
  try {
    const outPath = join(work, 'proxy.mp4');
    let args;
    try {
      args = editProxyArgs({ kind: 'video', ...data.facts }, local.path, outPath);
    } catch (err) {
      if (err instanceof MediaProbeError) throw new PermanentError(`cannot build the edit proxy command: ${err.message}`);
      throw err;
    }
    const command = { globalOptions: [], inputs: [{ options: [], path: args[args.indexOf('-i') + 1]! }], filterComplex: '', outputOptions: [], outputPath: args.at(-1)!, args, encoder: 'libx264' };
    // The original's frames as a decoder shows them (an edit list hides some packets), counted meanwhile.
    const counting = countVideoFrames(local.path, data.facts.container, deps.signal);
    counting.catch(() => {});
    const result = await run(command, { signal: deps.signal, durationFrames: data.durationFrames, workDir: work, onProgress: (p) => progress('encoding', Math.min(99, p.percent ?? 0), p.etaSeconds ?? null) });
    if (deps.signal?.aborted) throw new RenderAbortedError();
    const output = await probe(outPath, { signal: deps.signal, container: 'mov' });
    // Frame for frame: source frame N must be the same picture in the proxy (a VFR original's
    // durationFrames counts its nominal grid, so both files' frames are counted).
    const [originalFrames, proxyFrames] = await Promise.all([counting, countVideoFrames(outPath, 'mov', deps.signal)]);
    if (originalFrames !== proxyFrames) throw new PermanentError(`the edit proxy has ${proxyFrames} frames, the original ${originalFrames}`);
    progress('uploading', 100);
    await deps.storage.put(data.outputKey, outPath, { contentType: 'video/mp4' });
    const bytes = (await stat(outPath)).size;
    const done = EditProxyResult.parse({ assetId: data.assetId, outputKey: data.outputKey, frames: proxyFrames, width: output.width, height: output.height, bytes, durationMs: Math.round(performance.now() - started), workerId: deps.workerId, ffmpegArgs: result.args });
    progress('done', 100);
    deps.logger.info({ assetId: data.assetId, frames: done.frames, ms: done.durationMs }, 'edit proxy done');
    return done;
  } finally {
    await local.release();
    await rm(work, { recursive: true, force: true });
  }
}

/** The first video stream's frames, counted by decoding the whole file. */
async function countVideoFrames(path: string, container: string, signal?: AbortSignal): Promise<number> {
  const args = ['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries', 'stream=nb_read_frames', '-of', 'csv=p=0', ...inputOptionsFor(container), fileUrl(path)];
  const res = await execTool(ffprobeBinary(), args, { signal, timeoutMs: 30 * 60_000 });
  const n = Number.parseInt(res.stdout.trim(), 10);
  if (res.code !== 0 || !Number.isInteger(n)) throw new Error(`cannot count the video frames of ${container} file: ${res.stderr.trim().split('\n').pop() ?? `ffprobe exited ${res.code}`}`);
  return n;
}
