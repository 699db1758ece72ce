/**
 * How the timeline lives in a Y.Doc. Top-level names are a contract with the app and the
 * collab-server (snapshots are opaque there):
 *   meta          Y.Map  {schemaVersion, fpsNum, fpsDen, aspect, width, height}
 *   assets        Y.Map<assetId, AssetInfo JSON>          (immutable values)
 *   clips         Y.Map<clipId, Y.Map<clip field>>         crop: Y.Array<CropKeyframe JSON>
 *   cues          Y.Map<cueId, Y.Map<cue field>>
 *   subtitleStyle Y.Map<SubtitleStyle field>
 *   overlays      Y.Map<overlayId, Y.Map<overlay field>>
 *   music         Y.Map {assetId, volume, start}           (empty = no music)
 * Each field is its own map entry so concurrent edits of different fields of one clip both survive.
 */
import * as Y from 'yjs';
import { z } from 'zod';
import { CropKeyframe, DEFAULT_SUBTITLE_STYLE, Fps, Overlay, SubtitleStyle } from '../render-spec/schema.ts';
import { sourceFramesToTimeline } from '../render-spec/time.ts';

export const TIMELINE_SCHEMA_VERSION = 1;
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
});
export type AssetInfo = z.infer<typeof AssetInfo>;

export const ClipSnapshot = z.object({
  id: z.string(),
  trackId: z.string(),
  assetId: z.string(),
  start: z.number().int().min(0),
  sourceIn: z.number().int().min(0),
  sourceOut: z.number().int().min(1),
  volume: z.number().min(0).max(4),
  crop: z.array(CropKeyframe),
});
export type ClipSnapshot = z.infer<typeof ClipSnapshot>;

export const CueSnapshot = z.object({ id: z.string(), start: z.number().int().min(0), end: z.number().int().min(1), text: z.string().max(2000) });
export type CueSnapshot = z.infer<typeof CueSnapshot>;

export const MusicSnapshot = z.object({ assetId: z.string(), volume: z.number().min(0).max(4), start: z.number().int().min(0) });
export type MusicSnapshot = z.infer<typeof MusicSnapshot>;

export interface TimelineMeta {
  schemaVersion: number;
  fps: Fps;
  aspect: AspectPreset;
  width: number;
  height: number;
}

export interface TimelineSnapshot {
  meta: TimelineMeta;
  assets: AssetInfo[];
  /** Sorted by track then start. */
  clips: ClipSnapshot[];
  /** Sorted by start. */
  cues: CueSnapshot[];
  subtitleStyle: SubtitleStyle;
  overlays: Overlay[];
  music: MusicSnapshot | null;
}

export class TimelineError extends Error {
  override name = 'TimelineError';
}

export const maps = (doc: Y.Doc) => ({
  meta: doc.getMap<unknown>('meta'),
  assets: doc.getMap<unknown>('assets'),
  clips: doc.getMap<Y.Map<unknown>>('clips'),
  cues: doc.getMap<Y.Map<unknown>>('cues'),
  subtitleStyle: doc.getMap<unknown>('subtitleStyle'),
  overlays: doc.getMap<Y.Map<unknown>>('overlays'),
  music: doc.getMap<unknown>('music'),
});

/**
 * Crop keyframes sorted by frame with one keyframe per frame. Two users setting a keyframe on the
 * same frame at once leave two entries in the Y.Array; the one later in the array wins, which is
 * the same on every replica, so everyone sees (and renders) the same crop.
 */
export function normalizeCrop(keyframes: readonly CropKeyframe[]): CropKeyframe[] {
  const byFrame = new Map<number, CropKeyframe>();
  for (const k of keyframes) byFrame.set(k.frame, k);
  return [...byFrame.values()].sort((a, b) => a.frame - b.frame);
}

/** Plain object of a Y.Map of fields (Y.Array values become arrays). */
export function fieldsOf(m: Y.Map<unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of m.entries()) out[k] = v instanceof Y.Array ? v.toArray() : v;
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
  return { schemaVersion: Number(meta.get('schemaVersion') ?? 0), fps, aspect: preset, ...size };
}

/** Timeline frames a clip occupies (source frames converted at the asset's fps). */
export function clipLength(clip: Pick<ClipSnapshot, 'sourceIn' | 'sourceOut'>, asset: Pick<AssetInfo, 'fps'> | undefined, fps: Fps): number {
  const frames = clip.sourceOut - clip.sourceIn;
  if (!asset?.fps) return frames;
  return sourceFramesToTimeline(frames, asset.fps, fps);
}

/**
 * A plain, validated snapshot. Entries that do not validate (a buggy or hostile peer) are skipped
 * here, so the UI never crashes on them; the render compiler validates again.
 */
export function readTimeline(doc: Y.Doc): TimelineSnapshot {
  const m = maps(doc);
  const assets: AssetInfo[] = [];
  for (const v of m.assets.values()) {
    const a = AssetInfo.safeParse(v);
    if (a.success) assets.push(a.data);
  }
  const clips: ClipSnapshot[] = [];
  for (const v of m.clips.values()) {
    if (!(v instanceof Y.Map)) continue;
    const c = ClipSnapshot.safeParse(fieldsOf(v));
    if (c.success) clips.push({ ...c.data, crop: normalizeCrop(c.data.crop) });
  }
  clips.sort((a, b) => a.trackId.localeCompare(b.trackId) || a.start - b.start || a.id.localeCompare(b.id));
  const cues: CueSnapshot[] = [];
  for (const v of m.cues.values()) {
    if (!(v instanceof Y.Map)) continue;
    const c = CueSnapshot.safeParse(fieldsOf(v));
    if (c.success) cues.push(c.data);
  }
  cues.sort((a, b) => a.start - b.start || a.end - b.end || a.id.localeCompare(b.id));
  const overlays: Overlay[] = [];
  for (const v of m.overlays.values()) {
    if (!(v instanceof Y.Map)) continue;
    const o = Overlay.safeParse(fieldsOf(v));
    if (o.success) overlays.push(o.data);
  }
  overlays.sort((a, b) => a.start - b.start || a.id.localeCompare(b.id));
  const style = SubtitleStyle.safeParse({ ...DEFAULT_SUBTITLE_STYLE, ...fieldsOf(m.subtitleStyle) });
  const music = m.music.size > 0 ? MusicSnapshot.safeParse(fieldsOf(m.music as Y.Map<unknown>)) : null;
  return {
    meta: readMeta(doc),
    assets: assets.sort((a, b) => a.id.localeCompare(b.id)),
    clips,
    cues,
    subtitleStyle: style.success ? style.data : DEFAULT_SUBTITLE_STYLE,
    overlays,
    music: music?.success ? music.data : null,
  };
}
