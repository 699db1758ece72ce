/**
 * One pure operation per concern. Each runs in ONE transaction with the caller's origin, so the
 * app's per-user UndoManager (trackedOrigins) captures exactly this user's edits. Invalid edits
 * throw TimelineError with a message a user can act on, and change nothing.
 */
import * as Y from 'yjs';
import type { z } from 'zod';
import type { CropKeyframe, Fps, ImageOverlay, SubtitleStyle, TextOverlay } from '../render-spec/schema.ts';
import { CropKeyframe as CropKeyframeSchema, Overlay as OverlaySchema, SubtitleStyle as SubtitleStyleSchema } from '../render-spec/schema.ts';
import { cropAt } from '../render-spec/crop.ts';
import {
  ASPECT_SIZES,
  AssetInfo,
  TIMELINE_SCHEMA_VERSION,
  TimelineError,
  VIDEO_TRACK,
  clipLength,
  fieldsOf,
  maps,
  normalizeCrop,
  readMeta,
  type AspectPreset,
  type ClipSnapshot,
  type CueSnapshot,
} from './model.ts';

type Origin = unknown;

/** An overlay as the editor creates it (the id is generated). */
export type NewOverlay = Omit<z.infer<typeof ImageOverlay>, 'id'> | Omit<z.infer<typeof TextOverlay>, 'id'>;
/** Fields an edit may change; the kind and id stay. */
export type OverlayPatch = Partial<Omit<z.infer<typeof ImageOverlay>, 'id' | 'kind'>> | Partial<Omit<z.infer<typeof TextOverlay>, 'id' | 'kind'>>;

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-';

export function newId(length = 12): string {
  const bytes = new Uint8Array(length);
  crypto.getRandomValues(bytes);
  let id = '';
  for (const b of bytes) id += ID_ALPHABET[b & 63];
  return id;
}

function frameInt(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0) throw new TimelineError(`${what} must be a whole, non-negative frame number`);
  return v;
}

function setFields(m: Y.Map<unknown>, fields: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(fields)) if (m.get(k) !== v) m.set(k, v);
}

export function initTimeline(doc: Y.Doc, opts: { fps: Fps; aspect: Exclude<AspectPreset, 'custom'> }, origin: Origin = null): void {
  doc.transact(() => {
    const meta = maps(doc).meta;
    if (meta.get('schemaVersion') !== undefined) return;
    const size = ASPECT_SIZES[opts.aspect];
    setFields(meta, { schemaVersion: TIMELINE_SCHEMA_VERSION, fpsNum: opts.fps.num, fpsDen: opts.fps.den, aspect: opts.aspect, width: size.width, height: size.height });
  }, origin);
}

/**
 * Steps that upgrade a document from version `v` to `v + 1`, applied in order by migrateTimeline.
 * Each must be deterministic (replicas may migrate the same document concurrently and must write
 * the same values).
 */
const MIGRATIONS: Record<number, (doc: Y.Doc) => void> = {
  // v0: documents written before the schema was versioned. Their meta may lack fields; fill the
  // defaults readMeta() already assumed, so what users saw stays what they get.
  0: (doc) => {
    const meta = maps(doc).meta;
    const current = readMeta(doc);
    setFields(meta, { fpsNum: current.fps.num, fpsDen: current.fps.den, aspect: current.aspect, width: current.width, height: current.height, schemaVersion: 1 });
  },
};

/**
 * Upgrades an older document in place (call it once the document has synced, never on an empty
 * local copy); a no-op at the current version. Returns the version the document is at.
 */
export function migrateTimeline(doc: Y.Doc, origin: Origin = null): number {
  const m = maps(doc);
  const isEmpty = m.meta.size === 0 && m.clips.size === 0 && m.cues.size === 0 && m.assets.size === 0 && m.overlays.size === 0;
  if (isEmpty) return 0;
  let version = Number(m.meta.get('schemaVersion') ?? 0);
  if (!Number.isInteger(version) || version < 0) throw new TimelineError(`this project has an unreadable timeline version (${String(m.meta.get('schemaVersion'))})`);
  if (version > TIMELINE_SCHEMA_VERSION) throw new TimelineError(`this project was saved by a newer ClipMaker (timeline v${version})`);
  while (version < TIMELINE_SCHEMA_VERSION) {
    const step = MIGRATIONS[version];
    if (!step) throw new TimelineError(`no migration from timeline v${version}`);
    doc.transact(() => step(doc), origin);
    version++;
  }
  return version;
}

