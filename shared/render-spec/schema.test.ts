import { describe, expect, it } from 'vitest';
import { DEFAULT_SUBTITLE_STYLE, RenderSpec } from './schema.ts';
import { floorDiv, sourceFrameAt, sourceFramesToTimeline } from './time.ts';

const film = { id: 'f', key: 'm/film.mp4', kind: 'video', width: 1920, height: 1080, fps: { num: 24, den: 1 }, durationFrames: 240, durationUs: 10_000_000, hasAudio: true, sha256: null } as const;

function spec(clips: { start: number; sourceIn: number; sourceOut: number }[]) {
  return {
    version: 1,
    output: { width: 1080, height: 1920, fps: { num: 30, den: 1 }, durationFrames: 300, video: { codec: 'h264', crf: 20, preset: 'veryfast' }, audio: { codec: 'aac', bitrateKbps: 192, sampleRate: 48000 }, gop: 60 },
    sources: [film],
    clips: clips.map((c, i) => ({ id: `c${i}`, sourceId: 'f', volume: 1, crop: [], ...c })),
    subtitles: { style: DEFAULT_SUBTITLE_STYLE, cues: [] },
    overlays: [],
    music: null,
  };
}

describe('RenderSpec clip overlap check', () => {
  it('uses the clip length on the timeline (24 fps source, 30 fps output)', () => {
    // 48 source frames at 24 fps = 60 timeline frames: the next clip may start at 60, not before.
    expect(RenderSpec.safeParse(spec([{ start: 0, sourceIn: 0, sourceOut: 48 }, { start: 60, sourceIn: 0, sourceOut: 10 }])).success).toBe(true);
    const overlapping = RenderSpec.safeParse(spec([{ start: 0, sourceIn: 0, sourceOut: 48 }, { start: 59, sourceIn: 0, sourceOut: 10 }]));
    expect(overlapping.success).toBe(false);
    expect(overlapping.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['clips.1.start', 'clips overlap or are not sorted']]);
  });
});

describe('time', () => {
  it('sourceFrameAt: the source frame containing each output frame start', () => {
    const at = (n: number) => sourceFrameAt(n, { num: 24, den: 1 }, { num: 30, den: 1 });
    expect([0, 1, 2, 3, 4, 5].map(at)).toEqual([0, 0, 1, 2, 3, 4]);
    expect([0, 1, 2, 3].map((n) => sourceFrameAt(n, { num: 60, den: 1 }, { num: 30, den: 1 }))).toEqual([0, 2, 4, 6]);
    expect(sourceFrameAt(1001, { num: 30000, den: 1001 }, { num: 30, den: 1 })).toBe(1000);
    // the last output frame of a clip never reads past its source frames
    for (const frames of [1, 7, 48, 97]) expect(sourceFrameAt(sourceFramesToTimeline(frames, { num: 24, den: 1 }, { num: 30, den: 1 }) - 1, { num: 24, den: 1 }, { num: 30, den: 1 })).toBeLessThan(frames);
  });
  it('floorDiv is exact where a float quotient would round up', () => {
    expect(floorDiv(9007199254740991, 3)).toBe(3002399751580330);
    expect(floorDiv(2 ** 60, 7)).toBe(Number(2n ** 60n / 7n));
    expect(floorDiv(0, 5)).toBe(0);
  });
});
