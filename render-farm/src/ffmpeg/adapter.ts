/**
 * The one adapter over fluent-ffmpeg. fluent-ffmpeg is archived upstream, so nothing else in the
 * farm imports it: if it has to go, only this file changes.
 *
 * The argument list itself is built by the pure builder in @clipmaker/shared/render-spec; this file
 * only maps that FfmpegCommand onto a process, reports progress, aborts and explains failures.
 */
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ffmpeg from 'fluent-ffmpeg';
import { commandToArgs, FILTER_SCRIPT_THRESHOLD_BYTES, type FfmpegCommand } from '@clipmaker/shared/render-spec';
import { ingestProbeArgs, interpretIngestProbe, MediaProbeError, type IngestResult } from '@clipmaker/shared/media';
import { RenderAbortedError } from '../errors.ts';
import { isProgressLine, parseProgressLine, type FfmpegProgress } from './progress.ts';

export type { FfmpegProgress } from './progress.ts';
export type { IngestResult as MediaInfo } from '@clipmaker/shared/media';
export { MediaProbeError } from '@clipmaker/shared/media';

/** Linux refuses a single argv string over 128 KiB (MAX_ARG_STRLEN); stay well below it. */
export { FILTER_SCRIPT_THRESHOLD_BYTES };
/** ffmpeg stderr lines kept per run (progress lines excluded): stored with the job for the admin. */
export const STDERR_TAIL_LINES = 200;
const DEFAULT_KILL_GRACE_MS = 2000;

/** FFMPEG_PATH / FFPROBE_PATH win over PATH. */
export function ffmpegBinary(): string {
  return process.env.FFMPEG_PATH || 'ffmpeg';
}
export function ffprobeBinary(): string {
  return process.env.FFPROBE_PATH || 'ffprobe';
}

export interface RunOptions {
  onProgress?: (progress: FfmpegProgress) => void;
  signal?: AbortSignal;
  /** Frames the output will have; turns frame counts into percent and ETA. */
  durationFrames?: number | null;
  /** Where a long filter graph is written as a -filter_complex_script file (default: os.tmpdir()). */
  workDir?: string;
  /** Time between SIGTERM and SIGKILL on abort. */
  killGraceMs?: number;
}

export interface RunResult {
  /** The exact argument list ffmpeg was started with (binary excluded). */
  args: string[];
  wallMs: number;
  stderrTail: string[];
}

export class FfmpegError extends Error {
  override name = 'FfmpegError';
  constructor(
    message: string,
    readonly args: string[],
    readonly stderrTail: string[],
  ) {
    super(message);
  }
}

/**
 * What the adapter spawns for ffmpeg: ffmpeg-pdeathsig.sh (beside this file) where util-linux setpriv
 * can arm PR_SET_PDEATHSIG, so the kernel kills ffmpeg when the worker dies, kill -9 included;
 * plain ffmpeg elsewhere (the exit hook below and the work-folder sweep then cover what they can).
 * The argument list is the same either way.
 */
const PDEATHSIG_GUARD = fileURLToPath(new URL('./ffmpeg-pdeathsig.sh', import.meta.url));
let guardUsable: boolean | null = null;
export function ffmpegSpawnPath(): { path: string; parentDeathSignal: boolean } {
  if (guardUsable === null) {
    try {
      accessSync(PDEATHSIG_GUARD, constants.X_OK);
      guardUsable = spawnSync('setpriv', ['--pdeathsig', 'KILL', '--', 'true'], { stdio: 'ignore' }).status === 0;
    } catch {
      guardUsable = false;
    }
  }
  if (!guardUsable) return { path: ffmpegBinary(), parentDeathSignal: false };
  process.env.CLIPMAKER_FFMPEG_PARENT = String(process.pid);
  return { path: PDEATHSIG_GUARD, parentDeathSignal: true };
}

/**
 * ffmpeg processes still running. A child outlives its parent on Linux, so when the worker exits
 * (crash included; SIGKILL is the parent-death signal's job) they are killed with it.
 */
const liveProcesses = new Set<{ kill(signal: NodeJS.Signals): boolean }>();
let exitHookInstalled = false;
function trackProcess(proc: { kill(signal: NodeJS.Signals): boolean }): () => void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const p of liveProcesses) p.kill('SIGKILL');
    });
  }
  liveProcesses.add(proc);
  return () => liveProcesses.delete(proc);
}

/** The fluent-ffmpeg internals this file relies on (stable: the package is archived at 2.1.3). */
interface FluentInternals {
  _getArguments(): string[];
  ffmpegProc?: { kill(signal: NodeJS.Signals): boolean; exitCode: number | null };
}

/**
 * Runs one FfmpegCommand to completion. Rejects with FfmpegError (message ends with ffmpeg's own
 * last stderr lines) or RenderAbortedError when `signal` fires.
 */
