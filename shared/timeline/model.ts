/**
 * How the timeline lives in a Y.Doc (schema v2). Top-level names are a contract with the app and
 * the collab-server (snapshots are opaque there):
 *   meta          Y.Map  {schemaVersion, fpsNum, fpsDen, aspect, width, height, loudness (JSON|null)}
 *   assets        Y.Map<assetId, AssetInfo JSON>                 (immutable values)
 *   tracks        Y.Map<trackId, Y.Map<track field>>             {id, kind, name, order, muted, solo, hidden, locked, ducking JSON|null}
 *   clips         Y.Map<clipId, Y.Map<clip field>>               see CLIP FIELDS below
 *   cues          Y.Map<cueId, Y.Map<cue field>>
 *   subtitleStyle Y.Map<SubtitleStyle field>
 *   markers       Y.Map<markerId, Y.Map<marker field>>           {id, frame, label} (timeline markers; not rendered)
 *   overlays, music: v1 only (emptied by the v2 migration)
 * Clip fields, each its own map entry so concurrent edits of different fields both survive:
 *   id, trackId, kind ('video'|'audio'|'image'|'text'), start, transition (JSON|null),
 *   media: assetId, sourceIn, sourceOut, speedNum, speedDen, reverse, freeze (video), volume,
 *          fadeIn, fadeOut, envelope: Y.Array<VolumeKeyframe>
 *   visual: transform: Y.Array<TransformKeyframe>, animIn, animOut (JSON); video: crop: Y.Array
 *   image: assetId, duration, aspectLocked; text: duration, text: Y.Text, style: Y.Map, box (JSON)
 * Track order: video tracks draw in ascending `order` (bottom first); ties break by id.
 */
import * as Y from 'yjs';
import { z } from 'zod';
import {
  Animation,
  ClipAudio,
  CropKeyframe,
  DEFAULT_SUBTITLE_STYLE,
  DEFAULT_TEXT_STYLE,
  Ducking,
  Fps,
  Loudness,
  NO_ANIMATION,
  Speed,
  SubtitleStyle,
  TextStyle,
  Transition,
  TransformKeyframe,
  VolumeKeyframe,
  WordStyle,
} from '../render-spec/schema.ts';
import { clipLength as specClipLength } from '../render-spec/time.ts';

export const TIMELINE_SCHEMA_VERSION = 2;
/** The v1 video track's id (kept by the migration, so v1 clips stay where they were). */
export const VIDEO_TRACK = 'v1';

export const AspectPreset = z.enum(['9:16', '1:1', '4:5', '16:9', 'custom']);
export type AspectPreset = z.infer<typeof AspectPreset>;

export const ASPECT_SIZES: Record<Exclude<AspectPreset, 'custom'>, { width: number; height: number }> = {
  '9:16': { width: 1080, height: 1920 },
  '1:1': { width: 1080, height: 1080 },
  '4:5': { width: 1080, height: 1350 },
  '16:9': { width: 1920, height: 1080 },
};

export const AssetInfo = z.object({
  id: z.string().min(1).max(64),
  key: z.string().min(1).max(512),
  kind: z.enum(['video', 'audio', 'image']),
  name: z.string().max(200),
  width: z.number().int().min(0),
  height: z.number().int().min(0),
  fps: Fps.nullable(),
  durationFrames: z.number().int().min(0).nullable(),
  durationUs: z.number().int().min(0),
  hasAudio: z.boolean(),
  sha256: z.string().nullable(),
  /** Ingest facts (shared/media/ingest.ts); absent on assets added before they were recorded. */
  container: z.string().max(32).nullable().optional(),
  videoStartUs: z.number().int().min(0).optional(),
  audioStartUs: z.number().int().min(0).optional(),
  rotation: z.union([z.literal(0), z.literal(90), z.literal(180), z.literal(270)]).optional(),
  sar: z.object({ num: z.number().int().min(1), den: z.number().int().min(1) }).optional(),
  vfr: z.boolean().optional(),
  colorTransfer: z.string().max(32).nullable().optional(),
});
export type AssetInfo = z.infer<typeof AssetInfo>;

export const TrackSnapshot = z.object({
  id: z.string().min(1).max(64),
  kind: z.enum(['video', 'audio']),
  name: z.string().max(60),
  order: z.number(),
  muted: z.boolean(),
  solo: z.boolean(),
  hidden: z.boolean(),
  locked: z.boolean(),
  ducking: Ducking.nullable(),
});
export type TrackSnapshot = z.infer<typeof TrackSnapshot>;

