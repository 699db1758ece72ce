import { describe, expect, it } from 'vitest';
import { DEFAULT_SUBTITLE_STYLE, type RenderSpec } from '@clipmaker/shared/render-spec';
import { PERMANENT_ERROR_PREFIX } from '@clipmaker/shared/jobs';
import { parseRenderSpec, referencedSources, videoEncoderOf } from './render.ts';
import { posterFrameIndex, posterTimeSeconds } from './poster.ts';

const source = (id: string, kind: 'video' | 'audio' | 'image') => ({
  id,
  key: `media/${id}`,
  kind,
  width: kind === 'audio' ? 0 : 640,
  height: kind === 'audio' ? 0 : 360,
  fps: kind === 'video' ? { num: 30, den: 1 } : null,
  durationFrames: kind === 'video' ? 300 : null,
  durationUs: kind === 'image' ? 0 : 10_000_000,
  hasAudio: kind !== 'image',
  sha256: null,
});

/** A v1 spec as older jobs stored it: it still renders (migrated on read). */
const v1 = {
  version: 1,
  output: { width: 360, height: 640, fps: { num: 30, den: 1 }, durationFrames: 30, video: { codec: 'h264', crf: 20, preset: 'veryfast' }, audio: { codec: 'aac', bitrateKbps: 128, sampleRate: 48000 }, gop: 30 },
  sources: [source('v', 'video'), source('unused', 'video'), source('logo', 'image'), source('song', 'audio')],
  clips: [{ id: 'c', sourceId: 'v', start: 0, sourceIn: 0, sourceOut: 30, volume: 1, crop: [] }],
  subtitles: { style: DEFAULT_SUBTITLE_STYLE, cues: [] },
  overlays: [{ id: 'o', kind: 'image', sourceId: 'logo', start: 0, end: 30, x: 0, y: 0, w: 0.2, h: 0.1, opacity: 1 }],
  music: { sourceId: 'song', volume: 0.5, start: 0 },
};

describe('parseRenderSpec', () => {
  it('returns a valid v2 spec as is, and migrates a v1 spec', () => {
    const spec: RenderSpec = parseRenderSpec(JSON.parse(JSON.stringify(v1)));
    expect(spec.version).toBe(2);
    expect(parseRenderSpec(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
  });
  it('refuses anything else permanently, naming the fields', () => {
    expect(() => parseRenderSpec({ ...v1, version: 3 })).toThrow(new RegExp(`^${PERMANENT_ERROR_PREFIX} invalid render spec: version: `));
    expect(() => parseRenderSpec('nope')).toThrow(/invalid render spec: \(root\): /);
  });
});

describe('referencedSources', () => {
  it('keeps the clip (video, image, audio) sources and drops unused ones', () => {
    expect(referencedSources(parseRenderSpec(v1)).map((s) => s.id)).toEqual(['v', 'logo', 'song']);
  });
});

describe('videoEncoderOf / posterTimeSeconds', () => {
  it('reads -c:v from the output options', () => {
    expect(videoEncoderOf({ globalOptions: [], inputs: [], filterComplex: '', outputOptions: ['-map', '[v]', '-c:v', 'h264_nvenc', '-cq', '20'], outputPath: 'o.mp4' })).toBe('h264_nvenc');
    expect(videoEncoderOf({ globalOptions: [], inputs: [], filterComplex: '', outputOptions: [], outputPath: 'o.mp4' })).toBeNull();
  });
  it('grabs the poster at 1 s, or mid-way through a short render', () => {
    expect(posterTimeSeconds(10_000_000)).toBe(1);
    expect(posterTimeSeconds(1_000_000)).toBe(0.5);
  });
  it('taps the frame a seek to the poster time shows: 1 s in, or the middle of a short render', () => {
    expect(posterFrameIndex(1800, { num: 30, den: 1 })).toBe(30);
    expect(posterFrameIndex(1800, { num: 30000, den: 1001 })).toBe(30); // 1 s falls between frames 29 and 30
    expect(posterFrameIndex(600, { num: 60, den: 1 })).toBe(60);
    expect(posterFrameIndex(45, { num: 30, den: 1 })).toBe(23); // 0.75 s: frame 22.5 -> the next one
    expect(posterFrameIndex(44, { num: 30, den: 1 })).toBe(22);
    expect(posterFrameIndex(1, { num: 30, den: 1 })).toBe(0);
  });
});
