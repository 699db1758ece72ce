/**
 * The pure ffmpeg command builder: RenderSpec (+ a timeline range) -> one ffmpeg invocation. The farm
 * (cpu, cuda) and the browser (ffmpeg.wasm) run exactly this, so what previews is what renders.
 *
 * Frame exactness:
 *  - each clip input seeks with `-ss` to half a frame BEFORE the wanted source frame, so rounding
 *    can never pick the neighbour; ffmpeg's accurate seek then delivers that frame first;
 *  - segments are cut by frame count (trim=end_frame) and audio by sample count (atrim=end_sample),
 *    never by floating durations; the output is capped with -frames:v.
 * Safety: the graph holds only numbers, our own labels and escaped file paths. User text reaches
 * ffmpeg only inside the ASS file (see subtitles/ass.ts).
 */
import { cropAt, defaultCrop, even, isConstantSize } from './crop.ts';
import type { Clip, CropKeyframe, Fps, RenderSpec, Source } from './schema.ts';
import { formatSeconds, sourceFramesToTimeline } from './time.ts';

export type RenderTarget = 'cpu' | 'cuda' | 'wasm';

export interface FfmpegInput {
  options: string[];
  path: string;
}

export interface FfmpegCommand {
  globalOptions: string[];
  inputs: FfmpegInput[];
  filterComplex: string;
  outputOptions: string[];
  outputPath: string;
}

export interface BuildCommandInput {
  spec: RenderSpec;
  target: RenderTarget;
  /** sourceId -> local file path, resolved by the caller from storage (never from the client). */
  inputs: Record<string, string>;
  /** The caller wrote buildAss(spec, { offsetFrames: range.start }) here; null: no burn-in. */
  assPath: string | null;
  /** Folder with the bundled font, handed to libass. */
  fontsDir: string;
  outputPath: string;
  /** Timeline frames [start, end); default the whole timeline. */
  range?: { start: number; end: number };
  /** 'only': the audio track alone (chunked renders render it once for the whole timeline). */
  audio?: 'include' | 'none' | 'only';
  /** Required for wasm (ffmpeg.wasm's core-mt needs an explicit thread count). */
  threads?: number;
  /** Default libx264; cuda may pass h264_nvenc when the capability probe opened it. */
  videoEncoder?: string;
}

export class FfmpegBuildError extends Error {
  override name = 'FfmpegBuildError';
}

const SAMPLE_RATE = 48000;
const AUDIO_FORMAT = `aformat=sample_fmts=fltp:sample_rates=${SAMPLE_RATE}:channel_layouts=stereo`;

/**
 * Escapes a value for use as a filter option inside -filter_complex: first the option level
 * (backslash, single quote and colon), then the graph level (backslash, quote, brackets, comma,
 * semicolon), as ffmpeg-filters' "Notes on filtergraph escaping" describes.
 */
