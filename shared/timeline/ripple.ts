/**
 * Ripple cuts (deleting transcript words, "remove fillers and pauses") and their semantic undo.
 *
 * Why not Yjs' item-level undo: a cut splits a clip by trimming the original's `sourceOut` and
 * inserting a new map for the part after the cut. When another user cuts over the same clip and
 * undoes it, their undo writes our value back as a NEW item of theirs (Yjs' `redone` link is local
 * to their doc). Our later undo then sees a foreign write on `sourceOut` and refuses to restore it
 * ("conflicts with a change from another client") while it still deletes the piece our split
 * inserted: the media after the cut vanished. And in the other order our undo deleted our piece
 * although the other user's cut had re-trimmed the original, losing it as well.
 *
 * So a cut records WHAT it removed (clip pieces with all their fields, caption words, cues) and
 * where (its seam: the clips it left on each side, by id and source frame). Undo re-inserts exactly
 * that, at the seam found in the document as it is now, rippling later content right, and merges a
 * re-inserted piece back into its neighbours when they are contiguous in the same source: it never
 * deletes anything and never writes back a stale value, so undos of several users compose in any
 * order and no source frame is lost. Redo cuts the re-inserted source range again (a new record).
 */
import * as Y from 'yjs';
import { TimelineError, clipLength, maps, movedWord, type ClipSnapshot, type CueWord, type TimelineSnapshot } from './model.ts';
import { newId, removeClip, setFields, splitClip } from './ops.ts';
import { readTimeline } from './read.ts';

type Origin = unknown;

/** Transaction meta key: the RippleCut[] a transaction performed (read by the app's undo manager). */
export const RIPPLE_CUT_META = 'clipmaker.rippleCut';
/** Transaction meta key: the RippleRestore[] an undo of a cut performed (for its redo). */
export const RIPPLE_RESTORE_META = 'clipmaker.rippleRestore';

/** A Y.Map's content as plain data (shared types tagged), to re-create it later. */
type MapSnap = Record<string, { t: 'v'; v: unknown } | { t: 'text'; v: string } | { t: 'array'; v: unknown[] } | { t: 'map'; v: MapSnap }>;

function snapMap(m: Y.Map<unknown>): MapSnap {
  const out: MapSnap = {};
  for (const [k, v] of m.entries()) {
    if (v instanceof Y.Text) out[k] = { t: 'text', v: v.toString() };
    else if (v instanceof Y.Array) out[k] = { t: 'array', v: v.toJSON() };
    else if (v instanceof Y.Map) out[k] = { t: 'map', v: snapMap(v) };
    else out[k] = { t: 'v', v: structuredClone(v) };
  }
  return out;
}

function fillMap(m: Y.Map<unknown>, snap: MapSnap, override: Record<string, unknown> = {}): void {
  for (const [k, s] of Object.entries(snap)) {
    if (k in override) continue;
    if (s.t === 'v') m.set(k, structuredClone(s.v));
    else if (s.t === 'text') {
      const t = new Y.Text();
      m.set(k, t);
      t.insert(0, s.v);
    } else if (s.t === 'array') {
      const a = new Y.Array<unknown>();
      m.set(k, a);
      a.push(structuredClone(s.v));
    } else {
      const c = new Y.Map<unknown>();
      m.set(k, c);
      fillMap(c, s.v);
    }
  }
  for (const [k, v] of Object.entries(override)) m.set(k, v);
}

const num = (s: MapSnap, k: string): number => Number((s[k] as { v: unknown } | undefined)?.v);
const str = (s: MapSnap, k: string): string | null => {
  const v = (s[k] as { v: unknown } | undefined)?.v;
  return typeof v === 'string' ? v : null;
};

/** The clips a cut left on both sides of its seam on one track. */
interface Seam {
  trackId: string;
  left: { id: string; assetId: string | null; sourceOut: number | null } | null;
  right: { id: string; assetId: string | null; sourceIn: number | null } | null;
}

