/**
 * Geometry of the crop rectangle's handles on the source view (and the wheel zoom on the output
 * picture): moving, resizing from a corner and zooming about the centre, all in source pixels, kept
 * inside the source frame, with the aspect locked to the output's and values rounded down to even
 * integers as the crop model stores them (shared/render-spec/crop.ts).
 */
import { even, type CropRect } from '@clipmaker/shared/render-spec';

/** The smallest crop width a gesture makes (source pixels). */
export const MIN_CROP = 16;

/** The video clip the crop gestures edit, its crop at the playhead and the <video> showing it (from the preview). */
export interface CropSubject {
  clipId: string;
  /** Frames into the clip (where a crop keyframe goes). */
  rel: number;
  srcW: number;
  srcH: number;
  rect: CropRect;
  video: HTMLVideoElement | null;
}

export type Corner = 'nw' | 'ne' | 'se' | 'sw';

/** The rectangle moved by (dx, dy) source pixels, clamped inside the source. */
export function movedCrop(r: CropRect, dx: number, dy: number, srcW: number, srcH: number): CropRect {
  const x = Math.max(0, Math.min(srcW - r.w, Math.round(r.x + dx)));
  const y = Math.max(0, Math.min(srcH - r.h, Math.round(r.y + dy)));
  return { x: even(x), y: even(y), w: r.w, h: r.h };
}

/** A width and its height at the output aspect, both even, inside maxW x maxH (the height wins when both bind). */
function sized(w: number, aspect: number, maxW: number, maxH: number): { w: number; h: number } {
  let W = Math.max(2, even(Math.max(Math.min(MIN_CROP, maxW), Math.min(maxW, w))));
  let H = Math.max(2, even(Math.round(W / aspect)));
  if (H > maxH) {
    H = Math.max(2, even(maxH));
    W = Math.max(2, Math.min(even(maxW), even(Math.round(H * aspect))));
  }
  return { w: W, h: H };
}

/**
 * The rectangle resized by dragging one corner to (px, py) in source pixels: the opposite corner
 * stays put and the new size is the pointer's projection on the rectangle's diagonal, so the aspect
 * stays the output's (`aspect` = output width / height) wherever the pointer goes.
 */
export function resizedCrop(r: CropRect, corner: Corner, px: number, py: number, aspect: number, srcW: number, srcH: number): CropRect {
  const west = corner === 'nw' || corner === 'sw';
  const north = corner === 'nw' || corner === 'ne';
  const ax = west ? r.x + r.w : r.x;
  const ay = north ? r.y + r.h : r.y;
  const dx = west ? ax - px : px - ax;
  const dy = north ? ay - py : py - ay;
  const t = (dx * r.w + dy * r.h) / (r.w * r.w + r.h * r.h);
  const { w, h } = sized(t * r.w, aspect, west ? ax : srcW - ax, north ? ay : srcH - ay);
  return { x: even(Math.max(0, west ? ax - w : ax)), y: even(Math.max(0, north ? ay - h : ay)), w, h };
}

/** The rectangle scaled by `f` about its centre (wheel zoom, + and - keys), aspect locked, inside the source. */
export function zoomedCrop(r: CropRect, f: number, aspect: number, srcW: number, srcH: number): CropRect {
  const { w, h } = sized(r.w * f, aspect, srcW, srcH);
  const x = even(Math.max(0, Math.min(srcW - w, r.x + (r.w - w) / 2)));
  const y = even(Math.max(0, Math.min(srcH - h, r.y + (r.h - h) / 2)));
  return { x, y, w, h };
}
