/** Spawns ffprobe on a local file; interpretation is shared (@clipmaker/shared/media). */
import { spawn } from 'node:child_process';
import { FFPROBE_ARGS, interpretFfprobe, MediaProbeError, type MediaInfo } from '@clipmaker/shared/media';

export async function probeFile(ffprobePath: string, file: string, timeoutMs = 30_000): Promise<MediaInfo> {
  const { code, stdout } = await new Promise<{ code: number | null; stdout: string }>((resolve, reject) => {
    const child = spawn(ffprobePath, [...FFPROBE_ARGS, file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (out.length < 4_000_000) out += d;
    });
    child.stderr.resume();
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`ffprobe could not start (${ffprobePath}): ${err.message}`));
    });
    child.on('close', (c) => {
      clearTimeout(timer);
      resolve({ code: c, stdout: out });
    });
  });
  if (code !== 0) throw new MediaProbeError('the file is not a video, audio or image file ffmpeg can read');
  let json: unknown;
  try {
    json = JSON.parse(stdout);
  } catch {
    throw new MediaProbeError('the file could not be read as media');
  }
  return interpretFfprobe(json);
}

export { MediaProbeError, type MediaInfo };
