/**
 * RenderSpec v1 (one video track, fixed overlays, one music track), kept ONLY so that specs written
 * before v2 (queued or retried jobs, stored renders) can be read and migrated: see migrate.ts.
 * Nothing new is written in this format.
 *
 * Sources, crop keyframes, subtitle style and cues are the same shapes as in v2.
 *
 * The frozen, versioned description of one render. Compiled by the app from the SAVED Y.Doc,
 * consumed by the render farm (and by the browser preview). Everything the farm needs is here:
 * it never reads the database.
 *
 * Time is in integer frames at `output.fps` (timeline) or at the source's own fps (source in/out),
 * never in floating seconds, so nothing drifts. Geometry is in integer pixels.
 */
import { z } from 'zod';
import { sourceFramesToTimeline } from './time.ts';
import { Cue, CropKeyframe, Fps, Source, SubtitleStyle } from './schema.ts';

export const RENDER_SPEC_V1 = 1 as const;

const Frame = z.number().int().min(0).max(10_000_000);
const Id = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/);
const Color = z.string().regex(/^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/, 'colour must be #RRGGBB or #RRGGBBAA');

export const SourceV1 = Source;
export type SourceV1 = Source;

export const CropKeyframeV1 = CropKeyframe;
export type CropKeyframeV1 = CropKeyframe;

export const ClipV1 = z.object({
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
  crop: z.array(CropKeyframeV1).max(10_000),
});
export type ClipV1 = z.infer<typeof ClipV1>;

export const SubtitleStyleV1 = SubtitleStyle;
export type SubtitleStyleV1 = SubtitleStyle;

export const CueV1 = Cue;
export type CueV1 = Cue;

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
export const ImageOverlayV1 = OverlayBase.extend({ kind: z.literal('image'), sourceId: Id });
export const TextOverlayV1 = OverlayBase.extend({
  kind: z.literal('text'),
  text: z.string().max(2000),
  fontSize: z.number().int().min(8).max(400),
  color: Color,
});
export const OverlayV1 = z.discriminatedUnion('kind', [ImageOverlayV1, TextOverlayV1]);
export type OverlayV1 = z.infer<typeof OverlayV1>;

export const MusicV1 = z.object({
  sourceId: Id,
  volume: z.number().min(0).max(4),
  /** Timeline frame where the music starts. */
  start: Frame,
});
export type MusicV1 = z.infer<typeof MusicV1>;

export const OutputV1 = z.object({
  width: z.number().int().min(16).max(8192).refine((n) => n % 2 === 0, 'width must be even'),
  height: z.number().int().min(16).max(8192).refine((n) => n % 2 === 0, 'height must be even'),
  fps: Fps,
  durationFrames: z.number().int().min(1).max(10_000_000),
  video: z.object({ codec: z.enum(['h264', 'hevc']), crf: z.number().int().min(0).max(51), preset: z.enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow']) }),
  audio: z.object({ codec: z.literal('aac'), bitrateKbps: z.number().int().min(32).max(512), sampleRate: z.literal(48000) }),
  /** Frames per GOP; chunk boundaries fall on multiples of it. */
  gop: z.number().int().min(1).max(1000),
});
export type OutputV1 = z.infer<typeof OutputV1>;

export const RenderSpecV1 = z
  .object({
    version: z.literal(RENDER_SPEC_V1),
    output: OutputV1,
    sources: z.array(SourceV1).max(500),
    /** The single video track, sorted by start, non-overlapping. Gaps render black and silent. */
    clips: z.array(ClipV1).max(5000),
    subtitles: z.object({ style: SubtitleStyleV1, cues: z.array(CueV1).max(20_000) }),
    overlays: z.array(OverlayV1).max(200),
    music: MusicV1.nullable(),
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
export type RenderSpecV1 = z.infer<typeof RenderSpecV1>;
