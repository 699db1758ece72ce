import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { refineStarts, type HypsegWord } from './pocketsphinx.ts';
import { frameEnergies, speechThreshold } from './speech-segments.ts';

/** 16 kHz mono s16le WAV from per-10 ms-frame amplitudes: a 220 Hz tone at that amplitude plus steady noise. */
function wav(frames: number[], noise: number): Buffer {
  const n = frames.length * 160;
  const pcm = Buffer.alloc(n * 2);
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff - 0.5) * 2;
  for (let i = 0; i < n; i++) {
    const v = frames[Math.floor(i / 160)]! * Math.sin((2 * Math.PI * 220 * i) / 16000) + noise * rnd();
    pcm.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v))), i * 2);
  }
  const head = Buffer.alloc(44);
  head.write('RIFF', 0, 'latin1');
  head.writeUInt32LE(36 + pcm.length, 4);
  head.write('WAVEfmt ', 8, 'latin1');
  head.writeUInt32LE(16, 16);
  head.writeUInt16LE(1, 20);
  head.writeUInt16LE(1, 22);
  head.writeUInt32LE(16000, 24);
  head.writeUInt32LE(32000, 28);
  head.writeUInt16LE(2, 32);
  head.writeUInt16LE(16, 34);
  head.write('data', 36, 'latin1');
  head.writeUInt32LE(pcm.length, 40);
  return Buffer.concat([head, pcm]);
}

const run = (n: number, amp: number) => Array<number>(n).fill(amp);
const word = (text: string, start: number, end: number): HypsegWord => ({ text, start, end, ascr: -1000, filler: false });

describe('refineStarts (word starts against frame energies)', () => {
  let dir: string;
  let db: Float64Array;
  let noisy: Float64Array;
  let thr: number;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'refine-starts-'));
    // Noise; word A at frames 20-60; noise gap 60-80; word B from frame 80 (a quieter onset 80-90
    // at -6 dB, then full level) to 130; noise; a hum 150-160 (above the noise, 22 dB under the
    // words) before word C 160-200.
    const frames = [...run(20, 0), ...run(40, 20000), ...run(20, 0), ...run(10, 10000), ...run(40, 20000), ...run(20, 0), ...run(10, 1600), ...run(40, 20000), ...run(20, 0)];
    await writeFile(join(dir, 'w.wav'), wav(frames, 300));
    db = await frameEnergies(join(dir, 'w.wav'));
    // The same words in noise (~20 dB between noise and speech level).
    await writeFile(join(dir, 'n.wav'), wav(frames, 6000));
    noisy = await frameEnergies(join(dir, 'n.wav'));
    thr = speechThreshold(db)!;
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('moves a start back to the onset the silence model took', () => {
    // The aligner put silence 60-88 and started B 8 frames into its onset.
    expect(refineStarts([word('a', 20, 60), word('b', 88, 130)], db)).toEqual([20, 80]);
  });

  it('keeps the start without clear evidence', () => {
    // No silence between the words (B follows A directly): nothing to take back.
    expect(refineStarts([word('a', 20, 85), word('b', 85, 130)], db)).toEqual([20, 85]);
    // The loud frames before B join the previous word's end (its tail, not B's onset).
    expect(refineStarts([word('a', 20, 50), word('b', 55, 130)], db)).toEqual([20, 55]);
    // A start already at the onset stays; the hum is over the speech threshold but far under the
    // word: not its onset.
    expect(db[155]!).toBeGreaterThan(thr);
    expect(refineStarts([word('b', 80, 130), word('c', 160, 200)], db)).toEqual([80, 160]);
    expect(refineStarts([word('b', 80, 130), word('c', 162, 200)], db)).toEqual([80, 160]);
    expect(refineStarts([word('b', 80, 130), word('c', 161, 200)], db)).toEqual([80, 161]);
  });

  it('leaves noisy files alone (a speech-level run there is as often the noise itself)', () => {
    expect(refineStarts([word('a', 20, 60), word('b', 88, 130)], noisy)).toEqual([20, 88]);
  });
});
