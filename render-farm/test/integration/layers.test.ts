/**
 * Layers, end to end through the farm's render code and real ffmpeg: a source whose every frame
 * shows its own index is cut into clips on two video tracks with a dissolve, a wipe and a dip,
 * 0.5x and 2x clips, a reversed clip, a freeze frame and a picture-in-picture; every frame outside
 * the blends must show exactly the source frame the spec's rule says (sourceIn + floor(k * speed *
 * srcFps / outFps)), in the main picture and in the PiP. Ranges cut across transitions and speed
 * changes (4 seams) must give the same pixels as the whole render. Then sound: ducking under a
 * voice (sidechain and automation) and the two-pass -14 LUFS master.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clipSourceFrame, planChunks, planLayers, visualLayers, type RenderSpec } from '@clipmaker/shared/render-spec';
import { writeFile } from 'node:fs/promises';
import { renderSpecToFile } from '../../src/render.ts';
import { LocalDiskStorage } from '../../src/storage/index.ts';
import { decodeGrayFrames, ffmpeg, makeFrameIndexVideo, readFrameIndexIn, tempDir } from '../support/media.ts';
import { audioClip, audioSource, specOf, track, videoClip, videoSource } from '../support/spec.ts';

const exec = promisify(execFile);
const W = 320;
const H = 180;
let dir: string;
let storage: LocalDiskStorage;

const src = videoSource('idx', 'media/index.mp4', { width: 640, height: 360, frames: 300, hasAudio: true });
const music = audioSource('music', 'media/music.m4a', 8);

beforeAll(async () => {
  dir = await tempDir('layers');
  storage = new LocalDiskStorage(join(dir, 'storage'));
  await makeFrameIndexVideo(join(dir, 'storage', 'media', 'index.mp4'), { width: 640, height: 360, fps: 30, frames: 300, audio: true });
  await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=1000:sample_rate=48000:duration=8', '-af', 'volume=0.5', '-c:a', 'aac', '-b:a', '128k', join(dir, 'storage', 'media', 'music.m4a')]);
}, 60_000);
afterAll(async () => {
  await (await import('node:fs/promises')).rm(dir, { recursive: true, force: true });
});


const pipTransform = [{ frame: 0, easing: 'linear' as const, x: 0.8, y: 0.25, scaleX: 0.3, scaleY: 0.3, rotation: 0, opacity: 1, anchorX: 0.5, anchorY: 0.5 }];

function layeredSpec(): RenderSpec {
  return specOf({
    width: W,
    height: H,
    durationFrames: 220,
    crf: 0,
    sources: [src, music],
    tracks: [track('v1'), track('v2'), track('a1', 'audio')],
    clips: [
      videoClip({ id: 'c1', sourceId: 'idx', start: 0, sourceIn: 0, sourceOut: 60 }),
      // 30 source frames at 0.5x: 60 frames, dissolving in over [55, 65)
      videoClip({ id: 'c2', sourceId: 'idx', start: 60, sourceIn: 100, sourceOut: 130, speed: { num: 1, den: 2 }, transition: { kind: 'dissolve', direction: 'left', duration: 10 } }),
      // 80 source frames at 2x: 40 frames, wiped in over [116, 124)
      videoClip({ id: 'c3', sourceId: 'idx', start: 120, sourceIn: 200, sourceOut: 280, speed: { num: 2, den: 1 }, transition: { kind: 'wipe', direction: 'right', duration: 8 } }),
      // reversed, through a dip to black over [155, 165)
      videoClip({ id: 'c4', sourceId: 'idx', start: 160, sourceIn: 20, sourceOut: 60, reverse: true, transition: { kind: 'dip-black', direction: 'left', duration: 10 } }),
      videoClip({ id: 'c5', sourceId: 'idx', start: 200, sourceIn: 250, sourceOut: 251, freeze: 20 }),
      videoClip({ id: 'pip', sourceId: 'idx', trackId: 'v2', start: 30, sourceIn: 150, sourceOut: 210, transform: pipTransform }),
      audioClip({ id: 'm', sourceId: 'music', trackId: 'a1', start: 0, sourceIn: 0, sourceOut: 220 }),
    ],
  });
}

/** Frames inside any transition window, where two pictures blend. */
function blended(spec: RenderSpec): Set<number> {
  const out = new Set<number>();
  for (const l of visualLayers(spec, planLayers(spec))) if (l.into) for (let f = l.into.start; f < l.into.end; f++) out.add(f);
  return out;
}