const Base = { id: z.string(), trackId: z.string(), start: z.number().int().min(0), transition: Transition.nullable() };
const Media = {
  assetId: z.string(),
  sourceIn: z.number().int().min(0),
  sourceOut: z.number().int().min(1),
  speed: Speed,
  reverse: z.boolean(),
  audio: ClipAudio,
};
const Visual = { transform: z.array(TransformKeyframe), animIn: Animation, animOut: Animation };

export const VideoClipSnapshot = z.object({ ...Base, ...Media, ...Visual, kind: z.literal('video'), freeze: z.number().int().min(1).nullable(), crop: z.array(CropKeyframe) });
export const AudioClipSnapshot = z.object({ ...Base, ...Media, kind: z.literal('audio') });
export const ImageClipSnapshot = z.object({ ...Base, ...Visual, kind: z.literal('image'), assetId: z.string(), duration: z.number().int().min(1), aspectLocked: z.boolean() });
export const TextClipSnapshot = z.object({
  ...Base,
  ...Visual,
  kind: z.literal('text'),
  duration: z.number().int().min(1),
  text: z.string().max(5000),
  style: TextStyle,
  box: z.object({ width: z.number().min(0.01).max(2), height: z.number().min(0.01).max(2) }),
});
export const ClipSnapshot = z.discriminatedUnion('kind', [VideoClipSnapshot, AudioClipSnapshot, ImageClipSnapshot, TextClipSnapshot]);
export type VideoClipSnapshot = z.infer<typeof VideoClipSnapshot>;
export type AudioClipSnapshot = z.infer<typeof AudioClipSnapshot>;
export type ImageClipSnapshot = z.infer<typeof ImageClipSnapshot>;
export type TextClipSnapshot = z.infer<typeof TextClipSnapshot>;
export type ClipSnapshot = z.infer<typeof ClipSnapshot>;
export type MediaClipSnapshot = VideoClipSnapshot | AudioClipSnapshot;

/**
 * One word of a caption cue: its timeline frames and, only for a word the transcript rated below
 * LOW_CONFIDENCE, `low: true` (the panel marks it for checking; fixing or confirming it drops the
 * flag). Absent otherwise, so documents stay small and older documents stay valid. Never rendered:
 * the RenderSpec's cue words are `{ start, end }` only (compile copies just those).
 */
export const CueWord = z.object({
  start: z.number().int().min(0),
  end: z.number().int().min(1),
  /** A malformed flag (another client's bug) reads as "not flagged" rather than dropping the cue. */
  low: z.literal(true).optional().catch(undefined),
});
export type CueWord = z.infer<typeof CueWord>;

/** The word `w` at new frames, its low-confidence flag kept (every copy, move and split of a word goes through this). */
export function movedWord(w: { low?: true | undefined }, start: number, end: number): CueWord {
  return w.low === true ? { start, end, low: true } : { start, end };
}

export const CueSnapshot = z.object({
  id: z.string(),
  start: z.number().int().min(0),
  end: z.number().int().min(1),
  text: z.string().max(2000),
  /** Auto-captions: timeline frames of each word of `text` (docs/CAPTIONS.md); absent for plain subtitles. */
  words: z.array(CueWord).max(500).optional(),
});
export type CueSnapshot = z.infer<typeof CueSnapshot>;

/** A timeline marker: a named frame everyone on the project sees (snapping target, not rendered). */
export const MarkerSnapshot = z.object({
  id: z.string(),
  frame: z.number().int().min(0),
  label: z.string().max(200),
});
export type MarkerSnapshot = z.infer<typeof MarkerSnapshot>;

export interface TimelineMeta {
  schemaVersion: number;
  fps: Fps;
  aspect: AspectPreset;
  width: number;
  height: number;
  /** Master loudness target; null = the mix as is (documents migrated from v1). */
  loudness: Loudness | null;
}

export interface TimelineSnapshot {
  meta: TimelineMeta;
  assets: AssetInfo[];
  /** Video tracks bottom to top, then audio tracks in order. */
  tracks: TrackSnapshot[];
  /** Sorted by track (as `tracks`) then start. */
  clips: ClipSnapshot[];
  /** Sorted by start. */
  cues: CueSnapshot[];
  subtitleStyle: SubtitleStyle;
  /** Word-level caption style (stored under `wordStyle` in the subtitleStyle map); null = none. */
  wordStyle?: WordStyle | null;
  /** Timeline markers sorted by frame (absent in snapshots made before markers existed). */
  markers?: MarkerSnapshot[];
}

export class TimelineError extends Error {
  override name = 'TimelineError';
}

