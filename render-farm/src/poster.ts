/**
 * poster.jpg (at most 1080 wide) and thumb.jpg (320 wide) from one lossless PNG frame: tapped by the
 * encode itself (single renders, buildFfmpegCommand posterFrame) or grabbed from the rendered video
 * with a fast seek (stitched renders); sharp scales and encodes the two JPEGs at once.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { formatSeconds } from '@clipmaker/shared/render-spec';
import { fileUrl, inputOptionsFor } from '@clipmaker/shared/media';
import { run } from './ffmpeg/adapter.ts';

export const POSTER_MAX_WIDTH = 1080;
export const THUMB_WIDTH = 320;

/** ~1 s in, or the middle of anything shorter than 2 s. */
export function posterTimeSeconds(durationUs: number): number {
  return durationUs >= 2_000_000 ? 1 : durationUs / 2 / 1e6;
}

export interface PosterFiles {
  posterPath: string;
  thumbPath: string;
  width: number;
  height: number;
}

/**
 * The output frame the poster shows when the encode taps it (buildFfmpegCommand posterFrame): the
 * first frame at or after posterTimeSeconds, as a seek to that time picks it.
 */
export function posterFrameIndex(frames: number, fps: { num: number; den: number }): number {
  const durationUs = (frames * fps.den * 1e6) / fps.num;
  const frame = Math.ceil((posterTimeSeconds(durationUs) * fps.num) / fps.den - 1e-9);
  return Math.min(Math.max(0, frame), frames - 1);
}

/** Grabs the poster frame from a rendered video (fast seek: -ss before -i), then makes the JPEGs. */
export async function makePoster(videoPath: string, outDir: string, opts: { durationUs: number; signal?: AbortSignal }): Promise<PosterFiles> {
  const framePath = join(outDir, 'poster-frame.png');
  try {
    await run(
      {
        globalOptions: ['-hide_banner', '-nostdin', '-v', 'error', '-y'],
        // Our own MP4 output, still opened by the ingest rules (mov demuxer, file protocol only).
        inputs: [{ options: [...inputOptionsFor('mov'), '-ss', formatSeconds(posterTimeSeconds(opts.durationUs))], path: fileUrl(videoPath) }],
        filterComplex: '',
        outputOptions: ['-map', '0:v:0', '-frames:v', '1', '-update', '1', '-c:v', 'png', '-f', 'image2'],
        outputPath: framePath,
      },
      { signal: opts.signal, workDir: outDir },
    );
    return await postersFromFrame(framePath, outDir);
  } finally {
    await rm(framePath, { force: true });
  }
}

/** poster.jpg and thumb.jpg from one lossless frame (a PNG the encode tapped, or makePoster's grab), encoded at once. */
export async function postersFromFrame(framePath: string, outDir: string): Promise<PosterFiles> {
  const posterPath = join(outDir, 'poster.jpg');
  const thumbPath = join(outDir, 'thumb.jpg');
  const frame = sharp(framePath);
  const [info] = await Promise.all([
    frame.clone().resize({ width: POSTER_MAX_WIDTH, withoutEnlargement: true }).jpeg({ quality: 85, mozjpeg: true }).toFile(posterPath),
    frame.clone().resize({ width: THUMB_WIDTH }).jpeg({ quality: 80, mozjpeg: true }).toFile(thumbPath),
  ]);
  return { posterPath, thumbPath, width: info.width, height: info.height };
}
