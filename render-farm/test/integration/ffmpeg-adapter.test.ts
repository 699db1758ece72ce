import { existsSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FfmpegError, FILTER_SCRIPT_THRESHOLD_BYTES, MediaProbeError, probe, run, type FfmpegProgress } from '../../src/ffmpeg/adapter.ts';
import { RenderAbortedError } from '../../src/errors.ts';
import { ffmpeg, probeStreams, tempDir } from '../support/media.ts';

let dir: string;
beforeAll(async () => {
  dir = await tempDir('adapter');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const lavfi = (graph: string) => ({ options: ['-f', 'lavfi'], path: graph });

describe('run', () => {
  it('maps the command onto ffmpeg in order and reports frame progress', async () => {
    const out = join(dir, 'progress.mp4');
    const events: FfmpegProgress[] = [];
    const result = await run(
      {
        globalOptions: ['-hide_banner', '-nostdin', '-y'],
        inputs: [lavfi('testsrc2=s=320x180:r=30:d=3')],
        filterComplex: '[0:v]format=yuv420p[v]',
        outputOptions: ['-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast'],
        outputPath: out,
      },
      { durationFrames: 90, onProgress: (p) => events.push(p) },
    );
    expect(result.args).toEqual([
      '-hide_banner', '-nostdin', '-y', '-stats', '-f', 'lavfi', '-i', 'testsrc2=s=320x180:r=30:d=3',
      '-filter_complex', '[0:v]format=yuv420p[v]',
      '-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast', out,
    ]);
    expect(events.length).toBeGreaterThan(0);
    const last = events.at(-1)!;
    expect(last.frame).toBe(90);
    expect(last.percent).toBe(100);
    for (let i = 1; i < events.length; i++) expect(events[i]!.frame).toBeGreaterThanOrEqual(events[i - 1]!.frame);
    const [video] = await probeStreams(out);
    expect(video?.nb_read_frames).toBe('90');
  });

  it('passes a graph over 64 KB through -filter_complex_script and removes the file', async () => {
    // Padding in filter arguments, not thousands of filters: graph setup stays fast.
    const pad = 'x'.repeat(FILTER_SCRIPT_THRESHOLD_BYTES);
    const graph = `[0:v]drawtext=text='${pad}':fontsize=1:fontcolor=black@0,format=yuv420p[v]`;
    expect(graph.length).toBeGreaterThan(FILTER_SCRIPT_THRESHOLD_BYTES);
    const work = join(dir, 'script');
    await mkdir(work);
    const result = await run(
      {
        globalOptions: ['-hide_banner', '-nostdin', '-y'],
        inputs: [lavfi('color=c=red:s=64x64:r=10:d=0.2')],
        filterComplex: graph,
        outputOptions: ['-map', '[v]', '-c:v', 'libx264', '-preset', 'ultrafast'],
        outputPath: join(dir, 'script.mp4'),
      },
      { workDir: work },
    );
    const i = result.args.indexOf('-filter_complex_script');
    expect(i).toBeGreaterThan(-1);
    expect(result.args).not.toContain('-filter_complex');
    expect(result.args[i + 1]!.startsWith(work)).toBe(true);
    expect(await readdir(work)).toEqual([]);
  });

  it('kills ffmpeg promptly on abort', async () => {
    const controller = new AbortController();
    const started = Date.now();
    const pending = run(
      {
        globalOptions: ['-hide_banner', '-nostdin', '-y'],
        inputs: [lavfi('testsrc2=s=1280x720:r=30:d=600')],
        filterComplex: '',
        outputOptions: ['-c:v', 'libx264', '-preset', 'medium'],
        outputPath: join(dir, 'aborted.mp4'),
      },
      { signal: controller.signal, onProgress: () => controller.abort(), killGraceMs: 500 },
    );
    await expect(pending).rejects.toBeInstanceOf(RenderAbortedError);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(run({ globalOptions: [], inputs: [lavfi('nullsrc')], filterComplex: '', outputOptions: [], outputPath: join(dir, 'never.mp4') }, { signal: controller.signal })).rejects.toBeInstanceOf(RenderAbortedError);
    expect(existsSync(join(dir, 'never.mp4'))).toBe(false);
  });

  it('explains a failure with the tail of ffmpeg stderr', async () => {
    const missing = join(dir, 'does-not-exist.mp4');
    const err = await run({ globalOptions: ['-hide_banner', '-nostdin'], inputs: [{ options: [], path: missing }], filterComplex: '', outputOptions: [], outputPath: join(dir, 'x.mp4') }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FfmpegError);
    expect((err as FfmpegError).message).toMatch(/^ffmpeg exited with code 1: .*No such file or directory/s);
    expect((err as FfmpegError).args).toContain(missing);
  });
});

describe('probe', () => {
  it('reads a video with audio: rational fps and exact frame count', async () => {
    const path = join(dir, 'probe.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=s=320x180:r=30000/1001:d=2', '-f', 'lavfi', '-i', 'sine=d=2', '-frames:v', '60', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', '-shortest', path]);
    const info = await probe(path);
    expect(info).toMatchObject({ kind: 'video', width: 320, height: 180, fps: { num: 30000, den: 1001 }, durationFrames: 60, hasAudio: true, videoCodec: 'h264' });
    expect(info.durationUs).toBeGreaterThan(1_900_000);
  });

  it('reads an image', async () => {
    const path = join(dir, 'logo.png');
    await ffmpeg(['-f', 'lavfi', '-i', 'color=c=blue:s=40x20', '-frames:v', '1', path]);
    expect(await probe(path)).toMatchObject({ kind: 'image', width: 40, height: 20, fps: null, durationFrames: null });
  });

  it('refuses a file that is not media, naming it', async () => {
    const path = join(dir, 'notes.mp4');
    await writeFile(path, 'this is not a video\n');
    await expect(probe(path)).rejects.toThrow(MediaProbeError);
    await expect(probe(path)).rejects.toThrow(/notes\.mp4: the file is not a video, audio or image file ffmpeg can read \(Invalid data found/);
  });

  it('honours FFPROBE_PATH over PATH', async () => {
    const saved = process.env.FFPROBE_PATH;
    process.env.FFPROBE_PATH = join(dir, 'no-such-ffprobe');
    try {
      await expect(probe(join(dir, 'logo.png'))).rejects.toThrow(/cannot run .*no-such-ffprobe: not found/);
    } finally {
      if (saved === undefined) delete process.env.FFPROBE_PATH;
      else process.env.FFPROBE_PATH = saved;
    }
  });
});
