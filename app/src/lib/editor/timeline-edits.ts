/**
 * Multi-item timeline edits built from the shared ops (each a single undoable transaction with the
 * caller's origin). Kept apart from the component so the ordering rules are readable.
 */
import type * as Y from 'yjs';
import { moveClip, removeCropKeyframe, setClipDuration, setCropKeyframe, setTransition, trimClip, updateCue, type ClipSnapshot, type TimelineSnapshot } from '@clipmaker/shared/timeline';
import type { Transition } from '@clipmaker/shared/render-spec';

/** What a finished timeline drag asks for. */
export type DragCommit =
  | { kind: 'move-clips'; ids: string[]; delta: number; trackId?: string }
  | { kind: 'trim-head'; id: string; delta: number }
  | { kind: 'trim-tail'; id: string; delta: number }
  | { kind: 'move-cues'; ids: string[]; delta: number }
  | { kind: 'move-keyframe'; clipId: string; from: number; to: number }
  | { kind: 'transition-duration'; clipId: string; duration: number };

/** Applies a finished drag as one undoable edit. */
export function applyDrag(doc: Y.Doc, tl: TimelineSnapshot, c: DragCommit, origin: unknown): void {
  if (c.kind === 'move-clips') moveClipsBy(doc, tl, c.ids, c.delta, origin, c.trackId);
  else if (c.kind === 'trim-head') trimClipHead(doc, tl, c.id, c.delta, origin);
  else if (c.kind === 'trim-tail') trimClipTail(doc, tl, c.id, c.delta, origin);
  else if (c.kind === 'move-cues') moveCuesBy(doc, tl, c.ids, c.delta, origin);
  else if (c.kind === 'transition-duration') {
    const clip = tl.clips.find((x) => x.id === c.clipId);
    if (clip?.transition) setTransition(doc, c.clipId, { ...clip.transition, duration: Math.max(2, Math.round(c.duration)) } as Transition, origin);
  } else moveCropKeyframe(doc, tl, c.clipId, c.from, c.to, origin);
}

/**
 * Moves clips by `delta` frames (a single clip may also change track); clips are moved in the
 * order that never makes them collide with each other.
 */
export function moveClipsBy(doc: Y.Doc, tl: TimelineSnapshot, ids: readonly string[], delta: number, origin: unknown, trackId?: string): void {
  const chosen = tl.clips.filter((c) => ids.includes(c.id)).sort((a, b) => (delta > 0 ? b.start - a.start : a.start - b.start));
  if (chosen.length === 0 || (delta === 0 && !trackId)) return;
  if (chosen.some((c) => c.start + delta < 0)) throw new Error('clips cannot move before the start of the timeline');
  doc.transact(() => {
    for (const c of chosen) moveClip(doc, c.id, { start: c.start + delta, trackId: chosen.length === 1 ? (trackId ?? c.trackId) : c.trackId }, origin);
  }, origin);
}

type Media = Extract<ClipSnapshot, { kind: 'video' | 'audio' }>;

/** Timeline frames -> source frames of a media clip at its speed. */
function toSource(frames: number, c: Media, srcFps: { num: number; den: number } | null, fps: { num: number; den: number }): number {
  const s = srcFps ?? fps;
  return Math.round((frames * c.speed.num * s.num * fps.den) / (c.speed.den * s.den * fps.num));
}

function fromSource(frames: number, c: Media, srcFps: { num: number; den: number } | null, fps: { num: number; den: number }): number {
  const s = srcFps ?? fps;
  return Math.round((frames * c.speed.den * s.den * fps.num) / (c.speed.num * s.num * fps.den));
}

/** Trims the head of a clip by `delta` timeline frames keeping its tail where it is (NLE trim). */
export function trimClipHead(doc: Y.Doc, tl: TimelineSnapshot, clipId: string, delta: number, origin: unknown): void {
  const c = tl.clips.find((x) => x.id === clipId);
  if (!c || delta === 0) return;
  if (c.kind === 'image' || c.kind === 'text' || (c.kind === 'video' && c.freeze)) {
    const length = c.kind === 'video' ? c.freeze! : c.duration;
    const d = Math.max(-c.start, Math.min(length - 1, delta));
    doc.transact(() => {
      if (d > 0) {
        setClipDuration(doc, clipId, length - d, origin);
        moveClip(doc, clipId, c.start + d, origin);
      } else {
        moveClip(doc, clipId, c.start + d, origin);
        setClipDuration(doc, clipId, length - d, origin);
      }
    }, origin);
    return;
  }
  const a = tl.assets.find((x) => x.id === c.assetId);
  if (!a) return;
  // A reversed clip's head is its out point.
  const want = toSource(delta, c, a.fps, tl.meta.fps);
  const srcDelta = c.reverse ? Math.max(c.sourceOut - (a.durationFrames ?? c.sourceOut), want) : Math.max(-c.sourceIn, want);
  const start = c.start + (srcDelta === want ? delta : fromSource(srcDelta, c, a.fps, tl.meta.fps));
  if (start < 0) throw new Error('clips cannot start before the timeline');
  const points = c.reverse ? { sourceOut: c.sourceOut - srcDelta } : { sourceIn: c.sourceIn + srcDelta };
  if ((points.sourceIn ?? c.sourceIn) >= (points.sourceOut ?? c.sourceOut)) throw new Error('the clip must keep at least one frame');
  doc.transact(() => {
    if (delta > 0) {
      trimClip(doc, clipId, points, origin);
      moveClip(doc, clipId, start, origin);
    } else {
      moveClip(doc, clipId, start, origin);
      trimClip(doc, clipId, points, origin);
    }
  }, origin);
}

/** Trims the tail of a clip by `delta` timeline frames. */
export function trimClipTail(doc: Y.Doc, tl: TimelineSnapshot, clipId: string, delta: number, origin: unknown): void {
  const c = tl.clips.find((x) => x.id === clipId);
  if (!c || delta === 0) return;
  if (c.kind === 'image' || c.kind === 'text' || (c.kind === 'video' && c.freeze)) {
    const length = c.kind === 'video' ? c.freeze! : c.duration;
    setClipDuration(doc, clipId, Math.max(1, length + delta), origin);
    return;
  }
  const a = tl.assets.find((x) => x.id === c.assetId);
  if (!a) return;
  const d = toSource(delta, c, a.fps, tl.meta.fps);
  trimClip(doc, clipId, c.reverse ? { sourceIn: Math.max(0, c.sourceIn - d) } : { sourceOut: c.sourceOut + d }, origin);
}

export function moveCuesBy(doc: Y.Doc, tl: TimelineSnapshot, ids: readonly string[], delta: number, origin: unknown): void {
  const chosen = tl.cues.filter((c) => ids.includes(c.id));
  if (chosen.some((c) => c.start + delta < 0)) throw new Error('subtitles cannot move before the start of the timeline');
  doc.transact(() => {
    for (const c of chosen) updateCue(doc, c.id, { start: c.start + delta, end: c.end + delta }, origin);
  }, origin);
}

/** Moves one crop keyframe to another frame of the same clip (replacing any keyframe there). */
export function moveCropKeyframe(doc: Y.Doc, tl: TimelineSnapshot, clipId: string, from: number, to: number, origin: unknown): void {
  const c = tl.clips.find((x) => x.id === clipId);
  const k = c?.kind === 'video' ? c.crop.find((x) => x.frame === from) : undefined;
  if (!c || !k || from === to) return;
  doc.transact(() => {
    removeCropKeyframe(doc, clipId, from, origin);
    setCropKeyframe(doc, clipId, { ...k, frame: Math.max(0, to) }, origin);
  }, origin);
}
