/**
 * Snapping for timeline drags: a moving span [start, start + length) snaps either edge to the
 * nearest target (clip edges, the playhead, 0) within a threshold measured in frames (the caller
 * converts its pixel threshold at the current zoom). Pure.
 */

export interface Span {
  id: string;
  start: number;
  end: number;
}

/** Every frame something can snap to: 0, the playhead and both edges of every span not being moved. */
export function snapTargets(spans: readonly Span[], playhead: number, exclude: ReadonlySet<string> = new Set()): number[] {
  const out = new Set<number>([0, playhead]);
  for (const s of spans) {
    if (exclude.has(s.id)) continue;
    out.add(s.start);
    out.add(s.end);
  }
  return [...out].sort((a, b) => a - b);
}

/** Nearest target to `frame` within `threshold`, or null. */
export function nearest(frame: number, targets: readonly number[], threshold: number): number | null {
  let best: number | null = null;
  for (const t of targets) {
    const d = Math.abs(t - frame);
    if (d <= threshold && (best === null || d < Math.abs(best - frame))) best = t;
  }
  return best;
}

/**
 * Start frame for a span of `length` dragged to `start`: whichever edge is closer to a target wins;
 * the result is never negative.
 */
export function snapMove(start: number, length: number, targets: readonly number[], threshold: number): { start: number; snappedTo: number | null } {
  const a = nearest(start, targets, threshold);
  const b = nearest(start + length, targets, threshold);
  const da = a === null ? Infinity : Math.abs(a - start);
  const db = b === null ? Infinity : Math.abs(b - (start + length));
  if (a !== null && da <= db) return { start: Math.max(0, a), snappedTo: a };
  if (b !== null) return { start: Math.max(0, b - length), snappedTo: b };
  return { start: Math.max(0, Math.round(start)), snappedTo: null };
}

/** A single edge (trim handle, playhead scrub) snapped to the nearest target. */
export function snapEdge(frame: number, targets: readonly number[], threshold: number): number {
  return nearest(frame, targets, threshold) ?? Math.round(frame);
}

/** Frames per pixel threshold: how many frames `px` pixels cover at `pxPerFrame`. */
export function framesForPixels(px: number, pxPerFrame: number): number {
  return px / Math.max(pxPerFrame, 1e-6);
}