export async function run(command: FfmpegCommand, options: RunOptions = {}): Promise<RunResult> {
  const { signal } = options;
  if (signal?.aborted) throw new RenderAbortedError();

  // The files the builder's graph reads (ASS scripts, per-layer command scripts, a long graph's
  // script), exactly as built.
  for (const f of command.files ?? []) await writeFile(f.path, f.contents);
  let scriptPath: string | null = null;
  let args: string[];
  if (command.args) {
    // Built by buildFfmpegCommand: its argv is what runs, to the byte.
    args = [...command.args];
  } else {
    // A hand-built command (stitch, poster): the same layout, progress on, a long graph as a script.
    const globalOptions = [...command.globalOptions];
    if (!globalOptions.includes('-stats')) globalOptions.push('-stats');
    let filterComplex = command.filterComplex;
    if (filterComplex.length > FILTER_SCRIPT_THRESHOLD_BYTES) {
      scriptPath = join(options.workDir ?? tmpdir(), `filter-${randomBytes(6).toString('hex')}.txt`);
      await writeFile(scriptPath, filterComplex);
      globalOptions.push('-filter_complex_script', scriptPath);
      filterComplex = '';
    }
    args = commandToArgs({ ...command, globalOptions, filterComplex });
  }

  // fluent-ffmpeg runs it: the command is described to it (its capability checks read the outputs),
  // then its argument builder is replaced by the exact list, so what it spawns is `args` and nothing
  // else (its own extra -y included).
  const cmd = ffmpeg();
  cmd.setFfmpegPath(ffmpegSpawnPath().path);
  for (const input of command.inputs) cmd.input(input.path).inputOptions(input.options);
  cmd.outputOptions(command.outputOptions).output(command.outputPath);
  (cmd as unknown as FluentInternals)._getArguments = () => args;

  const stderrTail: string[] = [];
  const started = performance.now();

  try {
    await new Promise<void>((resolve, reject) => {
      let aborted = false;
      let killTimer: NodeJS.Timeout | null = null;
      let untrack: (() => void) | null = null;
      const proc = () => (cmd as unknown as FluentInternals).ffmpegProc;

      const onAbort = () => {
        aborted = true;
        const p = proc();
        if (!p) return; // not spawned yet: 'start' kills it
        p.kill('SIGTERM');
        killTimer = setTimeout(() => proc()?.kill('SIGKILL'), options.killGraceMs ?? DEFAULT_KILL_GRACE_MS);
        killTimer.unref();
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const settle = (err: Error | null) => {
        untrack?.();
        signal?.removeEventListener('abort', onAbort);
        if (killTimer) clearTimeout(killTimer);
        if (aborted) reject(new RenderAbortedError());
        else if (err) reject(err);
        else resolve();
      };

      cmd.on('start', () => {
        const p = proc();
        if (p) untrack = trackProcess(p);
        if (aborted) p?.kill('SIGKILL');
      });
      cmd.on('stderr', (line: string) => {
        if (isProgressLine(line)) {
          const progress = parseProgressLine(line, options.durationFrames);
          if (progress) options.onProgress?.(progress);
          return;
        }
        if (line.trim() === '') return;
        stderrTail.push(line);
        if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
      });
      cmd.on('error', (err: Error) => {
        const exit = /ffmpeg (exited with code \d+|was killed with signal \w+)/.exec(err.message)?.[1];
        const reason = exit ? `ffmpeg ${exit}` : err.message;
        const tail = stderrTail.slice(-8).join('\n');
        settle(new FfmpegError(tail ? `${reason}: ${tail}` : reason, args, [...stderrTail]));
      });
      cmd.on('end', () => settle(null));
      cmd.run();
    });
  } finally {
    if (scriptPath) await rm(scriptPath, { force: true });
  }
  return { args, wallMs: Math.round(performance.now() - started), stderrTail };
}

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs a short, bounded ffmpeg/ffprobe invocation (version, capability probes, frame counts) and
 * returns its output whatever the exit code. Only spawn failures (binary missing) reject.
 */
export function execTool(binary: string, args: string[], opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    execFile(
      binary,
      args,
      { timeout: opts.timeoutMs ?? 20_000, killSignal: 'SIGKILL', maxBuffer: 64 * 1024 * 1024, signal: opts.signal, encoding: 'utf8' },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string; killed?: boolean }) | null;
        if (e?.name === 'AbortError') return reject(new RenderAbortedError());
        if (e && typeof e.code === 'string') return reject(new Error(`cannot run ${binary}: ${e.code === 'ENOENT' ? 'not found (set FFMPEG_PATH / FFPROBE_PATH or fix PATH)' : e.message}`));
        resolve({ code: e ? (typeof e.code === 'number' ? e.code : null) : 0, stdout, stderr });
      },
    );
  });
}

/**
 * Probes a media file with the ingest probe (ffprobe restricted to the file protocol and the
 * self-contained demuxers, `container` forced when known): the same rules the app applies at upload
 * (@clipmaker/shared/media, ingest.ts). Throws MediaProbeError naming the file for anything that is
 * not usable, self-contained media.
 */
export async function probe(path: string, opts: { signal?: AbortSignal; container?: string | null } = {}): Promise<IngestResult> {
  const res = await execTool(ffprobeBinary(), ingestProbeArgs(path, opts.container), { signal: opts.signal });
  try {
    return interpretIngestProbe(res.code, res.stdout, res.stderr);
  } catch (err) {
    if (err instanceof MediaProbeError) throw new MediaProbeError(`${basename(path)}: ${err.message}`);
    throw err;
  }
}
