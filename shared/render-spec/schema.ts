/**
 * RenderSpec v2: the frozen, versioned description of one render. Compiled by the app from the
 * SAVED Y.Doc, consumed by the render farm and by the browser preview (ffmpeg.wasm and PixiJS).
 * Everything the farm needs is here: it never reads the database. v1 specs (one video track) are
 * read through migrate.ts.
 *
 * Layers: `tracks` is ordered; video tracks draw bottom (first) to top (last). Gaps on the bottom
 * track are black, gaps on upper tracks transparent. Every clip sits on one track, clips on a track
 * never overlap, a clip's `transition` blends it with the clip that ends exactly where it starts.
 *
 * Time is in integer frames at `output.fps` (timeline, clip-relative keyframes) or at the source's
 * own fps (source in/out; sources without an fps, i.e. audio, count at the output fps), never in
 * floating seconds. Speeds are rationals. Positions are fractions of the output frame.
 */
import { z } from 'zod';
import { INGEST_DEMUXERS } from '../media/ingest.ts';
import { clipLength } from './time.ts';

export const RENDER_SPEC_VERSION = 2 as const;

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

export const Frame = z.number().int().min(0).max(10_000_000);
export const Id = z.string().min(1).max(64).regex(/^[A-Za-z0-9_-]+$/);
export const Color = z.string().regex(/^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/, 'colour must be #RRGGBB or #RRGGBBAA');

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
  /**
   * The demuxer the ingest probe detected (media/ingest.ts): every ffmpeg run forces it with -f.
   * null for assets stored before detection: the farm detects it again before building.
   */
  container: z.enum(INGEST_DEMUXERS).nullable().default(null),
  /** Video (else first) stream's start after the container's start, microseconds (ingest probe). */
  videoStartUs: z.number().int().min(0).max(3_600_000_000).default(0),
  /** Audio stream's start after the container's start, microseconds (ingest probe). */
  audioStartUs: z.number().int().min(0).max(3_600_000_000).default(0),
  /** Pixel aspect ratio of the coded video; width/height above are already the displayed size. */
  sar: z.object({ num: z.number().int().min(1).max(65535), den: z.number().int().min(1).max(65535) }).default({ num: 1, den: 1 }),
  /** Variable frame rate (ingest probe): source frame N is the frame displayed at N / fps (graph/inputs.ts). */
  vfr: z.boolean().default(false),
  /** The video's transfer characteristic as ffprobe names it (smpte2084 = PQ, arib-std-b67 = HLG get tone-mapped); null when untagged. */
  colorTransfer: z.string().max(32).regex(/^[a-z0-9_-]+$/).nullable().default(null),
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

/** Playback speed as a rational (exact frame arithmetic), 0.25x to 4x. */
export const Speed = z
  .object({ num: z.number().int().min(1).max(400), den: z.number().int().min(1).max(100) })
  .refine((s) => s.num / s.den >= 0.25 && s.num / s.den <= 4, 'speed must be between 0.25x and 4x');
export type Speed = z.infer<typeof Speed>;
export const NORMAL_SPEED: Speed = { num: 1, den: 1 };

/** How a keyframe eases into the next one. 'hold' keeps its values until the next keyframe. */
export const Easing = z.enum(['linear', 'ease-in-out', 'hold']);
export type Easing = z.infer<typeof Easing>;

/**
 * Where a layer sits: its anchor point (anchorX/anchorY, fractions of the layer) is placed at
 * (x, y) (fractions of the output frame); scale is relative to the layer's natural size (video:
 * its crop fitted into the frame; image: fitted into the frame; text: its box), rotation in degrees
 * clockwise about the anchor, opacity 0..1.
 */
export const Transform = z.object({
  x: z.number().min(-4).max(5),
  y: z.number().min(-4).max(5),
  scaleX: z.number().min(0.01).max(20),
  scaleY: z.number().min(0.01).max(20),
  rotation: z.number().min(-3600).max(3600),
  opacity: z.number().min(0).max(1),
  anchorX: z.number().min(0).max(1),
  anchorY: z.number().min(0).max(1),
});
export type Transform = z.infer<typeof Transform>;
export const IDENTITY_TRANSFORM: Transform = { x: 0.5, y: 0.5, scaleX: 1, scaleY: 1, rotation: 0, opacity: 1, anchorX: 0.5, anchorY: 0.5 };