/**
 * Restores the no-overlap invariant after concurrent edits (two users adding or moving clips into
 * the same frames at once both succeed locally): on each track, in (start, id) order, a clip that
 * starts inside the previous one moves to that clip's end. Deterministic, so replicas that run it
 * on the same merged state write the same values. Returns how many clips moved.
 */
export function repairTimeline(doc: Y.Doc, origin: Origin = null): number {
  const moves: { id: string; start: number }[] = [];
  const tracks = new Set<string>();
  for (const m of maps(doc).clips.values()) if (m instanceof Y.Map) tracks.add(String(m.get('trackId')));
  for (const track of tracks) {
    let cursor = 0;
    for (const span of trackSpans(doc, track).sort((a, b) => a.start - b.start || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))) {
      const start = Math.max(span.start, cursor);
      if (start !== span.start) moves.push({ id: span.id, start });
      cursor = start + (span.end - span.start);
    }
  }
  if (moves.length > 0) doc.transact(() => moves.forEach((mv) => (maps(doc).clips.get(mv.id) as Y.Map<unknown>).set('start', mv.start)), origin);
  return moves.length;
}

export function setAspect(doc: Y.Doc, aspect: AspectPreset, custom?: { width: number; height: number }, origin: Origin = null): void {
  let size: { width: number; height: number };
  if (aspect === 'custom') {
    if (!custom) throw new TimelineError('a custom aspect needs a width and a height');
    const { width, height } = custom;
    if (![width, height].every((n) => Number.isInteger(n) && n >= 16 && n <= 8192 && n % 2 === 0))
      throw new TimelineError('custom sizes must be even whole pixels between 16 and 8192');
    size = { width, height };
  } else size = ASPECT_SIZES[aspect];
  doc.transact(() => setFields(maps(doc).meta, { aspect, width: size.width, height: size.height }), origin);
}

export function addAsset(doc: Y.Doc, asset: AssetInfo, origin: Origin = null): void {
  const parsed = AssetInfo.safeParse(asset);
  if (!parsed.success) throw new TimelineError(`invalid media: ${parsed.error.issues[0]?.message}`);
  doc.transact(() => maps(doc).assets.set(parsed.data.id, parsed.data), origin);
}

function getAsset(doc: Y.Doc, assetId: string): AssetInfo {
  const a = AssetInfo.safeParse(maps(doc).assets.get(assetId));
  if (!a.success) throw new TimelineError('that media is not in this project');
  return a.data;
}

function getClipMap(doc: Y.Doc, clipId: string): Y.Map<unknown> {
  const c = maps(doc).clips.get(clipId);
  if (!(c instanceof Y.Map)) throw new TimelineError('that clip no longer exists');
  return c;
}

function clipOf(m: Y.Map<unknown>): ClipSnapshot {
  const f = fieldsOf(m);
  const crop = Array.isArray(f.crop) ? normalizeCrop((f.crop as unknown[]).flatMap((k) => (CropKeyframeSchema.safeParse(k).success ? [k as CropKeyframe] : []))) : [];
  return { id: String(f.id), trackId: String(f.trackId), assetId: String(f.assetId), start: Number(f.start), sourceIn: Number(f.sourceIn), sourceOut: Number(f.sourceOut), volume: Number(f.volume ?? 1), crop };
}

interface Span {
  id: string;
  start: number;
  end: number;
}

function trackSpans(doc: Y.Doc, trackId: string, except?: string): Span[] {
  const fps = readMeta(doc).fps;
  const out: Span[] = [];
  for (const m of maps(doc).clips.values()) {
    if (!(m instanceof Y.Map)) continue;
    const c = clipOf(m);
    if (c.trackId !== trackId || c.id === except) continue;
    const asset = AssetInfo.safeParse(maps(doc).assets.get(c.assetId));
    out.push({ id: c.id, start: c.start, end: c.start + clipLength(c, asset.success ? asset.data : undefined, fps) });
  }
  return out.sort((a, b) => a.start - b.start);
}

function assertFree(doc: Y.Doc, trackId: string, start: number, length: number, except?: string): void {
  const clash = trackSpans(doc, trackId, except).find((s) => start < s.end && s.start < start + length);
  if (clash) throw new TimelineError(`clips cannot overlap: frames ${start}–${start + length} collide with another clip (${clash.start}–${clash.end})`);
}