export function escapeFilterValue(value: string): string {
  const optionLevel = value.replace(/[\\':]/g, (c) => `\\${c}`);
  return optionLevel.replace(/[\\'[\],;]/g, (c) => `\\${c}`);
}

function sameFps(a: Fps, b: Fps): boolean {
  return a.num * b.den === b.num * a.den;
}

function rate(f: Fps): string {
  return `${f.num}/${f.den}`;
}

/** Samples at 48 kHz for a number of frames, rounded; segment lengths are summed from frame edges. */
function samplesAt(frame: number, fps: Fps): number {
  return Math.round((frame * SAMPLE_RATE * fps.den) / fps.num);
}

/** A number for an ffmpeg expression: integers as is, others with enough digits and no exponent. */
function num(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return String(Math.round(v * 1e6) / 1e6);
}

/**
 * Expression reproducing cropAt()'s interpolation of one field for frame `N` (which is `frameVar`
 * plus the clip offset): hold before the first keyframe, a flat sum of linear segments, hold after.
 */
export function keyframeExpr(keyframes: readonly CropKeyframe[], field: 'x' | 'y' | 'w' | 'h', frameVar: string, offset: number): string {
  const values = keyframes.map((k) => even(k[field]));
  if (values.every((v) => v === values[0])) return String(values[0]);
  const N = offset === 0 ? frameVar : `(${frameVar}+${offset})`;
  const terms: string[] = [`lt(${N},${keyframes[0]!.frame})*${keyframes[0]![field]}`];
  for (let i = 0; i < keyframes.length - 1; i++) {
    const a = keyframes[i]!;
    const b = keyframes[i + 1]!;
    terms.push(`between(${N},${a.frame},${b.frame - 1})*(${a[field]}+(${b[field] - a[field]})*(${N}-${a.frame})/${b.frame - a.frame})`);
  }
  const last = keyframes[keyframes.length - 1]!;
  terms.push(`gte(${N},${last.frame})*${last[field]}`);
  return `2*floor((${terms.join('+')})/2)`;
}

interface ClipSegment {
  kind: 'clip';
  clip: Clip;
  source: Source;
  /** Timeline frames into the clip where this segment starts. */
  offset: number;
  length: number;
}

interface GapSegment {
  kind: 'gap';
  length: number;
}

type Segment = ClipSegment | GapSegment;

function clipLengthOf(clip: Clip, source: Source, fps: Fps): number {
  return source.fps ? sourceFramesToTimeline(clip.sourceOut - clip.sourceIn, source.fps, fps) : clip.sourceOut - clip.sourceIn;
}

/** Clips and gaps covering [start, end) exactly. */
export function planSegments(spec: RenderSpec, start: number, end: number): Segment[] {
  const sources = new Map(spec.sources.map((s) => [s.id, s]));
  const out: Segment[] = [];
  let cursor = start;
  for (const clip of spec.clips) {
    const source = sources.get(clip.sourceId)!;
    const cs = clip.start;
    const ce = cs + clipLengthOf(clip, source, spec.output.fps);
    if (ce <= cursor || cs >= end) continue;
    if (cs > cursor) {
      out.push({ kind: 'gap', length: cs - cursor });
      cursor = cs;
    }
    const segEnd = Math.min(ce, end);
    out.push({ kind: 'clip', clip, source, offset: cursor - cs, length: segEnd - cursor });
    cursor = segEnd;
  }
  if (cursor < end) out.push({ kind: 'gap', length: end - cursor });
  return out;
}

export function buildFfmpegCommand(i: BuildCommandInput): FfmpegCommand {
  const { spec, target } = i;
  const { width: W, height: H, fps } = spec.output;
  const range = i.range ?? { start: 0, end: spec.output.durationFrames };
  if (!(Number.isInteger(range.start) && Number.isInteger(range.end) && range.start >= 0 && range.end > range.start && range.end <= spec.output.durationFrames))
    throw new FfmpegBuildError(`invalid range ${range.start}..${range.end} for ${spec.output.durationFrames} frames`);
  if (target === 'wasm' && !(i.threads && i.threads > 0)) throw new FfmpegBuildError('the wasm target needs an explicit thread count');
  const withAudio = (i.audio ?? 'include') !== 'none';
  const withVideo = i.audio !== 'only';
  const totalFrames = range.end - range.start;

  const inputs: FfmpegInput[] = [];
  const graph: string[] = [];
  const pathOf = (sourceId: string): string => {
    const p = i.inputs[sourceId];
    if (!p) throw new FfmpegBuildError(`no local file for source ${sourceId}`);
    return p;
  };

  const segments = planSegments(spec, range.start, range.end);
  const pairs: string[] = [];
  segments.forEach((seg, k) => {
    const v = `v${k}`;
    const a = `a${k}`;
    const samples = samplesAt(range.start + sumLengths(segments, k + 1), fps) - samplesAt(range.start + sumLengths(segments, k), fps);
    if (seg.kind === 'gap') {
      if (withVideo) graph.push(`color=c=black:s=${W}x${H}:r=${rate(fps)},trim=end_frame=${seg.length},setsar=1,format=yuv420p[${v}]`);
      if (withAudio) graph.push(`anullsrc=r=${SAMPLE_RATE}:cl=stereo,${AUDIO_FORMAT},atrim=end_sample=${samples}[${a}]`);
    } else {
      const { clip, source, offset, length } = seg;
      const srcFps = source.fps ?? fps;
      // Time of the first wanted source frame, and the seek half a source frame before it.
      const t0 = clip.sourceIn * (srcFps.den / srcFps.num) + offset * (fps.den / fps.num);
      const half = srcFps.den / srcFps.num / 2;
      const seek = t0 - half > 0 ? t0 - half : 0;
      const options: string[] = [];
      if (target === 'cuda') options.push('-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda');
      if (seek > 0) options.push('-ss', formatSeconds(seek));
      options.push('-t', formatSeconds((length + 2) * (fps.den / fps.num) + 2 * half));
      const idx = inputs.push({ options, path: pathOf(source.id) }) - 1;

      const chain: string[] = [];
      if (target === 'cuda') chain.push('hwdownload', 'format=nv12');
      if (sameFps(srcFps, fps)) chain.push(`trim=end_frame=${length}`, 'setpts=PTS-STARTPTS');
      else chain.push('setpts=PTS-STARTPTS', `fps=${rate(fps)}`, `trim=end_frame=${length}`);
      chain.push(...cropFilters(clip.crop, offset, source, W, H), `scale=${W}:${H}:flags=bicubic`, 'setsar=1', 'format=yuv420p');
      if (withVideo) graph.push(`[${idx}:v]${chain.join(',')}[${v}]`);

      if (withAudio) {
        if (source.hasAudio) {
          const skip = t0 - seek; // audio starts at the seek point; the frame starts half a frame later
          const volume = clip.volume === 1 ? '' : `,volume=${num(clip.volume)}`;
          const skipSamples = Math.round(skip * SAMPLE_RATE);
          graph.push(`[${idx}:a]aresample=${SAMPLE_RATE},${AUDIO_FORMAT},atrim=start_sample=${skipSamples}:end_sample=${skipSamples + samples},asetpts=PTS-STARTPTS${volume}[${a}]`);
        } else {
          graph.push(`anullsrc=r=${SAMPLE_RATE}:cl=stereo,${AUDIO_FORMAT},atrim=end_sample=${samples}[${a}]`);
        }
      }
    }
    pairs.push(`${withVideo ? `[${v}]` : ''}${withAudio ? `[${a}]` : ''}`);
  });
  graph.push(`${pairs.join('')}concat=n=${segments.length}:v=${withVideo ? 1 : 0}:a=${withAudio ? 1 : 0}${withVideo ? '[vcat]' : ''}${withAudio ? '[acat]' : ''}`);

  let video = 'vcat';
  if (i.assPath && withVideo) {
    graph.push(`[${video}]subtitles=filename=${escapeFilterValue(i.assPath)}:fontsdir=${escapeFilterValue(i.fontsDir)}[vsub]`);
    video = 'vsub';
  }
  spec.overlays.forEach((o, k) => {
    if (!withVideo || o.kind !== 'image' || o.end <= range.start || o.start >= range.end) return;
    const idx = inputs.push({ options: [], path: pathOf(o.sourceId) }) - 1;
    const ow = Math.max(2, even(Math.round(o.w * W)));
    const oh = Math.max(2, even(Math.round(o.h * H)));
    const alpha = o.opacity === 1 ? '' : `,colorchannelmixer=aa=${num(o.opacity)}`;
    graph.push(`[${idx}:v]format=rgba,scale=${ow}:${oh}${alpha}[ov${k}]`);
    const from = Math.max(0, o.start - range.start);
    const to = Math.min(range.end, o.end) - range.start - 1;
    graph.push(`[${video}][ov${k}]overlay=x=${Math.round(o.x * W)}:y=${Math.round(o.y * H)}:enable='between(n,${from},${to})':eof_action=repeat,format=yuv420p[vo${k}]`);
    video = `vo${k}`;
  });

  let audio = 'acat';
  if (withAudio && spec.music && spec.music.start < range.end) {
    const music = spec.music;
    const into = Math.max(0, range.start - music.start) * (fps.den / fps.num);
    const delayMs = Math.round((Math.max(0, music.start - range.start) * 1000 * fps.den) / fps.num);
    const options = into > 0 ? ['-ss', formatSeconds(into)] : [];
    const idx = inputs.push({ options, path: pathOf(music.sourceId) }) - 1;
    const delay = delayMs > 0 ? `,adelay=${delayMs}|${delayMs}` : '';
    graph.push(`[${idx}:a]aresample=${SAMPLE_RATE},${AUDIO_FORMAT},volume=${num(music.volume)}${delay},apad,atrim=end_sample=${samplesAt(range.end, fps) - samplesAt(range.start, fps)}[mus]`);
    graph.push(`[acat][mus]amix=inputs=2:duration=first:dropout_transition=0:normalize=0[amix]`);
    audio = 'amix';
  }

  const out: string[] = withVideo ? ['-map', `[${video}]`] : [];
  if (withAudio) out.push('-map', `[${audio}]`);
  const encoder = i.videoEncoder ?? 'libx264';
  const { crf, preset } = spec.output.video;
  if (!withVideo) out.push('-vn');
  else if (encoder.endsWith('_nvenc')) out.push('-c:v', encoder, '-preset', 'p4', '-rc', 'vbr', '-cq', String(crf), '-b:v', '0');
  else out.push('-c:v', encoder, '-preset', target === 'wasm' ? 'ultrafast' : preset, '-crf', String(crf));
  if (withVideo) out.push('-pix_fmt', 'yuv420p', '-g', String(spec.output.gop), '-keyint_min', String(spec.output.gop), '-sc_threshold', '0', '-r', rate(fps));
  if (withAudio) out.push('-c:a', 'aac', '-b:a', `${spec.output.audio.bitrateKbps}k`, '-ar', String(SAMPLE_RATE), '-ac', '2');
  if (target === 'wasm') out.push('-threads', String(i.threads));
  out.push('-movflags', '+faststart');

  return { globalOptions: ['-hide_banner', '-nostdin', '-y'], inputs, filterComplex: graph.join(';'), outputOptions: out, outputPath: i.outputPath };
}

function sumLengths(segments: Segment[], count: number): number {
  let s = 0;
  for (let k = 0; k < count; k++) s += segments[k]!.length;
  return s;
}

/** crop (pan, constant size) or perspective (size changes) reproducing cropAt() per frame. */
function cropFilters(keyframes: readonly CropKeyframe[], offset: number, source: Source, W: number, H: number): string[] {
  if (keyframes.length === 0) {
    const r = defaultCrop(source.width, source.height, W, H);
    return [`crop=${r.w}:${r.h}:${r.x}:${r.y}`];
  }
  if (keyframes.length === 1 || isConstantSize(keyframes)) {
    const r = cropAt(keyframes, offset, source.width, source.height, W, H);
    return [`crop=w=${r.w}:h=${r.h}:x='${keyframeExpr(keyframes, 'x', 'n', offset)}':y='${keyframeExpr(keyframes, 'y', 'n', offset)}':exact=1`];
  }
  const x = keyframeExpr(keyframes, 'x', 'in', offset);
  const y = keyframeExpr(keyframes, 'y', 'in', offset);
  const w = keyframeExpr(keyframes, 'w', 'in', offset);
  const h = keyframeExpr(keyframes, 'h', 'in', offset);
  const x1 = `(${x})+(${w})`;
  const y1 = `(${y})+(${h})`;
  return [`perspective=x0='${x}':y0='${y}':x1='${x1}':y1='${y}':x2='${x}':y2='${y1}':x3='${x1}':y3='${y1}':sense=source:eval=frame`];
}

export function commandToArgs(c: FfmpegCommand): string[] {
  const args = [...c.globalOptions];
  for (const input of c.inputs) args.push(...input.options, '-i', input.path);
  args.push('-filter_complex', c.filterComplex, ...c.outputOptions, c.outputPath);
  return args;
}
