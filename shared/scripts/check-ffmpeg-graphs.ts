/**
 * Runs the builder's commands through REAL ffmpeg and checks what comes out, frame by frame:
 *   pnpm exec tsx shared/scripts/check-ffmpeg-graphs.ts [--keep] [--target cuda]
 * Not a unit test (it needs ffmpeg with libass and libx264, and takes ~20 s); the unit tests pin the
 * exact arguments, this script proves those arguments do what they claim.
 *
 * Sources are generated with lavfi: in the top half every pixel's luma is 2 * frame index, in the
 * bottom half it is the pixel's x, so a decoded output frame tells which source frame it shows
 * (top) and where the crop window was (bottom). Outputs are encoded losslessly (crf 0).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildFfmpegCommand, commandToArgs, type RenderTarget } from '../render-spec/ffmpeg-args.ts';
import { cropAt } from '../render-spec/crop.ts';
import { DEFAULT_SUBTITLE_STYLE, RenderSpec, type Clip, type Cue, type Overlay } from '../render-spec/schema.ts';
import { sourceFrameAt } from '../render-spec/time.ts';
import { buildAss } from '../subtitles/ass.ts';

const keep = process.argv.includes('--keep');
const videoTarget = (process.argv.includes('--target') ? process.argv[process.argv.indexOf('--target') + 1] : 'cpu') as RenderTarget;
const dir = mkdtempSync(join(tmpdir(), 'clipmaker-graphs-'));
const fontsDir = join(import.meta.dirname, '..', 'assets', 'fonts');
let failures = 0;

function ffmpeg(args: string[]): string {
  const r = spawnSync('ffmpeg', args, { encoding: 'buffer', maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')}\n${r.stderr.toString().split('\n').slice(-15).join('\n')}`);
  return r.stderr.toString();
}

function indexVideo(name: string, fps: number, frames: number, audio: boolean): string {
  const path = join(dir, name);
  const audioArgs = audio ? ['-f', 'lavfi', '-i', 'sine=f=440:r=48000', '-c:a', 'aac', '-shortest'] : [];
  ffmpeg(['-y', '-f', 'lavfi', '-i', `nullsrc=s=256x144:r=${fps},format=yuv420p,geq=lum='if(lt(Y,72),2*N,X)':cb=128:cr=128`, ...audioArgs, '-frames:v', String(frames), '-c:v', 'libx264', '-qp', '0', '-g', '12', '-bf', '2', path]);
  return path;
}

/** Y planes of every decoded frame. */
function decode(path: string, w: number, h: number): Uint8Array[] {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', path, '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-'], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  const size = (w * h * 3) / 2;
  const frames: Uint8Array[] = [];
  for (let off = 0; off + size <= r.stdout.length; off += size) frames.push(new Uint8Array(r.stdout.buffer, r.stdout.byteOffset + off, w * h));
  return frames;
}

function audioSamples(path: string): Float32Array {
  const r = spawnSync('ffmpeg', ['-v', 'error', '-i', path, '-map', '0:a', '-f', 'f32le', '-ac', '1', '-ar', '48000', '-'], { maxBuffer: 1 << 30 });
  if (r.status !== 0) throw new Error(r.stderr.toString());
  return new Float32Array(r.stdout.buffer.slice(r.stdout.byteOffset, r.stdout.byteOffset + r.stdout.length));
}

const source = (id: string, fps: number, frames: number, hasAudio: boolean) =>
  ({ id, key: `m/${id}.mp4`, kind: 'video', width: 256, height: 144, fps: { num: fps, den: 1 }, durationFrames: frames, durationUs: Math.round((frames / fps) * 1e6), hasAudio, sha256: null }) as const;

const SOURCES = [
  source('v30', 30, 120, true),
  source('v24', 24, 120, true),
  source('v60', 60, 120, false),
  { id: 'logo', key: 'm/logo.png', kind: 'image', width: 32, height: 32, fps: null, durationFrames: null, durationUs: 0, hasAudio: false, sha256: null },
  { id: 'music', key: 'm/music.wav', kind: 'audio', width: 0, height: 0, fps: null, durationFrames: null, durationUs: 10_000_000, hasAudio: true, sha256: null },
] as const;

