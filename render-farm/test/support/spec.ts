/** RenderSpec builders for farm tests (plain JSON: the farm receives specs as JSON). */
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
} from '@clipmaker/shared/render-spec';

export interface TestClip {
  sourceIn: number;
  sourceOut: number;
}

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
  return { id, key, kind: 'video', width: o.width, height: o.height, fps: { num: fps, den: 1 }, durationFrames: o.frames, durationUs: Math.round((o.frames / fps) * 1e6), hasAudio: o.hasAudio, sha256: null };
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

/** A spec cutting `clips` back to back from one 640x360 30 fps source stored at `key`. */
export function frameIndexSpec(o: { key: string; sourceFrames: number; clips: TestClip[]; width: number; height: number; hasAudio: boolean; cues?: RenderSpec['subtitles']['cues'] }): RenderSpec {
  let start = 0;
  const clips = o.clips.map((c, i) => {
    const clip = videoClip({ id: `clip${i + 1}`, sourceId: 'src', start, sourceIn: c.sourceIn, sourceOut: c.sourceOut });
    start += Math.max(1, c.sourceOut - c.sourceIn);
    return clip;
  });
  const spec = {
    version: 2 as const,
    output: {
      width: o.width,
      height: o.height,
      fps: { num: 30, den: 1 },
      durationFrames: Math.max(1, start),
      video: { codec: 'h264' as const, crf: 18, preset: 'ultrafast' as const },
      audio: { codec: 'aac' as const, bitrateKbps: 96, sampleRate: 48000 as const, loudness: null },
      gop: 30,
    },
    sources: [videoSource('src', o.key, { width: 640, height: 360, frames: o.sourceFrames, hasAudio: o.hasAudio })],
    tracks: [track('v1')],
    clips,
    subtitles: { style: DEFAULT_SUBTITLE_STYLE, cues: o.cues ?? [] },
  };
  return spec as RenderSpec;
}