/** What one range of a ripple cut removed, in the coordinates of the moment it was cut. */
export interface RippleCut {
  a: number;
  len: number;
  /** Removed clip pieces (their `start` lies in [a, a + len)). */
  pieces: MapSnap[];
  seams: Seam[];
  /** For a range past every clip (captions only): how far past the clips' end it started. */
  tail: number | null;
  /** Offset into the range where the clips ended when it was cut (a range running past their end). */
  emptyFrom?: number | null;
  /** Removed caption words (times as before the cut; `low` = their low-confidence flag, kept on undo). */
  words: { cueId: string; start: number; end: number; text: string; line: number; low?: true }[];
  /** Cues the cut deleted, as before the cut. */
  cues: MapSnap[];
  /** Cue boundaries and kept words the cut clamped to `a` (they were inside the range): their old frames. */
  clamped: { cueId: string; start: number | null; end: number | null; words: { at: number; start: number; end: number }[] }[];
}

/** What the undo of one range re-inserted: the source frames it brought back, for redo. */
export interface RippleRestore {
  p: number;
  len: number;
  /** The first media piece re-inserted: where its source frame is now is where redo cuts. */
  anchor: { trackId: string; assetId: string; sourceIn: number; offset: number } | null;
}

/** Words of a cue with their line numbers. */
export function tokensOf(text: string): { text: string; line: number }[] {
  return text.split('\n').flatMap((l, line) => l.split(/\s+/u).filter(Boolean).map((t) => ({ text: t, line })));
}
export function textOf(tokens: readonly { text: string; line: number }[]): string {
  let s = '';
  tokens.forEach((t, i) => (s += i === 0 ? t.text : (tokens[i - 1]!.line === t.line ? ' ' : '\n') + t.text));
  return s;
}

/** Frame ranges [start, end) sorted and merged. */
export function mergeRanges(ranges: readonly [number, number][]): [number, number][] {
  const sorted = ranges.filter(([a, b]) => b > a).map(([a, b]) => [a, b] as [number, number]).sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const r of sorted) {
    const last = out.at(-1);
    if (last && r[0] <= last[1]) last[1] = Math.max(last[1], r[1]);
    else out.push(r);
  }
  return out;
}

function lengthIn(tl: TimelineSnapshot, c: ClipSnapshot): number {
  return clipLength(c, c.kind === 'text' ? undefined : tl.assets.find((x) => x.id === c.assetId), tl.meta.fps);
}
const endOf = (tl: TimelineSnapshot, c: ClipSnapshot) => c.start + lengthIn(tl, c);
const isMedia = (c: ClipSnapshot): c is Extract<ClipSnapshot, { kind: 'video' | 'audio' }> => c.kind === 'video' || c.kind === 'audio';

/**
 * Ripple-deletes timeline ranges from every track (as deleting words in Descript): clips are split
 * at the range edges and the inside removed, everything later moves left; caption words inside are
 * removed and later cues move left. Refuses when a locked track has content at or after the first
 * range (it could not follow). One transaction: one undo step; what it removed is recorded in the
 * transaction's meta (RIPPLE_CUT_META) for a semantic undo.
 */
