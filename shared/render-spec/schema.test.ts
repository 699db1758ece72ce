import { describe, expect, it } from 'vitest';
import { DEFAULT_SUBTITLE_STYLE, RenderSpec } from './schema.ts';
import { floorDiv, mediaLength, sourceFrameAt, sourceFramesToTimeline, sourceStep, stepFloor } from './time.ts';
import { track, videoClip } from './fixtures.ts';
import { migrateSpecV1, safeParseAnyRenderSpec } from './migrate.ts';

const film = { id: 'f', key: 'm/film.mp4', kind: 'video', width: 1920, height: 1080, fps: { num: 24, den: 1 }, durationFrames: 240, durationUs: 10_000_000, hasAudio: true, sha256: null } as const;

function spec(clips: { start: number; sourceIn: number; sourceOut: number; transition?: unknown; speed?: unknown }[]) {
  return {
    version: 2,
    output: { width: 1080, height: 1920, fps: { num: 30, den: 1 }, durationFrames: 300, video: { codec: 'h264', crf: 20, preset: 'veryfast' }, audio: { codec: 'aac', bitrateKbps: 192, sampleRate: 48000, loudness: null }, gop: 60 },
    sources: [film],
    tracks: [track('v1'), track('a1', 'audio')],
    clips: clips.map((c, i) => videoClip({ id: `c${i}`, sourceId: 'f', ...c } as never)),
    subtitles: { style: DEFAULT_SUBTITLE_STYLE, cues: [] },
  };
}

describe('RenderSpec clip overlap check', () => {
  it('uses the clip length on the timeline (24 fps source, 30 fps output)', () => {
    // 48 source frames at 24 fps = 60 timeline frames: the next clip may start at 60, not before.
    expect(RenderSpec.safeParse(spec([{ start: 0, sourceIn: 0, sourceOut: 48 }, { start: 60, sourceIn: 0, sourceOut: 10 }])).success).toBe(true);
    const overlapping = RenderSpec.safeParse(spec([{ start: 0, sourceIn: 0, sourceOut: 48 }, { start: 59, sourceIn: 0, sourceOut: 10 }]));
    expect(overlapping.success).toBe(false);
    expect(overlapping.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['clips.1.start', 'clips on a track overlap or are not sorted']]);
  });

  it('transitions need touching clips that both last at least as long; speed changes the length', () => {
    const t = { kind: 'dissolve', direction: 'left', duration: 14 }; // 10 source frames at 24 fps last 13 timeline frames
    expect(RenderSpec.safeParse(spec([{ start: 0, sourceIn: 0, sourceOut: 48 }, { start: 60, sourceIn: 0, sourceOut: 10, transition: t }])).error?.issues[0]?.message).toBe('a transition cannot be longer than either clip');
    expect(RenderSpec.safeParse(spec([{ start: 0, sourceIn: 0, sourceOut: 48 }, { start: 61, sourceIn: 0, sourceOut: 48, transition: t }])).error?.issues[0]?.message).toBe('a transition needs a clip ending exactly where this one starts');
    // 48 frames at 2x: 30 timeline frames
    expect(RenderSpec.safeParse(spec([{ start: 0, sourceIn: 0, sourceOut: 48, speed: { num: 2, den: 1 } }, { start: 30, sourceIn: 0, sourceOut: 48, transition: t }])).success).toBe(true);
    expect(RenderSpec.safeParse(spec([{ start: 0, sourceIn: 0, sourceOut: 48, speed: { num: 5, den: 1 } }])).success).toBe(false);
  });
});

describe('RenderSpec v1 migration', () => {
  const v1 = {
    version: 1,
    output: { width: 1080, height: 1920, fps: { num: 30, den: 1 }, durationFrames: 48, video: { codec: 'h264', crf: 20, preset: 'veryfast' }, audio: { codec: 'aac', bitrateKbps: 192, sampleRate: 48000 }, gop: 60 },
    sources: [film, { id: 'logo', key: 'm/logo.png', kind: 'image', width: 100, height: 100, fps: null, durationFrames: null, durationUs: 0, hasAudio: false, sha256: null }],
    clips: [{ id: 'c0', sourceId: 'f', start: 0, sourceIn: 0, sourceOut: 24, volume: 0.5, crop: [] }],
    subtitles: { style: DEFAULT_SUBTITLE_STYLE, cues: [] },
    overlays: [{ id: 'o1', kind: 'image', sourceId: 'logo', start: 0, end: 30, x: 0.05, y: 0.03, w: 0.15, h: 0.084375, opacity: 1 }],
    music: { sourceId: 'f', volume: 0.3, start: 6 },
  };

  it('a v1 spec parses as v2: video track, the logo on a track above with its v1 box, the music on an audio track', () => {
    const parsed = safeParseAnyRenderSpec(v1);
    expect(parsed.success).toBe(true);
    const spec = parsed.data as RenderSpec;
    expect(spec.version).toBe(2);
    expect(spec.tracks.map((t) => t.id)).toEqual(['v1', 'v2', 'a1']);
    expect(spec.clips.map((c) => [c.id, c.kind, c.trackId])).toEqual([['c0', 'video', 'v1'], ['o1', 'image', 'v2'], ['music', 'audio', 'a1']]);
    // the logo's box was 162 x 162 px at (54, 58): scale from its natural (fitted) 1080 x 1080
    expect(spec.clips[1]).toMatchObject({ transform: [{ x: 54 / 1080, y: 58 / 1920, scaleX: 0.15, scaleY: 0.15, anchorX: 0, anchorY: 0 }] });
    expect(migrateSpecV1(v1 as never).output.audio.loudness).toBeNull();
  });

  it('an invalid v1 spec reports v1 issues', () => {
    expect(safeParseAnyRenderSpec({ ...v1, clips: [{ ...v1.clips[0], sourceOut: 0 }] }).error?.issues[0]?.message).toBe('sourceOut must be after sourceIn');
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
  it('speed steps are exact rationals; lengths never read past the source range', () => {
    const r = sourceStep({ num: 24, den: 1 }, { num: 30, den: 1 }, { num: 3, den: 2 });
    expect(r).toEqual({ p: 6, q: 5 });
    expect([-3, -1, 0, 1, 4].map((k) => stepFloor(k, r))).toEqual([-4, -2, 0, 1, 4]);
    for (const frames of [1, 7, 48, 97]) for (const s of [{ p: 1, q: 4 }, { p: 6, q: 5 }, { p: 4, q: 1 }]) expect(stepFloor(mediaLength(frames, s) - 1, s)).toBeLessThan(frames);
  });

  it('floorDiv is exact where a float quotient would round up', () => {
    expect(floorDiv(9007199254740991, 3)).toBe(3002399751580330);
    expect(floorDiv(2 ** 60, 7)).toBe(Number(2n ** 60n / 7n));
    expect(floorDiv(0, 5)).toBe(0);
  });
});