function makeSpec(o: { width?: number; durationFrames: number; clips: Clip[]; cues?: Cue[]; overlays?: Overlay[]; music?: RenderSpec['music'] }): RenderSpec {
  return RenderSpec.parse({
    version: 1,
    output: { width: o.width ?? 64, height: 144, fps: { num: 30, den: 1 }, durationFrames: o.durationFrames, video: { codec: 'h264', crf: 0, preset: 'ultrafast' }, audio: { codec: 'aac', bitrateKbps: 128, sampleRate: 48000 }, gop: 30 },
    sources: SOURCES,
    clips: o.clips,
    subtitles: { style: { ...DEFAULT_SUBTITLE_STYLE, fontSize: 16, position: 'top', marginV: 10, outlineWidth: 0 }, cues: o.cues ?? [] },
    overlays: o.overlays ?? [],
    music: o.music ?? null,
  });
}

let inputs: Record<string, string> = {};

interface Rendered {
  frames: Uint8Array[];
  path: string;
  log: string;
}

function render(name: string, spec: RenderSpec, opts: { range?: { start: number; end: number }; target?: RenderTarget; audio?: 'include' | 'none' } = {}): Rendered {
  const path = join(dir, `out-${name}.mp4`);
  const assPath = spec.subtitles.cues.length > 0 || spec.overlays.some((o) => o.kind === 'text') ? join(dir, `${name}.ass`) : null;
  if (assPath) writeFileSync(assPath, buildAss(spec));
  const target = opts.target ?? videoTarget;
  const cmd = buildFfmpegCommand({ spec, target, inputs, assPath, fontsDir, outputPath: path, range: opts.range, audio: opts.audio, threads: target === 'wasm' ? 2 : undefined, videoEncoder: target === 'cuda' ? 'h264_nvenc' : undefined });
  const log = ffmpeg(commandToArgs(cmd));
  return { frames: decode(path, spec.output.width, spec.output.height), path, log };
}

/** Which source frame the top half shows (-1: black), and the source x at two bottom columns. */
function read(frame: Uint8Array, w: number): { index: number; left: number; right: number } {
  const top = frame[20 * w + Math.floor(w / 2)]!;
  const left = frame[110 * w + 0]!;
  const right = frame[110 * w + w - 1]!;
  const black = left === 16 && right === 16 && top === 16;
  return { index: black ? -1 : Math.round(top / 2), left, right };
}

function check(name: string, fn: () => void): void {
  const started = performance.now();
  try {
    fn();
    console.log(`ok   ${name} (${Math.round(performance.now() - started)} ms)`);
  } catch (err) {
    failures++;
    console.log(`FAIL ${name}\n${err instanceof Error ? err.message : String(err)}`);
  }
}