/** A full transform at a clip-relative frame; between keyframes values interpolate per `easing`. */
export const TransformKeyframe = Transform.extend({ frame: Frame, easing: Easing });
export type TransformKeyframe = z.infer<typeof TransformKeyframe>;

export const Direction = z.enum(['left', 'right', 'up', 'down']);
export type Direction = z.infer<typeof Direction>;

/** Entrance (in) or exit (out) animation of a visual clip; typewriter only for text. */
export const Animation = z.object({
  kind: z.enum(['none', 'fade', 'pop', 'slide', 'typewriter']),
  /** Frames. */
  duration: z.number().int().min(1).max(600),
  /** Slide: where the layer comes from (in) or goes to (out). */
  direction: Direction,
});
export type Animation = z.infer<typeof Animation>;
export const NO_ANIMATION: Animation = { kind: 'none', duration: 15, direction: 'left' };

/**
 * A transition from the previous clip on the track (which must end exactly where this clip starts)
 * into this one, centred on the cut: floor(duration / 2) frames before it, the rest after.
 * dissolve / wipe / slide extend both clips over the window (source frames past the out point and
 * before the in point; the edge frame is held where the source has none); dip-black / dip-white fade
 * the first clip to the colour before the cut and the second from it after. The clips' audio
 * crossfades over the same window (equal power). On audio tracks only 'dissolve' (a crossfade).
 */
export const Transition = z.object({
  kind: z.enum(['dissolve', 'dip-black', 'dip-white', 'wipe', 'slide']),
  /** Wipe: the edge moves towards this side; slide: the incoming clip moves towards it. */
  direction: Direction,
  duration: z.number().int().min(2).max(600),
});
export type Transition = z.infer<typeof Transition>;

/** Gain multiplier at a clip-relative frame (linear between keyframes). */
export const VolumeKeyframe = z.object({ frame: Frame, gain: z.number().min(0).max(4) });
export type VolumeKeyframe = z.infer<typeof VolumeKeyframe>;

export const ClipAudio = z.object({
  /** Linear gain, 0..4 (1 = unchanged), multiplied with the envelope. */
  volume: z.number().min(0).max(4),
  /** Sorted by frame, unique frames; empty = flat. */
  envelope: z.array(VolumeKeyframe).max(2000),
  /** Fade handles in frames (linear). */
  fadeIn: Frame,
  fadeOut: Frame,
});
export type ClipAudio = z.infer<typeof ClipAudio>;
export const DEFAULT_CLIP_AUDIO: ClipAudio = { volume: 1, envelope: [], fadeIn: 0, fadeOut: 0 };

export const TextStyle = z.object({
  /** A bundled family (shared/fonts.ts); libass and PixiJS load the same files. */
  fontFamily: z.string().min(1).max(100),
  /** Pixels at output height (ASS font size: the line height). */
  fontSize: z.number().int().min(8).max(400),
  bold: z.boolean(),
  italic: z.boolean(),
  color: Color,
  strokeColor: Color,
  /** Outline width in output pixels; 0 = none. */
  strokeWidth: z.number().min(0).max(20),
  shadowColor: Color,
  /** Shadow offset (down-right) in output pixels; 0 = none. */
  shadowDepth: z.number().min(0).max(20),
  /** Background box behind each line; null = none. */
  boxColor: Color.nullable(),
  boxPadding: z.number().int().min(0).max(100),
  align: z.enum(['left', 'center', 'right']),
  verticalAlign: z.enum(['top', 'middle', 'bottom']),
});
export type TextStyle = z.infer<typeof TextStyle>;

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
  /**
   * Word timings (auto-captions, docs/CAPTIONS.md): one entry per whitespace-separated word of
   * `text`, in order, timeline frames; drives word-level styles. Absent for plain subtitles.
   */
  words: z.array(z.object({ start: Frame, end: Frame })).max(500).optional(),
});
export type Cue = z.infer<typeof Cue>;

