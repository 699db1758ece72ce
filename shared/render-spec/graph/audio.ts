/**
 * Audio: every clip with sound is one chain (decode its source span -> reverse -> pitch-preserving
 * speed -> exact length -> gain envelope -> fade handles and transition crossfades -> its place on
 * the timeline), clips mix into one bus per track, ducked tracks are compressed by their key
 * tracks (sidechain) or lowered where those have clips (automation), buses mix into the master,
 * which two-pass loudnorm brings to the target loudness. Sample counts are exact (atrim / apad at
 * every boundary), so chunked and whole renders carry the same samples.
 */
import { audioLayers, type AudioLayer } from '../layers.ts';
import type { Ducking, Fps, Loudness, RenderSpec, Track } from '../schema.ts';
import { AUDIO_FORMAT, SAMPLE_RATE, num, samplesAt, type Graph, type RenderTarget } from './common.ts';
import { openSource, seekMarginSeconds } from './inputs.ts';

/** loudnorm's first-pass measurement (its print_format=json keys). */
export interface LoudnormMeasurement {
  input_i: string;
  input_tp: string;
  input_lra: string;
  input_thresh: string;
  target_offset: string;
}

/** 'measure': pass 1 (prints loudnorm's JSON); a measurement: pass 2, linear gain to the target. */
export type LoudnessPass = { pass: 'measure' } | { pass: 'apply'; measured: LoudnormMeasurement };

export interface AudioContext {
  g: Graph;
  spec: RenderSpec;
  target: RenderTarget;
  range: { start: number; end: number };
  /** Omitted with a loudness target: one-pass loudnorm (previews). */
  loudness?: LoudnessPass;
}

const ATEMPO_MIN = 0.5;
const ATEMPO_MAX = 2;

/** atempo steps multiplying to `speed` (each within 0.5..2 for quality); empty at 1x. */
export function tempoChain(speed: number): string[] {
  const out: string[] = [];
  let s = speed;
  while (s > ATEMPO_MAX + 1e-9) {
    out.push(`atempo=${ATEMPO_MAX}`);
    s /= ATEMPO_MAX;
  }
  while (s < ATEMPO_MIN - 1e-9) {
    out.push(`atempo=${ATEMPO_MIN}`);
    s /= ATEMPO_MIN;
  }
  if (Math.abs(s - 1) > 1e-9) out.push(`atempo=${num(s)}`);
  return out;
}

/** Piecewise-linear function of `x` through sorted points, held flat outside (nested if()). */
function pwlTimeExpr(points: readonly { at: number; v: number }[], x: string): string {
  if (points.length === 0) return '1';
  let expr = num(points[points.length - 1]!.v);
  for (let i = points.length - 2; i >= 0; i--) {
    const a = points[i]!;
    const b = points[i + 1]!;
    expr = `if(lt(${x},${num(b.at)}),${num(a.v)}+(${num(b.v - a.v)})*(${x}-${num(a.at)})/${num(b.at - a.at)},${expr})`;
  }
  return `if(lt(${x},${num(points[0]!.at)}),${num(points[0]!.v)},${expr})`;
}

/** Gain = volume x envelope, evaluated every 10 ms of layer time (the layer's samples are stamped from its start). */
function gainChain(layer: AudioLayer, fps: Fps): string[] {
  const { volume, envelope } = layer.clip.audio;
  if (envelope.length === 0) return volume === 1 ? [] : [`volume=${num(volume)}`];
  // Clip frame k (continuous) at layer time t.
  const k = `(t*${fps.num}/${fps.den}-${layer.pre})`;
  const env = pwlTimeExpr(envelope.map((p) => ({ at: p.frame, v: p.gain })), k);
  return [`asetnsamples=n=480:p=0`, `volume='${num(volume)}*${env}':eval=frame`];
}

