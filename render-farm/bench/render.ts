/**
 * `pnpm bench:render`: the reference job (60 s at 1080x1920 from 1080p30 sources: two video tracks,
 * two dissolves, a 2x clip, 20 cues, a logo) end to end through real workers and Redis, against one
 * hand-written ffmpeg command that does the same (xfade dissolves, setpts speed-up, overlay), run
 * side by side; then chunked with 2 and 4 workers; then a one-cue incremental re-render; then the
 * tail (issue 14: ffmpeg's exit -> the `succeeded` event the app acts on, per step) over more single
 * renders of the reference job, on local disk and on S3 (the s3rver-backed test server).
 * Prints one JSON object. Env: REDIS_URL, BENCH_DIR (default .data/bench, the source is cached there),
 * BENCH_TAIL_RUNS (single renders per storage for the tail, default 3; the comparison's farm runs count
 * for local disk), BENCH_TAIL_STORAGES (default local,s3), BENCH_RENDER_TAIL_ONLY=1 (only the tail runs).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import BeeQueue from 'bee-queue';
import { pino } from 'pino';
import { RENDER_QUEUES, RenderResult } from '@clipmaker/shared/jobs';
import { s3ConfigFromEnv } from '@clipmaker/shared/storage';
import { DEFAULT_SUBTITLE_STYLE, RenderSpec } from '@clipmaker/shared/render-spec';
import { imageClip, track, videoClip } from '@clipmaker/shared/render-spec/fixtures';
import { buildAss } from '@clipmaker/shared/subtitles';
import { probeCapabilities } from '../src/capabilities.ts';
import { bundledFontsDir } from '../src/render.ts';
import { LocalDiskStorage, S3Storage, type Storage } from '../src/storage/index.ts';
import { startS3TestServer, type S3TestServer } from '../../tests/support/s3-process.ts';
import { startWorker, type RenderWorker } from '../src/worker.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const dir = resolve(process.env.BENCH_DIR ?? '.data/bench');
const FPS = 30;
const FRAMES = 60 * FPS;
const TAIL_RUNS = Math.max(1, Number(process.env.BENCH_TAIL_RUNS ?? 3));
const TAIL_STORAGES = (process.env.BENCH_TAIL_STORAGES ?? 'local,s3').split(',').filter((s) => s === 'local' || s === 's3');
const TAIL_ONLY = process.env.BENCH_RENDER_TAIL_ONLY === '1';

function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

async function fixtures(storageRoot: string): Promise<void> {
  await mkdir(join(storageRoot, 'media'), { recursive: true });
  const src = join(dir, 'ref-90s-1080p30.mp4');
  if (!existsSync(src))
    ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=${FPS}:duration=90`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=90', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', '-g', '60', '-c:a', 'aac', '-b:a', '128k', '-shortest', src]);
  const broll = join(dir, 'broll-10s-1080p30.mp4');
  if (!existsSync(broll))
    ffmpeg(['-f', 'lavfi', '-i', `mandelbrot=size=1920x1080:rate=${FPS}`, '-t', '10', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', '-g', '60', broll]);
  await copyFile(broll, join(storageRoot, 'media', 'broll.mp4'));
  const logo = join(dir, 'logo.png');
  if (!existsSync(logo)) ffmpeg(['-f', 'lavfi', '-i', 'color=c=0xff8800@0.8:s=256x256,format=rgba', '-frames:v', '1', logo]);
  await copyFile(src, join(storageRoot, 'media', 'ref.mp4'));
  await copyFile(logo, join(storageRoot, 'media', 'logo.png'));
}

/**
 * V1: A1 [0, 600) source 0.., a 30-frame dissolve into A2 [600, 1200) source 600.., a 30-frame
 * dissolve into A3 [1200, 1800) source 1200.. at 2x; V2: a full-frame B-roll cutaway [300, 450);
 * V3: the logo; 20 cues.
 */
