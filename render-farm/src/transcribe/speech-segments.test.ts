import { describe, expect, it } from 'vitest';
import { pool, speechSegments } from './speech-segments.ts';

const frames = (spec: [number, number][]) => Float64Array.from(spec.flatMap(([n, db]) => Array<number>(n).fill(db)));

describe('speechSegments (energy VAD)', () => {
  it('splits at pauses over the noise floor, pads, and drops clicks', () => {
    // 1 s noise at 60 dB, 1 s speech at 80 dB, 0.5 s noise, 30 ms click, 0.5 s noise, 1 s speech.
    const db = frames([[100, 60], [100, 80], [50, 60], [3, 85], [50, 60], [100, 78]]);
    expect(speechSegments(db, { padMs: 100 })).toEqual([
      { start: 90, end: 210 },
      { start: 293, end: 403 },
    ]);
  });

  it('keeps short pauses inside a segment and cuts long speech at its quietest point', () => {
    const db = frames([[50, 60], [100, 80], [10, 60], [100, 80], [50, 60]]);
    expect(speechSegments(db, { padMs: 0 })).toEqual([{ start: 50, end: 260 }]);
    const long = frames([[100, 60], [300, 80], [40, 65], [300, 80], [100, 60]]);
    const cut = speechSegments(long, { padMs: 0, minPauseMs: 1000, maxSegmentMs: 4000 });
    expect(cut).toHaveLength(2);
    expect(cut[0]!.end).toBeGreaterThan(400);
    expect(cut[0]!.end).toBeLessThan(440);
  });

  it('audio without contrast is one segment', () => {
    expect(speechSegments(frames([[300, 70]]))).toEqual([{ start: 0, end: 300 }]);
    expect(speechSegments(new Float64Array(0))).toEqual([]);
  });
});

describe('pool', () => {
  it('runs at most n at once and keeps the order', async () => {
    let running = 0;
    let most = 0;
    const tasks = [30, 5, 20, 1, 10].map((ms, i) => async () => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, ms));
      running--;
      return i;
    });
    expect(await pool(tasks, 2)).toEqual([0, 1, 2, 3, 4]);
    expect(most).toBe(2);
  });
});
