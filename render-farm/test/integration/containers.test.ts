/**
 * Real-world containers render frame-exact (shared/render-spec/graph/inputs.ts, SOURCE TIME): one
 * reference clip whose frames carry their number (luma bands) and whose audio beeps on every 15th
 * frame is remuxed/re-encoded the ways cameras, phones and editors write files (MKV, MPEG-TS, MOV,
 * MP4 without edit list, MP4 whose edit list trims the start, video delayed 0.2 s, audio delayed
 * 0.2 s, 44.1 kHz mono, 5.1, rotation, non-square pixels, variable frame rate, 10-bit HEVC HLG/PQ)
 * plus audio-only files (m4a, mp3, flac) and stills (PNG, JPEG). Each is cut with sourceIn > 0 and
 * rendered single and chunked (4 chunks, 3 seams, through a real worker); the test decodes every
 * output frame's number and every beep.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import BeeQueue from 'bee-queue';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RENDER_QUEUES, RenderResult } from '@clipmaker/shared/jobs';
import { RenderSpec } from '@clipmaker/shared/render-spec';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { probe } from '../../src/ffmpeg/adapter.ts';
import { renderSpecToFile } from '../../src/render.ts';
import { LocalDiskStorage } from '../../src/storage/index.ts';
import { startWorker, type RenderWorker } from '../../src/worker.ts';
import { BANDS, decodeGrayFrames, ffmpeg, readFrameIndex, readFrameIndexIn, tempDir, VFR_FRAMES, vfrFrameAt, VFR_TICKS_EXPR, videoColour } from '../support/media.ts';
import { audioClip, audioSource, frameIndexSpec, imageClip, imageSource, specOf, track } from '../support/spec.ts';

const FPS = 30;
const FRAMES = 90;
const W = 160;
const H = 96;
/** The clip: source frames [IN, OUT). */
const IN = 20;
const OUT = 75;
const BEEP_EVERY = 15;

/** The number the still images show. */
const STILL = 1234;

let dir: string;
let storage: LocalDiskStorage;
let worker: RenderWorker;
let producer: BeeQueue;
const prefix = uniquePrefix('containers');

interface Variant {
  name: string;
  file: string;
  /** Reference frame shown as this file's source frame 0 (an edit list that trims the start). */
  shift: number;
  /** Where the picture must appear in the output (rotated/anamorphic sources): the test reads the bands there. */
  read?: { x: number; y: number; w: number; h: number };
  /** Output size (portrait timelines for portrait sources; the default fills 160x96). */
  out?: { w: number; h: number };
  /** The file's own A/V offset (audio later than its picture, seconds): the render must keep it. */
  av?: number;
  /** HDR: a grey strip (x < 16) at this 10-bit code; the render must show it in [min, max] (8-bit gray). */
  strip?: { code: number; min: number; max: number };
  /** Reference frame shown as this file's source frame n, where it is not n + shift (VFR). */
  frameAt?: (n: number) => number;
  args: (ref: string, refDelayed: string, out: string) => string[];
}

