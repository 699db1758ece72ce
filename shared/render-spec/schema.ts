/**
 * The frozen, versioned description of one render. Compiled by the app from the SAVED Y.Doc,
 * consumed by the render farm (and by the browser preview). Everything the farm needs is here:
 * it never reads the database.
 *
 * Time is in integer frames at `output.fps` (timeline) or at the source's own fps (source in/out),
 * never in floating seconds, so nothing drifts. Geometry is in integer pixels.
 */
import { z } from 'zod';
import { sourceFramesToTimeline } from './time.ts';

export const RENDER_SPEC_VERSION = 1 as const;

/** A rational frame rate, e.g. 30000/1001. */
export const Fps = z
  .object({ num: z.number().int().min(1).max(240_000), den: z.number().int().min(1).max(10_000) })
  .refine((f) => f.num / f.den >= 1 && f.num / f.den <= 240, 'fps must be between 1 and 240');
export type Fps = z.infer<typeof Fps>;

/** Storage keys: relative, lower-case, no "..", no leading slash. Never a client-sent path. */
export const StorageKey = z
  .string()
  .min(1)
  .max(512)
  .regex(/^[a-z0-9][a-z0-9._\-/]*$/, 'storage key may only contain a-z 0-9 . _ - /')
  .refine((k) => !k.split('/').some((p) => p === '..' || p === '.' || p === ''), 'storage key has an empty, "." or ".." segment');

const Frame = z.number().int().min(0).max(10_000_000);
const Id = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/);
const Color = z.string().regex(/^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/, 'colour must be #RRGGBB or #RRGGBBAA');