/** Word-level caption style (shared/captions/word-style.ts draws it for libass and PixiJS alike). */
export const WordStyle = z.object({
  /** 'highlight': all words shown, the spoken one styled; 'reveal': words appear as spoken (pop-in). */
  mode: z.enum(['highlight', 'reveal']),
  activeColor: Color,
  /** Percent scale of the active word (100 = none). */
  activeScale: z.number().int().min(100).max(200),
  /** Coloured blob (thick outline in this colour) behind the active word; null = none. */
  activeBoxColor: Color.nullable(),
  /** Active word pops from 70 % to activeScale over popMs at its start; 0 = no pop. */
  popMs: z.number().int().min(0).max(1000),
  uppercase: z.boolean(),
});
export type WordStyle = z.infer<typeof WordStyle>;

const ClipCommon = z.object({
  id: Id,
  trackId: Id,
  /** First timeline frame (output fps). */
  start: Frame,
  transition: Transition.nullable(),
});

const MediaRange = z.object({
  sourceId: Id,
  /** Source frame range [sourceIn, sourceOut) at the source's fps (audio: at the output fps). */
  sourceIn: Frame,
  sourceOut: Frame,
  speed: Speed,
  /** Plays the range backwards (at most REVERSE_MAX_SECONDS of source). */
  reverse: z.boolean(),
  audio: ClipAudio,
});

const Visual = z.object({
  /** Sorted by frame, unique frames; empty = the identity transform. */
  transform: z.array(TransformKeyframe).max(5000),
  animIn: Animation,
  animOut: Animation,
});

export const VideoClip = ClipCommon.extend(MediaRange.shape)
  .extend(Visual.shape)
  .extend({
    kind: z.literal('video'),
    /** Freeze frame: shows source frame sourceIn for this many frames (no sound). */
    freeze: z.number().int().min(1).max(100_000).nullable(),
    /** Sorted by frame, unique frames. Empty means "centre crop to the output aspect". */
    crop: z.array(CropKeyframe).max(10_000),
  });
export type VideoClip = z.infer<typeof VideoClip>;

export const AudioClip = ClipCommon.extend(MediaRange.shape).extend({ kind: z.literal('audio') });
export type AudioClip = z.infer<typeof AudioClip>;

export const ImageClip = ClipCommon.extend(Visual.shape).extend({
  kind: z.literal('image'),
  sourceId: Id,
  duration: z.number().int().min(1).max(10_000_000),
});
export type ImageClip = z.infer<typeof ImageClip>;

export const TextClip = ClipCommon.extend(Visual.shape).extend({
  kind: z.literal('text'),
  duration: z.number().int().min(1).max(10_000_000),
  /** Plain text, may contain newlines; reaches ffmpeg only inside an ASS file. */
  text: z.string().max(5000),
  style: TextStyle,
  /** The text box (wrapping width, layer size) as fractions of the output frame. */
  box: z.object({ width: z.number().min(0.01).max(2), height: z.number().min(0.01).max(2) }),
});
export type TextClip = z.infer<typeof TextClip>;

export const Clip = z.discriminatedUnion('kind', [VideoClip, AudioClip, ImageClip, TextClip]);
export type Clip = z.infer<typeof Clip>;
export type MediaClip = VideoClip | AudioClip;
export type VisualClip = VideoClip | ImageClip | TextClip;

/**
 * Music ducking on an audio track. 'sidechain': a compressor keyed by the key tracks' sound
 * (ducks while someone speaks, by about amountDb on speech at normal level); 'automation': the
 * track's gain drops by exactly amountDb wherever a key track has an audible clip, with attack and
 * release ramps. Identical in the farm and ffmpeg.wasm.
 */
export const Ducking = z.object({
  mode: z.enum(['sidechain', 'automation']),
  keyTrackIds: z.array(Id).min(1).max(16),
  amountDb: z.number().min(1).max(40),
  attackMs: z.number().int().min(1).max(2000),
  releaseMs: z.number().int().min(10).max(5000),
});
export type Ducking = z.infer<typeof Ducking>;

