/**
 * One pure operation per concern. Each runs in ONE transaction with the caller's origin, so the
 * app's per-user UndoManager (trackedOrigins) captures exactly this user's edits. Invalid edits
 * throw TimelineError with a message a user can act on, and change nothing. Clips on a locked
 * track refuse every edit.
 */
import * as Y from 'yjs';
import {
  Animation as AnimationSchema,
  CropKeyframe as CropKeyframeSchema,
  DEFAULT_TEXT_STYLE,
  Ducking as DuckingSchema,
  IDENTITY_TRANSFORM,
  Loudness as LoudnessSchema,
  MAX_TRACKS_PER_KIND,
  NO_ANIMATION,
  REVERSE_MAX_SECONDS,
  SOCIAL_LOUDNESS,
  SubtitleStyle as SubtitleStyleSchema,
  TextStyle as TextStyleSchema,
  Transition as TransitionSchema,
  TransformKeyframe as TransformKeyframeSchema,
  VolumeKeyframe as VolumeKeyframeSchema,
  type Animation,
  type CropKeyframe,
  type Ducking,
  type Fps,
  type Loudness,
  type Speed,
  type SubtitleStyle,
  type TextStyle,
  type Transform,
  type TransformKeyframe,
  type Transition,
  type VolumeKeyframe,
} from '../render-spec/schema.ts';
import { cropAt } from '../render-spec/crop.ts';
import { isBundledFamily } from '../fonts.ts';
import {
  ASPECT_SIZES,
  AssetInfo,
  ClipSnapshot,
  TIMELINE_SCHEMA_VERSION,
  TimelineError,
  TrackSnapshot,
  assetFrames,
  clipFields,
  clipLength,
  compareTracks,
  maps,
  readMeta,
  trackFields,
  type AspectPreset,
  type CueSnapshot,
} from './model.ts';
import { migrateV1Document } from './migrate-v1.ts';

type Origin = unknown;

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

export function setFields(m: Y.Map<unknown>, fields: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(fields)) if (m.get(k) !== v) m.set(k, v);
}

function firstIssue(err: { issues: { path: PropertyKey[]; message: string }[] }): string {
  const i = err.issues[0];
  return i ? `${i.path.map(String).join('.')}${i.path.length ? ' ' : ''}${i.message}` : 'invalid value';
}

/** The default tracks of a new document. */
const DEFAULT_TRACKS = [
  { id: 'v1', kind: 'video', name: 'Video 1', order: 0 },
  { id: 'v2', kind: 'video', name: 'Video 2', order: 1 },
  { id: 'a1', kind: 'audio', name: 'Audio 1', order: 0 },
  { id: 'a2', kind: 'audio', name: 'Audio 2', order: 1 },
] as const;

export function newTrackMap(doc: Y.Doc, t: { id: string; kind: 'video' | 'audio'; name: string; order: number }): Y.Map<unknown> {
  const m = new Y.Map<unknown>();
  maps(doc).tracks.set(t.id, m);
  setFields(m, { id: t.id, kind: t.kind, name: t.name, order: t.order, muted: false, solo: false, hidden: false, locked: false, ducking: null });
  return m;
}