export function addClip(
  doc: Y.Doc,
  opts: { assetId: string; start?: number; sourceIn?: number; sourceOut?: number; trackId?: string },
  origin: Origin = null,
): string {
  const asset = getAsset(doc, opts.assetId);
  if (asset.kind !== 'video') throw new TimelineError('only video can be placed on the video track');
  const total = asset.durationFrames ?? 0;
  const sourceIn = frameInt(opts.sourceIn ?? 0, 'in point');
  const sourceOut = frameInt(opts.sourceOut ?? total, 'out point');
  if (sourceOut <= sourceIn) throw new TimelineError('the out point must be after the in point');
  if (sourceOut > total) throw new TimelineError(`the out point is past the end of the media (${total} frames)`);
  const trackId = opts.trackId ?? VIDEO_TRACK;
  const spans = trackSpans(doc, trackId);
  const start = frameInt(opts.start ?? spans.reduce((m, s) => Math.max(m, s.end), 0), 'start');
  const length = clipLength({ sourceIn, sourceOut }, asset, readMeta(doc).fps);
  assertFree(doc, trackId, start, length);
  const id = newId();
  doc.transact(() => {
    const m = new Y.Map<unknown>();
    maps(doc).clips.set(id, m);
    setFields(m, { id, trackId, assetId: asset.id, start, sourceIn, sourceOut, volume: 1 });
    m.set('crop', new Y.Array<CropKeyframe>());
  }, origin);
  return id;
}

export function moveClip(doc: Y.Doc, clipId: string, start: number, origin: Origin = null): void {
  const m = getClipMap(doc, clipId);
  const c = clipOf(m);
  frameInt(start, 'start');
  const length = clipLength(c, getAsset(doc, c.assetId), readMeta(doc).fps);
  assertFree(doc, c.trackId, start, length, clipId);
  doc.transact(() => m.set('start', start), origin);
}

/** Source frames -> timeline frames delta for keyframe bookkeeping. */
function timelineFramesFor(sourceFrames: number, asset: AssetInfo, fps: Fps): number {
  return clipLength({ sourceIn: 0, sourceOut: sourceFrames }, asset, fps);
}

function cropArray(m: Y.Map<unknown>): Y.Array<CropKeyframe> {
  let arr = m.get('crop');
  if (!(arr instanceof Y.Array)) {
    arr = new Y.Array<CropKeyframe>();
    m.set('crop', arr);
  }
  return arr as Y.Array<CropKeyframe>;
}

function replaceCrop(m: Y.Map<unknown>, keyframes: CropKeyframe[]): void {
  const arr = cropArray(m);
  arr.delete(0, arr.length);
  arr.push(keyframes);
}

/**
 * Keyframes re-based to a new clip start `offset` frames later and cut to `length`, keeping the
 * exact crop at both new edges (an interpolated keyframe is added where a segment is cut).
 */
function rebaseKeyframes(kfs: CropKeyframe[], offset: number, length: number, asset: AssetInfo, out: { width: number; height: number }): CropKeyframe[] {
  if (kfs.length === 0) return [];
  const at = (f: number): CropKeyframe => ({ frame: f - offset, ...cropAt(kfs, f, asset.width, asset.height, out.width, out.height) });
  const inside = kfs.filter((k) => k.frame > offset && k.frame < offset + length - 1).map((k) => ({ ...k, frame: k.frame - offset }));
  const result = [at(offset), ...inside];
  if (length > 1) result.push(at(offset + length - 1));
  return result.filter((k, i, all) => i === 0 || k.frame !== all[i - 1]!.frame);
}

/**
 * Changes the source in/out points (source frames, clamped to the media, at least one frame). The
 * clip stays anchored at its timeline start; crop keyframes stay on the same source frames.
 */
export function trimClip(doc: Y.Doc, clipId: string, points: { sourceIn?: number; sourceOut?: number }, origin: Origin = null): void {
  const m = getClipMap(doc, clipId);
  const c = clipOf(m);
  const asset = getAsset(doc, c.assetId);
  const total = asset.durationFrames ?? c.sourceOut;
  if (points.sourceIn !== undefined && points.sourceOut !== undefined && points.sourceOut <= points.sourceIn) throw new TimelineError('the out point must be after the in point');
  // A handle dragged past the other one stops one frame short of it (a clip keeps at least one frame).
  let sourceOut = points.sourceOut === undefined ? c.sourceOut : Math.min(frameInt(points.sourceOut, 'out point'), total);
  let sourceIn = points.sourceIn === undefined ? c.sourceIn : Math.min(frameInt(points.sourceIn, 'in point'), total - 1);
  if (points.sourceIn !== undefined) sourceIn = Math.min(sourceIn, sourceOut - 1);
  else sourceOut = Math.max(sourceOut, sourceIn + 1);
  const meta = readMeta(doc);
  const length = clipLength({ sourceIn, sourceOut }, asset, meta.fps);
  assertFree(doc, c.trackId, c.start, length, clipId);
  const headShift = timelineFramesFor(sourceIn - c.sourceIn, asset, meta.fps);
  doc.transact(() => {
    setFields(m, { sourceIn, sourceOut });
    if (c.crop.length > 0) replaceCrop(m, rebaseKeyframes(c.crop, headShift, length, asset, meta));
  }, origin);
}

