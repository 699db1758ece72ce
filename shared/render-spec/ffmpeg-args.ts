/**
 * The pure ffmpeg command builder: RenderSpec (+ a timeline range) -> one ffmpeg invocation and
 * the files it reads. The farm (cpu, cuda) and the browser (ffmpeg.wasm) run exactly this, so what
 * previews is what renders; the PixiJS preview draws from the same per-frame definitions
 * (layers.ts).
 *
 * Frame exactness:
 *  - every input seeks with `-ss` to half a source frame BEFORE the first source frame its layer
 *    shows, so rounding can never pick a neighbour; ffmpeg's accurate seek delivers that frame first;
 *  - each decoded frame is stamped with the first layer frame that shows it (speed, fps conversion,
 *    reverse: clipSourceFrame() in time.ts) before the fps filter, so a chunk that starts inside a
 *    clip or a transition shows the same source frames as a render of the whole timeline;
 *  - layers are cut by frame count (trim=end_frame), audio by sample count (atrim), never by
 *    floating durations.
 * Safety: the graph holds only numbers, our own labels and escaped file paths. User text reaches
 * ffmpeg only inside ASS files (subtitles/ass.ts, subtitles/text-layer.ts).
 */
import { needsAss, buildAss } from '../subtitles/ass.ts';
import { visualLayers } from './layers.ts';
import type { RenderSpec } from './schema.ts';
import { mixAudio, type LoudnessPass } from './graph/audio.ts';
import { escapeFilterValue, fileArg, FfmpegBuildError, Graph, rate, SAMPLE_RATE, type CommandFile, type FfmpegInput, type RenderTarget } from './graph/common.ts';
import { compositeLayers } from './graph/video.ts';

export { escapeFilterValue, FfmpegBuildError, type CommandFile, type FfmpegInput, type RenderTarget } from './graph/common.ts';
export { keyframeExpr, cropFilters } from './graph/video.ts';
export { parseLoudnormJson, tempoChain, type LoudnessPass, type LoudnormMeasurement } from './graph/audio.ts';

export interface FfmpegCommand {
  globalOptions: string[];
  inputs: FfmpegInput[];
  filterComplex: string;
  outputOptions: string[];
  outputPath: string;
  /** Further outputs after the main one, in order (the poster frame); each its options and path. */
  extraOutputs?: { options: string[]; path: string }[];
  /** Files the command reads (ASS scripts, per-layer command scripts): written before it runs. */
  files?: CommandFile[];
  /**
   * The EXACT argument list (binary excluded) to run, set by buildFfmpegCommand: the farm's adapter
   * spawns ffmpeg with precisely this and the farm records it. A graph over
   * FILTER_SCRIPT_THRESHOLD_BYTES is passed as -filter_complex_script (one of `files`).
   */
  args?: string[];
  /** The encoder the builder chose for the output's video (audio-only: the audio encoder; measure pass: null). */
  encoder?: string | null;
}

/** Longer filter graphs go to a -filter_complex_script file (argv limits, readable process lists). */
export const FILTER_SCRIPT_THRESHOLD_BYTES = 64 * 1024;

/** Fills `args` (and the filter-script file when the graph is long) from the command's parts. */
function withArgv(c: FfmpegCommand, workDir: string, encoder: string | null): FfmpegCommand {
  if (c.filterComplex.length <= FILTER_SCRIPT_THRESHOLD_BYTES) return { ...c, args: commandToArgs(c), encoder };
  const script: CommandFile = { path: `${workDir.replace(/\/+$/, '')}/filter-graph.txt`, contents: c.filterComplex };
  const inline = commandToArgs({ ...c, filterComplex: '' });
  const at = inline.length - c.outputOptions.length - 1 - (c.extraOutputs ?? []).reduce((n, o) => n + o.options.length + 1, 0);
  const args = [...inline.slice(0, at), '-filter_complex_script', fileArg(script.path), ...inline.slice(at)];
  return { ...c, files: [...(c.files ?? []), script], args, encoder };
}

export interface BuildCommandInput {
  spec: RenderSpec;
  target: RenderTarget;
  /** sourceId -> local file path, resolved by the caller from storage (never from the client). */
  inputs: Record<string, string>;
  /** Folder (as ffmpeg sees it) for the command's files; the caller writes `command.files` there. */
  workDir: string;
  /** Folder with the bundled fonts, handed to libass. */
  fontsDir: string;
  outputPath: string;
  /** Timeline frames [start, end); default the whole timeline. */
  range?: { start: number; end: number };
  /** Default 'include'. 'only': the audio alone (chunked renders render it once for the whole timeline). */
  audio?: 'include' | 'none' | 'only';
  /** Required for wasm (ffmpeg.wasm's multi-threaded core needs an explicit thread count). */
  threads?: number;
  /** Default libx264 for every target; cuda may pass h264_nvenc when the capability probe opened it. */
  videoEncoder?: string;
  /** Two-pass loudness normalisation (when the spec has a target): pass 1 measures, pass 2 applies. */
  loudness?: LoudnessPass;
  /**
   * Also writes output frame `frame` (0-based within the range) as a PNG at `path`, tapped from the
   * graph just before the encoder: the poster comes out of the encode, no second decode afterwards.
   */
  posterFrame?: { frame: number; path: string };
}

