import { inputOptionsFor } from '../media/ingest.ts';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { alignedChunkFrames, planChunks, sha256Hex, stableJson } from './chunks.ts';
import { buildFfmpegCommand, commandToArgs } from './ffmpeg-args.ts';
import { RenderSpec, DEFAULT_SUBTITLE_STYLE, IDENTITY_TRANSFORM } from './schema.ts';
import { track, videoClip } from './fixtures.ts';

const src = { id: 's1', key: 'a/src.mp4', kind: 'video', width: 1920, height: 1080, fps: { num: 30, den: 1 }, durationFrames: 1800, durationUs: 60_000_000, hasAudio: true, sha256: 'a'.repeat(64) } as const;

function spec(over: Partial<Record<string, unknown>> = {}): RenderSpec {
  return RenderSpec.parse({
    version: 2,
    output: { width: 1080, height: 1920, fps: { num: 30, den: 1 }, durationFrames: 1000, video: { codec: 'h264', crf: 20, preset: 'veryfast' }, audio: { codec: 'aac', bitrateKbps: 192, sampleRate: 48000, loudness: null }, gop: 60 },
    sources: [src],
    tracks: [track('v1'), track('v2'), track('a1', 'audio')],
    clips: [videoClip({ id: 'c1', sourceId: 's1', start: 0, sourceIn: 0, sourceOut: 1000 })],
    subtitles: {
      style: DEFAULT_SUBTITLE_STYLE,
      cues: [
        { id: 'q1', start: 10, end: 50, text: 'one' },
        { id: 'q2', start: 290, end: 310, text: 'across a seam' },
      ],
    },
    ...over,
  });
}

const media = (c: RenderSpec['clips'][number]) => c as Extract<typeof c, { kind: 'video' }>;

/** What every input opens with when its container is not known yet: both whitelists (media/ingest.ts). */
const OPEN = inputOptionsFor(null);

describe('sha256Hex', () => {
  it('matches the FIPS 180-2 vectors', () => {
    expect(sha256Hex('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(sha256Hex('')).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')).toBe('248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1');
    expect(sha256Hex('é'.repeat(100))).toHaveLength(64);
  });
  it('agrees with node:crypto across the padding boundaries (55, 56, 64 bytes and multi-byte UTF-8)', () => {
    for (let n = 0; n < 200; n++) {
      const text = 'é'.repeat(n % 5) + 'x'.repeat(n);
      expect(sha256Hex(text)).toBe(createHash('sha256').update(text, 'utf8').digest('hex'));
    }
  });
  // Re-pinned for chunk format 3 (RenderSpec v2 slices); the hashing itself is pinned by the FIPS vectors above.
  it('keeps the chunk cache keys stable (pinned values of chunk format 4)', () => {
    const plan = planChunks(spec(), { chunkFrames: 300 });
    expect(plan.chunks.map((c) => c.hash)).toEqual([
      'a6a6a51a2306a130fd28ef265d69dfffd7984c119ee1191c298754cd30919b58',
      '2f9cfbf2dca2569ef13a89ff90d7d477a47d873e141a47f01ec6f5361dd8a7fa',
      '9383ac407638dfbfc1cca936eb4cedd5431e8e12e441ae852a10349ae65b1870',
      '385a0711a9600b0a199e0e27400c1752ded2988aaafc23ed5a65f65bf82d215f',
    ]);
    expect(plan.audioHash).toBe('5130423677152bc284e3eb6df98ebbdf13c2a8fc70fa664cc8285cb3eb2c01a4');
  });
  it('stableJson ignores key order', () => {
    expect(stableJson({ b: 1, a: [{ d: 2, c: 3 }] })).toBe(stableJson({ a: [{ c: 3, d: 2 }], b: 1 }));
  });
});