/** Splits at a timeline frame strictly inside the clip; returns the new (right-hand) clip's id. */
export function splitClip(doc: Y.Doc, clipId: string, atFrame: number, origin: Origin = null): string {
  const m = getClipMap(doc, clipId);
  const c = clipOf(m);
  const asset = getAsset(doc, c.assetId);
  const meta = readMeta(doc);
  const length = clipLength(c, asset, meta.fps);
  const rel = frameInt(atFrame, 'split point') - c.start;
  if (rel <= 0 || rel >= length) throw new TimelineError('put the playhead inside the clip to split it');
  const sourceSplit = asset.fps ? c.sourceIn + Math.round((rel * asset.fps.num * meta.fps.den) / (asset.fps.den * meta.fps.num)) : c.sourceIn + rel;
  if (sourceSplit <= c.sourceIn || sourceSplit >= c.sourceOut) throw new TimelineError('the clip is too short to split there');
  const id = newId();
  const leftLength = clipLength({ sourceIn: c.sourceIn, sourceOut: sourceSplit }, asset, meta.fps);
  const rightLength = clipLength({ sourceIn: sourceSplit, sourceOut: c.sourceOut }, asset, meta.fps);
  doc.transact(() => {
    m.set('sourceOut', sourceSplit);
    const right = new Y.Map<unknown>();
    maps(doc).clips.set(id, right);
    setFields(right, { id, trackId: c.trackId, assetId: c.assetId, start: c.start + leftLength, sourceIn: sourceSplit, sourceOut: c.sourceOut, volume: c.volume });
    right.set('crop', new Y.Array<CropKeyframe>());
    if (c.crop.length > 0) {
      replaceCrop(right, rebaseKeyframes(c.crop, leftLength, rightLength, asset, meta));
      replaceCrop(m, rebaseKeyframes(c.crop, 0, leftLength, asset, meta));
    }
  }, origin);
  return id;
}

/** Removes a clip; with ripple, later clips on its track close the gap. */
export function removeClip(doc: Y.Doc, clipId: string, opts: { ripple?: boolean } = {}, origin: Origin = null): void {
  const m = getClipMap(doc, clipId);
  const c = clipOf(m);
  const spans = trackSpans(doc, c.trackId);
  const self = spans.find((s) => s.id === clipId)!;
  doc.transact(() => {
    maps(doc).clips.delete(clipId);
    if (!opts.ripple) return;
    const length = self.end - self.start;
    for (const s of spans) {
      if (s.start >= self.end) (maps(doc).clips.get(s.id) as Y.Map<unknown>).set('start', s.start - length);
    }
  }, origin);
}

export function setClipVolume(doc: Y.Doc, clipId: string, volume: number, origin: Origin = null): void {
  if (!(Number.isFinite(volume) && volume >= 0 && volume <= 4)) throw new TimelineError('volume must be between 0 and 4');
  const m = getClipMap(doc, clipId);
  doc.transact(() => m.set('volume', volume), origin);
}

/** Adds or replaces the keyframe at `kf.frame` (relative to the clip start, source pixels). */
export function setCropKeyframe(doc: Y.Doc, clipId: string, kf: CropKeyframe, origin: Origin = null): void {
  const m = getClipMap(doc, clipId);
  const c = clipOf(m);
  const asset = getAsset(doc, c.assetId);
  const parsed = CropKeyframeSchema.safeParse(kf);
  if (!parsed.success) throw new TimelineError(`invalid crop: ${parsed.error.issues[0]?.message}`);
  const k = parsed.data;
  if (k.x + k.w > asset.width || k.y + k.h > asset.height) throw new TimelineError('the crop rectangle must stay inside the video frame');
  // Only the entries at this frame are touched (not the whole array), so keyframes that other users
  // add or move at the same time on other frames all survive the merge.
  doc.transact(() => {
    const arr = cropArray(m);
    deleteWhere(arr, (x) => x.frame === k.frame);
    const at = arr.toArray().findIndex((x) => x.frame > k.frame);
    arr.insert(at === -1 ? arr.length : at, [{ frame: k.frame, x: k.x, y: k.y, w: k.w, h: k.h }]);
  }, origin);
}

