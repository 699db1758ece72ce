/**
 * Multi-item timeline edits built from the shared ops (each a single undoable transaction with the
 * caller's origin). Kept apart from the component so the ordering rules are readable.
 */
import type * as Y from 'yjs';
import { addClip, arrangeTrack, copyClip, readTimeline, removeClip, moveClip, removeCropKeyframe, setClipDuration, setCropKeyframe, setTransition, trimClip, updateCue, updateMarker, clipLength, type ClipSnapshot, type TimelineSnapshot } from '@clipmaker/shared/timeline';
import type { Transition } from '@clipmaker/shared/render-spec';

/** What a finished timeline drag asks for. */
export type DragCommit =
  | { kind: 'move-clips'; ids: string[]; delta: number; trackId?: string }
  | { kind: 'trim-head'; id: string; delta: number }
  | { kind: 'trim-tail'; id: string; delta: number }
  | { kind: 'move-cues'; ids: string[]; delta: number }
  | { kind: 'move-keyframe'; clipId: string; from: number; to: number }
  | { kind: 'transition-duration'; clipId: string; duration: number }
  | { kind: 'move-marker'; id: string; to: number };

/** What the timeline's context menu asks for (the editor runs it on the selection). */
export type TimelineAction =
  | { kind: 'copy' }
  | { kind: 'paste'; frame: number }
  | { kind: 'duplicate' }
  | { kind: 'split'; clipId: string; frame: number }
  | { kind: 'delete'; ripple: boolean }
  | { kind: 'add-marker'; frame: number };