export const Track = z.object({
  id: Id,
  kind: z.enum(['video', 'audio']),
  name: z.string().max(60),
  /** Sound of the track's clips off. */
  muted: z.boolean(),
  /** When any track is soloed, only soloed tracks are heard. */
  solo: z.boolean(),
  /** Picture of the track's clips off (video tracks). */
  hidden: z.boolean(),
  /** Editing refused (an editor concern; renders ignore it). */
  locked: z.boolean(),
  ducking: Ducking.nullable(),
});
export type Track = z.infer<typeof Track>;

export const Loudness = z.object({
  /** Integrated loudness target, LUFS (EBU R128); -14 for social platforms. */
  targetLufs: z.number().min(-40).max(-5),
  truePeakDb: z.number().min(-9).max(0),
  lra: z.number().min(1).max(20),
});
export type Loudness = z.infer<typeof Loudness>;
export const SOCIAL_LOUDNESS: Loudness = { targetLufs: -14, truePeakDb: -1, lra: 11 };

export const Output = z.object({
  width: z.number().int().min(16).max(8192).refine((n) => n % 2 === 0, 'width must be even'),
  height: z.number().int().min(16).max(8192).refine((n) => n % 2 === 0, 'height must be even'),
  fps: Fps,
  durationFrames: z.number().int().min(1).max(10_000_000),
  video: z.object({ codec: z.enum(['h264', 'hevc']), crf: z.number().int().min(0).max(51), preset: z.enum(['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow']) }),
  audio: z.object({
    codec: z.literal('aac'),
    bitrateKbps: z.number().int().min(32).max(512),
    sampleRate: z.literal(48000),
    /** Master loudness normalisation (two-pass loudnorm on the farm); null = the mix as is. */
    loudness: Loudness.nullable(),
  }),
  /** Frames per GOP; chunk boundaries fall on multiples of it. */
  gop: z.number().int().min(1).max(1000),
});
export type Output = z.infer<typeof Output>;

export const MAX_TRACKS_PER_KIND = 16;
/** Reversed clips are buffered whole by ffmpeg: their source range is capped. */
export const REVERSE_MAX_SECONDS = 20;

