/** Pieces every chain helper shares: labels, numbers, escaping, the graph being built. */
import type { Fps } from '../schema.ts';

export type RenderTarget = 'cpu' | 'cuda' | 'wasm';

export interface FfmpegInput {
  options: string[];
  path: string;
}

/** A file the command reads (an ASS script, a per-layer command script); the caller writes it first. */
export interface CommandFile {
  path: string;
  contents: string;
}

export class FfmpegBuildError extends Error {
  override name = 'FfmpegBuildError';
}

export const SAMPLE_RATE = 48000;
export const AUDIO_FORMAT = `aformat=sample_fmts=fltp:sample_rates=${SAMPLE_RATE}:channel_layouts=stereo`;

/**
 * Escapes a value for use as a filter option inside -filter_complex, as ffmpeg-filters' "Notes on
 * filtergraph escaping" describes: first the option level (backslash, quote, colon), then the graph
 * level (backslash, quote, brackets, comma, semicolon). Both levels trim unescaped whitespace at
 * the ends of a value, so leading and trailing whitespace is escaped at each level too.
 */
export function escapeFilterValue(value: string): string {
  return escapeLevel(escapeLevel(value, /[\\':]/), /[\\'[\],;]/);
}

function escapeLevel(value: string, special: RegExp): string {
  const chars = [...value];
  const lastInner = chars.findLastIndex((c) => !/\s/.test(c));
  const firstInner = chars.findIndex((c) => !/\s/.test(c));
  return chars
    .map((c, i) => {
      const atEdge = firstInner === -1 || i < firstInner || i > lastInner;
      return special.test(c) || (atEdge && /\s/.test(c)) ? `\\${c}` : c;
    })
    .join('');
}

/**
 * A path as an ffmpeg input/output argument: ffmpeg reads `name:rest` as a protocol, so a relative
 * path that looks like one is pinned to the file protocol.
 */
export function fileArg(path: string): string {
  if (path.length === 0 || /[\0\n\r]/.test(path)) throw new FfmpegBuildError('file paths must be non-empty, on one line');
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(path) ? `file:${path}` : path;
}

export function sameFps(a: Fps, b: Fps): boolean {
  return a.num * b.den === b.num * a.den;
}

export function rate(f: Fps): string {
  return `${f.num}/${f.den}`;
}

/** Seconds of `frames` frames (for ffmpeg options, microsecond precision by the caller). */
export function seconds(frames: number, f: Fps): number {
  return (frames * f.den) / f.num;
}

/** Samples at 48 kHz before timeline frame `frame`; segment lengths are differences of these edges. */
export function samplesAt(frame: number, fps: Fps): number {
  return Math.round((frame * SAMPLE_RATE * fps.den) / fps.num);
}

/** A number for a filter argument: integers as is, others to six decimals, never an exponent. */
export function num(v: number): string {
  if (Number.isInteger(v)) return String(v);
  const r = Math.round(v * 1e6) / 1e6;
  return r.toFixed(6).replace(/\.?0+$/, '') || '0';
}

/**
 * Stamps frame N (from 0) as frame `first + N` at `fps`, in a time base of exactly one frame (a
 * still's 1/25 or a file's own time base could not hold every frame time, and setpts rounds).
 */
export function framePts(first: number, fps: Fps): string {
  const n = first === 0 ? 'N' : first > 0 ? `N+${first}` : `N-${-first}`;
  return `settb=${fps.den}/${fps.num},setpts=${n}`;
}

/** The graph under construction: inputs, filter chains, the files they read, unique labels. */
export class Graph {
  readonly inputs: FfmpegInput[] = [];
  readonly chains: string[] = [];
  readonly files: CommandFile[] = [];
  private next = 0;

  constructor(
    private readonly paths: Record<string, string>,
    readonly workDir: string,
  ) {}

  /** A fresh label such as `l3`. */
  label(prefix: string): string {
    return `${prefix}${this.next++}`;
  }

  addInput(sourceId: string, options: string[]): number {
    const p = this.paths[sourceId];
    if (!p) throw new FfmpegBuildError(`no local file for source ${sourceId}`);
    return this.inputs.push({ options, path: fileArg(p) }) - 1;
  }

  /** `[in]f1,f2[out]` (an empty filter list passes through with `null`/`anull`). */
  chain(inputs: string[], filters: string[], output: string, audio = false): void {
    const body = filters.length > 0 ? filters.join(',') : audio ? 'anull' : 'null';
    this.chains.push(`${inputs.map((l) => `[${l}]`).join('')}${body}[${output}]`);
  }

  /** A file in the work folder; returns its path as ffmpeg sees it. */
  addFile(name: string, contents: string): string {
    const path = `${this.workDir.replace(/\/+$/, '')}/${name}`;
    this.files.push({ path, contents });
    return path;
  }
}