function same(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual);
  const e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}\n  expected ${e}\n  actual   ${a}`);
}

function noDupDrop(log: string): void {
  const m = /dup=(\d+) drop=(\d+)/g;
  let last: RegExpExecArray | null = null;
  for (let x = m.exec(log); x; x = m.exec(log)) last = x;
  if (last && (last[1] !== '0' || last[2] !== '0')) throw new Error(`the output duplicated or dropped frames: ${last[0]}`);
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => from + i);
const clip = (id: string, sourceId: string, start: number, sourceIn: number, sourceOut: number, crop: Clip['crop'] = []): Clip => ({ id, sourceId, start, sourceIn, sourceOut, volume: 1, crop });

try {
  inputs = {
    v30: indexVideo('v30.mp4', 30, 120, true),
    v24: indexVideo('v24.mp4', 24, 120, true),
    v60: indexVideo('v60.mp4', 60, 120, false),
    logo: join(dir, 'logo.png'),
    music: join(dir, 'music.wav'),
  };
  ffmpeg(['-y', '-f', 'lavfi', '-i', 'color=c=white:s=32x32', '-frames:v', '1', inputs.logo!]);
  ffmpeg(['-y', '-f', 'lavfi', '-i', 'sine=f=880:r=48000:d=10', inputs.music!]);

  check('one clip, full range: every source frame, centred crop (x=96)', () => {
    const r = render('full', makeSpec({ durationFrames: 120, clips: [clip('a', 'v30', 0, 0, 120)] }));
    same(r.frames.map((f) => read(f, 64).index), range(0, 120), 'frame indices');
    same([...new Set(r.frames.map((f) => read(f, 64).left))], [96], 'crop x');
    noDupDrop(r.log);
    // The source's audio is ~0.1 s shorter than its video: the segment is padded to its exact length.
    const samples = audioSamples(r.path).length;
    if (Math.abs(samples - 120 * 1600) > 1024) throw new Error(`audio has ${samples} samples, expected ~${120 * 1600}`);
  });

  check('trimmed clip [37, 83): seeks half a frame early and lands on 37', () => {
    const r = render('trim', makeSpec({ durationFrames: 46, clips: [clip('a', 'v30', 0, 37, 83)] }));
    same(r.frames.map((f) => read(f, 64).index), range(37, 46), 'frame indices');
  });

  check('two clips with a gap: [37, 83), 10 black frames, [10, 30)', () => {
    const r = render('gap', makeSpec({ durationFrames: 76, clips: [clip('a', 'v30', 0, 37, 83), clip('b', 'v30', 56, 10, 30)] }));
    same(r.frames.map((f) => read(f, 64).index), [...range(37, 46), ...Array(10).fill(-1), ...range(10, 20)], 'frame indices');
    const samples = audioSamples(r.path).length;
    if (Math.abs(samples - 76 * 1600) > 1024) throw new Error(`audio has ${samples} samples, expected ~${76 * 1600}`);
  });

  const pan = [
    { frame: 0, x: 0, y: 0, w: 64, h: 144 },
    { frame: 30, x: 191, y: 0, w: 64, h: 144 },
    { frame: 45, x: 100, y: 0, w: 64, h: 144 },
  ];
  const panSpec = makeSpec({ durationFrames: 60, clips: [clip('a', 'v30', 0, 20, 80, pan)] });
  const panExpected = range(0, 60).map((n) => cropAt(pan, n, 256, 144, 64, 144).x);
  check('crop pan keyframes: crop x per frame equals cropAt', () => {
    const r = render('pan', panSpec);
    same(r.frames.map((f) => read(f, 64).left), panExpected, 'crop x');
    same(r.frames.map((f) => read(f, 64).right - read(f, 64).left), Array(60).fill(63), 'crop width');
    same(r.frames.map((f) => read(f, 64).index), range(20, 60), 'frame indices');
  });

  check('chunks of the pan ([0,30) [30,45) [45,60)) equal the full render', () => {
    const parts = [
      [0, 30],
      [30, 45],
      [45, 60],
    ].flatMap(([start, end]) => render(`pan-${start}`, panSpec, { range: { start: start!, end: end! } }).frames.map((f) => read(f, 64)));
    same(parts.map((p) => p.left), panExpected, 'crop x');
    same(parts.map((p) => p.index), range(20, 60), 'frame indices');
  });

  check('varying crop size: perspective follows cropAt (within 2 px)', () => {
    const zoom = [
      { frame: 0, x: 0, y: 0, w: 64, h: 144 },
      { frame: 20, x: 100, y: 72, w: 32, h: 72 },
    ];
    const r = render('zoom', makeSpec({ durationFrames: 30, clips: [clip('a', 'v30', 0, 0, 30, zoom)] }));
    r.frames.forEach((f, n) => {
      const want = cropAt(zoom, n, 256, 144, 64, 144);
      const got = read(f, 64);
      if (Math.abs(got.left - want.x) > 2 || Math.abs(got.right - (want.x + want.w - 1)) > 2)
        throw new Error(`frame ${n}: columns show x ${got.left}..${got.right}, cropAt says ${want.x}..${want.x + want.w - 1}`);
    });
  });

  const mixed = (name: string, sourceId: 'v24' | 'v60', srcFps: number) => {
    const s = makeSpec({ durationFrames: 40, clips: [clip('a', sourceId, 0, 7, 7 + Math.round((40 * srcFps) / 30))] });
    const expected = range(0, 40).map((n) => 7 + sourceFrameAt(n, { num: srcFps, den: 1 }, { num: 30, den: 1 }));
    check(`${name}: each output frame shows sourceFrameAt(n), whole and in chunks`, () => {
      const whole = render(`${sourceId}`, s);
      same(whole.frames.map((f) => read(f, 64).index), expected, 'whole');
      const chunks = [
        [0, 13],
        [13, 27],
        [27, 40],
      ].flatMap(([start, end]) => render(`${sourceId}-${start}`, s, { range: { start: start!, end: end! }, audio: 'none' }).frames.map((f) => read(f, 64).index));
      same(chunks, expected, 'chunks');
    });
  };
  mixed('24 fps source in a 30 fps timeline', 'v24', 24);
  mixed('60 fps source (no audio) in a 30 fps timeline', 'v60', 60);

  const decorated = makeSpec({
    width: 256,
    durationFrames: 60,
    clips: [],
    cues: [{ id: 'q', start: 10, end: 20, text: 'HHHH {\\pos(0,0)} [a];b' }],
    overlays: [
      { id: 'logo', kind: 'image', sourceId: 'logo', start: 30, end: 40, x: 0.5, y: 0.75, w: 0.125, h: 0.125, opacity: 1 },
      { id: 'txt', kind: 'text', text: 'TEXT', start: 45, end: 50, x: 0, y: 0.5, w: 0.5, h: 0.2, opacity: 1, fontSize: 40, color: '#FFFFFF' },
    ],
    music: { sourceId: 'music', volume: 0.5, start: 15 },
  });
  const bright = (f: Uint8Array, x0: number, y0: number, x1: number, y1: number) => {
    for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) if (f[y * 256 + x]! > 128) return true;
    return false;
  };
  const decorations = (frames: Uint8Array[]) =>
    frames.map((f) => [bright(f, 0, 0, 256, 60) ? 'cue' : '', bright(f, 130, 110, 158, 140) ? 'logo' : '', bright(f, 0, 72, 120, 110) ? 'text' : ''].filter(Boolean).join('+'));
  const expectedDecorations = range(0, 60).map((n) => (n >= 10 && n < 20 ? 'cue' : n >= 30 && n < 40 ? 'logo' : n >= 45 && n < 50 ? 'text' : ''));
  check('subtitles (exact frames), image overlay, text overlay, music from frame 15', () => {
    const r = render('decorated', decorated);
    same(decorations(r.frames), expectedDecorations, 'what shows on each frame');
    const audio = audioSamples(r.path);
    const firstSound = audio.findIndex((v) => Math.abs(v) > 0.05);
    if (Math.abs(firstSound - 15 * 1600) > 256) throw new Error(`music starts at sample ${firstSound}, expected ${15 * 1600}`);
    if (Math.abs(audio.length - 60 * 1600) > 1024) throw new Error(`audio has ${audio.length} samples, expected ~${60 * 1600}`);
  });
  check('subtitles and overlays in chunks [0,15) [15,35) [35,60) land on the same frames', () => {
    const parts = [
      [0, 15],
      [15, 35],
      [35, 60],
    ].flatMap(([start, end]) => decorations(render(`decorated-${start}`, decorated, { range: { start: start!, end: end! } }).frames));
    same(parts, expectedDecorations, 'what shows on each frame');
  });

  check('wasm-target arguments run on native ffmpeg (ultrafast, explicit threads)', () => {
    const r = render('wasm', makeSpec({ durationFrames: 46, clips: [clip('a', 'v30', 0, 37, 83)] }), { target: 'wasm' });
    same(r.frames.map((f) => read(f, 64).index), range(37, 46), 'frame indices');
  });
} finally {
  if (keep) console.log(`outputs kept in ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
}

if (failures > 0) {
  console.log(`${failures} check(s) failed`);
  process.exit(1);
}
console.log('all checks passed');