export function buildFfmpegCommand(i: BuildCommandInput): FfmpegCommand {
  const { spec, target } = i;
  const { fps } = spec.output;
  const range = i.range ?? { start: 0, end: spec.output.durationFrames };
  if (!(Number.isInteger(range.start) && Number.isInteger(range.end) && range.start >= 0 && range.end > range.start && range.end <= spec.output.durationFrames))
    throw new FfmpegBuildError(`invalid range ${range.start}..${range.end} for ${spec.output.durationFrames} frames`);
  if (target === 'wasm' && !(Number.isInteger(i.threads) && i.threads! > 0)) throw new FfmpegBuildError('the wasm target needs an explicit thread count');
  const measuring = i.loudness?.pass === 'measure' && spec.output.audio.loudness !== null;
  const withAudio = (i.audio ?? 'include') !== 'none' || measuring;
  const withVideo = i.audio !== 'only' && !measuring;
  const totalFrames = range.end - range.start;
  const g = new Graph(i.inputs, i.workDir);

  let video: string | null = null;
  if (withVideo) {
    video = compositeLayers({ g, spec, target, range, fontsDir: i.fontsDir }, visualLayers(spec));
    if (needsAss(spec)) {
      // The ASS file is in timeline time: a chunk's frames are stamped with their timeline time for
      // libass, then restamped from zero.
      const assPath = g.addFile('subtitles.ass', buildAss(spec));
      const shift = range.start > 0 ? [`setpts=PTS+${range.start * fps.den}/${fps.num}/TB`] : [];
      const unshift = range.start > 0 ? ['setpts=PTS-STARTPTS'] : [];
      const out = g.label('subs');
      g.chain([video], [...shift, `subtitles=filename=${escapeFilterValue(assPath)}:fontsdir=${escapeFilterValue(i.fontsDir)}`, ...unshift], out);
      video = out;
    }
    if (i.posterFrame && !measuring) {
      const { frame } = i.posterFrame;
      if (!(Number.isInteger(frame) && frame >= 0 && frame < totalFrames)) throw new FfmpegBuildError(`poster frame ${frame} is outside the ${totalFrames} rendered frames`);
      const tap = g.label('poster');
      g.chains.push(`[${video}]format=yuv420p,split=2[v][${tap}]`);
      g.chain([tap], [`select=eq(n\\,${frame})`], 'pv');
    } else g.chain([video], ['format=yuv420p'], 'v');
  }
  if (withAudio) g.chain([mixAudio({ g, spec, target, range, loudness: i.loudness })], [], 'a', true);

  const out: string[] = withVideo ? ['-map', '[v]'] : [];
  if (withAudio) out.push('-map', '[a]');
  if (measuring) {
    out.push('-f', 'null');
    return withArgv({ globalOptions: ['-hide_banner', '-nostdin', '-y'], inputs: g.inputs, filterComplex: g.chains.join(';'), outputOptions: out, outputPath: '-', files: g.files }, i.workDir, null);
  }
  const encoder = i.videoEncoder ?? 'libx264';
  const { crf, preset } = spec.output.video;
  if (!withVideo) out.push('-vn');
  else if (encoder.endsWith('_nvenc')) out.push('-c:v', encoder, '-preset', 'p4', '-rc', 'vbr', '-cq', String(crf), '-b:v', '0', '-no-scenecut', '1');
  else out.push('-c:v', encoder, '-preset', target === 'wasm' ? 'ultrafast' : preset, '-crf', String(crf));
  // SDR BT.709, 8-bit, limited range, tagged so (HDR sources are tone-mapped to it: graph/inputs.ts).
  if (withVideo) out.push('-pix_fmt', 'yuv420p', '-colorspace', 'bt709', '-color_primaries', 'bt709', '-color_trc', 'bt709', '-color_range', 'tv', '-g', String(spec.output.gop), '-keyint_min', String(spec.output.gop), '-sc_threshold', '0', '-r', rate(fps));
  if (withAudio) out.push('-c:a', 'aac', '-b:a', `${spec.output.audio.bitrateKbps}k`, '-ar', String(SAMPLE_RATE), '-ac', '2');
  if (target === 'wasm') out.push('-threads', String(i.threads));
  // The graph already yields exactly totalFrames frames. -frames:v caps video-only outputs as a
  // safety net; with audio it is left out because ffmpeg (5.1) closes EVERY stream of the file
  // when one reaches its -frames limit, which cuts the audio still in the encoder (~40 ms).
  if (withVideo && !withAudio) out.push('-frames:v', String(totalFrames));
  out.push('-movflags', '+faststart');

  // The poster tap: one frame, its own file (a -frames limit closes only the file it is set on).
  const extraOutputs = withVideo && i.posterFrame ? [{ options: ['-map', '[pv]', '-frames:v', '1', '-update', '1', '-c:v', 'png', '-f', 'image2'], path: fileArg(i.posterFrame.path) }] : undefined;
  return withArgv({ globalOptions: ['-hide_banner', '-nostdin', '-y'], inputs: g.inputs, filterComplex: g.chains.join(';'), outputOptions: out, outputPath: fileArg(i.outputPath), ...(extraOutputs ? { extraOutputs } : {}), files: g.files }, i.workDir, withVideo ? encoder : 'aac');
}

/** globalOptions, then each input's options and `-i path`, then the graph, the output options and the output. */
export function commandToArgs(c: FfmpegCommand): string[] {
  const args = [...c.globalOptions];
  for (const input of c.inputs) args.push(...input.options, '-i', input.path);
  if (c.filterComplex.length > 0) args.push('-filter_complex', c.filterComplex);
  args.push(...c.outputOptions, c.outputPath);
  for (const o of c.extraOutputs ?? []) args.push(...o.options, o.path);
  return args;
}
