/** `pnpm render` as a person runs it: a child process, real ffmpeg, files on disk. */
import { execFile } from 'node:child_process';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFrameIndexVideo, probeStreams, tempDir } from '../support/media.ts';
import { frameIndexSpec } from '../support/spec.ts';

const exec = promisify(execFile);
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
let dir: string;

async function pnpmRender(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec('pnpm', ['--silent', 'render', ...args], { cwd: repoRoot, env: { ...process.env, LOG_LEVEL: 'warn' } });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  dir = await tempDir('cli');
  await mkdir(join(dir, 'media'));
  await makeFrameIndexVideo(join(dir, 'media', 'clip.mp4'), { width: 640, height: 360, fps: 30, frames: 90, audio: true });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('pnpm render', () => {
  it('renders a spec next to its media into an MP4 of the right size, frame count and audio', async () => {
    const spec = frameIndexSpec({
      key: 'media/clip.mp4',
      sourceFrames: 90,
      width: 360,
      height: 640,
      hasAudio: true,
      clips: [{ sourceIn: 5, sourceOut: 65 }],
      cues: [{ id: 'c1', start: 0, end: 30, text: 'Hello {\\b1}world{\\b0}: 50% off, a\\b, [x]; y=1' }],
    });
    await writeFile(join(dir, 'spec.json'), JSON.stringify(spec));
    const out = join(dir, 'out', 'render.mp4');
    const res = await pnpmRender([join(dir, 'spec.json'), out, '--target', 'cpu']);
    expect(res.stderr).toMatch(/rendering\s+100\.0%/);
    expect(res.code).toBe(0);
    const summary = JSON.parse(res.stdout) as { output: string; width: number; height: number; frames: number; hasAudio: boolean; encoder: string; ffmpegArgs: string[] };
    expect(summary).toMatchObject({ output: out, width: 360, height: 640, frames: 60, hasAudio: true, encoder: 'libx264' });

    const streams = await probeStreams(out);
    const video = streams.find((s) => s.codec_type === 'video');
    expect(video).toMatchObject({ codec_name: 'h264', width: 360, height: 640, nb_read_frames: '60' });
    expect(streams.find((s) => s.codec_type === 'audio')?.codec_name).toBe('aac');
  });

  it('fails with a clear message and a non-zero exit for an invalid spec', async () => {
    await writeFile(join(dir, 'bad.json'), JSON.stringify({ version: 1, output: { width: 361 } }));
    const res = await pnpmRender([join(dir, 'bad.json'), join(dir, 'bad.mp4')]);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^error: invalid render spec: output\.width: /m);
    expect(res.stdout).toBe('');
  });

  it('explains a missing spec file and bad usage', async () => {
    const missing = await pnpmRender([join(dir, 'nope.json'), join(dir, 'x.mp4'), '--target', 'cpu']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`error: cannot read spec file ${join(dir, 'nope.json')}: ENOENT`);
    const usage = await pnpmRender([join(dir, 'spec.json')]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/usage: pnpm render <spec\.json> <out\.mp4>/);
  });
});