/** Fade handles and the transitions' crossfades/dips, in the layer's own samples. */
function fadesChain(layer: AudioLayer, fps: Fps): string[] {
  const S = (f: number) => samplesAt(f, fps) - samplesAt(layer.start, fps);
  const out: string[] = [];
  const fade = (type: 'in' | 'out', from: number, to: number, curve: 'tri' | 'qsin') => {
    if (to > from) out.push(`afade=t=${type}:ss=${S(from)}:ns=${S(to) - S(from)}:curve=${curve}`);
  };
  const { fadeIn, fadeOut } = layer.clip.audio;
  if (fadeIn > 0) fade('in', layer.start, Math.min(layer.end, layer.start + fadeIn), 'tri');
  if (fadeOut > 0) fade('out', Math.max(layer.start, layer.end - fadeOut), layer.end, 'tri');
  const into = layer.into;
  if (into) {
    if (layer.start <= into.start) fade('in', into.start, into.end, 'qsin');
    else fade('in', into.cut, into.end, 'tri');
  }
  const out_ = layer.outOf;
  if (out_) {
    if (layer.end >= out_.end) fade('out', out_.start, out_.end, 'qsin');
    else fade('out', out_.start, out_.cut, 'tri');
  }
  return out;
}

/** One clip's sound over the range, placed at its range-relative start; null when it has none there. */
function audioLayerChain(ctx: AudioContext, layer: AudioLayer): string | null {
  const { spec, range, g } = ctx;
  const fps = spec.output.fps;
  const a0 = Math.max(samplesAt(layer.start, fps), samplesAt(range.start, fps));
  const a1 = Math.min(samplesAt(layer.end, fps), samplesAt(range.end, fps));
  if (a1 <= a0) return null;
  const base = samplesAt(layer.start, fps);
  const m0 = a0 - base;
  const m1 = a1 - base;
  const clip = layer.clip;
  const source = layer.source!;
  const srcFps = source.fps ?? fps;
  const speed = clip.speed.num / clip.speed.den;
  const preSeconds = (layer.pre * fps.den) / fps.num;
  // Source time of layer sample m.
  const tau = (m: number) =>
    clip.reverse ? (clip.sourceOut * srcFps.den) / srcFps.num - (m / SAMPLE_RATE - preSeconds) * speed : (clip.sourceIn * srcFps.den) / srcFps.num + (m / SAMPLE_RATE - preSeconds) * speed;
  const from = Math.min(tau(m0), tau(m1));
  const to = Math.max(tau(m0), tau(m1));
  const sourceSeconds = source.durationUs / 1e6;
  // The audio stream may start after the first video frame (a delayed audio track): source times
  // before it are silence, exactly as the file plays (inputs.ts, SOURCE TIME).
  const audioStart = Math.max(0, (source.audioStartUs - source.videoStartUs) / 1e6);
  const seek = Math.max(0, audioStart, Math.min(from, sourceSeconds));
  // Earlier where the container's seek may overshoot; atrim then cuts at the exact sample.
  const openAt = Math.max(0, seek - seekMarginSeconds(source));
  const early = seek - openAt;
  const idx = g.addInput(source.id, openSource(source, { seekSeconds: openAt, durationSeconds: Math.max(0.05, Math.min(to, sourceSeconds) - seek + 0.2) + early, video: false }, ctx.target));
  // In source time: silence where the span starts before the source, then exactly the span's samples.
  const lead = Math.round((seek - from) * SAMPLE_RATE);
  const span = Math.round((to - from) * SAMPLE_RATE);
  const filters = [...(early > 0 ? [`atrim=start=${num(early)}`] : []), `aresample=${SAMPLE_RATE}`, AUDIO_FORMAT, 'asetpts=N/SR/TB'];
  if (lead > 0) filters.push(`adelay=delays=${lead}S:all=1`);
  filters.push('apad', `atrim=end_sample=${Math.max(1, span)}`);
  if (clip.reverse) filters.push('areverse');
  const tempo = tempoChain(speed);
  // Stretching is never sample-exact: pad/cut to the layer's exact sample count again.
  if (tempo.length > 0 || span !== m1 - m0) filters.push(...tempo, 'apad', `atrim=end_sample=${m1 - m0}`);
  const shaping = [...gainChain(layer, fps), ...fadesChain(layer, fps)];
  // Gains and fades work in the layer's own time (its first sample is m0 of the layer).
  if (shaping.length > 0) filters.push(`asetpts=(N+${m0})/SR/TB`, ...shaping, 'asetpts=N/SR/TB');
  const delay = a0 - samplesAt(range.start, fps);
  if (delay > 0) filters.push(`adelay=delays=${delay}S:all=1`);
  const label = g.label('aclip');
  g.chain([`${idx}:a`], filters, label, true);
  return label;
}