/** Applies a finished drag as one undoable edit (magnetic: the main track ripples, see below). */
export function applyDrag(doc: Y.Doc, tl: TimelineSnapshot, c: DragCommit, origin: unknown, opts: { magnetic?: boolean } = {}): void {
  const main = opts.magnetic ? mainTrackId(tl) : null;
  const onMain = (id: string) => main !== null && tl.clips.find((x) => x.id === id)?.trackId === main;
  if (c.kind === 'move-clips') {
    if (main && (c.ids.some(onMain) || c.trackId === main)) magneticMove(doc, tl, main, c.ids, c.delta, origin, c.trackId);
    else moveClipsBy(doc, tl, c.ids, c.delta, origin, c.trackId);
  } else if (c.kind === 'trim-head' || c.kind === 'trim-tail') {
    const trim = c.kind === 'trim-head' ? trimClipHead : trimClipTail;
    if (main && onMain(c.id)) rippleEdit(doc, main, origin, (fresh) => trim(doc, fresh, c.id, c.delta, origin));
    else trim(doc, tl, c.id, c.delta, origin);
  }
  else if (c.kind === 'move-cues') moveCuesBy(doc, tl, c.ids, c.delta, origin);
  else if (c.kind === 'move-marker') updateMarker(doc, c.id, { frame: Math.max(0, Math.round(c.to)) }, origin);
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

/** Clips of a track in timeline order. */
export function trackOrder(tl: TimelineSnapshot, trackId: string): string[] {
  return tl.clips.filter((c) => c.trackId === trackId).sort((a, b) => a.start - b.start).map((c) => c.id);
}

/** The magnetic main track: the bottom video track (the one every other layer sits on). */
export function mainTrackId(tl: TimelineSnapshot): string | null {
  return tl.tracks.filter((t) => t.kind === 'video').sort((a, b) => a.order - b.order)[0]?.id ?? null;
}

/**
 * Where a span dropped at `frame` goes in a magnetic track: before the first other clip whose
 * middle is after the frame (so dropping over the first half of a clip inserts before it).
 */
export function insertIndex(tl: TimelineSnapshot, trackId: string, frame: number, exclude: readonly string[] = []): number {
  const others = tl.clips.filter((c) => c.trackId === trackId && !exclude.includes(c.id)).sort((a, b) => a.start - b.start);
  const lengthOf = (id: string) => {
    const c = tl.clips.find((x) => x.id === id)!;
    const a = c.kind === 'text' ? undefined : tl.assets.find((x) => x.id === c.assetId);
    return clipLength(c, a, tl.meta.fps);
  };
  const i = others.findIndex((c) => c.start + lengthOf(c.id) / 2 > frame);
  return i < 0 ? others.length : i;
}

/** The frame where an insert at `index` lands today (the cut before the clip at that index), for the drop preview. */
export function insertFrame(tl: TimelineSnapshot, trackId: string, index: number, exclude: readonly string[] = []): number {
  const others = tl.clips.filter((c) => c.trackId === trackId && !exclude.includes(c.id)).sort((a, b) => a.start - b.start);
  if (index < others.length) return others[index]!.start;
  const last = others.at(-1);
  if (!last) return 0;
  const a = last.kind === 'text' ? undefined : tl.assets.find((x) => x.id === last.assetId);
  return last.start + clipLength(last, a, tl.meta.fps);
}

/**
 * Reorders clips on the magnetic track (ripple insert): the moved clips leave their place, the gap
 * closes, and they go in at the cut nearest to where they were dropped. Clips dragged off the main
 * track onto another one land where dropped and the main track closes up.
 */
export function magneticMove(doc: Y.Doc, tl: TimelineSnapshot, main: string, ids: readonly string[], delta: number, origin: unknown, trackId?: string): void {
  const chosen = tl.clips.filter((c) => ids.includes(c.id)).sort((a, b) => a.start - b.start);
  if (chosen.length === 0) return;
  const target = chosen.length === 1 ? (trackId ?? chosen[0]!.trackId) : chosen[0]!.trackId;
  doc.transact(() => {
    if (target === main) {
      const others = trackOrder(tl, main).filter((id) => !ids.includes(id));
      const at = insertIndex(tl, main, chosen[0]!.start + delta, ids);
      arrangeTrack(doc, main, [...others.slice(0, at), ...chosen.map((c) => c.id), ...others.slice(at)], origin);
    } else {
      // Off the main track: place them where dropped, then close the main track's gap.
      for (const c of chosen) moveClip(doc, c.id, { start: Math.max(0, c.start + delta), trackId: target }, origin);
      arrangeTrack(doc, main, trackOrder(readTimeline(doc), main), origin);
    }
  }, origin);
}

/**
 * Runs an edit of one clip of the magnetic track with room around it (the track's clips are first
 * spread far apart inside the same transaction, so a trim may grow into its neighbours), then lays the
 * track back to back in its order. One transaction: the spread is never seen by anyone.
 */
export function rippleEdit(doc: Y.Doc, trackId: string, origin: unknown, fn: (fresh: TimelineSnapshot) => void): void {
  doc.transact(() => {
    const tl = readTimeline(doc);
    const order = trackOrder(tl, trackId);
    const lastEnd = Math.max(0, ...tl.clips.map((c) => c.start + clipLength(c, c.kind === 'text' ? undefined : tl.assets.find((a) => a.id === c.assetId), tl.meta.fps)));
    const gap = 2 * lastEnd + 1_000_000;
    for (let i = order.length - 1; i >= 0; i--) moveClip(doc, order[i]!, gap * (i + 1), origin);
    fn(readTimeline(doc));
    const alive = new Set(readTimeline(doc).clips.filter((c) => c.trackId === trackId).map((c) => c.id));
    arrangeTrack(doc, trackId, order.filter((id) => alive.has(id)), origin);
  }, origin);
}

/** Media dropped from the bin: on the magnetic track it is inserted at the nearest cut (later clips move on). */
export function dropAsset(doc: Y.Doc, tl: TimelineSnapshot, opts: { assetId: string; trackId: string; frame: number }, origin: unknown, magnetic: boolean): string {
  let id = '';
  doc.transact(() => {
    if (magnetic && opts.trackId === mainTrackId(tl)) {
      const order = trackOrder(tl, opts.trackId);
      const at = insertIndex(tl, opts.trackId, opts.frame);
      id = addClip(doc, { assetId: opts.assetId, trackId: opts.trackId }, origin); // at the end (free), then into place
      arrangeTrack(doc, opts.trackId, [...order.slice(0, at), id, ...order.slice(at)], origin);
    } else id = addClip(doc, { assetId: opts.assetId, trackId: opts.trackId, start: Math.max(0, Math.round(opts.frame)) }, origin);
  }, origin);
  return id;
}

/** Deletes clips; on the magnetic track the gap always closes. */
export function deleteClips(doc: Y.Doc, tl: TimelineSnapshot, ids: readonly string[], ripple: boolean, origin: unknown, magnetic: boolean): void {
  const main = magnetic ? mainTrackId(tl) : null;
  const ordered = tl.clips.filter((c) => ids.includes(c.id)).sort((a, b) => b.start - a.start);
  doc.transact(() => {
    for (const c of ordered) removeClip(doc, c.id, { ripple: ripple || c.trackId === main }, origin);
  }, origin);
}

/**
 * Pastes copies of clips at `frame` (their offsets from the earliest kept, each on its own track);
 * on the magnetic main track the copies go in at the cut nearest `frame` and the rest ripple.
 * One transaction; returns the copies' ids. Refused (nothing pasted) where a copy would overlap.
 */
export function pasteClips(doc: Y.Doc, tl: TimelineSnapshot, ids: readonly string[], frame: number, origin: unknown, magnetic: boolean): string[] {
  const chosen = tl.clips.filter((c) => ids.includes(c.id)).sort((a, b) => a.start - b.start);
  if (chosen.length === 0) throw new Error('nothing to paste: the copied clips were deleted');
  const main = magnetic ? mainTrackId(tl) : null;
  const first = chosen[0]!.start;
  const out: string[] = [];
  doc.transact(() => {
    const mainCopies: string[] = [];
    for (const c of chosen) {
      if (c.trackId === main) {
        const end = insertFrame(readTimeline(doc), main, Number.MAX_SAFE_INTEGER); // the track's end: always free
        mainCopies.push(copyClip(doc, c.id, { start: end }, origin));
      } else out.push(copyClip(doc, c.id, { start: Math.max(0, Math.round(frame) + c.start - first) }, origin));
    }
    if (main && mainCopies.length > 0) {
      const order = trackOrder(tl, main);
      const at = insertIndex(tl, main, frame);
      arrangeTrack(doc, main, [...order.slice(0, at), ...mainCopies, ...order.slice(at)], origin);
    }
    out.push(...mainCopies);
  }, origin);
  return out;
}

/** Where a duplicate of clips goes: right after the last of them. */
export function selectionEnd(tl: TimelineSnapshot, ids: readonly string[]): number {
  let end = 0;
  for (const c of tl.clips) {
    if (!ids.includes(c.id)) continue;
    const a = c.kind === 'text' ? undefined : tl.assets.find((x) => x.id === c.assetId);
    end = Math.max(end, c.start + clipLength(c, a, tl.meta.fps));
  }
  return end;
}
