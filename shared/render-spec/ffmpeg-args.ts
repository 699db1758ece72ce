/**
 * The pure ffmpeg command builder: RenderSpec (+ a timeline range) -> one ffmpeg invocation. The farm
 * (cpu, cuda) and the browser (ffmpeg.wasm) run exactly this, so what previews is what renders.
 *
 * Frame exactness:
 *  - each clip input seeks with `-ss` to half a source frame BEFORE the first wanted source frame,
 *    so rounding can never pick a neighbour; ffmpeg's accurate seek then delivers that frame first;
 *  - segments are cut by frame count (trim=end_frame) and audio by sample count (atrim=end_sample),
 *    never by floating durations, and the output is capped with -frames:v;
 *  - when the source fps differs from the output fps, each source frame is stamped with the first
 *    output frame that shows it (sourceFrameAt() in time.ts) before the fps filter, so a chunk that
 *    starts inside a clip shows the same source frames as a render of the whole timeline.
 * Safety: the graph holds only numbers, our own labels and escaped file paths. User text reaches
 * ffmpeg only inside the ASS file (see subtitles/ass.ts).
 */
import { cropAt, defaultCrop, even, isConstantSize } from './crop.ts';
import type { Clip, CropKeyframe, Fps, RenderSpec, Source } from './schema.ts';
import { formatSeconds, sourceFrameAt, sourceFramesToTimeline } from './time.ts';

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
  /**
   * The caller wrote buildAss(spec) here (timeline time; the builder shifts chunks itself); null: no
   * burn-in. Write it whenever needsAss(spec): text overlays live in it too.
   */
  assPath: string | null;
  /** Folder with the bundled font, handed to libass. */
  fontsDir: string;
  outputPath: string;
  /** Timeline frames [start, end); default the whole timeline. */
  range?: { start: number; end: number };
  /** Default 'include'. 'only': the audio track alone (chunked renders render it once for the whole timeline). */
  audio?: 'include' | 'none' | 'only';
  /** Required for wasm (ffmpeg.wasm's multi-threaded core needs an explicit thread count). */
  threads?: number;
  /** Default libx264 for every target; cuda may pass h264_nvenc when the capability probe opened it. */
  videoEncoder?: string;
}

export class FfmpegBuildError extends Error {
  override name = 'FfmpegBuildError';
}

const SAMPLE_RATE = 48000;
const AUDIO_FORMAT = `aformat=sample_fmts=fltp:sample_rates=${SAMPLE_RATE}:channel_layouts=stereo`;

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
function fileArg(path: string): string {
  if (path.length === 0 || /[\0\n\r]/.test(path)) throw new FfmpegBuildError('file paths must be non-empty, on one line');
  return /^[A-Za-z][A-Za-z0-9+.-]*:/.test(path) ? `file:${path}` : path;
}

function sameFps(a: Fps, b: Fps): boolean {
  return a.num * b.den === b.num * a.den;
}

function rate(f: Fps): string {
  return `${f.num}/${f.den}`;
}

/** Seconds of `frames` frames, exactly as a rational, for ffmpeg (microsecond precision). */
function seconds(frames: number, f: Fps): number {
  return (frames * f.den) / f.num;
}

/** Samples at 48 kHz before timeline frame `frame`; segment lengths are differences of these edges. */
function samplesAt(frame: number, fps: Fps): number {
  return Math.round((frame * SAMPLE_RATE * fps.den) / fps.num);
}