const VARIANTS: Variant[] = [
  { name: 'MP4 (reference, edit list for B-frames)', file: 'ref.mp4', shift: 0, args: () => [] },
  { name: 'MKV remux', file: 'remux.mkv', shift: 0, args: (r, _d, o) => ['-i', r, '-c', 'copy', o] },
  { name: 'MPEG-TS remux (start_time 1.4 s)', file: 'remux.ts', shift: 0, args: (r, _d, o) => ['-i', r, '-c', 'copy', '-f', 'mpegts', o] },
  { name: 'MOV remux', file: 'remux.mov', shift: 0, args: (r, _d, o) => ['-i', r, '-c', 'copy', o] },
  { name: 'MP4 without edit list', file: 'noedit.mp4', shift: 0, args: (r, _d, o) => ['-i', r, '-c', 'copy', '-use_editlist', '0', o] },
  { name: 'MP4 with an edit list trimming the start', file: 'trimmed.mp4', shift: 12, args: (r, _d, o) => ['-ss', String(12 / FPS), '-i', r, '-c', 'copy', o] },
  { name: 'video delayed 0.2 s (MKV)', file: 'vdelay.mkv', shift: 0, av: -0.2, args: (r, _d, o) => ['-itsoffset', '0.2', '-i', r, '-i', r, '-map', '0:v', '-map', '1:a', '-c', 'copy', o] },
  { name: 'audio delayed 0.2 s (MKV)', file: 'adelay.mkv', shift: 0, av: 0.2, args: (r, _d, o) => ['-i', r, '-itsoffset', '0.2', '-i', r, '-map', '0:v', '-map', '1:a', '-c', 'copy', o] },
  { name: '44.1 kHz mono audio', file: 'mono44.mkv', shift: 0, args: (r, _d, o) => ['-i', r, '-c:v', 'copy', '-c:a', 'pcm_s16le', '-ar', '44100', '-ac', '1', o] },
  // Portrait (96x160 displayed) on a portrait 96x160 timeline: upright, full frame.
  { name: 'rotation 90 (portrait phone video stored landscape)', file: 'rot90.mp4', shift: 0, out: { w: 96, h: 160 }, args: () => [] },
  { name: 'rotation 180', file: 'rot180.mp4', shift: 0, args: () => [] },
  { name: 'rotation 270', file: 'rot270.mp4', shift: 0, out: { w: 96, h: 160 }, args: () => [] },
  // 80x96 coded at 2:1 pixels is 160x96 displayed: it fills the frame (read at the left edge).
  { name: 'non-square pixels (SAR 2:1)', file: 'anamorphic.mp4', shift: 0, read: { x: 0, y: 0, w: 36, h: H }, args: () => [] },
  // Phone style: 30 fps nominal, timestamps jittered up to 2.2 ms, a low-light stretch at 15 fps
  // (frames 30-50 held twice as long); source frame N is the frame displayed at N / 30.
  { name: 'variable frame rate (phone style)', file: 'vfr.mp4', shift: 0, frameAt: vfrFrameAt, args: () => [] },
  // Phones and action cameras: 10-bit HEVC, BT.2020, HLG or PQ; the render is SDR BT.709 8-bit.
  // PQ code 722 is ~1000 nits: SDR white once tone-mapped (read as if SDR it would be gray 192).
  // HLG is made to look right on SDR screens: its 50 % signal stays mid-grey.
  { name: '10-bit HEVC HLG (tone-mapped to SDR BT.709)', file: 'hlg.mp4', shift: 0, strip: { code: 502, min: 112, max: 140 }, args: () => [] },
  { name: '10-bit HEVC PQ (tone-mapped to SDR BT.709)', file: 'pq.mp4', shift: 0, strip: { code: 722, min: 245, max: 255 }, args: () => [] },
  { name: '5.1 audio', file: 'surround.mkv', shift: 0, args: (r, _d, o) => ['-i', r, '-c:v', 'copy', '-c:a', 'pcm_s16le', '-ac', '6', o] },
];

