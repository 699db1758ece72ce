/**
 * Multi-item timeline edits built from the shared ops (each a single undoable transaction with the
 * caller's origin). Kept apart from the component so the ordering rules are readable.
 */
import type * as Y from 'yjs';
import { moveClip, trimClip, updateCue, updateOverlay, removeCropKeyframe, setCropKeyframe, type TimelineSnapshot } from '@clipmaker/shared/timeline';

/** What a finished timeline drag asks for. */
export type DragCommit =
  | { kind: 'move-clips'; ids: string[]; delta: number }
  | { kind: 'trim-head'; id: string; delta: number }
  | { kind: 'trim-tail'; id: string; delta: number }
  | { kind: 'move-cues'; ids: string[]; delta: number }
  | { kind: 'move-overlays'; ids: string[]; delta: number }
  | { kind: 'move-keyframe'; clipId: string; from: number; to: number };

/** Applies a finished drag as one undoable edit. */
export function applyDrag(doc: Y.Doc, tl: TimelineSnapshot, c: DragCommit, origin: unknown): void {
  if (c.kind === 'move-clips') moveClipsBy(doc, tl, c.ids, c.delta, origin);
  else if (c.kind === 'trim-head') trimClipHead(doc, tl, c.id, c.delta, origin);
  else if (c.kind === 'trim-tail') trimClipTail(doc, tl, c.id, c.delta, origin);
  else if (c.kind === 'move-cues') moveCuesBy(doc, tl, c.ids, c.delta, origin);
  else if (c.kind === 'move-overlays') moveOverlaysBy(doc, tl, c.ids, c.delta, origin);
  else moveCropKeyframe(doc, tl, c.clipId, c.from, c.to, origin);
}

/** Moves clips by `delta` frames; clips are moved in the order that never makes them collide with each other. */
export function moveClipsBy(doc: Y.Doc, tl: TimelineSnapshot, ids: readonly string[], delta: number, origin: unknown): void {
  const chosen = tl.clips.filter((c) => ids.includes(c.id)).sort((a, b) => (delta > 0 ? b.start - a.start : a.start - b.start));
  if (chosen.length === 0 || delta === 0) return;
  if (chosen.some((c) => c.start + delta < 0)) throw new Error('clips cannot move before the start of the timeline');
  doc.transact(() => {
    for (const c of chosen) moveClip(doc, c.id, c.start + delta, origin);
  }, origin);
}

/** Timeline frames -> source frames of an asset. */
function toSource(frames: number, srcFps: { num: number; den: number } | null, fps: { num: number; den: number }): number {
  if (!srcFps) return frames;
  return Math.round((frames * srcFps.num * fps.den) / (srcFps.den * fps.num));
}

/** Trims the head of a clip by `delta` timeline frames keeping its tail where it is (NLE trim). */
export function trimClipHead(doc: Y.Doc, tl: TimelineSnapshot, clipId: string, delta: number, origin: unknown): void {
  const c = tl.clips.find((x) => x.id === clipId);
  const a = c && tl.assets.find((x) => x.id === c.assetId);
  if (!c || !a || delta === 0) return;
  const srcDelta = Math.max(-c.sourceIn, toSource(delta, a.fps, tl.meta.fps));
  const sourceIn = c.sourceIn + srcDelta;
  if (sourceIn >= c.sourceOut) throw new Error('the clip must keep at least one frame');
  const start = c.start + (srcDelta === toSource(delta, a.fps, tl.meta.fps) ? delta : Math.round((srcDelta * tl.meta.fps.num * (a.fps?.den ?? 1)) / (tl.meta.fps.den * (a.fps?.num ?? 1))));
  if (start < 0) throw new Error('clips cannot start before the timeline');
  doc.transact(() => {
    if (delta > 0) {
      trimClip(doc, clipId, { sourceIn }, origin);
      moveClip(doc, clipId, start, origin);
    } else {
      moveClip(doc, clipId, start, origin);
      trimClip(doc, clipId, { sourceIn }, origin);
    }
  }, origin);
}

/** Trims the tail of a clip by `delta` timeline frames. */
export function trimClipTail(doc: Y.Doc, tl: TimelineSnapshot, clipId: string, delta: number, origin: unknown): void {
  const c = tl.clips.find((x) => x.id === clipId);
  const a = c && tl.assets.find((x) => x.id === c.assetId);
  if (!c || !a || delta === 0) return;
  trimClip(doc, clipId, { sourceOut: c.sourceOut + toSource(delta, a.fps, tl.meta.fps) }, origin);
}

export function moveCuesBy(doc: Y.Doc, tl: TimelineSnapshot, ids: readonly string[], delta: number, origin: unknown): void {
  const chosen = tl.cues.filter((c) => ids.includes(c.id));
  if (chosen.some((c) => c.start + delta < 0)) throw new Error('subtitles cannot move before the start of the timeline');
  doc.transact(() => {
    for (const c of chosen) updateCue(doc, c.id, { start: c.start + delta, end: c.end + delta }, origin);
  }, origin);
}

export function moveOverlaysBy(doc: Y.Doc, tl: TimelineSnapshot, ids: readonly string[], delta: number, origin: unknown): void {
  const chosen = tl.overlays.filter((o) => ids.includes(o.id));
  if (chosen.some((o) => o.start + delta < 0)) throw new Error('overlays cannot move before the start of the timeline');
  doc.transact(() => {
    for (const o of chosen) updateOverlay(doc, o.id, { start: o.start + delta, end: o.end + delta }, origin);
  }, origin);
}

/** Moves one crop keyframe to another frame of the same clip (replacing any keyframe there). */
export function moveCropKeyframe(doc: Y.Doc, tl: TimelineSnapshot, clipId: string, from: number, to: number, origin: unknown): void {
  const c = tl.clips.find((x) => x.id === clipId);
  const k = c?.crop.find((x) => x.frame === from);
  if (!c || !k || from === to) return;
  doc.transact(() => {
    removeCropKeyframe(doc, clipId, from, origin);
    setCropKeyframe(doc, clipId, { ...k, frame: Math.max(0, to) }, origin);
  }, origin);
}
