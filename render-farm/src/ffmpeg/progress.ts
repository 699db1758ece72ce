/** Pure parsing of ffmpeg's periodic stats line ("frame=  42 fps= 30 ... time=00:00:01.40 ..."). */

export interface FfmpegProgress {
  /** Output frames written so far. */
  frame: number;
  /** Current encoding speed in frames per second, null until ffmpeg reports one. */
  fps: number | null;
  /** 0..100 when the expected frame count is known, otherwise null. */
  percent: number | null;
  /** Seconds left at the current fps, null when unknown. */
  etaSeconds: number | null;
}

const FRAME_RE = /\bframe=\s*(\d+)/;
const FPS_RE = /\bfps=\s*([\d.]+)/;

/** Returns null for every line that is not a stats line. */
export function parseProgressLine(line: string, durationFrames?: number | null): FfmpegProgress | null {
  const frameMatch = FRAME_RE.exec(line);
  if (!frameMatch) return null;
  const frame = Number(frameMatch[1]);
  const fpsMatch = FPS_RE.exec(line);
  const fpsRaw = fpsMatch ? Number(fpsMatch[1]) : NaN;
  const fps = Number.isFinite(fpsRaw) && fpsRaw > 0 ? fpsRaw : null;
  if (!durationFrames || durationFrames <= 0) return { frame, fps, percent: null, etaSeconds: null };
  const clamped = Math.min(frame, durationFrames);
  const percent = Math.round((clamped / durationFrames) * 1000) / 10;
  const etaSeconds = fps ? Math.round(((durationFrames - clamped) / fps) * 10) / 10 : null;
  return { frame, fps, percent, etaSeconds };
}

/** True for the lines ffmpeg rewrites in place; they are noise in an error's stderr tail. */
export function isProgressLine(line: string): boolean {
  return FRAME_RE.test(line) && /\btime=/.test(line);
}