beforeAll(async () => {
  dir = await tempDir('containers');
  storage = new LocalDiskStorage(join(dir, 'storage'));
  const media = join(dir, 'storage', 'media');
  await mkdir(media, { recursive: true });
  const seconds = FRAMES / FPS;
  const ref = join(media, 'ref.mp4');
  // Frame N shows N in BANDS luma bands; a 30 ms 1 kHz beep starts with every 15th frame.
  await ffmpeg([
    '-f', 'lavfi', '-i', `color=c=black:s=16x${BANDS}:r=${FPS}:d=${seconds}`,
    '-f', 'lavfi', '-i', `aevalsrc='if(lt(mod(t\\,${BEEP_EVERY / FPS})\\,0.03)\\,0.8*sin(2*PI*1000*t)\\,0)':s=48000:d=${seconds}`,
    '-vf', `geq=lum='255*mod(floor(N/pow(2\\,Y))\\,2)':cb=128:cr=128,scale=${W}:${H}:flags=neighbor,setsar=1,format=yuv420p`,
    '-frames:v', String(FRAMES), '-c:v', 'libx264', '-preset', 'veryfast', '-qp', '0', '-bf', '2', '-g', '15', '-c:a', 'aac', '-b:a', '128k', ref,
  ]);
  const delayed = '';
  await Promise.all(VARIANTS.map((v) => v.args(ref, delayed, join(media, v.file))).filter((a) => a.length > 0).map((a) => ffmpeg(a)));
  // Phones store portrait video landscape plus a display rotation; anamorphic cameras store squeezed
  // pixels plus a sample aspect ratio. The coded picture is the reference turned back / squeezed, so
  // the displayed picture is the reference again.
  const bandsAt = (w: number, h: number) => `geq=lum='255*mod(floor(N/pow(2\\,Y))\\,2)':cb=128:cr=128,scale=${w}:${h}:flags=neighbor,setsar=1`;
  const make = async (file: string, w: number, h: number, coded: string, meta: string[]) => {
    const encoded = join(dir, `coded-${file}`);
    await ffmpeg([
      '-f', 'lavfi', '-i', `color=c=black:s=16x${BANDS}:r=${FPS}:d=${seconds}`,
      '-f', 'lavfi', '-i', `aevalsrc='if(lt(mod(t\\,${BEEP_EVERY / FPS})\\,0.03)\\,0.8*sin(2*PI*1000*t)\\,0)':s=48000:d=${seconds}`,
      '-vf', `${bandsAt(w, h)},${coded},format=yuv420p`,
      '-frames:v', String(FRAMES), '-c:v', 'libx264', '-preset', 'veryfast', '-qp', '0', '-g', '15', '-c:a', 'aac', encoded,
    ]);
    // ffmpeg 5.1 writes a display matrix from the rotate tag on a stream copy only.
    await ffmpeg(['-i', encoded, '-c', 'copy', ...meta, join(media, file)]);
  };
  await Promise.all([
    // ffmpeg (and browsers) turn the picture counter-clockwise by the display matrix's angle.
    make('rot90.mp4', 96, 160, 'transpose=clock', ['-metadata:s:v:0', 'rotate=90']),
    make('rot180.mp4', W, H, 'hflip,vflip', ['-metadata:s:v:0', 'rotate=180']),
    make('rot270.mp4', 96, 160, 'transpose=cclock', ['-metadata:s:v:0', 'rotate=270']),
    make('anamorphic.mp4', W, H, 'scale=80:96:flags=neighbor,setsar=2/1', []),
    ...(['hlg.mp4:arib-std-b67', 'pq.mp4:smpte2084'] as const).map((fileTrc) => {
      const [file, trc] = fileTrc.split(':') as [string, string];
      const code = VARIANTS.find((v) => v.file === file)!.strip!.code;
      return ffmpeg([
        '-f', 'lavfi', '-i', `color=c=black:s=16x${BANDS}:r=${FPS}:d=${seconds}`,
        '-f', 'lavfi', '-i', `aevalsrc='if(lt(mod(t\\,${BEEP_EVERY / FPS})\\,0.03)\\,0.8*sin(2*PI*1000*t)\\,0)':s=48000:d=${seconds}`,
        '-vf', `${bandsAt(W, H)},format=yuv420p10le,geq=lum='if(lt(X\\,16)\\,${code}\\,lum(X\\,Y))':cb=512:cr=512`,
        '-frames:v', String(FRAMES), '-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'lossless=1:log-level=error:keyint=15',
        '-color_primaries', 'bt2020', '-color_trc', trc, '-colorspace', 'bt2020nc', '-tag:v', 'hvc1', '-c:a', 'aac', join(media, file),
      ]);
    }),
    // Audio-only files (the reference's beeps) and stills showing the number STILL.
    ffmpeg(['-i', ref, '-vn', '-c:a', 'copy', join(media, 'beeps.m4a')]),
    ffmpeg(['-i', ref, '-vn', '-c:a', 'libmp3lame', '-b:a', '128k', join(media, 'beeps.mp3')]),
    ffmpeg(['-i', ref, '-vn', '-c:a', 'flac', join(media, 'beeps.flac')]),
    ...['still.png', 'still.jpg'].map((file) =>
      ffmpeg(['-f', 'lavfi', '-i', `color=c=black:s=16x${BANDS}`, '-vf', `geq=lum='255*mod(floor(${STILL}/pow(2\\,Y))\\,2)':cb=128:cr=128,scale=${W}:${H}:flags=neighbor`, '-frames:v', '1', '-q:v', '2', join(media, file)]),
    ),
    // Frame k stamped vfrTicks(k) / 90 kHz as written (no frame-rate conversion); audio on real time.
    ffmpeg([
      '-f', 'lavfi', '-i', `color=c=black:s=16x${BANDS}:r=${FPS}:d=${VFR_FRAMES / FPS}`,
      '-f', 'lavfi', '-i', `aevalsrc='if(lt(mod(t\\,${BEEP_EVERY / FPS})\\,0.03)\\,0.8*sin(2*PI*1000*t)\\,0)':s=48000:d=${seconds}`,
      '-vf', `${bandsAt(W, H)},format=yuv420p,settb=1/90000,setpts='${VFR_TICKS_EXPR}'`,
      '-frames:v', String(VFR_FRAMES), '-fps_mode', 'passthrough', '-enc_time_base:v', '1/90000', '-video_track_timescale', '90000',
      '-c:v', 'libx264', '-preset', 'veryfast', '-qp', '0', '-bf', '2', '-g', '15', '-c:a', 'aac', join(media, 'vfr.mp4'),
    ]),
  ]);
  worker = await startWorker({
    redisUrl: TEST_REDIS_URL,
    storage,
    prefix,
    workerId: 'containers-worker',
    concurrency: 2,
    logger: pino({ level: 'silent' }),
    target: 'cpu',
    stallIntervalMs: 2000,
    heartbeatIntervalMs: 500,
    progressIntervalMs: 0,
    workRoot: dir,
  });
  producer = new BeeQueue(RENDER_QUEUES.normal, { prefix, redis: { url: TEST_REDIS_URL }, isWorker: false, getEvents: true, sendEvents: false });
  await producer.ready();
}, 120_000);

