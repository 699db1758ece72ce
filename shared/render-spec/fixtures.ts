/**
 * Small RenderSpec v2 builders with every field at its default, for tests, benchmarks and tools
 * (`@clipmaker/shared/render-spec/fixtures`). The result of specOf() is validated.
 */
import {
  DEFAULT_CLIP_AUDIO,
  DEFAULT_SUBTITLE_STYLE,
  NO_ANIMATION,
  NORMAL_SPEED,
  RenderSpec,
  type AudioClip,
  type ImageClip,
  type Source,
  type TextClip,
  type Track,
  type VideoClip,
} from './index.ts';


export function track(id: string, kind: 'video' | 'audio' = 'video', extra: Partial<Track> = {}): Track {
  return { id, kind, name: id, muted: false, solo: false, hidden: false, locked: false, ducking: null, ...extra };
}

export function videoClip(o: Pick<VideoClip, 'id' | 'sourceId' | 'start' | 'sourceIn' | 'sourceOut'> & Partial<VideoClip>): VideoClip {
  return { kind: 'video', trackId: 'v1', transition: null, speed: NORMAL_SPEED, reverse: false, freeze: null, crop: [], transform: [], animIn: NO_ANIMATION, animOut: NO_ANIMATION, audio: DEFAULT_CLIP_AUDIO, ...o };
}

export function audioClip(o: Pick<AudioClip, 'id' | 'sourceId' | 'start' | 'sourceIn' | 'sourceOut' | 'trackId'> & Partial<AudioClip>): AudioClip {
  return { kind: 'audio', transition: null, speed: NORMAL_SPEED, reverse: false, audio: DEFAULT_CLIP_AUDIO, ...o };
}

export function imageClip(o: Pick<ImageClip, 'id' | 'sourceId' | 'start' | 'duration' | 'trackId'> & Partial<ImageClip>): ImageClip {
  return { kind: 'image', transition: null, transform: [], animIn: NO_ANIMATION, animOut: NO_ANIMATION, ...o };
}

export function textClip(o: Pick<TextClip, 'id' | 'start' | 'duration' | 'trackId' | 'text' | 'style' | 'box'> & Partial<TextClip>): TextClip {
  return { kind: 'text', transition: null, transform: [], animIn: NO_ANIMATION, animOut: NO_ANIMATION, ...o };
}

export function videoSource(id: string, key: string, o: { width: number; height: number; fps?: number; frames: number; hasAudio: boolean }): Source {
  const fps = o.fps ?? 30;
  return { id, key, kind: 'video', width: o.width, height: o.height, fps: { num: fps, den: 1 }, durationFrames: o.frames, durationUs: Math.round((o.frames / fps) * 1e6), hasAudio: o.hasAudio, sha256: null, container: null, videoStartUs: 0, audioStartUs: 0, sar: { num: 1, den: 1 }, vfr: false, colorTransfer: null };
}

/** A spec at 30 fps with the given sources, tracks and clips; validated. */
export function specOf(o: { width: number; height: number; durationFrames: number; sources: Source[]; tracks: Track[]; clips: RenderSpec['clips']; cues?: RenderSpec['subtitles']['cues']; loudness?: RenderSpec['output']['audio']['loudness']; crf?: number; gop?: number }): RenderSpec {
  return RenderSpec.parse({
    version: 2,
    output: {
      width: o.width,
      height: o.height,
      fps: { num: 30, den: 1 },
      durationFrames: o.durationFrames,
      video: { codec: 'h264', crf: o.crf ?? 18, preset: 'ultrafast' },
      audio: { codec: 'aac', bitrateKbps: 96, sampleRate: 48000, loudness: o.loudness ?? null },
      gop: o.gop ?? 30,
    },
    sources: o.sources,
    tracks: o.tracks,
    clips: o.clips,
    subtitles: { style: DEFAULT_SUBTITLE_STYLE, cues: o.cues ?? [] },
  });
}

export function imageSource(id: string, key: string, width: number, height: number): Source {
  return { id, key, kind: 'image', width, height, fps: null, durationFrames: null, durationUs: 0, hasAudio: false, sha256: null, container: null, videoStartUs: 0, audioStartUs: 0, sar: { num: 1, den: 1 }, vfr: false, colorTransfer: null };
}

export function audioSource(id: string, key: string, seconds: number): Source {
  return { id, key, kind: 'audio', width: 0, height: 0, fps: null, durationFrames: null, durationUs: Math.round(seconds * 1e6), hasAudio: true, sha256: null, container: null, videoStartUs: 0, audioStartUs: 0, sar: { num: 1, den: 1 }, vfr: false, colorTransfer: null };
}
