/**
 * RenderSpec -> MP4 on local disk. The worker and the CLI both call this; nothing here knows about
 * queues. Sources are resolved from their storage keys (never a raw path from the spec), the ffmpeg
 * command comes from the shared pure builder, the adapter runs it.
 */
import { copyFile, mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  buildFfmpegCommand,
  FfmpegBuildError,
  parseLoudnormJson,
  safeParseAnyRenderSpec,
  type FfmpegCommand,
  type LoudnessPass,
  type RenderSpec,
  type Source,
} from '@clipmaker/shared/render-spec';
import { fontFiles } from '@clipmaker/shared/fonts';
import type { Logger } from 'pino';
import { FfmpegError, MediaProbeError, probe, run, type FfmpegProgress, type MediaInfo } from './ffmpeg/adapter.ts';
import { PermanentError, RenderAbortedError } from './errors.ts';
import { StorageNotFoundError, type LocalFile, type Storage } from './storage/index.ts';
import { posterFrameIndex } from './poster.ts';
import type { RenderTarget } from './capabilities.ts';

export interface RenderStageProgress extends FfmpegProgress {
  stage: 'probing' | 'rendering';
}

export interface RenderSpecOptions {
  /** Resolves source keys; required unless resolveInput is given. */
  storage?: Storage;
  /** Custom source resolution (tests, remote caches); must return a local readable file. */
  resolveInput?: (source: Source) => Promise<LocalFile>;
  outPath: string;
  /** Default 'cpu'. */
  target?: RenderTarget;
  /** Overrides the builder's default encoder for the target (e.g. from the capability probe). */
  videoEncoder?: string;
  /** Re-render on CPU when a CUDA attempt fails (default true). */
  fallbackToCpu?: boolean;
  onProgress?: (progress: RenderStageProgress) => void;
  signal?: AbortSignal;
  /** Parent folder of the temporary work folder (default os.tmpdir()). */
  workDir?: string;
  fontsDir?: string;
  threads?: number;
  logger?: Logger;
  /** Called after every ffmpeg run that renders the output (success or failure), with what ran. */
  onFfmpegRun?: (run: FfmpegRunInfo) => void;
  /** Timeline frames [start, end) (a chunk); default the whole timeline. */
  range?: { start: number; end: number };
  /** 'none' for video chunks, 'only' for the once-rendered audio of a chunked render. */
  audio?: 'include' | 'none' | 'only';
  /** Also write the poster frame (posterFrameIndex) here as a PNG, tapped from the encode's graph. */
  posterFramePath?: string;
  /**
   * Runs once the output is encoded, while the output is probed (verify): the worker publishes the
   * output then. Its failure fails the render like a failed verify.
   */
  whileVerifying?: (encoded: { exited: FfmpegExit; posterFramePath: string | null; durationUs: number }) => Promise<void>;
}

/** What a job records per ffmpeg run (the worker adds render, job, attempt, worker and time). */
export type RunRecorder = (run: { kind: 'render' | 'video-chunk' | 'audio' | 'stitch'; chunkIndex: number | null } & FfmpegRunInfo) => void;

/** One ffmpeg run of renderSpecToFile, as it happened. */
export interface FfmpegRunInfo {
  /** The exact argv spawned: the builder's `args`. */
  args: string[];
  encoder: string;
  target: RenderTarget;
  ok: boolean;
  error: string | null;
  stderrTail: string[];
  /** probe (sources), loudness (measure pass), encode (this run), ms. */
  stagesMs: Record<string, number>;
}