export function removeCropKeyframe(doc: Y.Doc, clipId: string, frame: number, origin: Origin = null): void {
  const m = getClipMap(doc, clipId);
  doc.transact(() => deleteWhere(cropArray(m), (x) => x.frame === frame), origin);
}

function deleteWhere(arr: Y.Array<CropKeyframe>, pred: (k: CropKeyframe) => boolean): void {
  const items = arr.toArray();
  for (let i = items.length - 1; i >= 0; i--) if (pred(items[i]!)) arr.delete(i, 1);
}

function checkCue(start: number, end: number, text: string): void {
  frameInt(start, 'cue start');
  frameInt(end, 'cue end');
  if (end <= start) throw new TimelineError('a subtitle must end after it starts');
  if (typeof text !== 'string' || text.length > 2000) throw new TimelineError('subtitle text must be at most 2000 characters');
}

export function addCue(doc: Y.Doc, cue: { start: number; end: number; text: string }, origin: Origin = null): string {
  checkCue(cue.start, cue.end, cue.text);
  const id = newId();
  doc.transact(() => {
    const m = new Y.Map<unknown>();
    maps(doc).cues.set(id, m);
    setFields(m, { id, start: cue.start, end: cue.end, text: cue.text });
  }, origin);
  return id;
}

export function updateCue(doc: Y.Doc, cueId: string, patch: Partial<Omit<CueSnapshot, 'id'>>, origin: Origin = null): void {
  const m = maps(doc).cues.get(cueId);
  if (!(m instanceof Y.Map)) throw new TimelineError('that subtitle no longer exists');
  const cur = fieldsOf(m) as unknown as CueSnapshot;
  const next = { start: patch.start ?? cur.start, end: patch.end ?? cur.end, text: patch.text ?? cur.text };
  checkCue(next.start, next.end, next.text);
  doc.transact(() => setFields(m, next), origin);
}

export function removeCue(doc: Y.Doc, cueId: string, origin: Origin = null): void {
  doc.transact(() => maps(doc).cues.delete(cueId), origin);
}

export function setSubtitleStyle(doc: Y.Doc, patch: Partial<SubtitleStyle>, origin: Origin = null): void {
  const parsed = SubtitleStyleSchema.partial().safeParse(patch);
  if (!parsed.success) throw new TimelineError(`invalid subtitle style: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  doc.transact(() => setFields(maps(doc).subtitleStyle, parsed.data), origin);
}

export function addOverlay(doc: Y.Doc, overlay: NewOverlay, origin: Origin = null): string {
  const id = newId();
  const parsed = OverlaySchema.safeParse({ ...overlay, id });
  if (!parsed.success) throw new TimelineError(`invalid overlay: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  if (parsed.data.end <= parsed.data.start) throw new TimelineError('an overlay must end after it starts');
  if (parsed.data.kind === 'image' && getAsset(doc, parsed.data.sourceId).kind !== 'image') throw new TimelineError('an image overlay needs an image');
  doc.transact(() => {
    const m = new Y.Map<unknown>();
    maps(doc).overlays.set(id, m);
    setFields(m, parsed.data);
  }, origin);
  return id;
}

export function updateOverlay(doc: Y.Doc, overlayId: string, patch: OverlayPatch, origin: Origin = null): void {
  const m = maps(doc).overlays.get(overlayId);
  if (!(m instanceof Y.Map)) throw new TimelineError('that overlay no longer exists');
  const parsed = OverlaySchema.safeParse({ ...fieldsOf(m), ...patch, id: overlayId, kind: m.get('kind') });
  if (!parsed.success) throw new TimelineError(`invalid overlay: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  if (parsed.data.end <= parsed.data.start) throw new TimelineError('an overlay must end after it starts');
  doc.transact(() => setFields(m, parsed.data), origin);
}

export function removeOverlay(doc: Y.Doc, overlayId: string, origin: Origin = null): void {
  doc.transact(() => maps(doc).overlays.delete(overlayId), origin);
}

export function setMusic(doc: Y.Doc, music: { assetId: string; volume: number; start: number } | null, origin: Origin = null): void {
  if (music) {
    const asset = getAsset(doc, music.assetId);
    if (!asset.hasAudio) throw new TimelineError('that media has no sound');
    if (!(music.volume >= 0 && music.volume <= 4)) throw new TimelineError('volume must be between 0 and 4');
    frameInt(music.start, 'music start');
  }
  doc.transact(() => {
    const m = maps(doc).music;
    for (const k of [...m.keys()]) m.delete(k);
    if (music) setFields(m, music);
  }, origin);
}