export const RenderSpec = z
  .object({
    version: z.literal(RENDER_SPEC_VERSION),
    output: Output,
    sources: z.array(Source).max(500),
    /** Video tracks bottom to top, audio tracks in any order. */
    tracks: z.array(Track).min(1).max(2 * MAX_TRACKS_PER_KIND),
    /** Sorted by track order then start. */
    clips: z.array(Clip).max(5000),
    subtitles: z.object({ style: SubtitleStyle, cues: z.array(Cue).max(20_000), wordStyle: WordStyle.nullable().optional() }),
  })
  .superRefine((spec, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    const sources = new Map(spec.sources.map((s) => [s.id, s]));
    const tracks = new Map(spec.tracks.map((t) => [t.id, t]));
    if (tracks.size !== spec.tracks.length) issue(['tracks'], 'track ids must be unique');
    for (const kind of ['video', 'audio'] as const)
      if (spec.tracks.filter((t) => t.kind === kind).length > MAX_TRACKS_PER_KIND) issue(['tracks'], `at most ${MAX_TRACKS_PER_KIND} ${kind} tracks`);
    spec.tracks.forEach((t, i) => {
      if (!t.ducking) return;
      if (t.kind !== 'audio') issue(['tracks', i, 'ducking'], 'only audio tracks duck');
      for (const k of t.ducking.keyTrackIds) if (!tracks.has(k) || k === t.id) issue(['tracks', i, 'ducking'], `ducking key track ${k} is not another track of this spec`);
    });
    const ids = new Set<string>();
    const lastEnd = new Map<string, { id: string; end: number; length: number }>();
    spec.clips.forEach((clip, i) => {
      if (ids.has(clip.id)) issue(['clips', i, 'id'], `duplicate clip id ${clip.id}`);
      ids.add(clip.id);
      const track = tracks.get(clip.trackId);
      if (!track) return issue(['clips', i, 'trackId'], `unknown track ${clip.trackId}`);
      if ((clip.kind === 'audio') !== (track.kind === 'audio')) issue(['clips', i, 'kind'], `a ${clip.kind} clip cannot sit on ${track.kind} track ${track.name || track.id}`);
      let source: Source | undefined;
      if (clip.kind !== 'text') {
        source = sources.get(clip.sourceId);
        if (!source) return issue(['clips', i, 'sourceId'], `unknown source ${clip.sourceId}`);
        const want = clip.kind === 'video' ? source.kind === 'video' : clip.kind === 'image' ? source.kind === 'image' : source.hasAudio;
        if (!want) issue(['clips', i, 'sourceId'], clip.kind === 'audio' ? 'audio clip source has no sound' : `${clip.kind} clip source must be ${clip.kind === 'video' ? 'a video' : 'an image'}`);
      }
      if (clip.kind === 'video' || clip.kind === 'audio') {
        const srcFps = source!.fps ?? spec.output.fps;
        const total = source!.durationFrames ?? Math.floor((source!.durationUs * srcFps.num) / (srcFps.den * 1e6) + 1e-6);
        if (clip.sourceOut <= clip.sourceIn) issue(['clips', i], 'sourceOut must be after sourceIn');
        if (clip.sourceOut > total) issue(['clips', i, 'sourceOut'], `sourceOut ${clip.sourceOut} is past the source's ${total} frames`);
        if (clip.reverse && (clip.sourceOut - clip.sourceIn) * srcFps.den > REVERSE_MAX_SECONDS * srcFps.num)
          issue(['clips', i, 'reverse'], `only up to ${REVERSE_MAX_SECONDS} s of source can play in reverse`);
        sortedUnique(clip.audio.envelope, ['clips', i, 'audio', 'envelope'], issue);
      }
      if (clip.kind === 'video') {
        for (const k of clip.crop) if (k.x + k.w > source!.width || k.y + k.h > source!.height) issue(['clips', i, 'crop'], 'crop keyframe is outside the source frame');
        sortedUnique(clip.crop, ['clips', i, 'crop'], issue);
      }
      if (clip.kind !== 'audio') sortedUnique(clip.transform, ['clips', i, 'transform'], issue);
      const length = clipLength(clip, source ?? null, spec.output.fps);
      const prev = lastEnd.get(clip.trackId);
      if (prev && clip.start < prev.end) issue(['clips', i, 'start'], 'clips on a track overlap or are not sorted');
      if (clip.transition) {
        if (!prev || prev.end !== clip.start) issue(['clips', i, 'transition'], 'a transition needs a clip ending exactly where this one starts');
        else if (clip.transition.duration > Math.min(prev.length, length)) issue(['clips', i, 'transition'], 'a transition cannot be longer than either clip');
        if (track.kind === 'audio' && clip.transition.kind !== 'dissolve') issue(['clips', i, 'transition'], 'audio tracks only crossfade (dissolve)');
      }
      lastEnd.set(clip.trackId, { id: clip.id, end: clip.start + length, length });
    });
    spec.subtitles.cues.forEach((c, i) => {
      if (c.end <= c.start) issue(['subtitles', 'cues', i], 'cue end must be after start');
      if (c.words) {
        const n = c.text.split(/\s+/u).filter(Boolean).length;
        if (c.words.length !== n) issue(['subtitles', 'cues', i, 'words'], `cue has ${n} words but ${c.words.length} word timings`);
        c.words.forEach((w, j) => {
          if (w.end <= w.start) issue(['subtitles', 'cues', i, 'words', j], 'word end must be after start');
          if (w.start < c.start || w.end > c.end) issue(['subtitles', 'cues', i, 'words', j], 'word timing outside its cue');
        });
      }
    });
  });
export type RenderSpec = z.infer<typeof RenderSpec>;

function sortedUnique(items: readonly { frame: number }[], path: (string | number)[], issue: (p: (string | number)[], m: string) => void): void {
  for (let j = 1; j < items.length; j++) if (items[j]!.frame <= items[j - 1]!.frame) issue([...path, j], 'keyframes must be sorted by frame with unique frames');
}

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

export const DEFAULT_TEXT_STYLE: TextStyle = {
  fontFamily: 'Inter',
  fontSize: 72,
  bold: true,
  italic: false,
  color: '#FFFFFF',
  strokeColor: '#000000',
  strokeWidth: 0,
  shadowColor: '#00000080',
  shadowDepth: 0,
  boxColor: null,
  boxPadding: 12,
  align: 'center',
  verticalAlign: 'middle',
};