export function rippleDeleteRanges(doc: Y.Doc, rangesIn: readonly [number, number][], origin: Origin = null): number {
  const ranges = mergeRanges(rangesIn);
  if (ranges.length === 0) return 0;
  const tl = readTimeline(doc);
  const first = ranges[0]![0];
  const locked = new Set(tl.tracks.filter((t) => t.locked).map((t) => t.id));
  if (tl.clips.some((c) => locked.has(c.trackId) && endOf(tl, c) > first)) throw new TimelineError('unlock the locked tracks first: they could not move with the cut');
  let removed = 0;
  doc.transact((tr) => {
    const records: RippleCut[] = (tr.meta.get(RIPPLE_CUT_META) as RippleCut[] | undefined) ?? [];
    // Last range first, so earlier frames keep their meaning.
    for (const [a, b] of [...ranges].reverse()) {
      const len = b - a;
      const rec: RippleCut = { a, len, pieces: [], seams: [], tail: null, words: [], cues: [], clamped: [] };
      const cutTracks = new Set<string>();
      const before = readTimeline(doc);
      const endBefore = before.clips.reduce((n, c) => Math.max(n, endOf(before, c)), 0);
      rec.emptyFrom = endBefore > a && endBefore < b ? endBefore - a : null;
      for (const c of readTimeline(doc).clips) {
        const now = readTimeline(doc);
        const cur = now.clips.find((x) => x.id === c.id);
        if (!cur || endOf(now, cur) <= a || cur.start >= b) continue;
        let id = c.id;
        if (cur.start < a) id = splitClip(doc, id, a, origin);
        const inner = readTimeline(doc);
        if (endOf(inner, inner.clips.find((x) => x.id === id)!) > b) splitClip(doc, id, b, origin);
        rec.pieces.push(snapMap(maps(doc).clips.get(id) as Y.Map<unknown>));
        cutTracks.add(c.trackId);
        removeClip(doc, id, {}, origin);
      }
      for (const m of maps(doc).clips.values()) {
        const s = m.get('start');
        if (typeof s === 'number' && s >= b) m.set('start', s - len);
      }
      const after = readTimeline(doc);
      const contentEnd = after.clips.reduce((n, c) => Math.max(n, endOf(after, c)), 0);
      if (a >= contentEnd) rec.tail = a - contentEnd;
      for (const trackId of cutTracks) {
        const l = after.clips.find((c) => c.trackId === trackId && endOf(after, c) === a);
        const r = after.clips.find((c) => c.trackId === trackId && c.start === a);
        rec.seams.push({
          trackId,
          left: l ? { id: l.id, assetId: isMedia(l) ? l.assetId : null, sourceOut: isMedia(l) && !l.reverse ? l.sourceOut : null } : null,
          right: r ? { id: r.id, assetId: isMedia(r) ? r.assetId : null, sourceIn: isMedia(r) && !r.reverse ? r.sourceIn : null } : null,
        });
      }
      // Media pieces first: their seams locate the cut best.
      rec.seams.sort((x, y) => Number(x.left?.assetId == null && x.right?.assetId == null) - Number(y.left?.assetId == null && y.right?.assetId == null));
      for (const [cid, m] of [...maps(doc).cues.entries()]) {
        const start = m.get('start') as number;
        const end = m.get('end') as number;
        if (end <= a) continue;
        const shift = (f: number) => (f >= b ? f - len : f > a ? a : f);
        // Frames the cut moved onto `a` although they were not there: their old value is recorded.
        const inS = (f: number) => f >= a && f < b;
        const inE = (f: number) => f > a && f <= b;
        const words = m.get('words') as CueWord[] | undefined;
        const text = m.get('text') as string;
        const clamp = { cueId: cid, start: inS(start) ? start : null, end: inE(end) ? end : null, words: [] as { at: number; start: number; end: number }[] };
        if (Array.isArray(words) && words.length === tokensOf(text).length) {
          const tokens = tokensOf(text);
          const keep = words.map((w, i) => ({ w, t: tokens[i]! })).filter(({ w }) => !(w.start >= a && w.end <= b));
          removed += words.length - keep.length;
          if (keep.length === 0) {
            rec.cues.push(snapMap(m));
            maps(doc).cues.delete(cid);
            continue;
          }
          words.forEach((w, i) => {
            if (w.start >= a && w.end <= b) rec.words.push({ cueId: cid, ...movedWord(w, w.start, w.end), text: tokens[i]!.text, line: tokens[i]!.line });
          });
          const nw = keep.map(({ w }) => movedWord(w, shift(w.start), Math.max(shift(w.start) + 1, shift(w.end))));
          keep.forEach(({ w }, i) => {
            if (inS(w.start) || inE(w.end)) clamp.words.push({ at: nw[i]!.start, start: w.start, end: w.end });
          });
          const ns = Math.min(shift(start), nw[0]!.start);
          const ne = Math.max(shift(end), nw.at(-1)!.end);
          setFields(m, { start: ns, end: ne, text: textOf(keep.map(({ t }) => t)), words: nw });
        } else {
          const ns = shift(start);
          const ne = shift(end);
          if (ne <= ns) {
            rec.cues.push(snapMap(m));
            maps(doc).cues.delete(cid);
            continue;
          }
          setFields(m, { start: ns, end: ne });
        }
        if (clamp.start !== null || clamp.end !== null || clamp.words.length > 0) rec.clamped.push(clamp);
      }
      records.push(rec);
    }
    tr.meta.set(RIPPLE_CUT_META, records);
  }, origin);
  return removed;
}

