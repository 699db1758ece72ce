/**
 * Geometry of the preview's on-canvas transform handles (pure, unit-tested): where the selected
 * layer sits at a frame (the same layerGeometry the farm's overlay uses), and how a drag of the body,
 * a corner or the rotation knob changes its transform, with snapping to the centre and the thirds.
 */
import { evaluate, layerGeometry, transformAt, visualLayers, type RenderSpec, type Transform } from '@clipmaker/shared/render-spec';

export interface LayerBox {
  clipId: string;
  /** Clip-relative frame the edit keys (the playhead inside the clip). */
  rel: number;
  cx: number;
  cy: number;
  w: number;
  h: number;
  /** degrees */
  angle: number;
  transform: Transform;
}

/** The selected clip's layer box at `frame` in output pixels, or null when it is not on screen there. */
export function layerBoxAt(spec: RenderSpec, clipId: string, frame: number): LayerBox | null {
  const W = spec.output.width;
  const H = spec.output.height;
  const layer = visualLayers(spec).find((l) => l.clip.id === clipId && frame >= l.start && frame < l.end);
  if (!layer) return null;
  const u = frame - layer.start;
  const g = layerGeometry(layer, W, H);
  const rel = Math.max(0, u - layer.pre);
  return { clipId, rel, cx: evaluate(g.cx, u), cy: evaluate(g.cy, u), w: evaluate(g.w, u), h: evaluate(g.h, u), angle: (evaluate(g.angle, u) * 180) / Math.PI, transform: transformAt(layer.clip, rel) };
}

/** Guide lines (fractions of the frame) a moved layer's anchor snaps to. */
export const GUIDES = [1 / 3, 0.5, 2 / 3] as const;

/** Snaps a position (fractions) to the guides within `threshold`; returns which guides caught it. */
export function snapToGuides(x: number, y: number, threshold: number): { x: number; y: number; gx: number | null; gy: number | null } {
  const near = (v: number) => GUIDES.reduce<number | null>((best, g) => (Math.abs(g - v) <= threshold && (best === null || Math.abs(g - v) < Math.abs(best - v)) ? g : best), null);
  const gx = near(x);
  const gy = near(y);
  return { x: gx ?? x, y: gy ?? y, gx, gy };
}

const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, v));

/** Body drag by (dx, dy) output pixels from the transform at drag start. */
export function moved(t0: Transform, dx: number, dy: number, W: number, H: number, snap: boolean): { patch: Pick<Transform, 'x' | 'y'>; gx: number | null; gy: number | null } {
  const x = clamp(t0.x + dx / W, -4, 5);
  const y = clamp(t0.y + dy / H, -4, 5);
  const s = snap ? snapToGuides(x, y, 0.015) : { x, y, gx: null, gy: null };
  return { patch: { x: round4(s.x), y: round4(s.y) }, gx: s.gx, gy: s.gy };
}

/** Corner drag: uniform scale by how far the pointer is from the centre now vs at the start. */
export function scaled(t0: Transform, box: Pick<LayerBox, 'cx' | 'cy'>, from: { x: number; y: number }, to: { x: number; y: number }): Pick<Transform, 'scaleX' | 'scaleY'> {
  const d0 = Math.max(1, Math.hypot(from.x - box.cx, from.y - box.cy));
  const f = Math.hypot(to.x - box.cx, to.y - box.cy) / d0;
  return { scaleX: round4(clamp(t0.scaleX * f, 0.01, 20)), scaleY: round4(clamp(t0.scaleY * f, 0.01, 20)) };
}

/** Rotation knob drag: the angle swept around the centre; snaps to multiples of 45° within 4° (free with `free`). */
export function rotated(t0: Transform, box: Pick<LayerBox, 'cx' | 'cy'>, from: { x: number; y: number }, to: { x: number; y: number }, free = false): Pick<Transform, 'rotation'> {
  const a0 = Math.atan2(from.y - box.cy, from.x - box.cx);
  const a1 = Math.atan2(to.y - box.cy, to.x - box.cx);
  let r = t0.rotation + ((a1 - a0) * 180) / Math.PI;
  r = ((((r + 180) % 360) + 360) % 360) - 180;
  if (!free) {
    const k = Math.round(r / 45) * 45;
    if (Math.abs(k - r) <= 4) r = k;
  }
  return { rotation: Math.round(r * 10) / 10 };
}

function round4(v: number): number {
  return Math.round(v * 10000) / 10000;
}

/**
 * Platform safe zones (fractions of a 9:16 frame) where the app's own buttons and captions cover the
 * picture: keep text and faces inside. From the platforms' published creator templates (approximate).
 */
export const SAFE_ZONES = {
  tiktok: { label: 'TikTok', top: 0.08, bottom: 0.2, left: 0.06, right: 0.14 },
  reels: { label: 'Reels', top: 0.12, bottom: 0.18, left: 0.06, right: 0.1 },
  shorts: { label: 'Shorts', top: 0.08, bottom: 0.2, left: 0.06, right: 0.12 },
} as const;
export type SafeZone = keyof typeof SAFE_ZONES;
