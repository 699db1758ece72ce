/**
 * ffmpeg.wasm in the browser (its own worker; the core files are Vite assets: self-hosted, content-hashed
 * under /_app/immutable/assets/ so they are cached for a year and precompressed with the rest): probes uploads before they are sent, makes filmstrips and waveforms, and renders a
 * quick preview of a timeline range with the SAME argument builder as the farm (target 'wasm').
 * Single-threaded core by default; the multi-threaded one (needs COOP/COEP) on opt-in, see wasmThreads().
 * One command at a time: calls are queued.
 */
import { FFmpeg } from '@ffmpeg/ffmpeg';
import ffmpegWorkerUrl from '@ffmpeg/ffmpeg/worker?worker&url';
import stCoreUrl from '@ffmpeg/core?url';
import stWasmUrl from '@ffmpeg/core/wasm?url';
import mtCoreUrl from '@ffmpeg/core-mt?url';
import mtWasmUrl from '@ffmpeg/core-mt/wasm?url';
import mtWorkerUrl from '@ffmpeg/core-mt/worker?url';
import { buildFfmpegCommand, commandToArgs, type RenderSpec } from '@clipmaker/shared/render-spec';
import { INGEST_DEMUXERS, inputOptionsFor, PROTOCOL_WHITELIST } from '@clipmaker/shared/media';
import { FONT_FILES } from './fonts';

let loaded: Promise<FFmpeg> | null = null;
/** Set when the multi-threaded core crashed (seen intermittently in libass under core-mt): use the single-threaded one from then on. */
let singleThreadOnly = false;
let queue: Promise<unknown> = Promise.resolve();
const written = new Set<string>();

/** `localStorage.clipmakerFfmpegDebug = '1'` echoes ffmpeg's log to the console. */
function debug(): boolean {
  try {
    return localStorage.getItem('clipmakerFfmpegDebug') === '1';
  } catch {
    return false;
  }
}

/**
 * Single-threaded core by default: core-mt 0.12.10 works here (COOP/COEP, blob workers) but crashed
 * intermittently inside libass ("memory access out of bounds") in headless Chromium, and the preview
 * must be reliable. `localStorage.clipmakerFfmpegCore = 'mt'` opts in to threads.
 */
export function wasmThreads(): number {
  let forced: string | null = null;
  try {
    forced = localStorage.getItem('clipmakerFfmpegCore');
  } catch {}
  if (forced !== 'mt' || singleThreadOnly || typeof crossOriginIsolated === 'undefined' || !crossOriginIsolated) return 1;
  return Math.max(1, Math.min(4, navigator.hardwareConcurrency || 2));
}

function abs(p: string): string {
  return new URL(p, location.href).href;
}

/**
 * A same-origin script as a blob: URL. Under COEP require-corp a worker's own script response must
 * carry COEP too, and static files are served without our headers; a blob: worker inherits the
 * page's policy instead (CSP worker-src allows blob:).
 */
async function blobUrlOf(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`could not load ${url} (${res.status})`);
  return URL.createObjectURL(new Blob([await res.text()], { type: 'text/javascript' }));
}

export function getFfmpeg(): Promise<FFmpeg> {
  loaded ??= (async () => {
    const ff = new FFmpeg();
    if (debug()) ff.on('log', ({ message }) => console.debug(`[ffmpeg.wasm] ${message}`));
    const mt = wasmThreads() > 1;
    if (debug()) console.debug(`[ffmpeg.wasm] loading ${mt ? 'core-mt' : 'core'}`);
    await ff.load({
      classWorkerURL: await blobUrlOf(ffmpegWorkerUrl),
      coreURL: abs(mt ? mtCoreUrl : stCoreUrl),
      wasmURL: abs(mt ? mtWasmUrl : stWasmUrl),
      ...(mt ? { workerURL: await blobUrlOf(abs(mtWorkerUrl)) } : {}),
    });
    if (debug()) console.debug('[ffmpeg.wasm] loaded');
    await ff.createDir('/fonts').catch(() => {});
    await ff.createDir('/src').catch(() => {});
    await ff.createDir('/work').catch(() => {});
    return ff;
  })();
  loaded.catch(() => (loaded = null));
  return loaded;
}

/** Runs `fn` with the loaded ffmpeg once every earlier call finished. */
function exclusive<T>(fn: (ff: FFmpeg) => Promise<T>): Promise<T> {
  const run = queue.then(async () => fn(await getFfmpeg()));
  queue = run.catch(() => {});
  return run;
}

/**
 * ffmpeg.wasm keeps ffmpeg's C globals from one run to the next, so a core that has run many jobs
 * can fail one that a fresh core runs (seen: a rotated source's filter graph that would not
 * re-initialise after a dozen filmstrips). Runs `once`; if ffmpeg failed or stopped, retires the
 * core and runs it once more on a fresh one.
 */