/** Where a seam is in the document now (the frame the cut's range starts at), or null. */
function findSeam(tl: TimelineSnapshot, seam: Seam): number | null {
  const onTrack = tl.clips.filter((c) => c.trackId === seam.trackId);
  const { left, right } = seam;
  const byId = (id: string) => onTrack.find((c) => c.id === id);
  const l = left && byId(left.id);
  if (l && isMedia(l) && !l.reverse && l.sourceOut === left.sourceOut) return endOf(tl, l);
  // The clip ending where our piece's source starts, whatever its id now (a merge may have renamed it).
  if (left?.assetId && left.sourceOut !== null) {
    const c = onTrack.find((x) => isMedia(x) && !x.reverse && x.assetId === left.assetId && x.sourceOut === left.sourceOut);
    if (c) return endOf(tl, c);
  }
  const r = right && byId(right.id);
  if (r && isMedia(r) && !r.reverse && r.sourceIn === right.sourceIn) return r.start;
  if (right?.assetId && right.sourceIn !== null) {
    const c = onTrack.find((x) => isMedia(x) && !x.reverse && x.assetId === right.assetId && x.sourceIn === right.sourceIn);
    if (c) return c.start;
  }
  // The seam itself was cut away by someone else: next to the nearest source frames still there.
  const media = onTrack.filter((x): x is Extract<ClipSnapshot, { kind: 'video' | 'audio' }> => isMedia(x) && !x.reverse);
  if (left?.assetId && left.sourceOut !== null) {
    const before = media.filter((x) => x.assetId === left.assetId && x.sourceOut <= left.sourceOut!).sort((x, y) => y.sourceOut - x.sourceOut)[0];
    if (before) return endOf(tl, before);
  }
  if (right?.assetId && right.sourceIn !== null) {
    const after = media.filter((x) => x.assetId === right.assetId && x.sourceIn >= right.sourceIn!).sort((x, y) => x.sourceIn - y.sourceIn)[0];
    if (after) return after.start;
  }
  if (l && !left?.assetId) return endOf(tl, l);
  if (r && !right?.assetId) return r.start;
  return null;
}

/** Where a recorded range starts now: its first seam found, else its old frame (within the timeline). */
function seamOf(tl: TimelineSnapshot, rec: RippleCut): number {
  for (const s of rec.seams) {
    const p = findSeam(tl, s);
    if (p !== null) return p;
  }
  const end = tl.clips.reduce((n, c) => Math.max(n, endOf(tl, c)), 0);
  if (rec.tail !== null) return end + rec.tail;
  // Nothing to anchor to (captions over a gap between clips): where it was.
  if (rec.seams.length === 0) return rec.a;
  return Math.min(rec.a, end);
}

/** Timeline frame of source frame `src` of a media clip that holds it (non-reversed), or null. */
function frameOfSource(tl: TimelineSnapshot, trackId: string, assetId: string, src: number): number | null {
  for (const c of tl.clips) {
    if (c.trackId !== trackId || !isMedia(c) || c.reverse || c.assetId !== assetId) continue;
    if (c.kind === 'video' && c.freeze) continue;
    if (src < c.sourceIn || src >= c.sourceOut) continue;
    return c.start + (src === c.sourceIn ? 0 : lengthIn(tl, { ...c, sourceOut: src }));
  }
  return null;
}

/** The first removed media piece (non-reversed): its source frame locates the range for redo. */
function mediaAnchor(rec: RippleCut): RippleRestore['anchor'] {
  const m = rec.pieces.find((x) => ['video', 'audio'].includes(str(x, 'kind') ?? '') && !(x.reverse as { v: unknown } | undefined)?.v);
  return m ? { trackId: str(m, 'trackId')!, assetId: str(m, 'assetId')!, sourceIn: num(m, 'sourceIn'), offset: num(m, 'start') - rec.a } : null;
}

/** Scalar fields two clip maps must share to be one clip again. */
function mergeable(x: Y.Map<unknown>, y: Y.Map<unknown>): boolean {
  const skip = new Set(['id', 'start', 'sourceIn', 'sourceOut', 'transition']);
  const keys = new Set([...x.keys(), ...y.keys()]);
  for (const k of keys) {
    if (skip.has(k)) continue;
    const u = x.get(k);
    const v = y.get(k);
    if (u instanceof Y.AbstractType || v instanceof Y.AbstractType) {
      // Keyframes would need re-basing: pieces with any stay separate clips.
      const len = (z: unknown) => (z instanceof Y.Array ? z.length : z instanceof Y.AbstractType ? 1 : 0);
      if (len(u) > 0 || len(v) > 0) return false;
      continue;
    }
    if (JSON.stringify(u ?? null) !== JSON.stringify(v ?? null)) return false;
  }
  return x.get('kind') === 'video' || x.get('kind') === 'audio' ? !x.get('reverse') && !x.get('freeze') : false;
}