export interface RenderOutcome {
  /** Per stage, ms: probe, loudness (when measured), encode, verify (ffprobe of the output). */
  stagesMs: Record<string, number>;
  stderrTail: string[];
  /** The exact ffmpeg argument list of the attempt that produced the output. */
  ffmpegArgs: string[];
  encoder: string;
  target: RenderTarget;
  /** Wall time of the whole render (probe + ffmpeg), ms. */
  durationMs: number;
  /** What ffprobe says about the output. */
  output: MediaInfo;
  /** True when a CUDA attempt failed and CPU produced the output. */
  fellBack: boolean;
  /** When the ffmpeg that produced the output exited: epoch ms and performance.now() (the tail's clock). */
  ffmpegExited: FfmpegExit;
  /** The poster frame the encode wrote (posterFramePath), or null when none was asked for or written. */
  posterFramePath: string | null;
}

export interface FfmpegExit {
  at: number;
  perf: number;
}

/** Absolute paths of every bundled font file (resolved from the shared package and its @fontsource dependencies). */
export function bundledFontPaths(): { name: string; path: string }[] {
  const sharedFonts = createRequire(import.meta.url).resolve('@clipmaker/shared/fonts');
  const fromShared = createRequire(sharedFonts);
  return fontFiles().map((f) => ({ name: f.name, path: f.specifier.startsWith('./') ? join(dirname(sharedFonts), f.specifier) : fromShared.resolve(f.specifier) }));
}

let fontsDirOnce: Promise<string> | null = null;

/**
 * One folder holding every bundled font (libass reads a whole folder), made once per process
 * under the temp dir from the files the packages ship, so subtitles and text match the preview.
 */
export function bundledFontsDir(): Promise<string> {
  fontsDirOnce ??= (async () => {
    const fonts = bundledFontPaths();
    const sizes = await Promise.all(fonts.map(async (f) => (await stat(f.path)).size));
    const dir = join(tmpdir(), `clipmaker-fonts-${sizes.reduce((a, b) => a + b, 0)}-${fonts.length}`);
    await mkdir(dir, { recursive: true });
    for (const f of fonts) {
      const target = join(dir, f.name);
      const have = await stat(target).catch(() => null);
      if (have?.size === (await stat(f.path)).size) continue;
      const partial = `${target}.${process.pid}.part`;
      await copyFile(f.path, partial);
      await rename(partial, target);
    }
    return dir;
  })();
  fontsDirOnce.catch(() => (fontsDirOnce = null));
  return fontsDirOnce;
}

/** Validates untrusted JSON (v1 or v2) as a RenderSpec; failures are permanent (retrying cannot fix them). */
export function parseRenderSpec(input: unknown): RenderSpec {
  const parsed = safeParseAnyRenderSpec(input);
  if (parsed.success) return parsed.data as RenderSpec;
  const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
  const more = parsed.error.issues.length > 5 ? ` (+${parsed.error.issues.length - 5} more)` : '';
  throw new PermanentError(`invalid render spec: ${issues.join('; ')}${more}`);
}

/** Sources the render actually reads: every clip's media (text clips have none). */
export function referencedSources(spec: RenderSpec): Source[] {
  const ids = new Set<string>(spec.clips.flatMap((c) => (c.kind === 'text' ? [] : [c.sourceId])));
  return spec.sources.filter((s) => ids.has(s.id));
}

/** The -c:v value of a built command. */
export function videoEncoderOf(command: FfmpegCommand): string | null {
  const opts = command.outputOptions;
  for (let i = 0; i < opts.length - 1; i++) {
    if (opts[i] === '-c:v' || opts[i] === '-codec:v' || opts[i] === '-vcodec') return opts[i + 1]!;
  }
  return null;
}

async function resolveSources(spec: RenderSpec, opts: RenderSpecOptions): Promise<Map<string, LocalFile>> {
  const resolve =
    opts.resolveInput ??
    (opts.storage ? (s: Source) => opts.storage!.localPath(s.key) : null);
  if (!resolve) throw new Error('renderSpecToFile needs storage or resolveInput');
  const files = new Map<string, LocalFile>();
  try {
    for (const source of referencedSources(spec)) {
      try {
        files.set(source.id, await resolve(source));
      } catch (err) {
        if (err instanceof StorageNotFoundError) throw new PermanentError(`source ${source.id} (${source.key}) is missing from storage`);
        throw err;
      }
    }
  } catch (err) {
    await Promise.all([...files.values()].map((f) => f.release()));
    throw err;
  }
  return files;
}

