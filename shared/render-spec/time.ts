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

/** A positive rational p/q in lowest terms. */
export interface Ratio {
  p: number;
  q: number;
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

function reduce(p: number, q: number): Ratio {
  const g = gcd(p, q);
  return { p: p / g, q: q / g };
}

/**
 * Source frames advanced per output frame: speed * sourceFps / outputFps, exactly. Sources
 * without an fps (audio) count their frames at the output fps.
 */
export function sourceStep(srcFps: Fps | null, outFps: Fps, speed: { num: number; den: number }): Ratio {
  const s = srcFps ?? outFps;
  const a = reduce(speed.num * s.num, speed.den * s.den);
  const b = reduce(outFps.den, outFps.num);
  const x = reduce(a.p, b.q);
  const y = reduce(b.p, a.q);
  return { p: x.p * y.p, q: x.q * y.q };
}

/** floor(k * p / q) for any integer k (negative too), exact. */
export function stepFloor(k: number, r: Ratio): number {
  const a = k * r.p;
  if (!Number.isSafeInteger(a)) {
    const n = BigInt(k) * BigInt(r.p);
    const q = BigInt(r.q);
    const d = n / q;
    return Number(n % q !== 0n && n < 0n ? d - 1n : d);
  }
  if (a >= 0) return floorDiv(a, r.q);
  return -floorDiv(-a + r.q - 1, r.q);
}

/** Output frames that `sourceFrames` source frames play for at step `r`: round(frames / r), at least 1. */
export function mediaLength(sourceFrames: number, r: Ratio): number {
  return Math.max(1, floorDiv(2 * sourceFrames * r.q + r.p, 2 * r.p));
}

interface LengthClip {
  kind: 'video' | 'audio' | 'image' | 'text';
  sourceIn?: number;
  sourceOut?: number;
  speed?: { num: number; den: number };
  freeze?: number | null;
  duration?: number;
}

/** Frames a clip occupies on the timeline. */
export function clipLength(clip: LengthClip, source: { fps: Fps | null } | null, outFps: Fps): number {
  if (clip.kind === 'image' || clip.kind === 'text') return clip.duration!;
  if (clip.kind === 'video' && clip.freeze) return clip.freeze;
  return mediaLength(clip.sourceOut! - clip.sourceIn!, sourceStep(source?.fps ?? null, outFps, clip.speed ?? { num: 1, den: 1 }));
}

/** Frames of a source at its own fps (audio: at the output fps). */
export function sourceFrameCount(source: { fps: Fps | null; durationFrames: number | null; durationUs: number }, outFps: Fps): number {
  if (source.durationFrames !== null) return source.durationFrames;
  const f = source.fps ?? outFps;
  return Math.floor((source.durationUs * f.num) / (f.den * 1e6) + 1e-6);
}

/**
 * THE frame-exactness rule: output frame k of a media clip (k counted from the clip's timeline
 * start; negative or past its end inside a transition) shows source frame
 *   sourceIn + floor(k * speed * sourceFps / outputFps)           (forward)
 *   sourceOut - 1 - floor(k * speed * sourceFps / outputFps)      (reverse)
 *   sourceIn                                                      (freeze)
 * held at the first/last frame of the source where that is outside it. Farm, ffmpeg.wasm and the
 * PixiJS preview all show exactly this frame.
 */
export function clipSourceFrame(
  clip: { sourceIn: number; sourceOut: number; speed: { num: number; den: number }; reverse: boolean; freeze?: number | null },
  source: { fps: Fps | null; durationFrames: number | null; durationUs: number },
  outFps: Fps,
  k: number,
): number {
  const total = sourceFrameCount(source, outFps);
  let f: number;
  if (clip.freeze) f = clip.sourceIn;
  else {
    const i = stepFloor(k, sourceStep(source.fps, outFps, clip.speed));
    f = clip.reverse ? clip.sourceOut - 1 - i : clip.sourceIn + i;
  }
  return Math.max(0, Math.min(Math.max(0, total - 1), f));
}