describe('planChunks', () => {
  it('GOP-aligned boundaries, the last chunk short, zero-padded names, cache keys', () => {
    const plan = planChunks(spec(), { chunkFrames: 250 });
    expect(alignedChunkFrames(spec(), 250)).toBe(300);
    expect(plan.chunks.map((c) => [c.index, c.count, c.start, c.end, c.fileName])).toEqual([
      [0, 4, 0, 300, 'chunk-0000.mp4'],
      [1, 4, 300, 600, 'chunk-0001.mp4'],
      [2, 4, 600, 900, 'chunk-0002.mp4'],
      [3, 4, 900, 1000, 'chunk-0003.mp4'],
    ]);
    expect(plan.chunks.every((c) => c.start % 60 === 0)).toBe(true);
    expect(plan.chunkKey(plan.chunks[1]!)).toBe(`chunks/${plan.chunks[1]!.hash}.mp4`);
    expect(plan.audioKey).toBe(`chunks/${plan.audioHash}.m4a`);
    expect(new Set(plan.chunks.map((c) => c.hash)).size).toBe(4);
  });

  it('a chunk is at least one GOP; a short timeline is one chunk', () => {
    expect(planChunks(spec(), { chunkFrames: 1 }).chunks[1]!.start).toBe(60);
    expect(planChunks(spec(), { chunkFrames: 5000 }).chunks).toHaveLength(1);
  });

  it('changing one cue changes only the hashes of the chunks it touches, never the audio', () => {
    const before = planChunks(spec(), { chunkFrames: 300 });
    const s = spec();
    s.subtitles.cues[1]!.text = 'edited';
    const after = planChunks(s, { chunkFrames: 300 });
    expect(after.chunks.map((c, i) => c.hash === before.chunks[i]!.hash)).toEqual([false, false, true, true]);
    expect(after.audioHash).toBe(before.audioHash);
    const s2 = spec();
    s2.subtitles.cues[0]!.text = 'edited';
    expect(planChunks(s2, { chunkFrames: 300 }).chunks.map((c, i) => c.hash === before.chunks[i]!.hash)).toEqual([false, true, true, true]);
  });

  it('a new source file (sha256) or output setting invalidates; a longer timeline keeps earlier chunks', () => {
    const before = planChunks(spec(), { chunkFrames: 300 });
    const other = planChunks(spec({ sources: [{ ...src, sha256: 'b'.repeat(64) }] }), { chunkFrames: 300 });
    expect(other.chunks.some((c, i) => c.hash === before.chunks[i]!.hash)).toBe(false);
    expect(other.audioHash).not.toBe(before.audioHash);
    const s = spec();
    s.output.video.crf = 23;
    expect(planChunks(s, { chunkFrames: 300 }).chunks[0]!.hash).not.toBe(before.chunks[0]!.hash);
    const longer = spec();
    longer.output.durationFrames = 1200;
    media(longer.clips[0]!).sourceOut = 1200;
    const l = planChunks(longer, { chunkFrames: 300 });
    expect(l.chunks[0]!.hash).not.toBe(before.chunks[0]!.hash); // the clip object changed (sourceOut)
  });

  it('writes a concat list with quoted paths', () => {
    expect(planChunks(spec(), { chunkFrames: 300 }).concatList(["/t/a.mp4", "/t/it's.mp4"])).toBe("ffconcat version 1.0\nfile '/t/a.mp4'\nfile '/t/it'\\''s.mp4'\n");
  });
});

describe('chunk hashes and layers', () => {
  it('an upper-track clip changes only the chunks it is drawn in; a transition also changes the outgoing clip\'s chunks; audio follows sound only', () => {
    const base = spec({ durationFrames: 1000, clips: [videoClip({ id: 'c1', sourceId: 's1', start: 0, sourceIn: 0, sourceOut: 600 }), videoClip({ id: 'c2', sourceId: 's1', start: 600, sourceIn: 600, sourceOut: 1000 })] });
    const before = planChunks(base, { chunkFrames: 300 });
    const pip = spec({ durationFrames: 1000, clips: [...base.clips, videoClip({ id: 'p', sourceId: 's1', trackId: 'v2', start: 320, sourceIn: 0, sourceOut: 60, transform: [{ ...IDENTITY_TRANSFORM, frame: 0, easing: 'linear', scaleX: 0.3, scaleY: 0.3 }] })] });
    const withPip = planChunks(pip, { chunkFrames: 300 });
    expect(withPip.chunks.map((c, i) => c.hash === before.chunks[i]!.hash)).toEqual([true, false, true, true]);
    expect(withPip.audioHash).not.toBe(before.audioHash); // the PiP clip has sound
    const dip = spec({ durationFrames: 1000, clips: [base.clips[0]!, { ...base.clips[1]!, transition: { kind: 'dip-black', direction: 'left', duration: 30 } }] });
    // the dip starts 15 frames before the cut at 600: chunk [540, 600) of clip c1 changes, as does [600, 660)
    const d = planChunks(dip, { chunkFrames: 60 });
    const b60 = planChunks(base, { chunkFrames: 60 });
    expect(d.chunks.map((c, i) => (c.hash === b60.chunks[i]!.hash ? '=' : 'x')).join('')).toBe('=========xx======');
    const muted = spec({ ...base, tracks: [track('v1', 'video', { muted: true }), track('v2'), track('a1', 'audio')] });
    expect(planChunks(muted, { chunkFrames: 300 }).chunks.map((c) => c.hash)).toEqual(before.chunks.map((c) => c.hash));
    expect(planChunks(muted, { chunkFrames: 300 }).audioHash).not.toBe(before.audioHash);
  });
});

describe('buildFfmpegCommand audio only', () => {
  it('renders the audio alone: no video chains, no subtitles, -vn', () => {
    const s = spec({ subtitles: { style: DEFAULT_SUBTITLE_STYLE, cues: [] } });
    s.output.durationFrames = 75;
    media(s.clips[0]!).sourceIn = 15;
    media(s.clips[0]!).sourceOut = 90;
    const args = commandToArgs(buildFfmpegCommand({ spec: s, target: 'cpu', inputs: { s1: '/m/src.mp4' }, workDir: '/w', fontsDir: '/f', outputPath: '/o/a.m4a', audio: 'only' }));
    expect(args).toEqual([
      '-hide_banner', '-nostdin', '-y',
      ...OPEN, '-ss', '0.5', '-t', '2.7', '-i', '/m/src.mp4',
      '-filter_complex',
      '[0:a]aresample=48000,aformat=sample_fmts=fltp:sample_rates=48000:channel_layouts=stereo,asetpts=N/SR/TB,apad,atrim=end_sample=120000[aclip0];[aclip0]apad,atrim=end_sample=120000[bus1];[bus1]anull[a]',
      '-map', '[a]', '-vn', '-c:a', 'aac', '-b:a', '192k', '-ar', '48000', '-ac', '2', '-movflags', '+faststart', '/o/a.m4a',
    ]);
  });
});