/** Merges clip `id` with its left and right neighbours on its track where they continue the same source. */
function mergeWithNeighbours(doc: Y.Doc, id: string): void {
  const clips = maps(doc).clips;
  const tryMerge = (leftId: string, rightId: string): boolean => {
    const tl = readTimeline(doc);
    const l = tl.clips.find((c) => c.id === leftId);
    const r = tl.clips.find((c) => c.id === rightId);
    if (!l || !r || !isMedia(l) || !isMedia(r) || l.trackId !== r.trackId || l.assetId !== r.assetId) return false;
    if (l.sourceOut !== r.sourceIn || endOf(tl, l) !== r.start) return false;
    const lm = clips.get(leftId) as Y.Map<unknown>;
    const rm = clips.get(rightId) as Y.Map<unknown>;
    if (!mergeable(lm, rm)) return false;
    lm.set('sourceOut', r.sourceOut);
    clips.delete(rightId);
    return true;
  };
  const tl = readTimeline(doc);
  const me = tl.clips.find((c) => c.id === id);
  if (!me) return;
  const left = tl.clips.find((c) => c.trackId === me.trackId && c.id !== id && endOf(tl, c) === me.start);
  const keep = left && tryMerge(left.id, id) ? left.id : id;
  const tl2 = readTimeline(doc);
  const cur = tl2.clips.find((c) => c.id === keep);
  if (!cur) return;
  const right = tl2.clips.find((c) => c.trackId === cur.trackId && c.id !== keep && c.start === endOf(tl2, cur));
  if (right) tryMerge(keep, right.id);
}

/**
 * Where a slice of a cut range goes back: next to the clip its media piece continues in the source
 * (the clip ending where the piece starts, or starting where it ends), nearest to `q` (the seam, or
 * the end of the previous slice) when there are several; else at `q`.
 */
function sliceAt(tl: TimelineSnapshot, trackId: string | undefined, prim: readonly PrimPiece[], sl: { o: number; l: number }, q: number): number {
  const media = tl.clips.filter((c): c is Extract<ClipSnapshot, { kind: 'video' | 'audio' }> => c.trackId === trackId && isMedia(c) && !c.reverse);
  const found: number[] = [];
  for (const x of prim) {
    if (x.rel === sl.o) for (const c of media) if (c.assetId === x.assetId && c.sourceOut === x.sourceIn) found.push(endOf(tl, c));
    if (x.rel + x.len === sl.o + sl.l) for (const c of media) if (c.assetId === x.assetId && c.sourceIn === x.sourceOut) found.push(c.start);
  }
  return found.length === 0 ? q : found.reduce((best, x) => (Math.abs(x - q) < Math.abs(best - q) ? x : best));
}

/** A removed media piece of the seam's track: offset into the range, timeline length, source range. */
interface PrimPiece {
  rel: number;
  len: number;
  assetId: string;
  sourceIn: number;
  sourceOut: number;
}

/**
 * Undoes one recorded range of a ripple cut against the document as it is now: finds the seam,
 * moves everything from there `len` frames right, re-inserts the removed pieces, words and cues.
 */
