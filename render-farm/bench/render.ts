/**
 * `pnpm bench:render`: the reference job (60 s 1080p30 source -> 1080x1920 keyframed crop + 20 cues
 * + logo) end to end through real workers and Redis, against one hand-written ffmpeg command that
 * does the same; then chunked with 2 and 4 workers; then a one-cue incremental re-render.
 * Prints one JSON object. Env: REDIS_URL, BENCH_DIR (default .data/bench, the source is cached there).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import BeeQueue from 'bee-queue';
import { pino } from 'pino';
import { RENDER_QUEUES } from '@clipmaker/shared/jobs';
import { DEFAULT_SUBTITLE_STYLE, keyframeExpr, RenderSpec } from '@clipmaker/shared/render-spec';
import { buildAss } from '@clipmaker/shared/subtitles';
import { probeCapabilities } from '../src/capabilities.ts';
import { bundledFontsDir } from '../src/render.ts';
import { LocalDiskStorage } from '../src/storage/index.ts';
import { startWorker, type RenderWorker } from '../src/worker.ts';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const dir = resolve(process.env.BENCH_DIR ?? '.data/bench');
const FPS = 30;
const FRAMES = 60 * FPS;

function ffmpeg(args: string[]): void {
  execFileSync('ffmpeg', ['-hide_banner', '-nostdin', '-v', 'error', '-y', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
}

async function fixtures(storageRoot: string): Promise<void> {
  await mkdir(join(storageRoot, 'media'), { recursive: true });
  const src = join(dir, 'ref-60s-1080p30.mp4');
  if (!existsSync(src))
    ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=1920x1080:rate=${FPS}:duration=60`, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000:duration=60', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p', '-g', '60', '-c:a', 'aac', '-b:a', '128k', '-shortest', src]);
  const logo = join(dir, 'logo.png');
  if (!existsSync(logo)) ffmpeg(['-f', 'lavfi', '-i', 'color=c=0xff8800@0.8:s=256x256,format=rgba', '-frames:v', '1', logo]);
  await copyFile(src, join(storageRoot, 'media', 'ref.mp4'));
  await copyFile(logo, join(storageRoot, 'media', 'logo.png'));
}

function referenceSpec(): RenderSpec {
  const cues = Array.from({ length: 20 }, (_, i) => ({ id: `cue${i}`, start: i * 90 + 5, end: i * 90 + 80, text: `Caption number ${i + 1}: the quick brown fox` }));
  return RenderSpec.parse({
    version: 1,
    output: { width: 1080, height: 1920, fps: { num: FPS, den: 1 }, durationFrames: FRAMES, video: { codec: 'h264', crf: 20, preset: 'veryfast' }, audio: { codec: 'aac', bitrateKbps: 128, sampleRate: 48000 }, gop: 60 },
    sources: [
      { id: 'ref', key: 'media/ref.mp4', kind: 'video', width: 1920, height: 1080, fps: { num: FPS, den: 1 }, durationFrames: FRAMES, durationUs: 60_000_000, hasAudio: true, sha256: 'f'.repeat(64) },
      { id: 'logo', key: 'media/logo.png', kind: 'image', width: 256, height: 256, fps: null, durationFrames: null, durationUs: 0, hasAudio: false, sha256: 'e'.repeat(64) },
    ],
    clips: [
      {
        id: 'clip',
        sourceId: 'ref',
        start: 0,
        sourceIn: 0,
        sourceOut: FRAMES,
        volume: 1,
        crop: [
          { frame: 0, x: 0, y: 0, w: 608, h: 1080 },
          { frame: 900, x: 1312, y: 0, w: 608, h: 1080 },
          { frame: 1799, x: 656, y: 0, w: 608, h: 1080 },
        ],
      },
    ],
    subtitles: { style: DEFAULT_SUBTITLE_STYLE, cues },
    overlays: [{ id: 'logo', kind: 'image', sourceId: 'logo', start: 0, end: FRAMES, x: 0.05, y: 0.03, w: 0.15, h: 0.084375, opacity: 1 }],
    music: null,
  });
}

/** The same render as one hand-written ffmpeg command (no builder), for the overhead comparison. */
async function handWritten(spec: RenderSpec, storageRoot: string): Promise<number> {
  const ass = join(dir, 'hand.ass');
  await writeFile(ass, buildAss(spec));
  const kf = spec.clips[0]!.crop;
  const x = keyframeExpr(kf, 'x', 'n', 0);
  const graph = [
    `[0:v]crop=w=608:h=1080:x='${x}':y=0:exact=1,scale=1080:1920:flags=bicubic,setsar=1,subtitles=filename=${ass}:fontsdir=${bundledFontsDir()}[v]`,
    `[1:v]format=rgba,scale=162:162[logo]`,
    `[v][logo]overlay=x=54:y=58:eof_action=repeat,format=yuv420p[out]`,
  ].join(';');
  const started = performance.now();
  ffmpeg([
    '-i', join(storageRoot, 'media', 'ref.mp4'), '-i', join(storageRoot, 'media', 'logo.png'),
    '-filter_complex', graph, '-map', '[out]', '-map', '0:a',
    '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-g', '60', '-keyint_min', '60', '-sc_threshold', '0', '-r', '30',
    '-c:a', 'aac', '-b:a', '128k', '-ar', '48000', '-ac', '2', '-frames:v', String(FRAMES), '-movflags', '+faststart', join(dir, 'hand.mp4'),
  ]);
  return performance.now() - started;
}