export const maps = (doc: Y.Doc) => ({
  meta: doc.getMap<unknown>('meta'),
  assets: doc.getMap<unknown>('assets'),
  tracks: doc.getMap<Y.Map<unknown>>('tracks'),
  clips: doc.getMap<Y.Map<unknown>>('clips'),
  cues: doc.getMap<Y.Map<unknown>>('cues'),
  subtitleStyle: doc.getMap<unknown>('subtitleStyle'),
  markers: doc.getMap<Y.Map<unknown>>('markers'),
  overlays: doc.getMap<Y.Map<unknown>>('overlays'),
  music: doc.getMap<unknown>('music'),
});

/**
 * Keyframes sorted by frame with one keyframe per frame. Two users setting a keyframe on the same
 * frame at once leave two entries in the Y.Array; the one later in the array wins, which is the
 * same on every replica, so everyone sees (and renders) the same value.
 */
export function normalizeKeyframes<T extends { frame: number }>(keyframes: readonly T[]): T[] {
  const byFrame = new Map<number, T>();
  for (const k of keyframes) byFrame.set(k.frame, k);
  return [...byFrame.values()].sort((a, b) => a.frame - b.frame);
}
/** Crop keyframes normalised (kept name for v1 callers). */
export const normalizeCrop = normalizeKeyframes<CropKeyframe>;

/** Plain object of a Y.Map of fields (Y.Array -> array, Y.Text -> string, Y.Map -> object). */
export function fieldsOf(m: Y.Map<unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of m.entries()) out[k] = v instanceof Y.Array ? v.toArray() : v instanceof Y.Text ? v.toString() : v instanceof Y.Map ? v.toJSON() : v;
  return out;
}

const DEFAULT_FPS: Fps = { num: 30, den: 1 };

export function readMeta(doc: Y.Doc): TimelineMeta {
  const meta = maps(doc).meta;
  const num = Number(meta.get('fpsNum'));
  const den = Number(meta.get('fpsDen'));
  const fps = Fps.safeParse({ num, den }).success ? { num, den } : DEFAULT_FPS;
  const aspect = AspectPreset.safeParse(meta.get('aspect'));
  const width = Number(meta.get('width'));
  const height = Number(meta.get('height'));
  const preset = aspect.success ? aspect.data : '9:16';
  const size =
    preset === 'custom' && Number.isInteger(width) && Number.isInteger(height) && width >= 16 && height >= 16 ? { width, height } : ASPECT_SIZES[preset === 'custom' ? '9:16' : preset];
  const loudness = Loudness.safeParse(meta.get('loudness'));
  return { schemaVersion: Number(meta.get('schemaVersion') ?? 0), fps, aspect: preset, ...size, loudness: loudness.success ? loudness.data : null };
}

/** Timeline frames a clip occupies (source frames at the asset's fps and the clip's speed). */
export function clipLength(clip: ClipSnapshot | Pick<MediaClipSnapshot, 'sourceIn' | 'sourceOut'>, asset: Pick<AssetInfo, 'fps'> | undefined, fps: Fps): number {
  if ('kind' in clip) return specClipLength(clip, asset ? { fps: asset.fps } : null, fps);
  return specClipLength({ kind: 'video', sourceIn: clip.sourceIn, sourceOut: clip.sourceOut, speed: { num: 1, den: 1 } }, asset ? { fps: asset.fps } : null, fps);
}

/** A clip's fields from its Y.Map, with the defaults of fields a v1 document never had. */
export function clipFields(m: Y.Map<unknown>): Record<string, unknown> {
  const f = fieldsOf(m);
  const kind = f.kind ?? 'video';
  const out: Record<string, unknown> = { ...f, kind, transition: f.transition ?? null };
  if (kind === 'video' || kind === 'audio') {
    out.speed = { num: Number(f.speedNum ?? 1), den: Number(f.speedDen ?? 1) };
    out.reverse = f.reverse ?? false;
    out.audio = { volume: Number(f.volume ?? 1), envelope: normalizeKeyframes(parsedArray(f.envelope, VolumeKeyframe)), fadeIn: Number(f.fadeIn ?? 0), fadeOut: Number(f.fadeOut ?? 0) };
  }
  if (kind === 'video') {
    out.freeze = f.freeze ?? null;
    out.crop = normalizeKeyframes(parsedArray(f.crop, CropKeyframe));
  }
  if (kind !== 'audio') {
    out.transform = normalizeKeyframes(parsedArray(f.transform, TransformKeyframe));
    out.animIn = f.animIn ?? NO_ANIMATION;
    out.animOut = f.animOut ?? NO_ANIMATION;
  }
  if (kind === 'image') out.aspectLocked = f.aspectLocked ?? true;
  if (kind === 'text') out.style = { ...DEFAULT_TEXT_STYLE, ...(f.style as object | undefined) };
  return out;
}

