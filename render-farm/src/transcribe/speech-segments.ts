/**
 * Energy voice-activity detection on our own 16 kHz mono s16le WAV: 10 ms frame energies, a
 * threshold between the file's noise floor and its speech level (both read from the file, so it
 * adapts to the noise), and segments split at pauses. The speech engines decode each segment as
 * its own utterance (per-segment cepstral normalisation, shorter searches, one segment per core).
 */
import { open } from 'node:fs/promises';

export const FRAME_MS = 10;
const FRAME_SAMPLES = 160;

export interface Segment {
  /** First and last+1 frame (10 ms) of the file. */
  start: number;
  end: number;
}

/** Byte offset and length of a RIFF WAV's `data` chunk (ffmpeg may write a LIST chunk before it). */
export async function wavData(path: string): Promise<{ offset: number; bytes: number }> {
  const fh = await open(path, 'r');
  try {
    const head = Buffer.alloc(4096);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (bytesRead < 12 || head.toString('latin1', 0, 4) !== 'RIFF' || head.toString('latin1', 8, 12) !== 'WAVE') throw new Error(`${path} is not a WAV file`);
    let p = 12;
    while (p + 8 <= bytesRead) {
      const id = head.toString('latin1', p, p + 4);
      const size = head.readUInt32LE(p + 4);
      if (id === 'data') {
        const total = (await fh.stat()).size;
        return { offset: p + 8, bytes: Math.min(total - p - 8, size === 0xffffffff || size === 0 ? Infinity : size) };
      }
      p += 8 + size + (size & 1);
    }
    throw new Error(`${path}: no data chunk in the first 4 KiB`);
  } finally {
    await fh.close();
  }
}

/** Energy (dB) of each 10 ms frame. Reads the file in 1 MiB pieces. */
export async function frameEnergies(path: string): Promise<Float64Array> {
  const { offset, bytes } = await wavData(path);
  const frames = Math.floor(bytes / 2 / FRAME_SAMPLES);
  const out = new Float64Array(frames);
  const fh = await open(path, 'r');
  try {
    const chunkFrames = 3200;
    const buf = Buffer.alloc(chunkFrames * FRAME_SAMPLES * 2);
    for (let f0 = 0; f0 < frames; f0 += chunkFrames) {
      const n = Math.min(chunkFrames, frames - f0);
      await fh.read(buf, 0, n * FRAME_SAMPLES * 2, offset + f0 * FRAME_SAMPLES * 2);
      for (let f = 0; f < n; f++) {
        let s = 0;
        for (let i = 0; i < FRAME_SAMPLES; i++) {
          const v = buf.readInt16LE((f * FRAME_SAMPLES + i) * 2);
          s += v * v;
        }
        out[f0 + f] = 10 * Math.log10(s / FRAME_SAMPLES + 1);
      }
    }
  } finally {
    await fh.close();
  }
  return out;
}

export interface SegmentOptions {
  /** A quieter run at least this long splits two segments. */
  minPauseMs?: number;
  /** Kept either side of the detected speech. */
  padMs?: number;
  /** Longer segments are cut at their quietest frame (bounded utterance length). */
  maxSegmentMs?: number;
}

/**
 * The file's energy levels (dB): noise floor (10th percentile of the frames), speech level (95th)
 * and the speech/non-speech threshold a quarter of the way between them, at least 3 dB above the
 * floor; null when the file has under 3 dB of contrast (or no frames).
 */
export function energyLevels(db: Float64Array): { floor: number; peak: number; threshold: number } | null {
  const n = db.length;
  if (n === 0) return null;
  const sorted = Float64Array.from(db).sort();
  const floor = sorted[Math.floor(n * 0.1)]!;
  const peak = sorted[Math.min(n - 1, Math.floor(n * 0.95))]!;
  if (peak - floor < 3) return null;
  return { floor, peak, threshold: floor + Math.max(3, (peak - floor) * 0.25) };
}

/** The speech/non-speech energy threshold (`energyLevels`), null without contrast. */
export function speechThreshold(db: Float64Array): number | null {
  return energyLevels(db)?.threshold ?? null;
}

/**
 * Speech segments: a frame is speech when its energy is a quarter of the way from the noise floor
 * (10th percentile) to the speech level (95th percentile), at least 3 dB above the floor. Runs of
 * speech closer than `minPauseMs` join; bursts under 50 ms are dropped; segments are padded and
 * long ones are cut at their quietest 100 ms. Always covers the file with at least one segment when
 * there is any sound.
 */
export function speechSegments(db: Float64Array, opts: SegmentOptions = {}): Segment[] {
  const n = db.length;
  if (n === 0) return [];
  const minPause = Math.round((opts.minPauseMs ?? 250) / FRAME_MS);
  const pad = Math.round((opts.padMs ?? 150) / FRAME_MS);
  const maxLen = Math.round((opts.maxSegmentMs ?? 25_000) / FRAME_MS);
  const thr = speechThreshold(db);
  if (thr === null) return cutLong(db, { start: 0, end: n }, maxLen); // no contrast: let the decoder decide
  const runs: Segment[] = [];
  let start = -1;
  let last = -1;
  for (let f = 0; f < n; f++) {
    if (db[f]! <= thr) continue;
    if (start < 0) start = f;
    else if (f - last > minPause) {
      runs.push({ start, end: last + 1 });
      start = f;
    }
    last = f;
  }
  if (start >= 0) runs.push({ start, end: last + 1 });
  const padded = runs
    .filter((r) => r.end - r.start >= 5)
    .map((r) => ({ start: Math.max(0, r.start - pad), end: Math.min(n, r.end + pad) }));
  // Padding may make neighbours overlap: split the overlap in the middle.
  for (let i = 1; i < padded.length; i++) {
    if (padded[i]!.start < padded[i - 1]!.end) {
      const mid = Math.round((padded[i]!.start + padded[i - 1]!.end) / 2);
      padded[i - 1]!.end = mid;
      padded[i]!.start = mid;
    }
  }
  return padded.flatMap((s) => cutLong(db, s, maxLen));
}

function cutLong(db: Float64Array, s: Segment, maxLen: number): Segment[] {
  if (s.end - s.start <= maxLen) return [s];
  // Quietest 100 ms window in the middle half.
  const lo = s.start + Math.floor((s.end - s.start) / 4);
  const hi = s.end - Math.floor((s.end - s.start) / 4) - 10;
  let best = lo;
  let bestE = Infinity;
  for (let f = lo; f <= hi; f++) {
    let e = 0;
    for (let k = 0; k < 10; k++) e += db[f + k]!;
    if (e < bestE) {
      bestE = e;
      best = f + 5;
    }
  }
  return [...cutLong(db, { start: s.start, end: best }, maxLen), ...cutLong(db, { start: best, end: s.end }, maxLen)];
}

/** Runs `tasks` with at most `concurrency` at once; results in task order; the first error rejects. */
export async function pool<T>(tasks: readonly (() => Promise<T>)[], concurrency: number): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  const worker = async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await tasks[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, tasks.length)) }, worker));
  return out;
}
