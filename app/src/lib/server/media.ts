/**
 * Spawns the ingest probe (ffprobe restricted to the file protocol and self-contained demuxers) on
 * a local file, and writes the preview rendition; the rules are shared (@clipmaker/shared/media, ingest.ts).
 */
import { spawn } from 'node:child_process';
import { open } from 'node:fs/promises';
import { ingestProbeArgs, interpretIngestProbe, MediaProbeError, previewRenditionArgs, sniffIndirection, type IngestResult } from '@clipmaker/shared/media';

export async function probeFile(ffprobePath: string, file: string, timeoutMs = 30_000): Promise<IngestResult> {
  const fh = await open(file, 'r');
  const head = Buffer.alloc(4096);
  try {
    await fh.read(head, 0, head.length, 0);
  } finally {
    await fh.close();
  }
  const indirection = sniffIndirection(head);
  if (indirection) throw new MediaProbeError(`the file is ${indirection}; upload a single self-contained video, audio or image file`);
  const { code, stdout, stderr } = await runTool(ffprobePath, ingestProbeArgs(file), timeoutMs);
  return interpretIngestProbe(code, stdout, stderr);
}

/**
 * Writes the editor's preview rendition of an ingested video (preview-rendition.ts: a stream-copy
 * remux into MP4, or an H.264 transcode where the browser cannot decode the picture).
 */
export async function writePreviewRendition(ffmpegPath: string, info: IngestResult, input: string, output: string, timeoutMs = 300_000): Promise<void> {
  const { code, stderr } = await runTool(ffmpegPath, previewRenditionArgs(info, input, output), timeoutMs);
  if (code !== 0) throw new Error(`ffmpeg could not remux the preview rendition: ${stderr.trim().split('\n').pop()?.slice(0, 200) ?? `exit ${code}`}`);
}

/** Runs ffprobe/ffmpeg with no shell, output bounded, killed after the timeout. */
function runTool(bin: string, args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (out.length < 4_000_000) out += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      if (err.length < 1_000_000) err += d;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${bin} could not start: ${e.message}`));
    });
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve({ code: c, stdout: out, stderr: err });
    });
  });
}

export { MediaProbeError, type IngestResult as MediaInfo };
