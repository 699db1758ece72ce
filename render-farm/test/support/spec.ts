/** RenderSpec builders for farm tests (plain JSON: the farm receives specs as JSON). */
import { DEFAULT_SUBTITLE_STYLE, type RenderSpec } from '@clipmaker/shared/render-spec';

export interface TestClip {
  sourceIn: number;
  sourceOut: number;
}

/** A spec cutting `clips` back to back from one 640x360 30 fps source stored at `key`. */
export function frameIndexSpec(o: { key: string; sourceFrames: number; clips: TestClip[]; width: number; height: number; hasAudio: boolean; cues?: RenderSpec['subtitles']['cues'] }): RenderSpec {
  let start = 0;
  const clips = o.clips.map((c, i) => {
    const clip = { id: `clip${i + 1}`, sourceId: 'src', start, sourceIn: c.sourceIn, sourceOut: c.sourceOut, volume: 1, crop: [] };
    start += c.sourceOut - c.sourceIn;
    return clip;
  });
  return {
    version: 1,
    output: {
      width: o.width,
      height: o.height,
      fps: { num: 30, den: 1 },
      durationFrames: start,
      video: { codec: 'h264', crf: 18, preset: 'ultrafast' },
      audio: { codec: 'aac', bitrateKbps: 96, sampleRate: 48000 },
      gop: 30,
    },
    sources: [
      {
        id: 'src',
        key: o.key,
        kind: 'video',
        width: 640,
        height: 360,
        fps: { num: 30, den: 1 },
        durationFrames: o.sourceFrames,
        durationUs: Math.round((o.sourceFrames / 30) * 1e6),
        hasAudio: o.hasAudio,
        sha256: null,
      },
    ],
    clips,
    subtitles: { style: DEFAULT_SUBTITLE_STYLE, cues: o.cues ?? [] },
    overlays: [],
    music: null,
  };
}