function referenceSpec(): RenderSpec {
  const cues = Array.from({ length: 20 }, (_, i) => ({ id: `cue${i}`, start: i * 90 + 5, end: i * 90 + 80, text: `Caption number ${i + 1}: the quick brown fox` }));
  const dissolve = { kind: 'dissolve' as const, direction: 'left' as const, duration: 30 };
  return RenderSpec.parse({
    version: 2,
    output: { width: 1080, height: 1920, fps: { num: FPS, den: 1 }, durationFrames: FRAMES, video: { codec: 'h264', crf: 20, preset: 'veryfast' }, audio: { codec: 'aac', bitrateKbps: 128, sampleRate: 48000, loudness: null }, gop: 60 },
    sources: [
      { id: 'ref', key: 'media/ref.mp4', kind: 'video', width: 1920, height: 1080, fps: { num: FPS, den: 1 }, durationFrames: 90 * FPS, durationUs: 90_000_000, hasAudio: true, sha256: 'f'.repeat(64) },
      { id: 'broll', key: 'media/broll.mp4', kind: 'video', width: 1920, height: 1080, fps: { num: FPS, den: 1 }, durationFrames: 10 * FPS, durationUs: 10_000_000, hasAudio: false, sha256: 'd'.repeat(64) },
      { id: 'logo', key: 'media/logo.png', kind: 'image', width: 256, height: 256, fps: null, durationFrames: null, durationUs: 0, hasAudio: false, sha256: 'e'.repeat(64) },
    ],
    tracks: [track('v1'), track('v2'), track('v3')],
    clips: [
      videoClip({ id: 'a1', sourceId: 'ref', start: 0, sourceIn: 0, sourceOut: 600 }),
      videoClip({ id: 'a2', sourceId: 'ref', start: 600, sourceIn: 600, sourceOut: 1200, transition: dissolve }),
      videoClip({ id: 'a3', sourceId: 'ref', start: 1200, sourceIn: 1200, sourceOut: 2400, speed: { num: 2, den: 1 }, transition: dissolve }),
      videoClip({ id: 'b', sourceId: 'broll', trackId: 'v2', start: 300, sourceIn: 0, sourceOut: 150 }),
      imageClip({ id: 'logo', sourceId: 'logo', trackId: 'v3', start: 0, duration: FRAMES, transform: [{ frame: 0, easing: 'linear', x: 0.05, y: 0.03, scaleX: 0.15, scaleY: 0.15, rotation: 0, opacity: 1, anchorX: 0, anchorY: 0 }] }),
    ],
    subtitles: { style: DEFAULT_SUBTITLE_STYLE, cues },
  });
}

/**
 * The same render as one hand-written ffmpeg command (no builder), for the overhead comparison:
 * the three A-roll pieces seeked and cut with trim (each with the 15 frames its dissolves need), xfade for the
 * dissolves, setpts for the 2x piece, the B-roll and the logo overlaid, the subtitles burnt in; the
 * audio cut with atrim, crossfaded with acrossfade, sped up with atempo.
 */
async function handWritten(spec: RenderSpec, storageRoot: string): Promise<number> {
  const ass = join(dir, 'hand.ass');
  await writeFile(ass, buildAss(spec));
  const fonts = await bundledFontsDir();
  const crop = 'crop=w=608:h=1080:x=656:y=0:exact=1,scale=1080:1920:flags=bicubic,setsar=1,format=yuv420p';
  const graph = [
    `[0:v]trim=end_frame=615,setpts=PTS-STARTPTS,fps=${FPS},${crop}[a1]`,
    `[1:v]trim=end_frame=630,setpts=PTS-STARTPTS,fps=${FPS},${crop}[a2]`,
    `[2:v]trim=end_frame=1260,setpts=(PTS-STARTPTS)/2,fps=${FPS},${crop}[a3]`,
    `[a1][a2]xfade=transition=fade:duration=1:offset=19.5[x1]`,
    `[x1][a3]xfade=transition=fade:duration=1:offset=39.5,trim=end_frame=${FRAMES}[x2]`,
    `[3:v]trim=end_frame=150,setpts=PTS-STARTPTS+10/TB,scale=1080:1920:flags=bicubic,setsar=1,format=yuv420p[b]`,
    `[x2][b]overlay=x=0:y=0:eof_action=pass[x3]`,
    `[4:v]format=rgba,scale=162:162[logo]`,
    `[x3][logo]overlay=x=54:y=56:eof_action=repeat,subtitles=filename=${ass}:fontsdir=${fonts},format=yuv420p[out]`,
    `[0:a]atrim=end_sample=${48000 * 20.5},asetpts=PTS-STARTPTS[aa1]`,
    `[1:a]atrim=end_sample=${48000 * 21},asetpts=PTS-STARTPTS[aa2]`,
    `[2:a]atrim=end_sample=${48000 * 42},asetpts=PTS-STARTPTS,atempo=2[aa3]`,
    `[aa1][aa2]acrossfade=d=1[ax1]`,
    `[ax1][aa3]acrossfade=d=1,atrim=end_sample=${48000 * 60}[aout]`,
  ].join(';');
  const ref = join(storageRoot, 'media', 'ref.mp4');
  const started = performance.now();
  ffmpeg([
    '-i', ref, '-ss', '19.483333', '-i', ref, '-ss', '38.983333', '-i', ref, '-i', join(storageRoot, 'media', 'broll.mp4'), '-i', join(storageRoot, 'media', 'logo.png'),
    '-filter_complex', graph,
    '-map', '[out]', '-map', '[aout]',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-r', '30',
    '-c:a', 'aac', '-b:a', '128k', '-ar', '48000', '-ac', '2', '-movflags', '+faststart', join(dir, 'hand.mp4'),
  ]);
  return performance.now() - started;
}