/**
 * Probes every referenced source with the ingest probe (its stored container forced when known) and
 * returns the spec with each source's container and stream starts as detected here: the builder
 * then opens every input with `-f <container>` and the file protocol only (shared/media/ingest.ts).
 */
async function checkSources(spec: RenderSpec, files: Map<string, LocalFile>, signal?: AbortSignal): Promise<RenderSpec> {
  const detected = new Map<string, Source>();
  await Promise.all(
    referencedSources(spec).map(async (source) => {
      let info: MediaInfo;
      try {
        info = await probe(files.get(source.id)!.path, { signal, container: source.container });
      } catch (err) {
        if (err instanceof MediaProbeError) throw new PermanentError(`source ${source.id} (${source.key}): ${err.message}`);
        throw err;
      }
      if (info.kind !== source.kind) throw new PermanentError(`source ${source.id} (${source.key}) is ${info.kind}, the spec says ${source.kind}`);
      detected.set(source.id, { ...source, container: info.container, videoStartUs: info.videoStartUs, audioStartUs: info.audioStartUs, sar: info.sar, vfr: info.vfr, colorTransfer: info.colorTransfer });
    }),
  );
  return { ...spec, sources: spec.sources.map((s) => detected.get(s.id) ?? s) };
}

export async function renderSpecToFile(specInput: unknown, opts: RenderSpecOptions): Promise<RenderOutcome> {
  const started = performance.now();
  let spec = parseRenderSpec(specInput);
  const log = opts.logger;
  if (opts.signal?.aborted) throw new RenderAbortedError();

  const work = await mkdtemp(join(opts.workDir ?? tmpdir(), 'clipmaker-render-'));
  let files = new Map<string, LocalFile>();
  try {
    opts.onProgress?.({ stage: 'probing', frame: 0, fps: null, percent: 0, etaSeconds: null });
    const stagesMs: Record<string, number> = {};
    const timed = async <T>(stage: string, fn: () => Promise<T>): Promise<T> => {
      const t0 = performance.now();
      try {
        return await fn();
      } finally {
        stagesMs[stage] = Math.round(performance.now() - t0);
      }
    };
    await timed('probe', async () => {
      files = await resolveSources(spec, opts);
      spec = await checkSources(spec, files, opts.signal);
    });

    const range = opts.range ?? { start: 0, end: spec.output.durationFrames };
    const frames = range.end - range.start;
    const inputs = Object.fromEntries([...files].map(([id, f]) => [id, f.path]));
    const fontsDir = opts.fontsDir ?? (await bundledFontsDir());
    const posterFrame = opts.posterFramePath && opts.audio !== 'only' ? { frame: posterFrameIndex(frames, spec.output.fps), path: opts.posterFramePath } : undefined;
    const build = (target: RenderTarget, videoEncoder: string | undefined, loudness: LoudnessPass | undefined, outputPath: string): FfmpegCommand => {
      try {
        return buildFfmpegCommand({ spec, target, inputs, workDir: work, fontsDir, outputPath, threads: opts.threads, videoEncoder, range, audio: opts.audio, loudness, posterFrame: loudness?.pass === 'measure' ? undefined : posterFrame });
      } catch (err) {
        // The builder is pure: what it refuses in this spec it will refuse on every attempt.
        if (err instanceof FfmpegBuildError) throw new PermanentError(`cannot build the ffmpeg command: ${err.message}`);
        throw err;
      }
    };
    const runCommand = (command: FfmpegCommand, progressFrames: number | null) =>
      run(command, { signal: opts.signal, durationFrames: progressFrames, workDir: work, onProgress: (p) => opts.onProgress?.({ stage: 'rendering', ...p }) });

    // Loudness, two-pass: measure the mix with loudnorm (audio only), then render with the measured
    // values (linear gain). Chunked renders do this in their audio job, which renders the whole mix.
    let loudness: LoudnessPass | undefined;
    if (spec.output.audio.loudness && opts.audio !== 'none') {
      const measured = await timed('loudness', () => runCommand(build('cpu', undefined, { pass: 'measure' }, '-'), null));
      const m = parseLoudnormJson(measured.stderrTail.join('\n'));
      if (!m) throw new Error('loudnorm printed no measurement');
      loudness = { pass: 'apply', measured: m };
      log?.info({ measured: m, target: spec.output.audio.loudness }, 'loudness measured');
    }

    const attempt = async (target: RenderTarget, videoEncoder: string | undefined) => {
      const command = build(target, videoEncoder, loudness, opts.outPath);
      const encoder = command.encoder ?? videoEncoderOf(command) ?? videoEncoder ?? 'unknown';
      log?.info({ target, encoder }, 'ffmpeg starting');
      const t0 = performance.now();
      const report = (ok: boolean, error: string | null, stderrTail: string[], args: string[]) =>
        opts.onFfmpegRun?.({ args, encoder, target, ok, error, stderrTail, stagesMs: { ...stagesMs, encode: Math.round(performance.now() - t0) } });
      try {
        const result = await runCommand(command, opts.audio === 'only' ? null : frames);
        const exited: FfmpegExit = { at: Date.now(), perf: performance.now() };
        stagesMs.encode = Math.round(exited.perf - t0);
        report(true, null, result.stderrTail, result.args);
        return { args: result.args, encoder, target, stderrTail: result.stderrTail, exited };
      } catch (err) {
        if (err instanceof FfmpegError) report(false, err.message, err.stderrTail, err.args);
        else if (err instanceof RenderAbortedError) report(false, 'aborted', [], command.args ?? []);
        throw err;
      }
    };

    const target = opts.target ?? 'cpu';
    let done: { args: string[]; encoder: string; target: RenderTarget; stderrTail: string[]; exited: FfmpegExit };
    let fellBack = false;
    try {
      done = await attempt(target, opts.videoEncoder);
    } catch (err) {
      if (target !== 'cuda' || opts.fallbackToCpu === false || err instanceof RenderAbortedError) throw err;
      log?.warn({ err }, 'cuda render failed, falling back to cpu');
      await rm(opts.outPath, { force: true });
      if (opts.posterFramePath) await rm(opts.posterFramePath, { force: true });
      fellBack = true;
      done = await attempt('cpu', undefined);
    }

    const posterFramePath = posterFrame && (await stat(posterFrame.path).catch(() => null))?.isFile() ? posterFrame.path : null;
    const durationUs = Math.round((frames * spec.output.fps.den * 1e6) / spec.output.fps.num);
    const [verified, alongside] = await Promise.allSettled([timed('verify', () => probe(opts.outPath, { signal: opts.signal })), opts.whileVerifying?.({ exited: done.exited, posterFramePath, durationUs })]);
    if (verified.status === 'rejected') throw verified.reason;
    if (alongside.status === 'rejected') throw alongside.reason;
    const output = verified.value;
    if (opts.audio !== 'only' && output.durationFrames !== frames) {
      log?.warn({ expected: frames, actual: output.durationFrames }, 'output frame count differs from the spec');
    }
    return { ffmpegArgs: done.args, encoder: done.encoder, target: done.target, durationMs: Math.round(performance.now() - started), output, fellBack, stagesMs, stderrTail: done.stderrTail, ffmpegExited: done.exited, posterFramePath };
  } catch (err) {
    await rm(opts.outPath, { force: true });
    throw err;
  } finally {
    await Promise.all([...files.values()].map((f) => f.release().catch(() => {})));
    await rm(work, { recursive: true, force: true });
  }
}