/** A number for a filter argument: integers as is, others to six decimals, never an exponent. */
function num(v: number): string {
  if (Number.isInteger(v)) return String(v);
  return String(Math.round(v * 1e6) / 1e6);
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * Expression reproducing cropAt()'s interpolation of one field for clip frame `frameVar + offset`:
 * a flat sum of hold-before, linear segments between keyframes and hold-after terms, each
 * `between(...)*(lerp)` computed in the same operation order as lerpAt(), wrapped in 2*floor(../2).
 */
export function keyframeExpr(keyframes: readonly CropKeyframe[], field: 'x' | 'y' | 'w' | 'h', frameVar: string, offset: number): string {
  const values = keyframes.map((k) => even(k[field]));
  if (values.every((v) => v === values[0])) return String(values[0]);
  const N = offset === 0 ? frameVar : `(${frameVar}${offset > 0 ? '+' : '-'}${Math.abs(offset)})`;
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

export interface ClipSegment {
  kind: 'clip';
  clip: Clip;
  source: Source;
  /** Timeline frames into the clip where this segment starts. */
  offset: number;
  length: number;
}

export interface GapSegment {
  kind: 'gap';
  length: number;
}

export type Segment = ClipSegment | GapSegment;

function clipLengthOf(clip: Clip, source: Source, fps: Fps): number {
  return source.fps ? sourceFramesToTimeline(clip.sourceOut - clip.sourceIn, source.fps, fps) : clip.sourceOut - clip.sourceIn;
}

/** Clips and black gaps covering timeline frames [start, end) exactly, in order. */
export function planSegments(spec: RenderSpec, start: number, end: number): Segment[] {
  const sources = new Map(spec.sources.map((s) => [s.id, s]));
  const out: Segment[] = [];
  let cursor = start;
  for (const clip of spec.clips) {
    const source = sources.get(clip.sourceId);
    if (!source) throw new FfmpegBuildError(`clip ${clip.id} uses unknown source ${clip.sourceId}`);
    const clipStart = clip.start;
    const clipEnd = clipStart + clipLengthOf(clip, source, spec.output.fps);
    if (clipEnd <= cursor || clipStart >= end) continue;
    if (clipStart > cursor) {
      out.push({ kind: 'gap', length: clipStart - cursor });
      cursor = clipStart;
    }
    const segEnd = Math.min(clipEnd, end);
    out.push({ kind: 'clip', clip, source, offset: cursor - clipStart, length: segEnd - cursor });
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
  if (target === 'wasm' && !(Number.isInteger(i.threads) && i.threads! > 0)) throw new FfmpegBuildError('the wasm target needs an explicit thread count');
  const withAudio = (i.audio ?? 'include') !== 'none';
  const withVideo = i.audio !== 'only';
  const totalFrames = range.end - range.start;

  const inputs: FfmpegInput[] = [];
  const graph: string[] = [];
  const addInput = (options: string[], sourceId: string): number => {
    const p = i.inputs[sourceId];
    if (!p) throw new FfmpegBuildError(`no local file for source ${sourceId}`);
    return inputs.push({ options, path: fileArg(p) }) - 1;
  };

  const imageOverlays = withVideo ? spec.overlays.flatMap((o) => (o.kind === 'image' && o.end > range.start && o.start < range.end ? [o] : [])) : [];
  const music = withAudio && spec.music && spec.music.start < range.end ? spec.music : null;
  const burnIn = withVideo && i.assPath !== null;
  // Our own labels; the last stage of each chain writes [v] / [a], which the output maps.
  const concatVideo = burnIn || imageOverlays.length > 0 ? 'vcat' : 'v';
  const concatAudio = music ? 'acat' : 'a';

  const segments = planSegments(spec, range.start, range.end);
  const pairs: string[] = [];
  let segStart = range.start;
  segments.forEach((seg, k) => {
    const v = `v${k}`;
    const a = `a${k}`;
    const samples = samplesAt(segStart + seg.length, fps) - samplesAt(segStart, fps);
    segStart += seg.length;
    if (seg.kind === 'gap') {
      if (withVideo) graph.push(`color=c=black:s=${W}x${H}:r=${rate(fps)},trim=end_frame=${seg.length},setsar=1,format=yuv420p[${v}]`);
      if (withAudio) graph.push(silence(samples, a));
    } else {
      const { clip, source, offset, length } = seg;
      const srcFps = source.fps ?? fps;
      const converts = !sameFps(srcFps, fps);
      // First source frame on screen in this segment, counted from the clip's sourceIn.
      const first = converts ? sourceFrameAt(offset, srcFps, fps) : offset;
      const firstFrame = clip.sourceIn + first;
      const options: string[] = [];
      if (target === 'cuda' && withVideo) options.push('-hwaccel', 'cuda', '-hwaccel_output_format', 'cuda');
      if (firstFrame > 0) options.push('-ss', formatSeconds(seconds(firstFrame - 0.5, srcFps)));
      // Decoding stops a few frames past what the segment needs (video and the matching audio).
      options.push('-t', formatSeconds(seconds(length, fps) + seconds(3, srcFps)));
      const idx = addInput(options, source.id);

      const chain: string[] = [];
      if (target === 'cuda') chain.push('hwdownload', 'format=nv12');
      if (converts) chain.push(retimeToOutput(first, offset, srcFps, fps), `fps=${rate(fps)}`);
      chain.push(`trim=end_frame=${length}`, 'setpts=PTS-STARTPTS');
      chain.push(...cropFilters(clip.crop, offset, source, W, H), `scale=${W}:${H}:flags=bicubic`, 'setsar=1', 'format=yuv420p');
      if (withVideo) graph.push(`[${idx}:v]${chain.join(',')}[${v}]`);

      if (withAudio) {
        if (source.hasAudio) {
          // Audio starts at the seek point; the segment's first output frame starts later by this.
          const skipSeconds = seconds(clip.sourceIn, srcFps) + seconds(offset, fps) - (firstFrame > 0 ? seconds(firstFrame - 0.5, srcFps) : 0);
          const skip = Math.max(0, Math.round(skipSeconds * SAMPLE_RATE));
          const volume = clip.volume === 1 ? '' : `,volume=${num(clip.volume)}`;
          // apad: a source whose audio ends before its video still yields exactly `samples` samples,
          // so later segments stay in sync.
          graph.push(`[${idx}:a]aresample=${SAMPLE_RATE},${AUDIO_FORMAT},apad,atrim=start_sample=${skip}:end_sample=${skip + samples},asetpts=PTS-STARTPTS${volume}[${a}]`);
        } else {
          graph.push(silence(samples, a));
        }
      }
    }
    pairs.push(`${withVideo ? `[${v}]` : ''}${withAudio ? `[${a}]` : ''}`);
  });
  graph.push(`${pairs.join('')}concat=n=${segments.length}:v=${withVideo ? 1 : 0}:a=${withAudio ? 1 : 0}${withVideo ? `[${concatVideo}]` : ''}${withAudio ? `[${concatAudio}]` : ''}`);

  let video = concatVideo;
  if (burnIn) {
    const out = imageOverlays.length > 0 ? 'vsub' : 'v';
    // The ASS file is in timeline time: a chunk's frames are stamped with their timeline time for
    // libass, then restamped from zero.
    const shift = range.start > 0 ? [`setpts=PTS+${range.start * fps.den}/${fps.num}/TB`] : [];
    const unshift = range.start > 0 ? ['setpts=PTS-STARTPTS'] : [];
    const subtitles = `subtitles=filename=${escapeFilterValue(i.assPath!)}:fontsdir=${escapeFilterValue(i.fontsDir)}`;
    graph.push(`[${video}]${[...shift, subtitles, ...unshift].join(',')}[${out}]`);
    video = out;
  }
  imageOverlays.forEach((o, k) => {
    // The still is read once and held (eof_action=repeat): a looped input (-loop 1) never ends by
    // itself, and one that outlives the main video makes overlay emit extra frames past its end.
    const idx = addInput([], o.sourceId);
    const ow = Math.max(2, even(Math.round(o.w * W)));
    const oh = Math.max(2, even(Math.round(o.h * H)));
    const alpha = o.opacity === 1 ? '' : `,colorchannelmixer=aa=${num(o.opacity)}`;
    const out = k === imageOverlays.length - 1 ? 'v' : `vo${k}`;
    graph.push(`[${idx}:v]format=rgba,scale=${ow}:${oh}${alpha}[ov${k}]`);
    // `n` counts the frames of this render, so the window is relative to the range start.
    const from = Math.max(0, o.start - range.start);
    const to = Math.min(range.end, o.end) - range.start - 1;
    graph.push(`[${video}][ov${k}]overlay=x=${Math.round(o.x * W)}:y=${Math.round(o.y * H)}:eof_action=repeat:enable='between(n,${from},${to})',format=yuv420p[${out}]`);
    video = out;
  });

  if (music) {
    const intoSamples = samplesAt(Math.max(0, range.start - music.start), fps);
    const delaySamples = samplesAt(Math.max(0, music.start - range.start), fps);
    const options = intoSamples > 0 ? ['-ss', formatSeconds(intoSamples / SAMPLE_RATE)] : [];
    const idx = addInput(options, music.sourceId);
    const delay = delaySamples > 0 ? `,adelay=delays=${delaySamples}S:all=1` : '';
    const length = samplesAt(range.end, fps) - samplesAt(range.start, fps);
    graph.push(`[${idx}:a]aresample=${SAMPLE_RATE},${AUDIO_FORMAT},volume=${num(music.volume)}${delay},apad,atrim=end_sample=${length}[mus]`);
    graph.push(`[${concatAudio}][mus]amix=inputs=2:duration=first:dropout_transition=0:normalize=0[a]`);
  }

  const out: string[] = withVideo ? ['-map', '[v]'] : [];
  if (withAudio) out.push('-map', '[a]');
  const encoder = i.videoEncoder ?? 'libx264';
  const { crf, preset } = spec.output.video;
  if (!withVideo) out.push('-vn');
  else if (encoder.endsWith('_nvenc')) out.push('-c:v', encoder, '-preset', 'p4', '-rc', 'vbr', '-cq', String(crf), '-b:v', '0', '-no-scenecut', '1');
  else out.push('-c:v', encoder, '-preset', target === 'wasm' ? 'ultrafast' : preset, '-crf', String(crf));
  if (withVideo) out.push('-pix_fmt', 'yuv420p', '-g', String(spec.output.gop), '-keyint_min', String(spec.output.gop), '-sc_threshold', '0', '-r', rate(fps));
  if (withAudio) out.push('-c:a', 'aac', '-b:a', `${spec.output.audio.bitrateKbps}k`, '-ar', String(SAMPLE_RATE), '-ac', '2');
  if (target === 'wasm') out.push('-threads', String(i.threads));
  // The graph already yields exactly totalFrames frames. -frames:v caps video-only outputs as a
  // safety net; with audio it is left out because ffmpeg (5.1) closes EVERY stream of the file
  // when one reaches its -frames limit, which cuts the audio still in the encoder (~40 ms).
  if (withVideo && !withAudio) out.push('-frames:v', String(totalFrames));
  out.push('-movflags', '+faststart');

  return { globalOptions: ['-hide_banner', '-nostdin', '-y'], inputs, filterComplex: graph.join(';'), outputOptions: out, outputPath: fileArg(i.outputPath) };
}

function silence(samples: number, label: string): string {
  return `anullsrc=r=${SAMPLE_RATE}:cl=stereo,${AUDIO_FORMAT},atrim=end_sample=${samples}[${label}]`;
}

/**
 * setpts for a source whose fps differs from the output's: source frame `first + N` (N counts the
 * decoded frames from the seek) is stamped with the first output frame of the segment that shows
 * it, ceil((first + N) * outFps / srcFps) - offset, never before 0. The fps filter then repeats or
 * drops frames on exactly the output frames that sourceFrameAt() says.
 */
function retimeToOutput(first: number, offset: number, srcFps: Fps, outFps: Fps): string {
  let p = srcFps.den * outFps.num;
  let q = srcFps.num * outFps.den;
  const g = gcd(p, q);
  p /= g;
  q /= g;
  const frame = first === 0 ? 'N' : `(N+${first})`;
  // ceil(a / q) written as floor((a + q - 1) / q): exact in doubles for integer a, q.
  const outFrame = `floor((${frame}*${p}+${q - 1})/${q})${offset === 0 ? '' : `-${offset}`}`;
  return `setpts='max(0,${outFrame})*${outFps.den}/${outFps.num}/TB'`;
}

/** crop (pan, constant size) or perspective (size changes) reproducing cropAt() per output frame. */
function cropFilters(keyframes: readonly CropKeyframe[], offset: number, source: Source, W: number, H: number): string[] {
  if (keyframes.length === 0) {
    const r = defaultCrop(source.width, source.height, W, H);
    return [`crop=w=${r.w}:h=${r.h}:x=${r.x}:y=${r.y}:exact=1`];
  }
  if (isConstantSize(keyframes)) {
    const r = cropAt(keyframes, offset, source.width, source.height, W, H);
    return [`crop=w=${r.w}:h=${r.h}:x='${keyframeExpr(keyframes, 'x', 'n', offset)}':y='${keyframeExpr(keyframes, 'y', 'n', offset)}':exact=1`];
  }
  // The crop filter cannot change its output size per frame: perspective maps the interpolated
  // rectangle's corners (source pixels) onto the whole frame, and scale then sets the output size.
  // perspective counts its input frames from 1 (`in` is 1 on the first frame), crop from 0.
  const x = keyframeExpr(keyframes, 'x', 'in', offset - 1);
  const y = keyframeExpr(keyframes, 'y', 'in', offset - 1);
  const w = keyframeExpr(keyframes, 'w', 'in', offset - 1);
  const h = keyframeExpr(keyframes, 'h', 'in', offset - 1);
  const right = `${x}+${w}`;
  const bottom = `${y}+${h}`;
  return [`perspective=x0='${x}':y0='${y}':x1='${right}':y1='${y}':x2='${x}':y2='${bottom}':x3='${right}':y3='${bottom}':sense=source:eval=frame`];
}

/** globalOptions, then each input's options and `-i path`, then the graph, the output options and the output. */
export function commandToArgs(c: FfmpegCommand): string[] {
  const args = [...c.globalOptions];
  for (const input of c.inputs) args.push(...input.options, '-i', input.path);
  if (c.filterComplex.length > 0) args.push('-filter_complex', c.filterComplex);
  args.push(...c.outputOptions, c.outputPath);
  return args;
}