async function main(): Promise<void> {
  await mkdir(dir, { recursive: true });
  const storageRoot = join(dir, 'storage');
  await rm(storageRoot, { recursive: true, force: true });
  await fixtures(storageRoot);
  const storage = new LocalDiskStorage(storageRoot);
  const capabilities = await probeCapabilities();
  const prefix = `bench:render:${randomUUID().slice(0, 8)}`;
  const spec = referenceSpec();
  const logger = pino({ level: 'warn' });

  const producer = new BeeQueue(RENDER_QUEUES.normal, { prefix, redis: { url: REDIS_URL }, isWorker: false, getEvents: true, sendEvents: false });
  await producer.ready();
  let workers: RenderWorker[] = [];
  const useWorkers = async (n: number) => {
    await Promise.all(workers.map((w) => w.stop()));
    workers = [];
    for (let i = 0; i < n; i++)
      workers.push(await startWorker({ redisUrl: REDIS_URL, storage, prefix, workerId: `bench-${n}-${i}`, logger, capabilities, target: 'cpu', concurrency: 1, stallIntervalMs: 5000, workRoot: dir }));
  };
  const render = async (s: RenderSpec, chunkFrames: number | null): Promise<{ ms: number; encoder: string }> => {
    const renderId = randomUUID();
    const specKey = `renders/${renderId}/spec.json`;
    await mkdir(join(storageRoot, 'renders', renderId), { recursive: true });
    await writeFile(join(storageRoot, specKey), JSON.stringify(s));
    const started = performance.now();
    const job = producer.createJob({ renderId, specKey, outputPrefix: `renders/${renderId}`, chunking: chunkFrames ? { chunkFrames } : null }).setId(renderId).retries(0);
    const result = await new Promise<{ encoder: string }>((ok, fail) => {
      job.on('succeeded', (r: { encoder: string }) => ok(r));
      job.on('failed', (err) => fail(err));
      void job.save();
    });
    return { ms: performance.now() - started, encoder: result.encoder };
  };

  const handMs = await handWritten(spec, storageRoot);
  await useWorkers(1);
  const single = await render(spec, null);
  await useWorkers(2);
  await rm(join(storageRoot, 'chunks'), { recursive: true, force: true });
  const two = await render(spec, FRAMES / 2);
  await useWorkers(4);
  await rm(join(storageRoot, 'chunks'), { recursive: true, force: true });
  const four = await render(spec, FRAMES / 4);
  const edited = RenderSpec.parse({ ...spec, subtitles: { ...spec.subtitles, cues: spec.subtitles.cues.map((c, i) => (i === 7 ? { ...c, text: 'An edited caption' } : c)) } });
  const incremental = await render(edited, FRAMES / 4);
  await useWorkers(0);
  await producer.close();

  const round = (ms: number) => Math.round(ms) / 1000;
  console.log(
    JSON.stringify(
      {
        job: '60 s 1080p30 testsrc2 -> 1080x1920, 3-keyframe crop pan, 20 cues, logo overlay, x264 veryfast crf 20, aac',
        cpus: cpus().length,
        ffmpeg: capabilities.ffmpegVersion ?? null,
        handWrittenFfmpegSeconds: round(handMs),
        farmSingleJobSeconds: round(single.ms),
        farmVsHandRatio: Math.round((single.ms / handMs) * 1000) / 1000,
        chunked2WorkersSeconds: round(two.ms),
        chunked2Encoder: two.encoder,
        chunked4WorkersSeconds: round(four.ms),
        chunked4Encoder: four.encoder,
        incrementalOneCueSeconds: round(incremental.ms),
        incrementalEncoder: incremental.encoder,
      },
      null,
      2,
    ),
  );
  process.exit(0);
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