function restoreOne(doc: Y.Doc, rec: RippleCut): RippleRestore {
  const p = seamOf(readTimeline(doc), rec);
  const { len } = rec;
  const clips = maps(doc).clips;
  const cues = maps(doc).cues;
  const anchor = mediaAnchor(rec);
  const off = (x: MapSnap) => num(x, 'start') - rec.a;

  // Slices of the range, one per removed media piece of the seam's track: each goes back next to
  // the clip that ends where its source starts (another user may have re-inserted their own cut
  // between two of ours), else right after the previous slice.
  const primary = rec.seams[0]?.trackId;
  const tl0 = readTimeline(doc);
  const prim: PrimPiece[] = rec.pieces
    .filter((x) => str(x, 'trackId') === primary && ['video', 'audio'].includes(str(x, 'kind') ?? '') && !(x.reverse as { v: unknown } | undefined)?.v)
    .map((x) => {
      const sourceIn = num(x, 'sourceIn');
      const sourceOut = num(x, 'sourceOut');
      const speed = { num: Number((x.speedNum as { v: unknown } | undefined)?.v ?? 1), den: Number((x.speedDen as { v: unknown } | undefined)?.v ?? 1) };
      const asset = tl0.assets.find((y) => y.id === str(x, 'assetId'));
      const length = clipLength({ kind: 'audio', sourceIn, sourceOut, speed } as ClipSnapshot, asset, tl0.meta.fps);
      return { rel: off(x), len: length, assetId: str(x, 'assetId')!, sourceIn, sourceOut };
    })
    .sort((x, y) => x.rel - y.rel);
  const emptyFrom = rec.emptyFrom ?? null;
  const bounds = [...new Set([0, ...prim.slice(1).map((x) => x.rel), ...(emptyFrom !== null ? [emptyFrom] : []), len])].filter((o) => o >= 0 && o <= len).sort((x, y) => x - y);
  const slices = bounds.slice(0, -1).map((o, k) => ({ o, l: bounds[k + 1]! - o, q: 0 }));

  // Cue frames the cut clamped onto `a` (now at p), to set from their record instead of shifting.
  const clampedBy = new Map(rec.clamped.map((c) => [c.cueId, c]));
  const fixed = new Map<string, { start: boolean; end: boolean; words: Set<number> }>();
  for (const [cid, m] of cues.entries()) {
    const cl = clampedBy.get(cid);
    if (!cl) continue;
    const words = (m.get('words') as { start: number; end: number }[] | undefined) ?? [];
    const ws = new Set<number>();
    words.forEach((w, i) => {
      if ((w.start === p || w.end === p) && cl.words.some((x) => x.at + p - rec.a === w.start)) ws.add(i);
    });
    fixed.set(cid, { start: cl.start !== null && m.get('start') === p, end: cl.end !== null && m.get('end') === p, words: ws });
  }

  const inserted: string[] = [];
  let q = p;
  for (const [k, sl] of slices.entries()) {
    const now = readTimeline(doc);
    // The part of the range that ran past the clips' end goes back past their end.
    q = sl.o === emptyFrom ? Math.max(q, now.clips.reduce((n, c) => Math.max(n, endOf(now, c)), 0)) : sliceAt(now, primary, prim, sl, q);
    sl.q = q;
    for (const m of clips.values()) {
      const s = m.get('start');
      if (typeof s === 'number' && s >= q) m.set('start', s + sl.l);
    }
    for (const [cid, m] of cues.entries()) {
      const fx = fixed.get(cid);
      const start = m.get('start') as number;
      const end = m.get('end') as number;
      const patch: Record<string, unknown> = {};
      if (!fx?.start && start >= q) patch.start = start + sl.l;
      if (!fx?.end && end > q) patch.end = end + sl.l;
      const words = m.get('words') as CueWord[] | undefined;
      if (Array.isArray(words)) patch.words = words.map((w, i) => (fx?.words.has(i) ? w : movedWord(w, w.start >= q ? w.start + sl.l : w.start, w.end > q ? w.end + sl.l : w.end)));
      setFields(m, patch);
    }
    for (const piece of rec.pieces) {
      const o = off(piece);
      if (o < sl.o || o >= sl.o + sl.l) continue;
      const oldId = str(piece, 'id') ?? newId();
      const id = clips.has(oldId) ? newId() : oldId;
      const m = new Y.Map<unknown>();
      clips.set(id, m);
      fillMap(m, piece, { id, start: q + o - sl.o });
      inserted.push(id);
    }
    q += sl.l;
  }
  for (const id of inserted) mergeWithNeighbours(doc, id);

  /** A frame of the range as it was cut, where it is now. */
  const at = (f: number): number => {
    const o = f - rec.a;
    if (o < 0) return f + p - rec.a;
    const sl = slices.find((x) => o < x.o + x.l) ?? slices.at(-1)!;
    return sl.q + o - sl.o;
  };
  for (const [cid, fx] of fixed) {
    const m = cues.get(cid);
    const cl = clampedBy.get(cid)!;
    if (!(m instanceof Y.Map)) continue;
    const patch: Record<string, unknown> = {};
    if (fx.start) patch.start = at(cl.start!);
    if (fx.end) patch.end = at(cl.end!);
    const words = m.get('words') as CueWord[] | undefined;
    if (Array.isArray(words) && fx.words.size > 0) {
      patch.words = words.map((w, i) => {
        const c = fx.words.has(i) ? cl.words.find((x) => x.at + p - rec.a === w.start || x.at + p - rec.a === w.end - (w.end - w.start)) : undefined;
        return c ? movedWord(w, at(c.start), at(c.end)) : w;
      });
    }
    setFields(m, patch);
  }
  for (const snap of rec.cues) {
    const id = str(snap, 'id') ?? newId();
    const words = (snap.words as { v: unknown } | undefined)?.v;
    const existing = cues.get(id);
    if (existing instanceof Y.Map && Array.isArray(words) && Array.isArray(existing.get('words'))) {
      // The other user's undo already brought words of this cue back: ours join them.
      const tokens = tokensOf(str(snap, 'text') ?? '');
      (words as CueWord[]).forEach((w, i) => insertWord(existing, movedWord(w, at(w.start), at(w.end)), tokens[i]?.text ?? '', tokens[i]?.line ?? 0));
      continue;
    }
    const key = existing ? newId() : id;
    const m = new Y.Map<unknown>();
    cues.set(key, m);
    fillMap(m, snap, {
      id: key,
      start: at(num(snap, 'start')),
      end: at(num(snap, 'end')),
      ...(Array.isArray(words) ? { words: (words as CueWord[]).map((w) => movedWord(w, at(w.start), at(w.end))) } : {}),
    });
  }
  for (const w of rec.words) {
    const nw = movedWord(w, at(w.start), at(w.end));
    const m = cues.get(w.cueId);
    if (m instanceof Y.Map) insertWord(m, nw, w.text, w.line);
    else {
      // The other user's cut took the rest of the cue: the word comes back as its cue (same id,
      // so their undo puts the rest back into it).
      const c = new Y.Map<unknown>();
      cues.set(w.cueId, c);
      setFields(c, { id: w.cueId, start: nw.start, end: nw.end, text: w.text, words: [nw] });
    }
  }
  return { p, len, anchor };
}