/** Mixes labels (normalize=0: gains add up, nothing is rescaled), padded/trimmed to `total` samples. */
function mixTo(g: Graph, labels: string[], total: number, prefix: string): string {
  const out = g.label(prefix);
  const mix = labels.length === 1 ? `[${labels[0]}]` : `${labels.map((l) => `[${l}]`).join('')}amix=inputs=${labels.length}:duration=longest:dropout_transition=0:normalize=0,`;
  g.chains.push(`${mix}apad,atrim=end_sample=${total}[${out}]`);
  return out;
}

function silence(g: Graph, total: number): string {
  const out = g.label('silence');
  g.chains.push(`anullsrc=r=${SAMPLE_RATE}:cl=stereo,${AUDIO_FORMAT},atrim=end_sample=${total}[${out}]`);
  return out;
}

/** Sidechain settings for a ducking amount: about amountDb of reduction on speech near -20 dBFS. */
export function sidechainFilter(d: Ducking): string {
  const threshold = 0.02; // about -34 dBFS: speech is well above it
  const over = 14; // dB that typical speech exceeds the threshold by
  const ratio = Math.min(20, 1 / Math.max(0.05, 1 - Math.min(d.amountDb, over - 0.5) / over));
  return `sidechaincompress=threshold=${threshold}:ratio=${num(ratio)}:attack=${d.attackMs}:release=${d.releaseMs}:makeup=1:knee=2`;
}

/** Gain of a ducked track at range-relative time t: lowered by amountDb over the key clips, ramped. */
export function automationExpr(spans: readonly { start: number; end: number }[], d: Ducking, fps: Fps, rangeStart: number): string {
  const depth = 1 - 10 ** (-d.amountDb / 20);
  const attack = d.attackMs / 1000;
  const release = d.releaseMs / 1000;
  const T = `(t+${num((rangeStart * fps.den) / fps.num)})`;
  const terms = spans.map((s) => {
    const a = (s.start * fps.den) / fps.num;
    const b = (s.end * fps.den) / fps.num;
    return `clip((${T}-${num(a - attack)})/${num(attack)},0,1)*clip((${num(b + release)}-${T})/${num(release)},0,1)`;
  });
  const env = terms.reduce((acc, t) => (acc ? `max(${acc},${t})` : t), '');
  return `1-${num(depth)}*${env || '0'}`;
}

/** Merged [start, end) frame spans. */
function mergeSpans(spans: { start: number; end: number }[]): { start: number; end: number }[] {
  const sorted = [...spans].sort((a, b) => a.start - b.start);
  const out: { start: number; end: number }[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && s.start <= last.end) last.end = Math.max(last.end, s.end);
    else out.push({ ...s });
  }
  return out;
}

function loudnessChain(l: Loudness, pass: LoudnessPass | undefined): string[] {
  const target = `I=${num(l.targetLufs)}:TP=${num(l.truePeakDb)}:LRA=${num(l.lra)}`;
  if (pass?.pass === 'measure') return [`loudnorm=${target}:print_format=json`];
  if (pass?.pass === 'apply') {
    const m = pass.measured;
    const v = (s: string) => num(Number.isFinite(Number(s)) ? Number(s) : -70);
    return [`loudnorm=${target}:measured_I=${v(m.input_i)}:measured_TP=${v(m.input_tp)}:measured_LRA=${v(m.input_lra)}:measured_thresh=${v(m.input_thresh)}:offset=${v(m.target_offset)}:linear=true:print_format=summary`, `aresample=${SAMPLE_RATE}`];
  }
  return [`loudnorm=${target}`, `aresample=${SAMPLE_RATE}`];
}