export function initTimeline(doc: Y.Doc, opts: { fps: Fps; aspect: Exclude<AspectPreset, 'custom'> }, origin: Origin = null): void {
  doc.transact(() => {
    const meta = maps(doc).meta;
    if (meta.get('schemaVersion') !== undefined) return;
    const size = ASPECT_SIZES[opts.aspect];
    setFields(meta, { schemaVersion: TIMELINE_SCHEMA_VERSION, fpsNum: opts.fps.num, fpsDen: opts.fps.den, aspect: opts.aspect, width: size.width, height: size.height, loudness: SOCIAL_LOUDNESS });
    for (const t of DEFAULT_TRACKS) if (!maps(doc).tracks.has(t.id)) newTrackMap(doc, t);
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
  // v1: one video track, overlays, one music: -> tracks and clips (migrate-v1.ts).
  1: (doc) => migrateV1Document(doc),
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

// ---------- reading helpers ----------

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
  const c = ClipSnapshot.safeParse(clipFields(m));
  if (!c.success) throw new TimelineError(`that clip is damaged (${firstIssue(c.error)})`);
  return c.data;
}

function getTrack(doc: Y.Doc, trackId: string): TrackSnapshot {
  const m = maps(doc).tracks.get(trackId);
  const t = m instanceof Y.Map ? TrackSnapshot.safeParse(trackFields(m)) : null;
  if (!t?.success) throw new TimelineError('that track no longer exists');
  return t.data;
}

function tracksOf(doc: Y.Doc): TrackSnapshot[] {
  const out: TrackSnapshot[] = [];
  for (const m of maps(doc).tracks.values()) {
    if (!(m instanceof Y.Map)) continue;
    const t = TrackSnapshot.safeParse(trackFields(m));
    if (t.success) out.push(t.data);
  }
  return out.sort(compareTracks);
}

function assertUnlocked(doc: Y.Doc, trackId: string): TrackSnapshot {
  const t = getTrack(doc, trackId);
  if (t.locked) throw new TimelineError(`track “${t.name || t.id}” is locked`);
  return t;
}

function lengthOf(doc: Y.Doc, c: ClipSnapshot): number {
  return clipLength(c, c.kind === 'text' ? undefined : AssetInfo.safeParse(maps(doc).assets.get(c.assetId)).data, readMeta(doc).fps);
}

/** A clip that may be edited: exists, validates, its track is unlocked. */
function editable(doc: Y.Doc, clipId: string): { m: Y.Map<unknown>; c: ClipSnapshot } {
  const m = getClipMap(doc, clipId);
  const c = clipOf(m);
  assertUnlocked(doc, c.trackId);
  return { m, c };
}

interface Span {
  id: string;
  start: number;
  end: number;
}

function trackSpans(doc: Y.Doc, trackId: string, except?: string): Span[] {
  const out: Span[] = [];
  for (const m of maps(doc).clips.values()) {
    if (!(m instanceof Y.Map) || m.get('trackId') !== trackId || m.get('id') === except) continue;
    const c = ClipSnapshot.safeParse(clipFields(m));
    if (c.success) out.push({ id: c.data.id, start: c.data.start, end: c.data.start + lengthOf(doc, c.data) });
  }
  return out.sort((a, b) => a.start - b.start);
}

function assertFree(doc: Y.Doc, trackId: string, start: number, length: number, except?: string): void {
  const clash = trackSpans(doc, trackId, except).find((s) => start < s.end && s.start < start + length);
  if (clash) throw new TimelineError(`clips cannot overlap: frames ${start}–${start + length} collide with another clip (${clash.start}–${clash.end})`);
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

// ---------- project ----------

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

/** Master loudness target (EBU R128; -14 LUFS for social), or null for the mix as is. */
export function setLoudnessTarget(doc: Y.Doc, loudness: Loudness | null, origin: Origin = null): void {
  if (loudness) {
    const p = LoudnessSchema.safeParse(loudness);
    if (!p.success) throw new TimelineError(`invalid loudness target: ${firstIssue(p.error)}`);
  }
  doc.transact(() => maps(doc).meta.set('loudness', loudness ? { ...loudness } : null), origin);
}

export function addAsset(doc: Y.Doc, asset: AssetInfo, origin: Origin = null): void {
  const parsed = AssetInfo.safeParse(asset);
  if (!parsed.success) throw new TimelineError(`invalid media: ${parsed.error.issues[0]?.message}`);
  doc.transact(() => maps(doc).assets.set(parsed.data.id, parsed.data), origin);
}

/**
 * Re-points the document at other asset ids (a duplicated project gets its own asset rows that
 * reference the same stored files): each asset entry moves to its new id and every clip that used
 * the old id uses the new one. Ids not in `newIds` are left as they are.
 */
export function remapAssetIds(doc: Y.Doc, newIds: ReadonlyMap<string, string>, origin: Origin = null): void {
  const m = maps(doc);
  doc.transact(() => {
    for (const [oldId, newId] of newIds) {
      const info = m.assets.get(oldId);
      if (info == null || typeof info !== 'object') continue;
      m.assets.delete(oldId);
      m.assets.set(newId, { ...(info as Record<string, unknown>), id: newId });
    }
    m.clips.forEach((clip) => {
      const assetId = clip.get('assetId');
      const next = typeof assetId === 'string' ? newIds.get(assetId) : undefined;
      if (next) clip.set('assetId', next);
    });
  }, origin);
}

// ---------- tracks ----------

export function addTrack(doc: Y.Doc, opts: { kind: 'video' | 'audio'; name?: string }, origin: Origin = null): string {
  const same = tracksOf(doc).filter((t) => t.kind === opts.kind);
  if (same.length >= MAX_TRACKS_PER_KIND) throw new TimelineError(`at most ${MAX_TRACKS_PER_KIND} ${opts.kind} tracks`);
  const name = (opts.name ?? `${opts.kind === 'video' ? 'Video' : 'Audio'} ${same.length + 1}`).slice(0, 60);
  const id = newId();
  const order = same.reduce((m, t) => Math.max(m, t.order), -1) + 1;
  doc.transact(() => newTrackMap(doc, { id, kind: opts.kind, name, order }), origin);
  return id;
}

/** Removes a track and the clips on it (one undoable edit); a document keeps one video track. */
export function removeTrack(doc: Y.Doc, trackId: string, origin: Origin = null): void {
  const t = assertUnlocked(doc, trackId);
  if (t.kind === 'video' && tracksOf(doc).filter((x) => x.kind === 'video').length === 1) throw new TimelineError('a project keeps at least one video track');
  doc.transact(() => {
    for (const [id, m] of [...maps(doc).clips.entries()]) if (m instanceof Y.Map && m.get('trackId') === trackId) maps(doc).clips.delete(id);
    maps(doc).tracks.delete(trackId);
    for (const other of tracksOf(doc)) {
      if (!other.ducking?.keyTrackIds.includes(trackId)) continue;
      const keys = other.ducking.keyTrackIds.filter((k) => k !== trackId);
      (maps(doc).tracks.get(other.id) as Y.Map<unknown>).set('ducking', keys.length > 0 ? { ...other.ducking, keyTrackIds: keys } : null);
    }
  }, origin);
}

/** Moves a track to position `index` among the tracks of its kind (0 = bottom for video). */
export function moveTrack(doc: Y.Doc, trackId: string, index: number, origin: Origin = null): void {
  const t = getTrack(doc, trackId);
  const same = tracksOf(doc).filter((x) => x.kind === t.kind && x.id !== trackId);
  const at = Math.max(0, Math.min(same.length, Math.round(index)));
  same.splice(at, 0, t);
  doc.transact(() => {
    same.forEach((x, i) => (maps(doc).tracks.get(x.id) as Y.Map<unknown>).set('order', i));
  }, origin);
}

export function setTrack(doc: Y.Doc, trackId: string, patch: Partial<Pick<TrackSnapshot, 'name' | 'muted' | 'solo' | 'hidden' | 'locked'>>, origin: Origin = null): void {
  getTrack(doc, trackId);
  const fields: Record<string, unknown> = {};
  for (const k of ['muted', 'solo', 'hidden', 'locked'] as const) if (patch[k] !== undefined) fields[k] = !!patch[k];
  if (patch.name !== undefined) {
    if (typeof patch.name !== 'string' || patch.name.length > 60) throw new TimelineError('track names are at most 60 characters');
    fields.name = patch.name;
  }
  doc.transact(() => setFields(maps(doc).tracks.get(trackId) as Y.Map<unknown>, fields), origin);
}

/** Ducks an audio track under its key tracks (sidechain or automation), or stops ducking it. */
export function setTrackDucking(doc: Y.Doc, trackId: string, ducking: Ducking | null, origin: Origin = null): void {
  const t = getTrack(doc, trackId);
  if (ducking) {
    if (t.kind !== 'audio') throw new TimelineError('only audio tracks (music) can be ducked');
    const p = DuckingSchema.safeParse(ducking);
    if (!p.success) throw new TimelineError(`invalid ducking: ${firstIssue(p.error)}`);
    const ids = new Set(tracksOf(doc).map((x) => x.id));
    if (p.data.keyTrackIds.some((k) => k === trackId || !ids.has(k))) throw new TimelineError('duck under other tracks of this project');
    ducking = p.data;
  }
  doc.transact(() => (maps(doc).tracks.get(trackId) as Y.Map<unknown>).set('ducking', ducking ? { ...ducking, keyTrackIds: [...ducking.keyTrackIds] } : null), origin);
}

// ---------- clips ----------

function placeStart(doc: Y.Doc, trackId: string, start: number | undefined): number {
  return frameInt(start ?? trackSpans(doc, trackId).reduce((m, s) => Math.max(m, s.end), 0), 'start');
}

function defaultVideoTrack(doc: Y.Doc): string {
  const t = tracksOf(doc).find((x) => x.kind === 'video');
  if (!t) throw new TimelineError('the project has no video track');
  return t.id;
}

function newClipMap(doc: Y.Doc, fields: Record<string, unknown>): Y.Map<unknown> {
  const m = new Y.Map<unknown>();
  maps(doc).clips.set(String(fields.id), m);
  setFields(m, fields);
  return m;
}

/**
 * Places media on a track: a video on a video track (picture and sound), a video's or an audio
 * file's sound on an audio track. Default: at the end of the track, the whole media.
 */
export function addClip(
  doc: Y.Doc,
  opts: { assetId: string; start?: number; sourceIn?: number; sourceOut?: number; trackId?: string },
  origin: Origin = null,
): string {
  const asset = getAsset(doc, opts.assetId);
  const trackId = opts.trackId ?? defaultVideoTrack(doc);
  const track = assertUnlocked(doc, trackId);
  if (asset.kind === 'image') return addImageClip(doc, { assetId: asset.id, trackId, start: opts.start }, origin);
  const kind = track.kind === 'video' ? 'video' : 'audio';
  if (kind === 'video' && asset.kind !== 'video') throw new TimelineError('sound goes on an audio track');
  if (kind === 'audio' && !asset.hasAudio) throw new TimelineError('that media has no sound');
  const fps = readMeta(doc).fps;
  const total = assetFrames(asset, fps);
  const sourceIn = frameInt(opts.sourceIn ?? 0, 'in point');
  const sourceOut = frameInt(opts.sourceOut ?? total, 'out point');
  if (sourceOut <= sourceIn) throw new TimelineError('the out point must be after the in point');
  if (sourceOut > total) throw new TimelineError(`the out point is past the end of the media (${total} frames)`);
  const start = placeStart(doc, trackId, opts.start);
  const length = clipLength({ sourceIn, sourceOut }, asset, fps);
  assertFree(doc, trackId, start, length);
  const id = newId();
  doc.transact(() => {
    newClipMap(doc, { id, trackId, kind, assetId: asset.id, start, sourceIn, sourceOut, speedNum: 1, speedDen: 1, reverse: false, volume: 1, fadeIn: 0, fadeOut: 0, transition: null, ...(kind === 'video' ? { freeze: null, animIn: NO_ANIMATION, animOut: NO_ANIMATION } : {}) });
  }, origin);
  return id;
}

/**
 * An image (logo, sticker) as a clip on a video track: shown at a quarter of the frame width,
 * centred, its aspect ratio locked (scaleY follows scaleX) until unlocked.
 */
export function addImageClip(doc: Y.Doc, opts: { assetId: string; trackId?: string; start?: number; duration?: number }, origin: Origin = null): string {
  const asset = getAsset(doc, opts.assetId);
  if (asset.kind !== 'image') throw new TimelineError('that media is not an image');
  const trackId = opts.trackId ?? defaultVideoTrack(doc);
  const track = assertUnlocked(doc, trackId);
  if (track.kind !== 'video') throw new TimelineError('images go on a video track');
  const meta = readMeta(doc);
  const duration = frameInt(opts.duration ?? Math.round((3 * meta.fps.num) / meta.fps.den), 'duration');
  if (duration < 1) throw new TimelineError('a clip lasts at least one frame');
  const start = placeStart(doc, trackId, opts.start);
  assertFree(doc, trackId, start, duration);
  // Natural size is the image fitted into the frame; a quarter of the frame's width by default.
  const fitW = asset.width * meta.height >= asset.height * meta.width ? meta.width : (meta.height * asset.width) / Math.max(1, asset.height);
  const scale = Math.min(1, (0.25 * meta.width) / Math.max(1, fitW));
  const id = newId();
  doc.transact(() => {
    const m = newClipMap(doc, { id, trackId, kind: 'image', assetId: asset.id, start, duration, aspectLocked: true, transition: null, animIn: NO_ANIMATION, animOut: NO_ANIMATION });
    const arr = new Y.Array<TransformKeyframe>();
    m.set('transform', arr);
    arr.push([{ ...IDENTITY_TRANSFORM, scaleX: scale, scaleY: scale, frame: 0, easing: 'linear' }]);
  }, origin);
  return id;
}

/** A text layer: its box (fractions of the frame) wraps the text; bundled fonts only. */
export function addTextClip(
  doc: Y.Doc,
  opts: { trackId?: string; start?: number; duration?: number; text: string; style?: Partial<TextStyle>; box?: { width: number; height: number } },
  origin: Origin = null,
): string {
  const trackId = opts.trackId ?? defaultVideoTrack(doc);
  const track = assertUnlocked(doc, trackId);
  if (track.kind !== 'video') throw new TimelineError('text goes on a video track');
  const meta = readMeta(doc);
  const duration = frameInt(opts.duration ?? Math.round((3 * meta.fps.num) / meta.fps.den), 'duration');
  const style = checkedStyle({ ...DEFAULT_TEXT_STYLE, ...opts.style });
  const box = checkedBox(opts.box ?? { width: 0.8, height: 0.2 });
  if (typeof opts.text !== 'string' || opts.text.length > 5000) throw new TimelineError('text is at most 5000 characters');
  const start = placeStart(doc, trackId, opts.start);
  if (duration < 1) throw new TimelineError('a clip lasts at least one frame');
  assertFree(doc, trackId, start, duration);
  const id = newId();
  doc.transact(() => {
    const m = newClipMap(doc, { id, trackId, kind: 'text', start, duration, box, transition: null, animIn: NO_ANIMATION, animOut: NO_ANIMATION });
    const text = new Y.Text();
    m.set('text', text);
    text.insert(0, opts.text);
    const s = new Y.Map<unknown>();
    m.set('style', s);
    setFields(s, style);
  }, origin);
  return id;
}

function checkedStyle(style: TextStyle): TextStyle {
  const p = TextStyleSchema.safeParse(style);
  if (!p.success) throw new TimelineError(`invalid text style: ${firstIssue(p.error)}`);
  if (!isBundledFamily(p.data.fontFamily)) throw new TimelineError(`“${p.data.fontFamily}” is not one of the bundled fonts`);
  return p.data;
}

function checkedBox(box: { width: number; height: number }): { width: number; height: number } {
  if (!(box.width >= 0.01 && box.width <= 2 && box.height >= 0.01 && box.height <= 2)) throw new TimelineError('the text box must be between 1 % and 200 % of the frame');
  return { width: box.width, height: box.height };
}

/**
 * Moves a clip to another start and, optionally, another track of the same kind (video, image and
 * text clips between video tracks; audio clips between audio tracks).
 */
export function moveClip(doc: Y.Doc, clipId: string, to: number | { start: number; trackId?: string }, origin: Origin = null): void {
  const { m, c } = editable(doc, clipId);
  const start = frameInt(typeof to === 'number' ? to : to.start, 'start');
  const trackId = typeof to === 'number' ? c.trackId : (to.trackId ?? c.trackId);
  if (trackId !== c.trackId) {
    const t = assertUnlocked(doc, trackId);
    if ((t.kind === 'audio') !== (c.kind === 'audio')) throw new TimelineError(c.kind === 'audio' ? 'sound stays on audio tracks' : 'pictures stay on video tracks');
  }
  assertFree(doc, trackId, start, lengthOf(doc, c), clipId);
  doc.transact(() => setFields(m, { start, trackId }), origin);
}

/**
 * The magnetic (ripple) placement of a track: the clips `order` names are laid back to back from
 * frame 0 in that order on `trackId` (a clip from another track of the same kind moves onto it).
 * Every clip already on the track must be named, so nothing is left overlapping. One transaction.
 */
export function arrangeTrack(doc: Y.Doc, trackId: string, order: readonly string[], origin: Origin = null): void {
  const track = assertUnlocked(doc, trackId);
  if (new Set(order).size !== order.length) throw new TimelineError('a clip appears twice in the new order');
  const missing = trackSpans(doc, trackId).find((s) => !order.includes(s.id));
  if (missing) throw new TimelineError(`the new order leaves out clip ${missing.id} of that track`);
  const placed = order.map((id) => editable(doc, id));
  for (const { c } of placed) {
    if ((track.kind === 'audio') !== (c.kind === 'audio')) throw new TimelineError(c.kind === 'audio' ? 'sound stays on audio tracks' : 'pictures stay on video tracks');
  }
  doc.transact(() => {
    let at = 0;
    for (const { m, c } of placed) {
      if (m.get('start') !== at || c.trackId !== trackId) setFields(m, { start: at, trackId });
      at += lengthOf(doc, c);
    }
  }, origin);
}

function cropArray(m: Y.Map<unknown>, field: 'crop' | 'transform' | 'envelope' = 'crop'): Y.Array<unknown> {
  let arr = m.get(field);
  if (!(arr instanceof Y.Array)) {
    arr = new Y.Array<unknown>();
    m.set(field, arr);
  }
  return arr as Y.Array<unknown>;
}

function replaceArray(m: Y.Map<unknown>, field: 'crop' | 'transform' | 'envelope', items: unknown[]): void {
  const arr = cropArray(m, field);
  arr.delete(0, arr.length);
  arr.push(items);
}

/**
 * Crop keyframes re-based to a new clip start `offset` frames later and cut to `length`, keeping
 * the exact crop at both new edges (an interpolated keyframe is added where a segment is cut).
 */
function rebaseCrop(kfs: CropKeyframe[], offset: number, length: number, asset: AssetInfo, out: { width: number; height: number }): CropKeyframe[] {
  if (kfs.length === 0) return [];
  const at = (f: number): CropKeyframe => ({ frame: f - offset, ...cropAt(kfs, f, asset.width, asset.height, out.width, out.height) });
  const inside = kfs.filter((k) => k.frame > offset && k.frame < offset + length - 1).map((k) => ({ ...k, frame: k.frame - offset }));
  const result = [at(offset), ...inside];
  if (length > 1) result.push(at(offset + length - 1));
  return result.filter((k, i, all) => i === 0 || k.frame !== all[i - 1]!.frame);
}

/** Other keyframes (transform, volume) shifted by `offset` and cut to [0, length); the edges keep their values by holding. */
function rebaseKeyframes<T extends { frame: number }>(kfs: readonly T[], offset: number, length: number): T[] {
  if (kfs.length === 0) return [];
  const shifted = kfs.map((k) => ({ ...k, frame: k.frame - offset }));
  const inside = shifted.filter((k) => k.frame >= 0 && k.frame < length);
  const before = shifted.filter((k) => k.frame < 0).at(-1);
  const after = shifted.find((k) => k.frame >= length);
  if (inside.length === 0) return [{ ...(before ?? after)!, frame: 0 }];
  if (before && inside[0]!.frame > 0) inside.unshift({ ...before, frame: 0 });
  return inside;
}

/** Timeline frames that `n` source frames (any sign) play for at `speed`. */
function timelineFramesOf(n: number, asset: AssetInfo | undefined, fps: Fps, speed: Speed): number {
  const src = asset?.fps ?? fps;
  return Math.round((n * speed.den * src.den * fps.num) / (speed.num * src.num * fps.den));
}

function sourceFramesFor(timelineFrames: number, asset: AssetInfo | undefined, fps: Fps, speed: Speed): number {
  const src = asset?.fps ?? fps;
  return Math.round((timelineFrames * speed.num * src.num * fps.den) / (speed.den * src.den * fps.num));
}

/**
 * Changes the source in/out points (source frames, clamped to the media, at least one frame). The
 * clip stays anchored at its timeline start; crop keyframes stay on the same source frames.
 */
export function trimClip(doc: Y.Doc, clipId: string, points: { sourceIn?: number; sourceOut?: number }, origin: Origin = null): void {
  const { m, c } = editable(doc, clipId);
  if (c.kind !== 'video' && c.kind !== 'audio') throw new TimelineError('only video and audio clips have in and out points; change the duration instead');
  if (c.kind === 'video' && c.freeze) throw new TimelineError('a freeze frame has a duration, not in and out points');
  const asset = getAsset(doc, c.assetId);
  const meta = readMeta(doc);
  const total = assetFrames(asset, meta.fps);
  if (points.sourceIn !== undefined && points.sourceOut !== undefined && points.sourceOut <= points.sourceIn) throw new TimelineError('the out point must be after the in point');
  // A handle dragged past the other one stops one frame short of it (a clip keeps at least one frame).
  let sourceOut = points.sourceOut === undefined ? c.sourceOut : Math.min(frameInt(points.sourceOut, 'out point'), total);
  let sourceIn = points.sourceIn === undefined ? c.sourceIn : Math.min(frameInt(points.sourceIn, 'in point'), total - 1);
  if (points.sourceIn !== undefined) sourceIn = Math.min(sourceIn, sourceOut - 1);
  else sourceOut = Math.max(sourceOut, sourceIn + 1);
  if (c.reverse && (sourceOut - sourceIn) * (asset.fps ?? meta.fps).den > REVERSE_MAX_SECONDS * (asset.fps ?? meta.fps).num)
    throw new TimelineError(`a reversed clip plays at most ${REVERSE_MAX_SECONDS} s of its media`);
  const next = { ...c, sourceIn, sourceOut };
  const length = lengthOf(doc, next);
  assertFree(doc, c.trackId, c.start, length, clipId);
  // Timeline frames that left (or joined) the head: keyframes stay on the same picture.
  const headShift = timelineFramesOf(c.reverse ? c.sourceOut - sourceOut : sourceIn - c.sourceIn, asset, meta.fps, c.speed);
  doc.transact(() => {
    setFields(m, { sourceIn, sourceOut });
    if (c.kind === 'video' && c.crop.length > 0) replaceArray(m, 'crop', rebaseCrop(c.crop, headShift, length, asset, meta));
    if (headShift !== 0 && c.kind === 'video' && c.transform.length > 0) replaceArray(m, 'transform', rebaseKeyframes(c.transform, headShift, length));
    if (headShift !== 0 && c.audio.envelope.length > 0) replaceArray(m, 'envelope', rebaseKeyframes(c.audio.envelope, headShift, length));
  }, origin);
}

/** The length of an image, text or freeze-frame clip. */
export function setClipDuration(doc: Y.Doc, clipId: string, duration: number, origin: Origin = null): void {
  const { m, c } = editable(doc, clipId);
  frameInt(duration, 'duration');
  if (duration < 1) throw new TimelineError('a clip lasts at least one frame');
  const field = c.kind === 'image' || c.kind === 'text' ? 'duration' : c.kind === 'video' && c.freeze ? 'freeze' : null;
  if (!field) throw new TimelineError('change a video or audio clip’s length with its in and out points or its speed');
  assertFree(doc, c.trackId, c.start, duration, clipId);
  doc.transact(() => m.set(field, duration), origin);
}

/** Splits at a timeline frame strictly inside the clip; returns the new (right-hand) clip's id. */
export function splitClip(doc: Y.Doc, clipId: string, atFrame: number, origin: Origin = null): string {
  const { m, c } = editable(doc, clipId);
  const meta = readMeta(doc);
  const length = lengthOf(doc, c);
  const rel = frameInt(atFrame, 'split point') - c.start;
  if (rel <= 0 || rel >= length) throw new TimelineError('put the playhead inside the clip to split it');
  const id = newId();
  const right = fieldsForCopy(m);
  let leftPatch: Record<string, unknown>;
  let rightPatch: Record<string, unknown>;
  let leftLength = rel;
  if (c.kind === 'video' || c.kind === 'audio') {
    if (c.kind === 'video' && c.freeze) {
      leftPatch = { freeze: rel };
      rightPatch = { freeze: length - rel };
    } else {
      const asset = getAsset(doc, c.assetId);
      const srcFrames = sourceFramesFor(rel, asset, meta.fps, c.speed);
      const cutAt = c.reverse ? c.sourceOut - srcFrames : c.sourceIn + srcFrames;
      if (cutAt <= c.sourceIn || cutAt >= c.sourceOut) throw new TimelineError('the clip is too short to split there');
      leftPatch = c.reverse ? { sourceIn: cutAt } : { sourceOut: cutAt };
      rightPatch = c.reverse ? { sourceOut: cutAt } : { sourceIn: cutAt };
      leftLength = lengthOf(doc, { ...c, ...leftPatch } as ClipSnapshot);
    }
  } else {
    leftPatch = { duration: rel };
    rightPatch = { duration: length - rel };
  }
  const rightLength = length - leftLength;
  doc.transact(() => {
    setFields(m, leftPatch);
    const r = new Y.Map<unknown>();
    maps(doc).clips.set(id, r);
    setFields(r, { ...right.scalars, ...rightPatch, id, start: c.start + leftLength, transition: null });
    if (c.kind === 'text') setTextFields(r, c);
    if (c.kind === 'video' && c.crop.length > 0) {
      const asset = getAsset(doc, c.assetId);
      replaceArray(r, 'crop', rebaseCrop(c.crop, leftLength, rightLength, asset, meta));
      replaceArray(m, 'crop', rebaseCrop(c.crop, 0, leftLength, asset, meta));
    }
    if (c.kind !== 'audio' && c.transform.length > 0) {
      replaceArray(r, 'transform', rebaseKeyframes(c.transform, leftLength, rightLength));
      replaceArray(m, 'transform', rebaseKeyframes(c.transform, 0, leftLength));
    }
    if ((c.kind === 'video' || c.kind === 'audio') && c.audio.envelope.length > 0) {
      replaceArray(r, 'envelope', rebaseKeyframes(c.audio.envelope, leftLength, rightLength));
      replaceArray(m, 'envelope', rebaseKeyframes(c.audio.envelope, 0, leftLength));
    }
    // The cut is a hard cut: the exit animation and fade-out move to the right half, the entrance stays.
    if (c.kind !== 'audio') {
      m.set('animOut', NO_ANIMATION);
      r.set('animIn', NO_ANIMATION);
    }
    if (c.kind === 'video' || c.kind === 'audio') {
      m.set('fadeOut', 0);
      r.set('fadeIn', 0);
    }
  }, origin);
  return id;
}

/**
 * A copy of a clip (everything: trims, speed, sound, crop, transform, text, animations) at `to`, on
 * its own track or another of the same kind; refused where it would overlap. Returns the new id.
 * The copy starts with a hard cut (no transition in).
 */
export function copyClip(doc: Y.Doc, clipId: string, to: { start: number; trackId?: string }, origin: Origin = null): string {
  const m = getClipMap(doc, clipId);
  const c = clipOf(m);
  const trackId = to.trackId ?? c.trackId;
  const start = frameInt(to.start, 'start');
  const track = getTrack(doc, trackId);
  if ((track.kind === 'audio') !== (c.kind === 'audio')) throw new TimelineError(c.kind === 'audio' ? 'sound goes on an audio track' : 'pictures go on a video track');
  assertUnlocked(doc, trackId);
  assertFree(doc, trackId, start, lengthOf(doc, c));
  const id = newId();
  doc.transact(() => {
    const r = new Y.Map<unknown>();
    maps(doc).clips.set(id, r);
    setFields(r, { ...fieldsForCopy(m).scalars, id, trackId, start, transition: null });
    if (c.kind === 'text') setTextFields(r, c);
    if (c.kind === 'video' && c.crop.length > 0) replaceArray(r, 'crop', [...c.crop]);
    if (c.kind !== 'audio' && c.transform.length > 0) replaceArray(r, 'transform', [...c.transform]);
    if ((c.kind === 'video' || c.kind === 'audio') && c.audio.envelope.length > 0) replaceArray(r, 'envelope', [...c.audio.envelope]);
  }, origin);
  return id;
}

/** A new clip map's text and style (fresh shared types: a copy edits apart from its original). */
function setTextFields(r: Y.Map<unknown>, c: { text: string; style: Record<string, unknown> }): void {
  const t = new Y.Text();
  r.set('text', t);
  t.insert(0, c.text);
  const st = new Y.Map<unknown>();
  r.set('style', st);
  setFields(st, c.style);
}

/** Plain (non-shared-type) fields of a clip map, for copying. */
function fieldsForCopy(m: Y.Map<unknown>): { scalars: Record<string, unknown> } {
  const scalars: Record<string, unknown> = {};
  for (const [k, v] of m.entries()) if (!(v instanceof Y.AbstractType)) scalars[k] = v;
  return { scalars };
}

/** Removes a clip; with ripple, later clips on its track close the gap. */
export function removeClip(doc: Y.Doc, clipId: string, opts: { ripple?: boolean } = {}, origin: Origin = null): void {
  const { c } = editable(doc, clipId);
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

/** The nearest rational with a denominator of at most 100 (speeds are exact rationals). */
export function speedOf(value: number | Speed): Speed {
  if (typeof value === 'object') return value;
  if (!Number.isFinite(value)) throw new TimelineError('speed must be a number');
  const den = 100;
  let num = Math.round(value * den);
  let d = den;
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const g = gcd(num, d) || 1;
  num /= g;
  d /= g;
  return { num, den: d };
}

/** Playback speed 0.25x-4x; the clip keeps its start and source range, its length changes. */
export function setClipSpeed(doc: Y.Doc, clipId: string, speed: number | Speed, origin: Origin = null): void {
  const { m, c } = editable(doc, clipId);
  if (c.kind !== 'video' && c.kind !== 'audio') throw new TimelineError('only video and audio clips have a speed');
  const s = speedOf(speed);
  if (!(Number.isInteger(s.num) && Number.isInteger(s.den) && s.num >= 1 && s.den >= 1 && s.num / s.den >= 0.25 && s.num / s.den <= 4)) throw new TimelineError('speed must be between 0.25x and 4x');
  assertFree(doc, c.trackId, c.start, lengthOf(doc, { ...c, speed: s }), clipId);
  doc.transact(() => setFields(m, { speedNum: s.num, speedDen: s.den }), origin);
}

/** Plays the clip backwards (at most REVERSE_MAX_SECONDS of media). */
export function setClipReverse(doc: Y.Doc, clipId: string, reverse: boolean, origin: Origin = null): void {
  const { m, c } = editable(doc, clipId);
  if (c.kind !== 'video' && c.kind !== 'audio') throw new TimelineError('only video and audio clips play in reverse');
  if (reverse) {
    const asset = getAsset(doc, c.assetId);
    const f = asset.fps ?? readMeta(doc).fps;
    if ((c.sourceOut - c.sourceIn) * f.den > REVERSE_MAX_SECONDS * f.num) throw new TimelineError(`trim the clip to at most ${REVERSE_MAX_SECONDS} s to play it in reverse`);
  }
  doc.transact(() => m.set('reverse', !!reverse), origin);
}

/**
 * Freeze frame: holds the picture under the playhead for `frames` frames, splitting the clip there;
 * later clips on the track move right to make room. Returns the freeze clip's id.
 */
export function freezeFrame(doc: Y.Doc, clipId: string, atFrame: number, frames: number, origin: Origin = null): string {
  const { c } = editable(doc, clipId);
  if (c.kind !== 'video' || c.freeze) throw new TimelineError('freeze a frame of a video clip');
  frameInt(frames, 'freeze length');
  if (frames < 1) throw new TimelineError('a freeze frame lasts at least one frame');
  const rel = frameInt(atFrame, 'freeze point') - c.start;
  const length = lengthOf(doc, c);
  if (rel < 0 || rel >= length) throw new TimelineError('put the playhead on the clip to freeze a frame of it');
  const asset = getAsset(doc, c.assetId);
  const fps = readMeta(doc).fps;
  const f = c.reverse ? c.sourceOut - 1 - sourceFramesFloor(rel, asset, fps, c.speed) : c.sourceIn + sourceFramesFloor(rel, asset, fps, c.speed);
  const id = newId();
  doc.transact(() => {
    const later = trackSpans(doc, c.trackId).filter((s) => s.start > c.start);
    for (const s of later.sort((a, b) => b.start - a.start)) (maps(doc).clips.get(s.id) as Y.Map<unknown>).set('start', s.start + frames);
    const at = c.start + rel;
    if (rel > 0) {
      const right = splitClip(doc, clipId, at, origin);
      (maps(doc).clips.get(right) as Y.Map<unknown>).set('start', at + frames);
    } else (maps(doc).clips.get(clipId) as Y.Map<unknown>).set('start', at + frames);
    newClipMap(doc, { id, trackId: c.trackId, kind: 'video', assetId: c.assetId, start: at, sourceIn: f, sourceOut: f + 1, speedNum: 1, speedDen: 1, reverse: false, freeze: frames, volume: 1, fadeIn: 0, fadeOut: 0, transition: null, animIn: NO_ANIMATION, animOut: NO_ANIMATION });
    const m = maps(doc).clips.get(id)!;
    if (c.crop.length > 0) replaceArray(m, 'crop', [{ ...cropAt(c.crop, rel, asset.width, asset.height, readMeta(doc).width, readMeta(doc).height), frame: 0 }]);
    if (c.transform.length > 0) replaceArray(m, 'transform', rebaseKeyframes(c.transform, rel, 1));
  }, origin);
  return id;
}

function sourceFramesFloor(rel: number, asset: AssetInfo, fps: Fps, speed: Speed): number {
  const src = asset.fps ?? fps;
  return Math.floor((rel * speed.num * src.num * fps.den) / (speed.den * src.den * fps.num));
}

export function setClipVolume(doc: Y.Doc, clipId: string, volume: number, origin: Origin = null): void {
  if (!(Number.isFinite(volume) && volume >= 0 && volume <= 4)) throw new TimelineError('volume must be between 0 and 4');
  const { m, c } = editable(doc, clipId);
  if (c.kind !== 'video' && c.kind !== 'audio') throw new TimelineError('only video and audio clips have sound');
  doc.transact(() => m.set('volume', volume), origin);
}

/** Fade-in / fade-out handles of a clip's sound, in frames (each at most the clip's length). */
export function setAudioFades(doc: Y.Doc, clipId: string, fades: { fadeIn?: number; fadeOut?: number }, origin: Origin = null): void {
  const { m, c } = editable(doc, clipId);
  if (c.kind !== 'video' && c.kind !== 'audio') throw new TimelineError('only video and audio clips have sound');
  const length = lengthOf(doc, c);
  const fields: Record<string, number> = {};
  for (const k of ['fadeIn', 'fadeOut'] as const) {
    const v = fades[k];
    if (v === undefined) continue;
    frameInt(v, k === 'fadeIn' ? 'fade-in' : 'fade-out');
    fields[k] = Math.min(v, length);
  }
  doc.transact(() => setFields(m, fields), origin);
}

function upsertKeyframe<T extends { frame: number }>(m: Y.Map<unknown>, field: 'crop' | 'transform' | 'envelope', k: T): void {
  // Only the entries at this frame are touched (not the whole array), so keyframes that other users
  // add or move at the same time on other frames all survive the merge.
  const arr = cropArray(m, field) as Y.Array<T>;
  deleteWhere(arr, (x) => x.frame === k.frame);
  const at = arr.toArray().findIndex((x) => x.frame > k.frame);
  arr.insert(at === -1 ? arr.length : at, [k]);
}

function deleteWhere<T extends { frame: number }>(arr: Y.Array<T>, pred: (k: T) => boolean): void {
  const items = arr.toArray();
  for (let i = items.length - 1; i >= 0; i--) if (pred(items[i]!)) arr.delete(i, 1);
}

/** A volume-envelope point (clip frame, gain 0..4). */
export function setVolumeKeyframe(doc: Y.Doc, clipId: string, kf: VolumeKeyframe, origin: Origin = null): void {
  const { m, c } = editable(doc, clipId);
  if (c.kind !== 'video' && c.kind !== 'audio') throw new TimelineError('only video and audio clips have sound');
  const p = VolumeKeyframeSchema.safeParse(kf);
  if (!p.success) throw new TimelineError(`invalid volume point: ${firstIssue(p.error)}`);
  doc.transact(() => upsertKeyframe(m, 'envelope', { frame: p.data.frame, gain: p.data.gain }), origin);
}

export function removeVolumeKeyframe(doc: Y.Doc, clipId: string, frame: number, origin: Origin = null): void {
  const { m } = editable(doc, clipId);
  doc.transact(() => deleteWhere(cropArray(m, 'envelope') as Y.Array<VolumeKeyframe>, (x) => x.frame === frame), origin);
}

/** Adds or replaces the crop keyframe at `kf.frame` (relative to the clip start, source pixels). */
export function setCropKeyframe(doc: Y.Doc, clipId: string, kf: CropKeyframe, origin: Origin = null): void {
  const { m, c } = editable(doc, clipId);
  if (c.kind !== 'video') throw new TimelineError('only video clips are cropped');
  const asset = getAsset(doc, c.assetId);
  const parsed = CropKeyframeSchema.safeParse(kf);
  if (!parsed.success) throw new TimelineError(`invalid crop: ${parsed.error.issues[0]?.message}`);
  const k = parsed.data;
  if (k.x + k.w > asset.width || k.y + k.h > asset.height) throw new TimelineError('the crop rectangle must stay inside the video frame');
  doc.transact(() => upsertKeyframe(m, 'crop', { frame: k.frame, x: k.x, y: k.y, w: k.w, h: k.h }), origin);
}

export function removeCropKeyframe(doc: Y.Doc, clipId: string, frame: number, origin: Origin = null): void {
  const { m } = editable(doc, clipId);
  doc.transact(() => deleteWhere(cropArray(m, 'crop') as Y.Array<CropKeyframe>, (x) => x.frame === frame), origin);
}

/**
 * Sets the transform keyframe at `kf.frame` (clip-relative). An image with its aspect locked keeps
 * scaleY equal to scaleX (a square logo stays square).
 */
export function setTransformKeyframe(doc: Y.Doc, clipId: string, kf: TransformKeyframe, origin: Origin = null): void {
  const { m, c } = editable(doc, clipId);
  if (c.kind === 'audio') throw new TimelineError('sound has no picture to transform');
  const locked = c.kind === 'image' && c.aspectLocked;
  const p = TransformKeyframeSchema.safeParse(locked ? { ...kf, scaleY: kf.scaleX } : kf);
  if (!p.success) throw new TimelineError(`invalid transform: ${firstIssue(p.error)}`);
  doc.transact(() => upsertKeyframe(m, 'transform', { ...p.data }), origin);
}

export function removeTransformKeyframe(doc: Y.Doc, clipId: string, frame: number, origin: Origin = null): void {
  const { m } = editable(doc, clipId);
  doc.transact(() => deleteWhere(cropArray(m, 'transform') as Y.Array<TransformKeyframe>, (x) => x.frame === frame), origin);
}

/**
 * Changes transform values at a clip frame: with no keyframes the clip's one static transform
 * (stored at frame 0); with keyframes, a keyframe at that frame (added or updated, starting from
 * the interpolated values there).
 */
export function setTransform(doc: Y.Doc, clipId: string, patch: Partial<Transform>, atFrame = 0, origin: Origin = null): void {
  const { c } = editable(doc, clipId);
  if (c.kind === 'audio') throw new TimelineError('sound has no picture to transform');
  const kfs = c.transform;
  const frame = kfs.length <= 1 ? (kfs[0]?.frame ?? 0) : frameInt(atFrame, 'frame');
  const base = kfs.find((k) => k.frame === frame) ?? { ...interpolatedTransform(kfs, frame), frame, easing: 'linear' as const };
  setTransformKeyframe(doc, clipId, { ...base, ...patch, frame }, origin);
}

function interpolatedTransform(kfs: readonly TransformKeyframe[], frame: number): Transform {
  if (kfs.length === 0) return { ...IDENTITY_TRANSFORM };
  const before = [...kfs].reverse().find((k) => k.frame <= frame) ?? kfs[0]!;
  const after = kfs.find((k) => k.frame > frame);
  if (!after || before.easing === 'hold' || before.frame > frame) return strip(before);
  const p = (frame - before.frame) / (after.frame - before.frame);
  const out = strip(before);
  for (const k of Object.keys(IDENTITY_TRANSFORM) as (keyof Transform)[]) out[k] = before[k] + (after[k] - before[k]) * p;
  return out;
}

function strip(k: TransformKeyframe): Transform {
  const { frame: _f, easing: _e, ...t } = k;
  return t;
}

/** Locks or unlocks an image's aspect ratio; locking makes scaleY follow scaleX again. */
export function setImageAspectLock(doc: Y.Doc, clipId: string, locked: boolean, origin: Origin = null): void {
  const { m, c } = editable(doc, clipId);
  if (c.kind !== 'image') throw new TimelineError('only images have an aspect lock');
  doc.transact(() => {
    m.set('aspectLocked', !!locked);
    if (locked && c.transform.some((k) => k.scaleY !== k.scaleX)) replaceArray(m, 'transform', c.transform.map((k) => ({ ...k, scaleY: k.scaleX })));
  }, origin);
}

/**
 * The transition from the previous clip on the track into this one (null removes it). The clips
 * must touch (no gap) and the transition fit in both; audio tracks only crossfade ('dissolve').
 */
export function setTransition(doc: Y.Doc, clipId: string, transition: Transition | null, origin: Origin = null): void {
  const { m, c } = editable(doc, clipId);
  if (transition) {
    const p = TransitionSchema.safeParse(transition);
    if (!p.success) throw new TimelineError(`invalid transition: ${firstIssue(p.error)}`);
    const track = getTrack(doc, c.trackId);
    if (track.kind === 'audio' && p.data.kind !== 'dissolve') throw new TimelineError('audio tracks crossfade only');
    const prev = trackSpans(doc, c.trackId).find((s) => s.end === c.start && s.id !== clipId);
    if (!prev) throw new TimelineError('a transition needs the previous clip to end exactly where this one starts');
    const max = Math.min(prev.end - prev.start, lengthOf(doc, c));
    if (p.data.duration > max) throw new TimelineError(`this transition can last at most ${max} frames (the shorter clip)`);
    transition = p.data;
  }
  doc.transact(() => m.set('transition', transition ? { ...transition } : null), origin);
}

/** Entrance and exit animations of a visual clip (typewriter only for text). */
export function setClipAnimation(doc: Y.Doc, clipId: string, anims: { in?: Animation; out?: Animation }, origin: Origin = null): void {
  const { m, c } = editable(doc, clipId);
  if (c.kind === 'audio') throw new TimelineError('sound has no animations; use fades');
  const fields: Record<string, unknown> = {};
  for (const [k, field] of [['in', 'animIn'], ['out', 'animOut']] as const) {
    const a = anims[k];
    if (!a) continue;
    const p = AnimationSchema.safeParse(a);
    if (!p.success) throw new TimelineError(`invalid animation: ${firstIssue(p.error)}`);
    if (p.data.kind === 'typewriter' && c.kind !== 'text') throw new TimelineError('typewriter animates text only');
    fields[field] = { ...p.data };
  }
  doc.transact(() => setFields(m, fields), origin);
}

/**
 * Edits a text clip: its text (a minimal change to the Y.Text, so concurrent typing merges), its
 * style fields and its box.
 */
export function updateTextClip(doc: Y.Doc, clipId: string, patch: { text?: string; style?: Partial<TextStyle>; box?: { width: number; height: number } }, origin: Origin = null): void {
  const { m, c } = editable(doc, clipId);
  if (c.kind !== 'text') throw new TimelineError('that clip has no text');
  const style = patch.style ? checkedStyle({ ...c.style, ...patch.style }) : null;
  const box = patch.box ? checkedBox(patch.box) : null;
  if (patch.text !== undefined && (typeof patch.text !== 'string' || patch.text.length > 5000)) throw new TimelineError('text is at most 5000 characters');
  doc.transact(() => {
    if (patch.text !== undefined) {
      let t = m.get('text');
      if (!(t instanceof Y.Text)) {
        t = new Y.Text();
        m.set('text', t);
      }
      applyTextDiff(t as Y.Text, patch.text);
    }
    if (style) {
      let s = m.get('style');
      if (!(s instanceof Y.Map)) {
        s = new Y.Map<unknown>();
        m.set('style', s);
      }
      setFields(s as Y.Map<unknown>, style);
    }
    if (box) m.set('box', box);
  }, origin);
}

/** Replaces the differing middle of a Y.Text (common prefix and suffix untouched). */
export function applyTextDiff(t: Y.Text, next: string): void {
  const cur = t.toString();
  if (cur === next) return;
  let a = 0;
  while (a < cur.length && a < next.length && cur[a] === next[a]) a++;
  let b = 0;
  while (b < cur.length - a && b < next.length - a && cur[cur.length - 1 - b] === next[next.length - 1 - b]) b++;
  if (cur.length - a - b > 0) t.delete(a, cur.length - a - b);
  if (next.length - a - b > 0) t.insert(a, next.slice(a, next.length - b));
}

// ---------- subtitles ----------

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
  const cur = Object.fromEntries(m.entries()) as unknown as CueSnapshot;
  const next = { start: patch.start ?? cur.start, end: patch.end ?? cur.end, text: patch.text ?? cur.text };
  checkCue(next.start, next.end, next.text);
  doc.transact(() => setFields(m, next), origin);
}

export function removeCue(doc: Y.Doc, cueId: string, origin: Origin = null): void {
  doc.transact(() => maps(doc).cues.delete(cueId), origin);
}

/** Adds a timeline marker at a frame; returns its id. */
export function addMarker(doc: Y.Doc, marker: { frame: number; label?: string }, origin: Origin = null): string {
  const frame = frameInt(marker.frame, 'marker frame');
  const label = (marker.label ?? '').slice(0, 200);
  const id = newId();
  doc.transact(() => {
    const m = new Y.Map<unknown>();
    maps(doc).markers.set(id, m);
    setFields(m, { id, frame, label });
  }, origin);
  return id;
}

/** Moves or renames a marker. */
export function updateMarker(doc: Y.Doc, markerId: string, patch: { frame?: number; label?: string }, origin: Origin = null): void {
  const m = maps(doc).markers.get(markerId);
  if (!(m instanceof Y.Map)) throw new TimelineError('that marker no longer exists');
  const fields: Record<string, unknown> = {};
  if (patch.frame !== undefined) {
    const frame = frameInt(patch.frame, 'marker frame');
      fields.frame = frame;
  }
  if (patch.label !== undefined) fields.label = patch.label.slice(0, 200);
  doc.transact(() => setFields(m, fields), origin);
}

export function removeMarker(doc: Y.Doc, markerId: string, origin: Origin = null): void {
  doc.transact(() => maps(doc).markers.delete(markerId), origin);
}

export function setSubtitleStyle(doc: Y.Doc, patch: Partial<SubtitleStyle>, origin: Origin = null): void {
  const parsed = SubtitleStyleSchema.partial().safeParse(patch);
  if (!parsed.success) throw new TimelineError(`invalid subtitle style: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
  doc.transact(() => setFields(maps(doc).subtitleStyle, parsed.data), origin);
}