/** Puts a caption word back into its cue, by time (a cue edited as plain text since is left alone). */
function insertWord(m: Y.Map<unknown>, nw: CueWord, text: string, wantLine: number): void {
  const words = m.get('words') as CueWord[] | undefined;
  if (!Array.isArray(words) || !text) return;
  const tokens = tokensOf(m.get('text') as string);
  if (tokens.length !== words.length) return; // its word timings are gone
  let i = 0;
  while (i < words.length && words[i]!.start < nw.start) i++;
  const lo = tokens[i - 1]?.line ?? 0;
  const hi = tokens[i]?.line ?? Math.max(lo, wantLine);
  const line = Math.min(Math.max(wantLine, lo), hi);
  setFields(m, {
    words: [...words.slice(0, i), nw, ...words.slice(i)],
    text: textOf([...tokens.slice(0, i), { text, line }, ...tokens.slice(i)]),
    start: Math.min(m.get('start') as number, nw.start),
    end: Math.max(m.get('end') as number, nw.end),
  });
}

/**
 * Semantic undo of a ripple cut (the RippleCut[] its transaction recorded), in one transaction of
 * `origin`. Its RippleRestore[] goes into the transaction's meta (RIPPLE_RESTORE_META) for redo.
 */
export function undoRippleCut(doc: Y.Doc, records: readonly RippleCut[], origin: Origin = null): RippleRestore[] {
  const restores: RippleRestore[] = [];
  doc.transact((tr) => {
    // The ranges were cut last first: re-insert first first.
    for (const rec of [...records].reverse()) restores.push(restoreOne(doc, rec));
    tr.meta.set(RIPPLE_RESTORE_META, restores);
  }, origin);
  return restores;
}

/** Redo of an undone ripple cut: cuts the re-inserted source ranges again, wherever they are now. */
export function redoRippleCut(doc: Y.Doc, restores: readonly RippleRestore[], origin: Origin = null): void {
  const tl = readTimeline(doc);
  const ranges: [number, number][] = [];
  for (const r of restores) {
    const at = r.anchor ? frameOfSource(tl, r.anchor.trackId, r.anchor.assetId, r.anchor.sourceIn) : null;
    const a = at === null ? r.p : at - r.anchor!.offset;
    ranges.push([Math.max(0, a), Math.max(0, a) + r.len]);
  }
  rippleDeleteRanges(doc, ranges, origin);
}

/**
 * What undoing `records` would re-insert, located in the document as it is now (before the undo):
 * for a redo of an undo done by other means (Yjs' own undo when nobody else edited meanwhile).
 */
export function rippleRestoresFor(doc: Y.Doc, records: readonly RippleCut[]): RippleRestore[] {
  const tl = readTimeline(doc);
  return [...records].reverse().map((rec) => {
    return { p: seamOf(tl, rec), len: rec.len, anchor: mediaAnchor(rec) };
  });
}