afterAll(async () => {
  await worker?.stop();
  await producer?.close();
  await rm(dir, { recursive: true, force: true });
});

async function clipSpec(v: Variant, sha: string): Promise<RenderSpec> {
  const s = frameIndexSpec({ key: `media/${v.file}`, sourceFrames: FRAMES - v.shift, width: W, height: H, hasAudio: true, clips: [{ sourceIn: IN, sourceOut: OUT }] });
  s.output.gop = 15;
  if (v.out) {
    s.output.width = v.out.w;
    s.output.height = v.out.h;
  }
  // The asset as the upload probe records it (displayed size, pixel aspect).
  const info = await probe(join(dir, 'storage', 'media', v.file));
  s.sources[0] = { ...s.sources[0]!, width: info.width, height: info.height, sar: info.sar, vfr: info.vfr, fps: info.fps, colorTransfer: info.colorTransfer, sha256: sha };
  return RenderSpec.parse(s);
}

async function renderChunked(spec: RenderSpec): Promise<string> {
  const renderId = randomUUID();
  const specKey = `renders/${renderId}/spec.json`;
  await mkdir(join(dir, 'storage', 'renders', renderId), { recursive: true });
  await writeFile(join(dir, 'storage', specKey), JSON.stringify(spec));
  const job = producer.createJob({ renderId, specKey, outputPrefix: `renders/${renderId}`, chunking: { chunkFrames: 15 } }).setId(renderId).retries(0);
  const value = await new Promise<unknown>((resolve, reject) => {
    job.on('succeeded', resolve);
    job.on('failed', (err) => reject(err));
    void job.save();
  });
  const result = RenderResult.parse(value);
  expect(result.encoder).toMatch(/\(4 chunks/);
  return join(dir, 'storage', result.outputKey);
}

/** Beep onsets (seconds) in the output's audio: the first loud sample after 100 ms of quiet. */
async function beepOnsets(path: string): Promise<number[]> {
  const pcm = await ffmpeg(['-i', path, '-map', '0:a:0', '-ac', '1', '-ar', '48000', '-f', 's16le', '-']);
  const samples = new Int16Array(pcm.buffer, pcm.byteOffset, Math.floor(pcm.length / 2));
  const onsets: number[] = [];
  let quiet = 4800;
  for (let i = 0; i < samples.length; i++) {
    if (Math.abs(samples[i]!) > 2500) {
      if (quiet >= 4800) onsets.push(i / 48000);
      quiet = 0;
    } else quiet++;
  }
  return onsets;
}

async function check(v: Variant, path: string, how: string): Promise<void> {
  const [w, h] = v.out ? [v.out.w, v.out.h] : [W, H];
  // Every render is SDR BT.709, 8-bit, tagged so (HDR sources tone-mapped), chunked ones too.
  expect(await videoColour(path), `${v.name} (${how}): output colour`).toMatchObject({ pix_fmt: 'yuv420p', color_space: 'bt709', color_transfer: 'bt709', color_primaries: 'bt709' });
  const frames = await decodeGrayFrames(path, w, h);
  const shown = frames.map((f) => (v.read ? readFrameIndexIn(f, w, v.read) : readFrameIndex(f, w, h)));
  const intended = Array.from({ length: OUT - IN }, (_, i) => (v.frameAt ? v.frameAt(IN + i) : IN + i + v.shift));
  expect(shown, `${v.name} (${how}): reference frames shown`).toEqual(intended);
  if (v.strip) {
    const grey = frames.map((f) => f.subarray((h >> 1) * w + 2, (h >> 1) * w + 14).reduce((a, b) => a + b, 0) / 12);
    for (const g of grey) expect(g, `${v.name} (${how}): tone-mapped strip`).toBeGreaterThanOrEqual(v.strip.min);
    for (const g of grey) expect(g, `${v.name} (${how}): tone-mapped strip`).toBeLessThanOrEqual(v.strip.max);
  }
  // A beep starts with every reference frame k*15: in the output, at the frame that shows it (plus
  // the file's own offset where its streams were delayed against each other).
  const end = (OUT - IN - 0.5) / FPS;
  const expected = Array.from({ length: FRAMES / BEEP_EVERY + 2 }, (_, k) => (k * BEEP_EVERY - IN - v.shift) / FPS + (v.av ?? 0)).filter((t) => t >= -0.5 / FPS && t < end);
  // A beep due right after the last frame can leak into AAC's final frame: only onsets inside the clip count.
  const onsets = (await beepOnsets(path)).filter((t) => t < end);
  expect(onsets.length, `${v.name} (${how}): beeps ${onsets.map((o) => o.toFixed(3)).join(' ')}`).toBe(expected.length);
  onsets.forEach((t, k) => expect(Math.abs(t - expected[k]!), `${v.name} (${how}): A/V offset of beep ${k}`).toBeLessThan(1 / FPS));
}

describe('real-world containers, sourceIn > 0, single and chunked', () => {
  it('the ingest probe records each file’s stream start offsets', async () => {
    const ts = await probe(join(dir, 'storage', 'media', 'remux.ts'));
    expect(ts.container).toBe('mpegts');
    const vd = await probe(join(dir, 'storage', 'media', 'vdelay.mkv'));
    expect(vd.videoStartUs).toBeGreaterThan(150_000);
    const ad = await probe(join(dir, 'storage', 'media', 'adelay.mkv'));
    expect(ad.audioStartUs - ad.videoStartUs).toBeGreaterThan(150_000);
    const noedit = await probe(join(dir, 'storage', 'media', 'noedit.mp4'));
    expect(noedit.videoStartUs).toBeGreaterThan(0);
    // Its first frame pinned at 0 skews the average rate; the rate is still the stream's 30 fps.
    expect(noedit.fps).toEqual({ num: 30, den: 1 });
    // Rotation (degrees clockwise) and the displayed size; pixel aspect.
    expect(await probe(join(dir, 'storage', 'media', 'rot90.mp4'))).toMatchObject({ rotation: 270, width: 96, height: 160 });
    expect(await probe(join(dir, 'storage', 'media', 'rot180.mp4'))).toMatchObject({ rotation: 180, width: W, height: H });
    expect(await probe(join(dir, 'storage', 'media', 'anamorphic.mp4'))).toMatchObject({ sar: { num: 2, den: 1 }, width: W, height: H });
    // VFR: flagged, counted on its nominal 30 fps grid from its first frame; every CFR file is not flagged.
    expect(await probe(join(dir, 'storage', 'media', 'vfr.mp4'))).toMatchObject({ vfr: true, fps: { num: 30, den: 1 }, videoStartUs: 0 });
    expect(await probe(join(dir, 'storage', 'media', 'hlg.mp4'))).toMatchObject({ colorTransfer: 'arib-std-b67', videoCodec: 'hevc' });
    expect(await probe(join(dir, 'storage', 'media', 'pq.mp4'))).toMatchObject({ colorTransfer: 'smpte2084', videoCodec: 'hevc' });
    for (const v of VARIANTS.filter((x) => !x.frameAt)) expect((await probe(join(dir, 'storage', 'media', v.file))).vfr, v.name).toBe(false);
  });

  for (const v of VARIANTS) {
    it(v.name, async () => {
      const spec = await clipSpec(v, randomUUID().replace(/-/g, '').padEnd(64, '0').slice(0, 64));
      const single = join(dir, `single-${v.file}.mp4`);
      await renderSpecToFile(spec, { storage, outPath: single, target: 'cpu', workDir: dir });
      await check(v, single, 'single');
      await check(v, await renderChunked(spec), 'chunked');
    });
  }
});

describe('audio-only and image sources, single and chunked', () => {
  /** The spec for one file: an audio clip [IN, OUT) on a black picture, or a still held OUT - IN frames. */
  async function sourceSpec(file: string): Promise<RenderSpec> {
    const info = await probe(join(dir, 'storage', 'media', file));
    const facts = { container: info.container, audioStartUs: info.audioStartUs, sha256: randomUUID().replace(/-/g, '').padEnd(64, '0').slice(0, 64) };
    const audio = info.kind === 'audio';
    const source = audio ? { ...audioSource('src', `media/${file}`, info.durationUs / 1e6), ...facts } : { ...imageSource('src', `media/${file}`, info.width, info.height), ...facts };
    const clip = audio
      ? audioClip({ id: 'a1c', sourceId: 'src', trackId: 'a1', start: 0, sourceIn: IN, sourceOut: OUT })
      : imageClip({ id: 'i1c', sourceId: 'src', trackId: 'v1', start: 0, duration: OUT - IN });
    const s = specOf({ width: W, height: H, durationFrames: OUT - IN, sources: [source], tracks: [track('v1'), track('a1', 'audio')], clips: [clip], gop: 15 });
    return RenderSpec.parse(s);
  }

  async function checkSource(file: string, path: string, how: string): Promise<void> {
    const frames = await decodeGrayFrames(path, W, H);
    const still = file.startsWith('still');
    expect(frames.map((f) => readFrameIndex(f, W, H)), `${file} (${how}): frames`).toEqual(Array.from({ length: OUT - IN }, () => (still ? STILL : 0)));
    const end = (OUT - IN - 0.5) / FPS;
    const onsets = (await beepOnsets(path)).filter((t) => t < end);
    const expected = still ? [] : Array.from({ length: FRAMES / BEEP_EVERY + 1 }, (_, k) => (k * BEEP_EVERY - IN) / FPS).filter((t) => t >= -0.5 / FPS && t < end);
    expect(onsets.length, `${file} (${how}): beeps ${onsets.map((o) => o.toFixed(3)).join(' ')}`).toBe(expected.length);
    onsets.forEach((t, k) => expect(Math.abs(t - expected[k]!), `${file} (${how}): beep ${k}`).toBeLessThan(1 / FPS));
  }

  for (const file of ['beeps.m4a', 'beeps.mp3', 'beeps.flac', 'still.png', 'still.jpg']) {
    it(file, async () => {
      const spec = await sourceSpec(file);
      const single = join(dir, `single-${file}.mp4`);
      await renderSpecToFile(spec, { storage, outPath: single, target: 'cpu', workDir: dir });
      await checkSource(file, single, 'single');
      await checkSource(file, await renderChunked(spec), 'chunked');
    });
  }
});
