/**
 * Drawn annotations on a paused frame: pen strokes, arrows and rectangles in normalized frame
 * coordinates (0..1 of the video's width and height), so they scale with the player. Shared by the
 * server (validation) and the reviewer page (drawing).
 */
import { z } from 'zod';

const N = z.number().min(0).max(1);
export const Point = z.object({ x: N, y: N });
const Color = z.string().regex(/^#[0-9a-fA-F]{6}$/);
/** Stroke width in thousandths of the frame width (so it scales with the player); absent: default. */
const Width = z.number().min(1).max(40).optional();

export const PenShape = z.object({ kind: z.literal('pen'), color: Color, width: Width, points: z.array(Point).min(2).max(2000) });
export const ArrowShape = z.object({ kind: z.literal('arrow'), color: Color, width: Width, from: Point, to: Point });
export const RectShape = z.object({ kind: z.literal('rect'), color: Color, width: Width, from: Point, to: Point });
export const Shape = z.discriminatedUnion('kind', [PenShape, ArrowShape, RectShape]);
export type Shape = z.infer<typeof Shape>;

export const Annotation = z.object({ shapes: z.array(Shape).min(1).max(50) });
export type Annotation = z.infer<typeof Annotation>;

/** Draws shapes onto a 2D context of size w x h. */
export function drawShapes(g: CanvasRenderingContext2D, shapes: readonly Shape[], w: number, h: number): void {
  g.lineCap = 'round';
  g.lineJoin = 'round';
  for (const s of shapes) {
    g.lineWidth = Math.max(2, (w * (s.width ?? 5)) / 1000);
    g.strokeStyle = s.color;
    g.beginPath();
    if (s.kind === 'pen') {
      s.points.forEach((p, i) => (i === 0 ? g.moveTo(p.x * w, p.y * h) : g.lineTo(p.x * w, p.y * h)));
    } else if (s.kind === 'rect') {
      g.rect(Math.min(s.from.x, s.to.x) * w, Math.min(s.from.y, s.to.y) * h, Math.abs(s.to.x - s.from.x) * w, Math.abs(s.to.y - s.from.y) * h);
    } else {
      const x1 = s.from.x * w, y1 = s.from.y * h, x2 = s.to.x * w, y2 = s.to.y * h;
      const angle = Math.atan2(y2 - y1, x2 - x1);
      const head = Math.max(10, w / 40);
      g.moveTo(x1, y1);
      g.lineTo(x2, y2);
      g.moveTo(x2, y2);
      g.lineTo(x2 - head * Math.cos(angle - Math.PI / 6), y2 - head * Math.sin(angle - Math.PI / 6));
      g.moveTo(x2, y2);
      g.lineTo(x2 - head * Math.cos(angle + Math.PI / 6), y2 - head * Math.sin(angle + Math.PI / 6));
    }
    g.stroke();
  }
}

/**
 * Frame on screen at media time t: frame f is presented during [f/fps, (f+1)/fps), so floor (with a
 * tolerance for binary rounding), not round. Seeking targets a frame's middle, so both agree.
 */
export function frameAt(seconds: number, fps: number): number {
  return Math.max(0, Math.floor(seconds * fps + 1e-4));
}
export function timeOfFrame(frame: number, fps: number): number {
  return (frame + 0.5) / fps;
}
/**
 * SMPTE timecode HH:MM:SS:FF. Integer rates count frames of that rate; 29.97 and 59.94 use
 * drop-frame (HH:MM:SS;FF), skipping frame labels 0-1 (0-3 at 59.94) each minute except every tenth,
 * so the timecode keeps to the wall clock as NLEs show it.
 */
export function smpte(frame: number, fps: number): string {
  const nominal = Math.round(fps);
  const drop = Math.abs(fps - nominal) > 0.001 && (nominal === 30 || nominal === 60);
  let f = Math.max(0, Math.floor(frame));
  if (drop) {
    const d = nominal === 30 ? 2 : 4;
    const perMin = nominal * 60 - d;
    const per10 = perMin * 10 + d;
    const tens = Math.floor(f / per10);
    const rem = f % per10;
    f += 9 * d * tens + (rem > d ? d * Math.floor((rem - d) / perMin) : 0);
  }
  const ff = f % nominal;
  const secs = Math.floor(f / nominal);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(Math.floor(secs / 3600))}:${pad(Math.floor(secs / 60) % 60)}:${pad(secs % 60)}${drop ? ';' : ':'}${pad(ff)}`;
}

export type TimeDisplay = 'smpte' | 'frames';
/** What the player shows for a frame: SMPTE timecode or the frame number. */
export function showTime(frame: number, fps: number, mode: TimeDisplay): string {
  return mode === 'frames' ? `f${frame}` : smpte(frame, fps);
}

/** Legacy short form M:SS:FF (kept for notifications and older links). */
export function timecode(frame: number, fps: number): string {
  const whole = Math.round(fps);
  const total = Math.floor(frame / whole);
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${m}:${String(s).padStart(2, '0')}:${String(frame % whole).padStart(2, '0')}`;
}