/** The whole audio of the range; returns the label of the master (exactly the range's samples). */
export function mixAudio(ctx: AudioContext): string {
  const { spec, range, g } = ctx;
  const fps = spec.output.fps;
  const total = samplesAt(range.end, fps) - samplesAt(range.start, fps);
  const layers = audioLayers(spec);
  const byTrack = new Map<string, string[]>();
  for (const layer of layers) {
    const label = audioLayerChain(ctx, layer);
    if (!label) continue;
    byTrack.set(layer.track.id, [...(byTrack.get(layer.track.id) ?? []), label]);
  }
  const tracks = spec.tracks.filter((t) => byTrack.has(t.id));
  const buses = new Map(tracks.map((t) => [t.id, mixTo(g, byTrack.get(t.id)!, total, 'bus')]));

  // Sidechain keys use a bus a second time: split the buses that are keys.
  const ducked = tracks.filter((t): t is Track & { ducking: Ducking } => !!t.ducking && t.kind === 'audio');
  const keyUses = new Map<string, number>();
  for (const t of ducked) if (t.ducking.mode === 'sidechain') for (const k of t.ducking.keyTrackIds) if (buses.has(k) && k !== t.id) keyUses.set(k, (keyUses.get(k) ?? 0) + 1);
  const copies = new Map<string, string[]>();
  for (const [id, uses] of keyUses) {
    const labels = Array.from({ length: uses + 1 }, () => g.label('split'));
    g.chains.push(`[${buses.get(id)}]asplit=${uses + 1}${labels.map((l) => `[${l}]`).join('')}`);
    buses.set(id, labels[0]!);
    copies.set(id, labels.slice(1));
  }
  for (const t of ducked) {
    const bus = buses.get(t.id)!;
    const keys = t.ducking.keyTrackIds.filter((k) => k !== t.id);
    const out = g.label('ducked');
    if (t.ducking.mode === 'sidechain') {
      const keyLabels = keys.flatMap((k) => (copies.get(k)?.length ? [copies.get(k)!.shift()!] : []));
      if (keyLabels.length === 0) continue;
      const key = keyLabels.length === 1 ? keyLabels[0]! : mixTo(g, keyLabels, total, 'key');
      g.chains.push(`[${bus}][${key}]${sidechainFilter(t.ducking)}[${out}]`);
    } else {
      const spans = mergeSpans(layers.filter((l) => keys.includes(l.track.id)).map((l) => ({ start: l.start, end: l.end })));
      if (spans.length === 0) continue;
      g.chains.push(`[${bus}]asetnsamples=n=480:p=0,volume='${automationExpr(spans, t.ducking, fps, range.start)}':eval=frame[${out}]`);
    }
    buses.set(t.id, out);
  }

  // Every bus already holds exactly `total` samples.
  const master = buses.size === 0 ? silence(g, total) : buses.size === 1 ? [...buses.values()][0]! : mixTo(g, [...buses.values()], total, 'master');
  const loudness = spec.output.audio.loudness;
  if (!loudness) return master;
  const out = g.label('loud');
  g.chains.push(`[${master}]${[...loudnessChain(loudness, ctx.loudness), AUDIO_FORMAT, 'apad', `atrim=end_sample=${total}`].join(',')}[${out}]`);
  return out;
}

/** The measurement loudnorm printed (the last JSON object on stderr) or null. */
export function parseLoudnormJson(stderr: string): LoudnormMeasurement | null {
  const start = stderr.lastIndexOf('{');
  const end = stderr.lastIndexOf('}');
  if (start < 0 || end < start) return null;
  try {
    const j = JSON.parse(stderr.slice(start, end + 1)) as Record<string, unknown>;
    const keys = ['input_i', 'input_tp', 'input_lra', 'input_thresh', 'target_offset'] as const;
    if (!keys.every((k) => typeof j[k] === 'string')) return null;
    return Object.fromEntries(keys.map((k) => [k, j[k] as string])) as unknown as LoudnormMeasurement;
  } catch {
    return null;
  }
}