async function onFreshCoreIfFailed<T>(once: () => Promise<T>): Promise<T> {
  try {
    return await once();
  } catch (err) {
    if (!(err instanceof Error && /^ffmpeg\.wasm (failed|stopped)/.test(err.message))) throw err;
    await exclusive(async (ff) => {
      ff.terminate();
      loaded = null;
      written.clear();
    }).catch(() => {});
    return once();
  }
}

/** exec with its log captured; throws with the log tail when ffmpeg fails. */
async function run(ff: FFmpeg, args: string[], allowFail = false, timeoutMs = 120_000): Promise<string> {
  const lines: string[] = [];
  const onLog = ({ message }: { message: string }) => lines.push(message);
  ff.on('log', onLog);
  try {
    if (debug()) console.debug(`[ffmpeg.wasm] exec ${JSON.stringify(args)}`);
    let code: number;
    try {
      // exec's own timeout cannot fire if the core deadlocks: race it too.
      let timer: ReturnType<typeof setTimeout> | undefined;
      code = await Promise.race([
        ff.exec(args, timeoutMs),
        new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer in ${timeoutMs + 5000} ms`)), timeoutMs + 5000))),
      ]).finally(() => clearTimeout(timer));
    } catch (err) {
      // A timed-out or crashed core is unusable: start a fresh one next time.
      ff.terminate();
      loaded = null;
      written.clear();
      singleThreadOnly = true;
      throw new Error(`ffmpeg.wasm stopped: ${err instanceof Error ? err.message : String(err)}; ${lines.slice(-4).join(' | ')}`);
    }
    if (code !== 0 && !allowFail) throw new Error(`ffmpeg.wasm failed (${code}): ${lines.slice(-8).join('\n')}`);
    return lines.join('\n');
  } finally {
    ff.off('log', onLog);
  }
}

export interface WasmProbe {
  durationSeconds: number;
  width: number;
  height: number;
  fps: number | null;
  hasVideo: boolean;
  hasAudio: boolean;
}

/** Parses `ffmpeg -i` output (the stream summary on stderr). */
export function parseProbeLog(log: string): WasmProbe | null {
  const d = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(log);
  const v = /Stream #\d+:\d+.*?: Video: .*?(\d{2,5})x(\d{2,5})/.exec(log);
  const fps = /Stream #\d+:\d+.*?: Video: .*?([\d.]+) fps/.exec(log);
  const a = /Stream #\d+:\d+.*?: Audio: /.test(log);
  if (!d && !v && !a) return null;
  return {
    durationSeconds: d ? Number(d[1]) * 3600 + Number(d[2]) * 60 + Number(d[3]) : 0,
    width: v ? Number(v[1]) : 0,
    height: v ? Number(v[2]) : 0,
    fps: fps ? Number(fps[1]) : null,
    hasVideo: !!v,
    hasAudio: a,
  };
}

/** Probes a local File without copying it (WORKERFS mount); null when ffmpeg sees no media. */
export function probeFile(file: File): Promise<WasmProbe | null> {
  return exclusive(async (ff) => {
    const dir = `/probe-${Math.random().toString(36).slice(2)}`;
    await ff.createDir(dir);
    await ff.mount('WORKERFS' as never, { files: [file] }, dir);
    try {
      // The server's ingest probe decides; this early look at the user's own file is restricted the
      // same way (file protocol, self-contained demuxers), plus image2 because a photo keeps its
      // .jpg name here (the server probes an extension-less copy and never accepts image2).
      const formats = [...INGEST_DEMUXERS, 'image2'].join(',');
      return parseProbeLog(await run(ff, ['-hide_banner', '-protocol_whitelist', PROTOCOL_WHITELIST, '-format_whitelist', formats, '-i', `file:${dir}/${file.name}`], true));
    } finally {
      await ff.unmount(dir).catch(() => {});
      await ff.deleteDir(dir).catch(() => {});
    }
  });
}

async function ensureSource(ff: FFmpeg, sourceId: string): Promise<string> {
  const p = `/src/${sourceId}`;
  if (written.has(p)) return p;
  const res = await fetch(`/api/assets/${sourceId}/file`);
  if (!res.ok) throw new Error(`could not load media ${sourceId} (${res.status})`);
  await ff.writeFile(p, new Uint8Array(await res.arrayBuffer()));
  written.add(p);
  return p;
}

async function ensureFonts(ff: FFmpeg): Promise<void> {
  for (const f of FONT_FILES) {
    const p = `/fonts/${f.name}`;
    if (written.has(p)) continue;
    const res = await fetch(f.url);
    await ff.writeFile(p, new Uint8Array(await res.arrayBuffer()));
    written.add(p);
  }
}

/** A strip of `count` thumbnails (one JPEG, tiled left to right), `height` px high. */
export function filmstrip(sourceId: string, durationSeconds: number, count = 10, height = 48, container: string | null = null): Promise<Blob> {
  return onFreshCoreIfFailed(() => exclusive(async (ff) => {
    const input = await ensureSource(ff, sourceId);
    const out = `/work/strip-${sourceId}.jpg`;
    const rate = count / Math.max(durationSeconds, 0.1);
    // Long clips decode key frames only (cheap; each tile shows the latest key frame); short ones every frame.
    const skip = durationSeconds > 20 ? ['-skip_frame', 'nokey'] : [];
    await run(ff, ['-hide_banner', ...skip, ...inputOptionsFor(container), '-i', `file:${input}`, '-vf', `fps=${rate.toFixed(6)},scale=-2:${height},tile=${count}x1`, '-frames:v', '1', '-q:v', '5', '-y', out]);
    const data = (await ff.readFile(out)) as Uint8Array;
    await ff.deleteFile(out).catch(() => {});
    return new Blob([data as BlobPart], { type: 'image/jpeg' });
  }));
}

/** Peak amplitude (0..1) per bucket of 1/`perSecond` s, mono. */
export function waveform(sourceId: string, perSecond = 50, container: string | null = null): Promise<Float32Array> {
  return onFreshCoreIfFailed(() => exclusive(async (ff) => {
    const input = await ensureSource(ff, sourceId);
    const out = `/work/wave-${sourceId}.raw`;
    const rate = 8000;
    await run(ff, ['-hide_banner', ...inputOptionsFor(container), '-i', `file:${input}`, '-vn', '-ac', '1', '-ar', String(rate), '-f', 'f32le', '-c:a', 'pcm_f32le', '-y', out]);
    const bytes = (await ff.readFile(out)) as Uint8Array;
    await ff.deleteFile(out).catch(() => {});
    // readFile's view may start at any byte: copy to an aligned buffer first.
    const aligned = bytes.slice(0, bytes.byteLength - (bytes.byteLength % 4));
    const samples = new Float32Array(aligned.buffer, 0, aligned.byteLength / 4);
    return peaks(samples, Math.round(rate / perSecond));
  }));
}

export function peaks(samples: Float32Array, bucket: number): Float32Array {
  const n = Math.ceil(samples.length / bucket);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let m = 0;
    const end = Math.min(samples.length, (i + 1) * bucket);
    for (let j = i * bucket; j < end; j++) {
      const v = Math.abs(samples[j]!);
      if (v > m) m = v;
    }
    out[i] = Math.min(1, m);
  }
  return out;
}

/**
 * Renders timeline frames [start, end) of `spec` exactly as the farm would (same builder, wasm
 * target, same scripts, same fonts) and returns the MP4 bytes. Loudness normalisation runs in
 * one pass here (a preview); the farm measures first (two-pass).
 */
export function renderRange(spec: RenderSpec, range: { start: number; end: number }, opts: { audio?: boolean; onProgress?: (p: number) => void } = {}): Promise<Uint8Array> {
  // A crashed or worn core is replaced (single-threaded from a crash on): one more try.
  return onFreshCoreIfFailed(() => renderRangeOnce(spec, range, opts));
}

function renderRangeOnce(spec: RenderSpec, range: { start: number; end: number }, opts: { audio?: boolean; onProgress?: (p: number) => void }): Promise<Uint8Array> {
  return exclusive(async (ff) => {
    const inputs: Record<string, string> = {};
    for (const s of spec.sources) inputs[s.id] = await ensureSource(ff, s.id);
    await ensureFonts(ff);
    const out = '/work/preview.mp4';
    const cmd = buildFfmpegCommand({ spec, target: 'wasm', threads: wasmThreads(), inputs, workDir: '/work', fontsDir: '/fonts', outputPath: out, range, audio: opts.audio === false ? 'none' : 'include' });
    // The same files the farm writes (subtitle and text-layer scripts, per-layer command scripts).
    for (const f of cmd.files ?? []) await ff.writeFile(f.path, new TextEncoder().encode(f.contents));
    const onProgress = ({ progress }: { progress: number }) => opts.onProgress?.(progress);
    ff.on('progress', onProgress);
    try {
      await run(ff, commandToArgs(cmd));
    } finally {
      ff.off('progress', onProgress);
    }
    const data = (await ff.readFile(out)) as Uint8Array;
    await ff.deleteFile(out).catch(() => {});
    return data;
  });
}
