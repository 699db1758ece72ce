/** Test media generated with the real ffmpeg (no binary fixtures in the repo). */
import { spawnSync } from 'node:child_process';

export function ffmpeg(args: string[]): void {
  const r = spawnSync(process.env.FFMPEG_PATH ?? 'ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', ...args], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffmpeg failed: ${r.stderr}`);
}

export interface ProbeSummary {
  width: number;
  height: number;
  durationSeconds: number;
  videoFrames: number;
  hasAudio: boolean;
  videoCodec: string;
}

export function ffprobe(file: string): ProbeSummary {
  const r = spawnSync(process.env.FFPROBE_PATH ?? 'ffprobe', ['-v', 'error', '-count_frames', '-print_format', 'json', '-show_format', '-show_streams', file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ffprobe failed: ${r.stderr}`);
  const j = JSON.parse(r.stdout) as { streams: Array<Record<string, string | number>>; format: { duration: string } };
  const v = j.streams.find((s) => s.codec_type === 'video');
  if (!v) throw new Error('no video stream');
  return {
    width: Number(v.width),
    height: Number(v.height),
    durationSeconds: Number(j.format.duration),
    videoFrames: Number(v.nb_read_frames),
    hasAudio: j.streams.some((s) => s.codec_type === 'audio'),
    videoCodec: String(v.codec_name),
  };
}

/** A 1920x1080 30 fps test card with a 440 Hz tone. */
export function makeLandscapeVideo(out: string, seconds = 4): void {
  ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=30:duration=${seconds}`, '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${seconds}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-g', '30', '-c:a', 'aac', '-shortest', out]);
}