/** What the spec's rule says frame f of the bottom track shows. */
function expectedMain(spec: RenderSpec, f: number): number | null {
  const c = spec.clips.find((x) => x.kind === 'video' && x.trackId === 'v1' && f >= x.start && f < x.start + (planLayers(spec).find((l) => l.clip.id === x.id)!.length));
  if (!c || c.kind !== 'video') return null;
  return clipSourceFrame(c, src, spec.output.fps, f - c.start);
}

describe('layered renders are frame-exact', () => {
  let full: Uint8Array[];
  const spec = layeredSpec();

  it('every frame outside a blend shows the source frame of the rule: speed, reverse, freeze, PiP', async () => {
    const out = join(dir, 'full.mp4');
    const outcome = await renderSpecToFile(spec, { storage, outPath: out, target: 'cpu', workDir: dir });
    expect(outcome.output).toMatchObject({ width: W, height: H, durationFrames: 220, hasAudio: true });
    full = await decodeGrayFrames(out, W, H);
    expect(full).toHaveLength(220);
    const skip = blended(spec);
    const left = { x: 0, y: 0, w: 96, h: H };
    const mismatches: string[] = [];
    for (let f = 0; f < 220; f++) {
      if (skip.has(f)) continue;
      const want = expectedMain(spec, f)!;
      const got = readFrameIndexIn(full[f]!, W, left);
      if (got !== want) mismatches.push(`frame ${f}: ${got} != ${want}`);
    }
    expect(mismatches).toEqual([]);
    // spot checks of the rule itself: 0.5x repeats, 2x skips, reverse counts down, freeze holds
    expect([70, 71, 72, 73].map((f) => readFrameIndexIn(full[f]!, W, left))).toEqual([105, 105, 106, 106]);
    expect([130, 131, 132].map((f) => readFrameIndexIn(full[f]!, W, left))).toEqual([220, 222, 224]);
    expect([170, 171, 172].map((f) => readFrameIndexIn(full[f]!, W, left))).toEqual([49, 48, 47]);
    expect(new Set([200, 210, 219].map((f) => readFrameIndexIn(full[f]!, W, left)))).toEqual(new Set([250]));
    // The PiP (0.3 of the frame, centred at 80 % / 25 %): its own source frames, 150 + k.
    const pip = { x: 256 - 48, y: 45 - 27, w: 96, h: 54 };
    for (const f of [30, 45, 89]) expect(readFrameIndexIn(full[f]!, W, pip)).toBe(150 + f - 30);
    // Around the PiP the main picture goes on: its left part matches the main track.
    expect(readFrameIndexIn(full[45]!, W, left)).toBe(45);
    // The dip reaches (video) black, luma 16, at the cut.
    const mean = (fr: Uint8Array) => fr.reduce((a, b) => a + b, 0) / fr.length;
    expect(mean(full[150]!)).toBeGreaterThan(35);
    expect(mean(full[160]!)).toBeLessThan(22);
  });

  it('ranges cut across transitions and speed changes (4 seams) give the whole render\'s pixels', async () => {
    const seams = [0, 60, 90, 120, 180, 220];
    for (let i = 0; i < seams.length - 1; i++) {
      const out = join(dir, `part-${i}.mp4`);
      await renderSpecToFile(spec, { storage, outPath: out, target: 'cpu', workDir: dir, range: { start: seams[i]!, end: seams[i + 1]! }, audio: 'none' });
      const part = await decodeGrayFrames(out, W, H);
      expect(part).toHaveLength(seams[i + 1]! - seams[i]!);
      const differing = part.flatMap((fr, k) => (Buffer.compare(Buffer.from(fr), Buffer.from(full[seams[i]! + k]!)) === 0 ? [] : [seams[i]! + k]));
      expect(differing, `range ${seams[i]}..${seams[i + 1]}`).toEqual([]);
    }
  });
});

/** RMS (dBFS) of the 1 kHz music in [from, to) seconds of a file, and of the 440 Hz voice. */
async function bandRms(file: string, hz: number, from: number, to: number): Promise<number> {
  const { stderr } = await exec('ffmpeg', ['-hide_banner', '-nostdin', '-i', file, '-af', `atrim=${from}:${to},bandpass=f=${hz}:width_type=q:w=8,astats=metadata=0:reset=0`, '-f', 'null', '-']);
  const m = /RMS level dB:\s*(-?[\d.]+|-inf)/.exec(stderr.slice(stderr.lastIndexOf('Overall')));
  return m ? Number(m[1] === '-inf' ? -200 : m[1]) : NaN;
}

