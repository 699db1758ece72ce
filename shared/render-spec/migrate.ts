/**
 * RenderSpec v1 -> v2. A v1 spec (one video track, fixed overlays, one music track) becomes: track
 * "v1" with its clips, text overlays on tracks above it (ASS drew them under the image overlays),
 * image overlays above those (overlapping overlays go to separate tracks, in the v1 drawing order),
 * the music as a clip on audio track "a1". Rendering the migrated spec gives the v1 picture: the
 * overlay boxes, including a logo stretched by its fractional box, are kept exactly (image clips
 * migrate with their aspect unlocked).
 */
import { DEFAULT_CLIP_AUDIO, DEFAULT_TEXT_STYLE, NO_ANIMATION, NORMAL_SPEED, RENDER_SPEC_VERSION, RenderSpec, type Clip, type Track, type TransformKeyframe } from './schema.ts';
import { RenderSpecV1, type OverlayV1, type SourceV1 } from './schema-v1.ts';
import { naturalSize, type VisualLayer } from './layers.ts';

const even = (v: number) => 2 * Math.floor(v / 2);

/** Overlays split into tracks: greedy, each overlay on the lowest track where it fits, in drawing order. */
export function overlayTracks<T extends { start: number; end: number }>(overlays: readonly T[]): T[][] {
  const tracks: T[][] = [];
  for (const o of overlays) {
    const free = tracks.find((t) => t.every((x) => x.end <= o.start || x.start >= o.end));
    if (free) free.push(o);
    else tracks.push([o]);
  }
  return tracks.map((t) => [...t].sort((a, b) => a.start - b.start));
}

/** The keyframe placing an image of `image` size where v1 drew an overlay box (anchor top-left). */
export function imageOverlayTransform(o: { x: number; y: number; w: number; h: number; opacity: number }, image: { width: number; height: number }, W: number, H: number): TransformKeyframe {
  const natural = naturalSize({ clip: { kind: 'image' }, source: image } as unknown as VisualLayer, W, H);
  const ow = Math.max(2, even(Math.round(o.w * W)));
  const oh = Math.max(2, even(Math.round(o.h * H)));
  return { frame: 0, easing: 'linear', x: Math.round(o.x * W) / W, y: Math.round(o.y * H) / H, scaleX: ow / natural.w, scaleY: oh / natural.h, rotation: 0, opacity: o.opacity, anchorX: 0, anchorY: 0 };
}

/** A v1 text overlay as a text clip's fields: top-left at its position, wrapping at the frame's right edge. */
export function textOverlayFields(o: { x: number; y: number; fontSize: number; color: string; opacity: number; start: number; end: number; text: string }, fontFamily: string, W: number, H: number) {
  const x = Math.round(o.x * W);
  const y = Math.round(o.y * H);
  const width = Math.max(16, W - x) / W;
  const height = Math.max(16, H - y) / H;
  const transform: TransformKeyframe[] = [{ frame: 0, easing: 'linear', x: x / W, y: y / H, scaleX: 1, scaleY: 1, rotation: 0, opacity: o.opacity, anchorX: 0, anchorY: 0 }];
  return {
    text: o.text,
    duration: o.end - o.start,
    style: { ...DEFAULT_TEXT_STYLE, fontFamily, fontSize: o.fontSize, bold: false, color: o.color, align: 'left' as const, verticalAlign: 'top' as const },
    box: { width: Math.min(2, width), height: Math.min(2, height) },
    transform,
  };
}

export function defaultTrack(id: string, kind: 'video' | 'audio', name: string): Track {
  return { id, kind, name, muted: false, solo: false, hidden: false, locked: false, ducking: null };
}

function audioFrames(s: SourceV1, fps: { num: number; den: number }): number {
  if (s.durationFrames !== null) return s.durationFrames;
  const f = s.fps ?? fps;
  return Math.floor((s.durationUs * f.num) / (f.den * 1e6) + 1e-6);
}