function parsedArray<T>(v: unknown, schema: z.ZodType<T>): T[] {
  return Array.isArray(v) ? v.flatMap((k) => {
    const p = schema.safeParse(k);
    return p.success ? [p.data] : [];
  }) : [];
}

export function trackFields(m: Y.Map<unknown>): Record<string, unknown> {
  const f = fieldsOf(m);
  return { muted: false, solo: false, hidden: false, locked: false, ducking: null, name: '', ...f };
}

/** Sort key of tracks: video first (bottom to top), then audio; by order, then id. */
export function compareTracks(a: Pick<TrackSnapshot, 'kind' | 'order' | 'id'>, b: Pick<TrackSnapshot, 'kind' | 'order' | 'id'>): number {
  if (a.kind !== b.kind) return a.kind === 'video' ? -1 : 1;
  return a.order - b.order || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/**
 * A plain, validated snapshot of a document at the CURRENT schema version (read.ts migrates older
 * ones first). Entries that do not validate (a buggy or hostile peer) are skipped here, so the UI
 * never crashes on them; the render compiler validates again.
 */
export function readCurrentTimeline(doc: Y.Doc): TimelineSnapshot {
  const m = maps(doc);
  const assets: AssetInfo[] = [];
  for (const v of m.assets.values()) {
    const a = AssetInfo.safeParse(v);
    if (a.success) assets.push(a.data);
  }
  const tracks: TrackSnapshot[] = [];
  for (const v of m.tracks.values()) {
    if (!(v instanceof Y.Map)) continue;
    const t = TrackSnapshot.safeParse(trackFields(v));
    if (t.success) tracks.push(t.data);
  }
  tracks.sort(compareTracks);
  const trackIndex = new Map(tracks.map((t, i) => [t.id, i]));
  const clips: ClipSnapshot[] = [];
  for (const v of m.clips.values()) {
    if (!(v instanceof Y.Map)) continue;
    const c = ClipSnapshot.safeParse(clipFields(v));
    if (c.success && trackIndex.has(c.data.trackId)) clips.push(c.data);
  }
  clips.sort((a, b) => trackIndex.get(a.trackId)! - trackIndex.get(b.trackId)! || a.start - b.start || (a.id < b.id ? -1 : 1));
  const cues: CueSnapshot[] = [];
  for (const v of m.cues.values()) {
    if (!(v instanceof Y.Map)) continue;
    const c = CueSnapshot.safeParse(fieldsOf(v));
    if (c.success) cues.push(c.data);
  }
  cues.sort((a, b) => a.start - b.start || a.end - b.end || a.id.localeCompare(b.id));
  const markers: MarkerSnapshot[] = [];
  for (const v of m.markers.values()) {
    if (!(v instanceof Y.Map)) continue;
    const k = MarkerSnapshot.safeParse(fieldsOf(v));
    if (k.success) markers.push(k.data);
  }
  markers.sort((a, b) => a.frame - b.frame || a.id.localeCompare(b.id));
  const style = SubtitleStyle.safeParse({ ...DEFAULT_SUBTITLE_STYLE, ...fieldsOf(m.subtitleStyle) });
  return {
    meta: readMeta(doc),
    assets: assets.sort((a, b) => a.id.localeCompare(b.id)),
    tracks,
    clips,
    cues,
    subtitleStyle: style.success ? style.data : DEFAULT_SUBTITLE_STYLE,
    wordStyle: WordStyle.safeParse(m.subtitleStyle.get('wordStyle')).data ?? null,
    markers,
  };
}

/** Frames of media an asset holds at its own fps (audio: at the timeline fps). */
export function assetFrames(asset: AssetInfo, fps: Fps): number {
  if (asset.durationFrames !== null) return asset.durationFrames;
  const f = asset.fps ?? fps;
  return Math.floor((asset.durationUs * f.num) / (f.den * 1e6) + 1e-6);
}

/** The timeline's length: the end of the last clip on a video track (of any clip when there are none). */
export function timelineLength(tl: Pick<TimelineSnapshot, 'clips' | 'assets' | 'tracks' | 'meta'>): number {
  const assets = new Map(tl.assets.map((a) => [a.id, a]));
  const kinds = new Map(tl.tracks.map((t) => [t.id, t.kind]));
  const end = (c: ClipSnapshot) => c.start + clipLength(c, c.kind === 'text' ? undefined : assets.get(c.assetId), tl.meta.fps);
  const visual = tl.clips.filter((c) => kinds.get(c.trackId) === 'video');
  return (visual.length > 0 ? visual : tl.clips).reduce((m, c) => Math.max(m, end(c)), 0);
}