describe('chunked: GOP-aligned chunks stitched without re-encode', () => {
  it('seams at 60, 120 and 180 (inside the dissolve, at the wipe, inside the reversed clip): the stitched render is the whole one; editing the wipe re-renders only its chunks', async () => {
    const spec = layeredSpec();
    const plan = planChunks(spec, { chunkFrames: 60 });
    expect(plan.chunks.map((c) => [c.start, c.end])).toEqual([[0, 60], [60, 120], [120, 180], [180, 220]]);
    const parts: string[] = [];
    for (const c of plan.chunks) {
      const out = join(dir, c.fileName);
      await renderSpecToFile(spec, { storage, outPath: out, target: 'cpu', workDir: dir, range: { start: c.start, end: c.end }, audio: 'none' });
      parts.push(out);
    }
    const list = join(dir, 'chunks.ffconcat');
    await writeFile(list, plan.concatList(parts));
    const stitched = join(dir, 'stitched.mp4');
    await ffmpeg(['-f', 'concat', '-safe', '0', '-i', list, '-c', 'copy', stitched]);
    const whole = join(dir, 'whole-video.mp4');
    await renderSpecToFile(spec, { storage, outPath: whole, target: 'cpu', workDir: dir, audio: 'none' });
    const [a, b] = [await decodeGrayFrames(stitched, W, H), await decodeGrayFrames(whole, W, H)];
    expect(a).toHaveLength(220);
    expect(a.flatMap((fr, i) => (Buffer.compare(Buffer.from(fr), Buffer.from(b[i]!)) === 0 ? [] : [i]))).toEqual([]);
    const edited = layeredSpec();
    const c3 = edited.clips.find((c) => c.id === 'c3')!;
    c3.transition = { kind: 'wipe', direction: 'left', duration: 8 };
    expect(planChunks(edited, { chunkFrames: 60 }).chunks.map((c, i) => c.hash === plan.chunks[i]!.hash)).toEqual([true, false, false, true]);
  });
});

describe('sound', () => {
  function duckSpec(mode: 'sidechain' | 'automation', loudness: RenderSpec['output']['audio']['loudness'] = null): RenderSpec {
    return specOf({
      width: W,
      height: H,
      durationFrames: 180,
      loudness,
      sources: [src, music],
      tracks: [track('v1'), track('v2'), track('a1', 'audio', { ducking: { mode, keyTrackIds: ['v2'], amountDb: 15, attackMs: 20, releaseMs: 200 } })],
      clips: [
        videoClip({ id: 'pic', sourceId: 'idx', start: 0, sourceIn: 0, sourceOut: 180, audio: { volume: 0, envelope: [], fadeIn: 0, fadeOut: 0 } }),
        // the "voice": the source's 440 Hz tone from 2 s to 4 s, on its own track (the key)
        videoClip({ id: 'voice', sourceId: 'idx', trackId: 'v2', start: 60, sourceIn: 0, sourceOut: 60, transform: pipTransform }),
        audioClip({ id: 'm', sourceId: 'music', trackId: 'a1', start: 0, sourceIn: 0, sourceOut: 180 }),
      ],
    });
  }

  for (const mode of ['sidechain', 'automation'] as const) {
    it(`music ducks under the voice (${mode})`, async () => {
      const out = join(dir, `duck-${mode}.m4a`);
      await renderSpecToFile(duckSpec(mode), { storage, outPath: out, target: 'cpu', workDir: dir, audio: 'only' });
      const before = await bandRms(out, 1000, 0.5, 1.7);
      const under = await bandRms(out, 1000, 2.5, 3.7);
      const after = await bandRms(out, 1000, 4.8, 5.8);
      expect(before - under, `music ${before} dB before, ${under} dB under the voice`).toBeGreaterThan(6);
      expect(Math.abs(after - before)).toBeLessThan(2);
      expect(await bandRms(out, 440, 2.5, 3.7)).toBeGreaterThan(-30); // the voice itself is there
    });
  }

  it('the master is normalised to -14 LUFS in two passes (measured with ebur128)', async () => {
    const out = join(dir, 'loud.mp4');
    const outcome = await renderSpecToFile(duckSpec('automation', { targetLufs: -14, truePeakDb: -1, lra: 11 }), { storage, outPath: out, target: 'cpu', workDir: dir });
    expect(outcome.ffmpegArgs.join(' ')).toMatch(/loudnorm=I=-14:TP=-1:LRA=11:measured_I=-?[\d.]+:.*linear=true/);
    const { stderr } = await exec('ffmpeg', ['-hide_banner', '-nostdin', '-i', out, '-map', '0:a', '-af', 'ebur128', '-f', 'null', '-']);
    const integrated = Number(/I:\s+(-?[\d.]+) LUFS/.exec(stderr.slice(stderr.lastIndexOf('Summary')))![1]);
    expect(integrated).toBeGreaterThan(-15);
    expect(integrated).toBeLessThan(-13);
    expect(outcome.output.durationFrames).toBe(180);
  });
});