export const Source = z.object({
  id: Id,
  /** Where the farm reads it: a storage key, resolved by the worker's storage driver. */
  key: StorageKey,
  kind: z.enum(['video', 'audio', 'image']),
  width: z.number().int().min(0).max(16384),
  height: z.number().int().min(0).max(16384),
  fps: Fps.nullable(),
  /** Total frames at the source's fps (video); null for images/audio. */
  durationFrames: Frame.nullable(),
  /** Duration in microseconds (all kinds, 0 for images). */
  durationUs: z.number().int().min(0),
  hasAudio: z.boolean(),
  /** Content hash (sha256 hex) of the original file, for content-addressed chunk caching. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/).nullable(),
});
export type Source = z.infer<typeof Source>;

/** A crop rectangle in SOURCE pixels at a frame relative to the clip's timeline start. */
export const CropKeyframe = z.object({
  frame: Frame,
  x: z.number().int().min(0),
  y: z.number().int().min(0),
  w: z.number().int().min(2),
  h: z.number().int().min(2),
});
export type CropKeyframe = z.infer<typeof CropKeyframe>;

export const Clip = z.object({
  id: Id,
  sourceId: Id,
  /** First timeline frame (output fps). */
  start: Frame,
  /** Source frame range [sourceIn, sourceOut) at the source's fps. */
  sourceIn: Frame,
  sourceOut: Frame,
  /** Linear gain, 0..4 (1 = unchanged). */
  volume: z.number().min(0).max(4),
  /** Sorted by frame, unique frames. Empty means "centre crop to the output aspect". */
  crop: z.array(CropKeyframe).max(10_000),
});
export type Clip = z.infer<typeof Clip>;

export const SubtitleStyle = z.object({
  /** Family name inside the bundled font file; the farm passes the font folder to libass. */
  fontFamily: z.string().min(1).max(100),
  /** Pixels at output height. */
  fontSize: z.number().int().min(8).max(400),
  color: Color,
  outlineColor: Color,
  outlineWidth: z.number().min(0).max(20),
  box: z.boolean(),
  boxColor: Color,
  position: z.enum(['bottom', 'middle', 'top']),
  /** Distance from the edge in output pixels. */
  marginV: z.number().int().min(0).max(2000),
  bold: z.boolean(),
});
export type SubtitleStyle = z.infer<typeof SubtitleStyle>;

export const Cue = z.object({
  id: Id,
  start: Frame,
  /** Exclusive end frame. */
  end: Frame,
  /** Plain text, may contain newlines. Escaped for ASS by the subtitle writer, never spliced into a filter. */
  text: z.string().max(2000),
});
export type Cue = z.infer<typeof Cue>;

const OverlayBase = z.object({
  id: Id,
  start: Frame,
  end: Frame,
  /** Position and size as fractions of the output frame (0..1). */
  x: z.number().min(-1).max(2),
  y: z.number().min(-1).max(2),
  w: z.number().min(0).max(2),
  h: z.number().min(0).max(2),
  opacity: z.number().min(0).max(1),
});
export const ImageOverlay = OverlayBase.extend({ kind: z.literal('image'), sourceId: Id });
export const TextOverlay = OverlayBase.extend({
  kind: z.literal('text'),
  text: z.string().max(2000),
  fontSize: z.number().int().min(8).max(400),
  color: Color,
});
export const Overlay = z.discriminatedUnion('kind', [ImageOverlay, TextOverlay]);
export type Overlay = z.infer<typeof Overlay>;

export const Music = z.object({
  sourceId: Id,
  volume: z.number().min(0).max(4),
  /** Timeline frame where the music starts. */
  start: Frame,
});
export type Music = z.infer<typeof Music>;

export const Output = z.object({
  width: z.number().int().min(16).max(8192).refine((n) => n % 2 === 0, 'width must be even'),
  height: z.number().int().min(16).max(8192).refine((n) => n % 2 === 0, 'height must be even'),
  fps: Fps,
  durationFrames: z.number().int().min(1).max(10_000_000),
  video: z.object({ codec: z.enum(['h264', 'hevc']), crf: z.number().int().min(0).max(51), preset: z.enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow']) }),
  audio: z.object({ codec: z.literal('aac'), bitrateKbps: z.number().int().min(32).max(512), sampleRate: z.literal(48000) }),
  /** Frames per GOP; chunk boundaries fall on multiples of it. */
  gop: z.number().int().min(1).max(1000),
});
export type Output = z.infer<typeof Output>;

export const RenderSpec = z
  .object({
    version: z.literal(RENDER_SPEC_VERSION),
    output: Output,
    sources: z.array(Source).max(500),
    /** The single video track, sorted by start, non-overlapping. Gaps render black and silent. */
    clips: z.array(Clip).max(5000),
    subtitles: z.object({ style: SubtitleStyle, cues: z.array(Cue).max(20_000) }),
    overlays: z.array(Overlay).max(200),
    music: Music.nullable(),
  })
  .superRefine((spec, ctx) => {
    const sources = new Map(spec.sources.map((s) => [s.id, s]));
    let lastEnd = 0;
    spec.clips.forEach((clip, i) => {
      const src = sources.get(clip.sourceId);
      if (!src) return ctx.addIssue({ code: 'custom', path: ['clips', i, 'sourceId'], message: `unknown source ${clip.sourceId}` });
      if (src.kind !== 'video') ctx.addIssue({ code: 'custom', path: ['clips', i, 'sourceId'], message: 'clip source must be a video' });
      if (clip.sourceOut <= clip.sourceIn) ctx.addIssue({ code: 'custom', path: ['clips', i], message: 'sourceOut must be after sourceIn' });
      if (src.durationFrames !== null && clip.sourceOut > src.durationFrames)
        ctx.addIssue({ code: 'custom', path: ['clips', i, 'sourceOut'], message: `sourceOut ${clip.sourceOut} is past the source's ${src.durationFrames} frames` });
      if (clip.start < lastEnd) ctx.addIssue({ code: 'custom', path: ['clips', i, 'start'], message: 'clips overlap or are not sorted' });
      for (const k of clip.crop) {
        if (k.x + k.w > src.width || k.y + k.h > src.height)
          ctx.addIssue({ code: 'custom', path: ['clips', i, 'crop'], message: 'crop keyframe is outside the source frame' });
      }
      for (let j = 1; j < clip.crop.length; j++) {
        if (clip.crop[j]!.frame <= clip.crop[j - 1]!.frame) ctx.addIssue({ code: 'custom', path: ['clips', i, 'crop', j], message: 'crop keyframes must be sorted by frame with unique frames' });
      }
      lastEnd = clip.start + (src.fps ? sourceFramesToTimeline(clip.sourceOut - clip.sourceIn, src.fps, spec.output.fps) : clip.sourceOut - clip.sourceIn);
    });
    spec.subtitles.cues.forEach((c, i) => {
      if (c.end <= c.start) ctx.addIssue({ code: 'custom', path: ['subtitles', 'cues', i], message: 'cue end must be after start' });
    });
    spec.overlays.forEach((o, i) => {
      if (o.end <= o.start) ctx.addIssue({ code: 'custom', path: ['overlays', i], message: 'overlay end must be after start' });
      if (o.kind === 'image' && sources.get(o.sourceId)?.kind !== 'image')
        ctx.addIssue({ code: 'custom', path: ['overlays', i, 'sourceId'], message: 'image overlay needs an image source' });
    });
    if (spec.music && !sources.get(spec.music.sourceId)?.hasAudio)
      ctx.addIssue({ code: 'custom', path: ['music', 'sourceId'], message: 'music source has no audio' });
  });
export type RenderSpec = z.infer<typeof RenderSpec>;

export const DEFAULT_SUBTITLE_STYLE: SubtitleStyle = {
  fontFamily: 'DejaVu Sans',
  fontSize: 64,
  color: '#FFFFFF',
  outlineColor: '#000000',
  outlineWidth: 3,
  box: false,
  boxColor: '#00000099',
  position: 'bottom',
  marginV: 160,
  bold: true,
};
