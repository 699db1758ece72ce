/**
 * Drawn annotations on a paused frame: pen strokes, arrows and rectangles in normalized frame
 * coordinates (0..1 of the video's width and height), so they scale with the player. Shared by the
 * server (validation) and the reviewer page (drawing).
 */
import { z } from 'zod';

const N = z.number().min(0).max(1);
export const Point = z.object({ x: N, y: N });
const Color = z.string().regex(/^#[0-9a-fA-F]{6}$/);

export const PenShape = z.object({ kind: z.literal('pen'), color: Color, points: z.array(Point).min(2).max(2000) });
export const ArrowShape = z.object({ kind: z.literal('arrow'), color: Color, from: Point, to: Point });
export const RectShape = z.object({ kind: z.literal('rect'), color: Color, from: Point, to: Point });
export const Shape = z.discriminatedUnion('kind', [PenShape, ArrowShape, RectShape]);
export type Shape = z.infer<typeof Shape>;

export const Annotation = z.object({ shapes: z.array(Shape).min(1).max(50) });
export type Annotation = z.infer<typeof Annotation>;

/** Draws shapes onto a 2D context of size w x h. */
export function drawShapes(g: CanvasRenderingContext2D, shapes: readonly Shape[], w: number, h: number): void {
  g.lineWidth = Math.max(2, Math.round(w / 200));
  g.lineCap = 'round';
  g.lineJoin = 'round';
  for (const s of shapes) {
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
export function timecode(frame: number, fps: number): string {
  const whole = Math.round(fps);
  const total = Math.floor(frame / whole);
  const m = Math.floor(total / 60);
  const s = total % 60;
  return `${m}:${String(s).padStart(2, '0')}:${String(frame % whole).padStart(2, '0')}`;
}