interface TailRun {
  /** ffmpeg exit -> the `succeeded` event seen by a producer (what the app's queue listens to), ms. */
  tailMs: number;
  /** The worker's own part (RenderTail.totalMs): exit -> the result handed to the queue. */
  workerMs: number;
  /** The rest: the worker's job-folder sweep, the fenced finish script, the pub/sub delivery. */
  handoffMs: number;
  stagesMs: Record<string, number>;
}

/** p50 and max of each figure over the runs. */
function summariseTail(runs: TailRun[]) {
  const stat = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return { p50: s[Math.floor((s.length - 1) / 2)]!, max: s[s.length - 1]! };
  };
  const stages = [...new Set(runs.flatMap((r) => Object.keys(r.stagesMs)))];
  return {
    runs: runs.length,
    tailMs: stat(runs.map((r) => r.tailMs)),
    workerMs: stat(runs.map((r) => r.workerMs)),
    handoffMs: stat(runs.map((r) => r.handoffMs)),
    stagesMs: Object.fromEntries(stages.map((k) => [k, stat(runs.map((r) => r.stagesMs[k] ?? 0))])),
    each: runs,
  };
}

async function main(): Promise<void> {
  await mkdir(dir, { recursive: true });
  const storageRoot = join(dir, 'storage');
  await rm(storageRoot, { recursive: true, force: true });
  await fixtures(storageRoot);
  const local = new LocalDiskStorage(storageRoot);
  const capabilities = await probeCapabilities();
  const prefix = `bench:render:${randomUUID().slice(0, 8)}`;
  const spec = referenceSpec();
  const logger = pino({ level: 'warn' });

  const producer = new BeeQueue(RENDER_QUEUES.normal, { prefix, redis: { url: REDIS_URL }, isWorker: false, getEvents: true, sendEvents: false });
  await producer.ready();
  let workers: RenderWorker[] = [];
  let storage: Storage = local;
  const useWorkers = async (n: number, on: Storage = local) => {
    await Promise.all(workers.map((w) => w.stop()));
    workers = [];
    storage = on;
    for (let i = 0; i < n; i++)
      workers.push(await startWorker({ redisUrl: REDIS_URL, storage, prefix, workerId: `bench-${n}-${i}`, logger, capabilities, target: 'cpu', concurrency: 1, stallIntervalMs: 5000, workRoot: dir }));
  };
  const specFiles = await mkdtemp(join(dir, 'specs-'));
  const render = async (s: RenderSpec, chunkFrames: number | null): Promise<{ ms: number; encoder: string; tail: TailRun | null }> => {
    const renderId = randomUUID();
    const specKey = `renders/${renderId}/spec.json`;
    const specFile = join(specFiles, `${renderId}.json`);
    await writeFile(specFile, JSON.stringify(s));
    await storage.put(specKey, specFile, { contentType: 'application/json' });
    const started = performance.now();
    const job = producer.createJob({ renderId, specKey, outputPrefix: `renders/${renderId}`, chunking: chunkFrames ? { chunkFrames } : null }).setId(renderId).retries(0);
    const { result, seenAt } = await new Promise<{ result: RenderResult; seenAt: number }>((ok, fail) => {
      job.on('succeeded', (r: unknown) => ok({ result: RenderResult.parse(r), seenAt: Date.now() }));
      job.on('failed', (err) => fail(err));
      void job.save();
    });
    const t = result.tail;
    const tail = t ? { tailMs: seenAt - t.ffmpegExitedAt, workerMs: t.totalMs, handoffMs: seenAt - t.ffmpegExitedAt - t.totalMs, stagesMs: t.stagesMs } : null;
    return { ms: performance.now() - started, encoder: result.encoder, tail };
  };
  const tails: Record<string, TailRun[]> = Object.fromEntries(TAIL_STORAGES.map((k) => [k, []]));
  const round = (ms: number) => Math.round(ms) / 1000;
  const out: Record<string, unknown> = {
    job: '60 s 1080x1920 from 1080p30: V1 three clips with two 1 s dissolves (the last at 2x), V2 5 s full-frame B-roll cutaway, V3 logo, 20 cues, x264 veryfast crf 20, aac',
    cpus: cpus().length,
    ffmpeg: capabilities.ffmpegVersion ?? null,
  };

  if (!TAIL_ONLY) {
    // Side by side: hand-written, farm, hand-written, farm (the machine is shared; the ratio uses the means).
    await useWorkers(1);
    const handRuns: number[] = [];
    const farmRuns: number[] = [];
    let single = { ms: 0, encoder: '' };
    for (let i = 0; i < 2; i++) {
      handRuns.push(await handWritten(spec, storageRoot));
      const r = await render(spec, null);
      if (r.tail && tails.local) tails.local.push(r.tail);
      single = r;
      farmRuns.push(r.ms);
    }
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const handMs = mean(handRuns);
    single = { ...single, ms: mean(farmRuns) };
    await useWorkers(2);
    await rm(join(storageRoot, 'chunks'), { recursive: true, force: true });
    const two = await render(spec, FRAMES / 2);
    await useWorkers(4);
    await rm(join(storageRoot, 'chunks'), { recursive: true, force: true });
    const four = await render(spec, FRAMES / 4);
    const edited = RenderSpec.parse({ ...spec, subtitles: { ...spec.subtitles, cues: spec.subtitles.cues.map((c, i) => (i === 7 ? { ...c, text: 'An edited caption' } : c)) } });
    const incremental = await render(edited, FRAMES / 4);
    Object.assign(out, {
      handWrittenRunsSeconds: handRuns.map(round),
      farmRunsSeconds: farmRuns.map(round),
      handWrittenFfmpegSeconds: round(handMs),
      farmSingleJobSeconds: round(single.ms),
      farmVsHandRatio: Math.round((single.ms / handMs) * 1000) / 1000,
      chunked2WorkersSeconds: round(two.ms),
      chunked2Encoder: two.encoder,
      chunked4WorkersSeconds: round(four.ms),
      chunked4Encoder: four.encoder,
      incrementalOneCueSeconds: round(incremental.ms),
      incrementalEncoder: incremental.encoder,
      // The stitch's tail (verify, poster, upload of the stitched file) of the one-cue re-render.
      incrementalTail: incremental.tail,
    });
  }

  // The tail (issue 14 target: output ready within 2 s of ffmpeg exiting), single renders, 1 worker.
  let s3: S3TestServer | null = null;
  try {
    for (const kind of TAIL_STORAGES) {
      let on: Storage = local;
      if (kind === 's3') {
        s3 = await startS3TestServer();
        const s3Storage = new S3Storage({ ...s3ConfigFromEnv({ ...s3.env, S3_KEY_PREFIX: 'bench' })!, tempDir: dir });
        for (const key of ['media/ref.mp4', 'media/broll.mp4', 'media/logo.png']) await s3Storage.put(key, join(storageRoot, key));
        on = s3Storage;
      }
      await useWorkers(1, on);
      const runs = tails[kind]!;
      for (let i = 0; i < TAIL_RUNS; i++) {
        const r = await render(spec, null);
        if (r.tail) runs.push(r.tail);
      }
    }
  } finally {
    await useWorkers(0);
    await s3?.stop();
  }
  await producer.close();
  await rm(specFiles, { recursive: true, force: true });

  out.tail = {
    what: 'ffmpeg exit -> `succeeded` event at a producer (the app then sets the row succeeded: one UPDATE, logged by the app as render.succeeded readyAfterFfmpegMs); stages overlap (poster during the output upload)',
    targetMs: 2000,
    ...Object.fromEntries(Object.entries(tails).map(([k, runs]) => [k, runs.length ? summariseTail(runs) : null])),
  };
  console.log(JSON.stringify(out, null, 2));
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
