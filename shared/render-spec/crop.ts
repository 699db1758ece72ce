/**
 * Crop keyframe interpolation: THE definition shared by the PixiJS preview, ffmpeg.wasm and the farm
 * (the ffmpeg builder emits expressions that reproduce exactly this arithmetic per output frame).
 * Rectangles are in source pixels; values are rounded down to even integers (yuv420p chroma).
 */
import type { CropKeyframe } from './schema.ts';

export interface CropRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export function even(v: number): number {
  return 2 * Math.floor(v / 2);
}

/** The largest centred rectangle of the output's aspect inside the source. */
export function defaultCrop(srcW: number, srcH: number, outW: number, outH: number): CropRect {
  let w = srcW;
  let h = Math.round((srcW * outH) / outW);
  if (h > srcH) {
    h = srcH;
    w = Math.round((srcH * outW) / outH);
  }
  w = Math.max(2, even(Math.min(w, srcW)));
  h = Math.max(2, even(Math.min(h, srcH)));
  return { x: even((srcW - w) / 2), y: even((srcH - h) / 2), w, h };
}

/** Linear interpolation between keyframe values; operation order matches the ffmpeg expression. */
export function lerpAt(f0: number, a: number, f1: number, b: number, frame: number): number {
  return a + ((b - a) * (frame - f0)) / (f1 - f0);
}

function clampRect(r: CropRect, srcW: number, srcH: number): CropRect {
  const w = Math.max(2, Math.min(r.w, even(srcW)));
  const h = Math.max(2, Math.min(r.h, even(srcH)));
  const x = Math.max(0, Math.min(r.x, even(srcW - w)));
  const y = Math.max(0, Math.min(r.y, even(srcH - h)));
  return { x, y, w, h };
}

/**
 * The crop rectangle at `frame` (relative to the clip's timeline start). Holds the first keyframe
 * before it and the last after it; no keyframes means the centred default.
 */
export function cropAt(keyframes: readonly CropKeyframe[], frame: number, srcW: number, srcH: number, outW: number, outH: number): CropRect {
  if (keyframes.length === 0) return defaultCrop(srcW, srcH, outW, outH);
  const first = keyframes[0]!;
  const last = keyframes[keyframes.length - 1]!;
  let rect: CropRect;
  if (frame <= first.frame) rect = { x: even(first.x), y: even(first.y), w: even(first.w), h: even(first.h) };
  else if (frame >= last.frame) rect = { x: even(last.x), y: even(last.y), w: even(last.w), h: even(last.h) };
  else {
    let i = 0;
    while (keyframes[i + 1]!.frame <= frame) i++;
    const k0 = keyframes[i]!;
    const k1 = keyframes[i + 1]!;
    rect = {
      x: even(lerpAt(k0.frame, k0.x, k1.frame, k1.x, frame)),
      y: even(lerpAt(k0.frame, k0.y, k1.frame, k1.y, frame)),
      w: even(lerpAt(k0.frame, k0.w, k1.frame, k1.w, frame)),
      h: even(lerpAt(k0.frame, k0.h, k1.frame, k1.h, frame)),
    };
  }
  return clampRect(rect, srcW, srcH);
}

/** True when every keyframe has the same size (a pan): the farm can use the plain crop filter. */
export function isConstantSize(keyframes: readonly CropKeyframe[]): boolean {
  return keyframes.every((k) => even(k.w) === even(keyframes[0]!.w) && even(k.h) === even(keyframes[0]!.h));
}