export function migrateSpecV1(v1: RenderSpecV1): RenderSpec {
  const { width: W, height: H } = v1.output;
  const sources = new Map(v1.sources.map((s) => [s.id, s]));
  const tracks: Track[] = [defaultTrack('v1', 'video', 'Video 1')];
  const clips: Clip[] = v1.clips.map((c) => ({
    kind: 'video',
    id: c.id,
    trackId: 'v1',
    start: c.start,
    transition: null,
    sourceId: c.sourceId,
    sourceIn: c.sourceIn,
    sourceOut: c.sourceOut,
    speed: NORMAL_SPEED,
    reverse: false,
    freeze: null,
    crop: c.crop,
    transform: [],
    animIn: NO_ANIMATION,
    animOut: NO_ANIMATION,
    audio: { ...DEFAULT_CLIP_AUDIO, volume: c.volume },
  }));
  const texts = v1.overlays.filter((o): o is Extract<OverlayV1, { kind: 'text' }> => o.kind === 'text' && o.text.trim() !== '');
  const images = v1.overlays.filter((o): o is Extract<OverlayV1, { kind: 'image' }> => o.kind === 'image');
  let n = tracks.length;
  for (const group of overlayTracks(texts)) {
    const id = `v${++n}`;
    tracks.push(defaultTrack(id, 'video', `Text ${n - 1}`));
    for (const o of group) clips.push({ kind: 'text', id: o.id, trackId: id, start: o.start, transition: null, animIn: NO_ANIMATION, animOut: NO_ANIMATION, ...textOverlayFields(o, v1.subtitles.style.fontFamily, W, H) });
  }
  for (const group of overlayTracks(images)) {
    const id = `v${++n}`;
    tracks.push(defaultTrack(id, 'video', `Logo ${n - 1}`));
    for (const o of group) {
      const image = sources.get(o.sourceId)!;
      clips.push({ kind: 'image', id: o.id, trackId: id, start: o.start, duration: o.end - o.start, transition: null, sourceId: o.sourceId, transform: [imageOverlayTransform(o, image, W, H)], animIn: NO_ANIMATION, animOut: NO_ANIMATION });
    }
  }
  if (v1.music) {
    tracks.push(defaultTrack('a1', 'audio', 'Music'));
    const s = sources.get(v1.music.sourceId)!;
    clips.push({
      kind: 'audio',
      id: 'music',
      trackId: 'a1',
      start: v1.music.start,
      transition: null,
      sourceId: s.id,
      sourceIn: 0,
      sourceOut: Math.max(1, audioFrames(s, v1.output.fps)),
      speed: NORMAL_SPEED,
      reverse: false,
      audio: { ...DEFAULT_CLIP_AUDIO, volume: v1.music.volume },
    });
  }
  return {
    version: RENDER_SPEC_VERSION,
    output: { ...v1.output, audio: { ...v1.output.audio, loudness: null } },
    sources: v1.sources,
    tracks,
    clips,
    subtitles: v1.subtitles,
  };
}

/** Untrusted JSON of any known version -> the current version's shape (validate it afterwards). */
export function migrateRenderSpec(input: unknown): unknown {
  if (input && typeof input === 'object' && (input as { version?: unknown }).version === 1) {
    const v1 = RenderSpecV1.safeParse(input);
    if (!v1.success) return input;
    return migrateSpecV1(v1.data);
  }
  return input;
}

/**
 * Validates untrusted JSON of any known version as a current RenderSpec (v1 specs migrate first;
 * their validation errors are v1's).
 */
export function safeParseAnyRenderSpec(input: unknown): ReturnType<typeof RenderSpec.safeParse> | ReturnType<typeof RenderSpecV1.safeParse> {
  if (input && typeof input === 'object' && (input as { version?: unknown }).version === 1) {
    const v1 = RenderSpecV1.safeParse(input);
    if (!v1.success) return v1;
    return RenderSpec.safeParse(migrateSpecV1(v1.data));
  }
  return RenderSpec.safeParse(input);
}
