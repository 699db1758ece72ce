/** Frame arithmetic on rationals: no floating seconds are stored anywhere. */
import type { Fps } from './schema.ts';

export function fpsValue(fps: Fps): number {
  return fps.num / fps.den;
}

/** Seconds at which timeline frame `frame` starts. Only for ffmpeg arguments and display. */
export function frameToSeconds(frame: number, fps: Fps): number {
  return (frame * fps.den) / fps.num;
}

/** Timeline frame that contains time `seconds` (floor, with a tolerance for binary rounding). */
export function secondsToFrame(seconds: number, fps: Fps): number {
  return Math.floor((seconds * fps.num) / fps.den + 1e-6);
}

/** Number of output frames a run of `sourceFrames` source frames occupies on the timeline. */
export function sourceFramesToTimeline(sourceFrames: number, sourceFps: Fps, outFps: Fps): number {
  // sourceFrames / sourceFps * outFps, rounded to the nearest frame
  return Math.round((sourceFrames * sourceFps.den * outFps.num) / (sourceFps.num * outFps.den));
}

/** Formats seconds for ffmpeg arguments with microsecond precision and no exponent. */
export function formatSeconds(seconds: number): string {
  const s = Math.max(0, seconds);
  return (Math.round(s * 1e6) / 1e6).toFixed(6).replace(/\.?0+$/, '') || '0';
}

/**
 * Which source frame (counted from the clip's sourceIn) is on screen at output frame `n` of a clip
 * (counted from the clip's timeline start): the source frame that contains the output frame's start
 * time, floor(n * sourceFps / outFps). The preview seeks a <video> to that time and shows the same
 * frame; the ffmpeg builder reproduces it exactly, also when a chunk starts inside the clip.
 */
export function sourceFrameAt(n: number, sourceFps: Fps, outFps: Fps): number {
  return floorDiv(n * sourceFps.num * outFps.den, sourceFps.den * outFps.num);
}

/** floor(a / b) for non-negative integers, exact (a float quotient can round up to the next integer). */
export function floorDiv(a: number, b: number): number {
  if (!Number.isSafeInteger(a)) return Number(BigInt(a) / BigInt(b));
  let q = Math.floor(a / b);
  if (q * b > a) q--;
  else if ((q + 1) * b <= a) q++;
  return q;
}
