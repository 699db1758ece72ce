/** RenderSpec builders for farm tests (plain JSON: the farm receives specs as JSON). */
import { DEFAULT_SUBTITLE_STYLE, type RenderSpec } from '@clipmaker/shared/render-spec';
import { track, videoClip, videoSource } from '@clipmaker/shared/render-spec/fixtures';

export * from '@clipmaker/shared/render-spec/fixtures';

export interface TestClip {
  sourceIn: number;
  sourceOut: number;
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
