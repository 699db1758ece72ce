/**
 * Frame accuracy, end to end: a source whose every frame shows its own index is cut by a spec
 * through a centred 9:16 crop, and the decoded output must show exactly the expected source frames.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PERMANENT_ERROR_PREFIX } from '@clipmaker/shared/jobs';
import { renderSpecToFile } from '../../src/render.ts';
import { LocalDiskStorage } from '../../src/storage/index.ts';
import { decodeGrayFrames, makeFrameIndexVideo, probeStreams, readFrameIndex, tempDir } from '../support/media.ts';
import { frameIndexSpec } from '../support/spec.ts';

const W = 360;
const H = 640;
let dir: string;
let storage: LocalDiskStorage;

beforeAll(async () => {
  dir = await tempDir('accuracy');
  storage = new LocalDiskStorage(join(dir, 'storage'));
  await makeFrameIndexVideo(join(dir, 'storage', 'media', 'index.mp4'), { width: 640, height: 360, fps: 30, frames: 120, audio: true });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('renderSpecToFile frame accuracy', () => {
  it('cuts [37, 83) then [10, 30) exactly, through a 9:16 crop', async () => {
    const spec = frameIndexSpec({ key: 'media/index.mp4', sourceFrames: 120, width: W, height: H, hasAudio: true, clips: [{ sourceIn: 37, sourceOut: 83 }, { sourceIn: 10, sourceOut: 30 }] });
    const outPath = join(dir, 'cut.mp4');
    const outcome = await renderSpecToFile(spec, { storage, outPath, target: 'cpu', workDir: dir });

    const frames = await decodeGrayFrames(outPath, W, H);
    const indices = frames.map((f) => readFrameIndex(f, W, H));
    const expected = [...Array.from({ length: 46 }, (_, i) => 37 + i), ...Array.from({ length: 20 }, (_, i) => 10 + i)];
    expect(indices.length).toBe(66);
    expect(indices[0]).toBe(37);
    expect(indices[45]).toBe(82);
    expect(indices[46]).toBe(10);
    expect(indices.at(-1)).toBe(29);
    expect(indices).toEqual(expected);

    expect(outcome.output).toMatchObject({ kind: 'video', width: W, height: H, durationFrames: 66, hasAudio: true });
    expect(outcome.encoder).toBe('libx264');
    expect(outcome.ffmpegArgs.at(-1)).toBe(outPath);
    const streams = await probeStreams(outPath);
    expect(streams.find((s) => s.codec_type === 'video')?.nb_read_frames).toBe('66');
  });

  it('refuses an invalid spec as a permanent error, before touching ffmpeg', async () => {
    const spec = frameIndexSpec({ key: 'media/index.mp4', sourceFrames: 120, width: W, height: H, hasAudio: true, clips: [{ sourceIn: 50, sourceOut: 40 }] });
    await expect(renderSpecToFile(spec, { storage, outPath: join(dir, 'bad.mp4') })).rejects.toThrow(new RegExp(`^${PERMANENT_ERROR_PREFIX} invalid render spec: .*clips\\.0: sourceOut must be after sourceIn`));
  });

  it('refuses a missing or non-media source as permanent', async () => {
    const missing = frameIndexSpec({ key: 'media/missing.mp4', sourceFrames: 120, width: W, height: H, hasAudio: false, clips: [{ sourceIn: 0, sourceOut: 10 }] });
    await expect(renderSpecToFile(missing, { storage, outPath: join(dir, 'm.mp4') })).rejects.toThrow(`${PERMANENT_ERROR_PREFIX} source src (media/missing.mp4) is missing from storage`);
    await mkdir(join(dir, 'storage', 'media'), { recursive: true });
    await writeFile(join(dir, 'storage', 'media', 'text.mp4'), 'not a video');
    const notMedia = frameIndexSpec({ key: 'media/text.mp4', sourceFrames: 120, width: W, height: H, hasAudio: false, clips: [{ sourceIn: 0, sourceOut: 10 }] });
    await expect(renderSpecToFile(notMedia, { storage, outPath: join(dir, 'n.mp4') })).rejects.toThrow(/^PERMANENT: source src \(media\/text\.mp4\): text\.mp4: the file is not a video, audio or image file ffmpeg can read/);
  });
});
