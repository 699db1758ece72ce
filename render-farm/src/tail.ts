/**
 * The tail of a render: everything between the encoding (or stitching) ffmpeg's exit and the result
 * handed to the queue (issue 14: the output is ready within 2 s of ffmpeg exiting). Every step is
 * timed on one clock started at the exit (RenderTail in shared/jobs); the poster is made while the
 * output uploads, the two JPEGs upload together.
 */
import { stat } from 'node:fs/promises';
import type { RenderTail } from '@clipmaker/shared/jobs';
import { makePoster, postersFromFrame } from './poster.ts';
import type { FfmpegExit } from './render.ts';
import type { Storage } from './storage/index.ts';

export class TailClock {
  readonly stagesMs: Record<string, number> = {};
  constructor(readonly exited: FfmpegExit) {}

  /** Runs one step and records its wall time (overlapping steps each keep their own). */
  async time<T>(stage: string, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.record(stage, performance.now() - t0);
    }
  }

  record(stage: string, ms: number): void {
    this.stagesMs[stage] = Math.max(0, Math.round(ms));
  }

  /** ms since ffmpeg exited. */
  elapsedMs(): number {
    return Math.max(0, Math.round(performance.now() - this.exited.perf));
  }

  result(): RenderTail {
    return { ffmpegExitedAt: this.exited.at, totalMs: this.elapsedMs(), stagesMs: { ...this.stagesMs } };
  }
}

export interface PublishOptions {
  storage: Storage;
  /** The finished output; nothing writes to it any more (local storage may hard-link it). */
  outPath: string;
  /** Where the poster files are made. */
  workDir: string;
  keys: { outputKey: string; posterKey: string; thumbKey: string };
  /** The output's duration (the poster's time comes from it). */
  durationUs: number;
  /** The poster frame the encode already wrote (PNG); null: grab it from the output. */
  posterFrame?: string | null;
  signal?: AbortSignal;
  tail: TailClock;
  /** Called when the poster step starts and when the uploads do (progress events). */
  onStage?: (stage: 'poster' | 'uploading') => void;
}

/**
 * Stores a finished render: the output uploads while the poster JPEGs are made (from the frame the
 * encode tapped, or grabbed from the output with a fast seek), then the poster and thumbnail upload
 * together. Returns the output's size.
 */
export async function publishRender(o: PublishOptions): Promise<{ bytes: number; posterWidth: number; posterHeight: number }> {
  o.onStage?.('poster');
  const poster = o.tail.time('poster', () => (o.posterFrame ? postersFromFrame(o.posterFrame, o.workDir) : makePoster(o.outPath, o.workDir, { durationUs: o.durationUs, signal: o.signal })));
  o.onStage?.('uploading');
  const output = o.tail.time('uploadOutput', () => o.storage.put(o.keys.outputKey, o.outPath, { contentType: 'video/mp4', immutable: true }));
  const images = poster.then((p) =>
    Promise.all([
      o.tail.time('uploadPoster', () => o.storage.put(o.keys.posterKey, p.posterPath, { contentType: 'image/jpeg', immutable: true })),
      o.tail.time('uploadThumb', () => o.storage.put(o.keys.thumbKey, p.thumbPath, { contentType: 'image/jpeg', immutable: true })),
    ]).then(() => p),
  );
  const size = stat(o.outPath).then((s) => s.size);
  // Every step settles before anything is thrown, so none is left running behind a failure.
  const settled = await Promise.allSettled([output, images, size]);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  const p = await images;
  return { bytes: await size, posterWidth: p.width, posterHeight: p.height };
}
