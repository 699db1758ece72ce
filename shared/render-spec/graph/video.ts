/**
 * Video: a black canvas of the output size, then every visible layer, bottom track first, each
 * drawn by one small chain per concern and placed with `overlay`:
 *
 *   source (decode + retime | still | libass text) -> crop -> size -> alpha -> per-frame effects
 *   (wipe box, opacity/colour dip via lutyuv driven by a sendcmd script) -> animated size -> rotation
 *   -> timestamps on the output -> overlay at the layer's position.
 *
 * Every chain helper returns its filters or nothing. Per-frame values come from layers.ts (the
 * preview's definition): geometry as expressions of the layer frame, the rest as commands at the
 * frames where they change.
 */
import { cropAt, defaultCrop, even, isConstantSize } from '../crop.ts';
import { evaluate, isConstant, toFfmpeg, type Expr } from '../expr.ts';
import {
  layerGeometry,
  layerOpacity,
  layerSourceFrame,
  layerTint,
  layerWipe,
  visibleChars,
  wipeHiddenRect,
  type LayerGeometry,
  type LayerPlan,
  type Tint,
  type VisualLayer,
} from '../layers.ts';
import type { CropKeyframe, Fps, RenderSpec, Source, TextClip, VideoClip } from '../schema.ts';
import { sourceStep } from '../time.ts';
import { buildTextLayerAss } from '../../subtitles/text-layer.ts';
import { escapeFilterValue, framePts, num, rate, seconds, type Graph, type RenderTarget } from './common.ts';
import { openSource, seekMarginSeconds, vfrGridFilters, videoNormalisation, WHOLE_FILE } from './inputs.ts';

export interface VideoContext {
  g: Graph;
  spec: RenderSpec;
  target: RenderTarget;
  range: { start: number; end: number };
  fontsDir: string;
}

/** The layer's frames u in [u0, u1) that fall inside the render range. */
interface Slice {
  u0: number;
  u1: number;
  count: number;
}

function sliceOf(layer: VisualLayer, range: { start: number; end: number }): Slice {
  const u0 = Math.max(range.start, layer.start) - layer.start;
  const u1 = Math.min(range.end, layer.end) - layer.start;
  return { u0, u1, count: u1 - u0 };
}

/** The black canvas: gaps on the bottom track are black. */
export function canvasChain(ctx: VideoContext, label: string): void {
  const { width: W, height: H, fps } = ctx.spec.output;
  ctx.g.chains.push(`color=c=black:s=${W}x${H}:r=${rate(fps)},trim=end_frame=${ctx.range.end - ctx.range.start},setsar=1,format=yuv420p[${label}]`);
}

// ---------- source stage ----------

/**
 * setpts for a retimed source: the decoded frame N (source frame index `first + N` counted from
 * the clip's sourceIn, or from its out point when reversed) is stamped with the first layer frame
 * that shows it, ceil((first + N) * q / p) + pre - u0, never before 0, the first decoded frame at
 * 0 (it stands in for frames before the source starts). The fps filter then repeats frames (slow
 * motion) and keeps the last of several with one stamp (fast motion): exactly clipSourceFrame().
 */
function retimeFilter(first: number, offset: number, step: { p: number; q: number }, fps: Fps): string {
  const idx = first === 0 ? 'N' : first > 0 ? `(N+${first})` : `(N-${-first})`;
  const slot = `floor((${idx}*${step.q}+${step.p - 1})/${step.p})${offset === 0 ? '' : offset > 0 ? `+${offset}` : `-${-offset}`}`;
  return `setpts='if(eq(N,0),0,max(0,${slot}))*${fps.den}/${fps.num}/TB'`;
}

/** Decodes the source frames a video layer needs and turns them into its frames u0..u1-1. */
function videoSourceChain(ctx: VideoContext, layer: LayerPlan<VideoClip>, s: Slice): { input: string; filters: string[] } {
  const { spec, target, g } = ctx;
  const fps = spec.output.fps;
  const clip = layer.clip;
  const source = layer.source!;
  const srcFps = source.fps ?? fps;
  const a = layerSourceFrame(layer, s.u0, spec);
  const b = layerSourceFrame(layer, s.u1 - 1, spec);
  const lo = Math.min(a, b);
  const hi = Math.max(a, b);
  const decoded = hi - lo + 1;
  // Half a frame before frame lo (SOURCE TIME, inputs.ts), VFR: at it; earlier where the container's
  // seek may overshoot or a VFR frame shown at lo may have started.
  const want = lo > 0 ? seconds(source.vfr ? lo : lo - 0.5, srcFps) : null;
  const openAt = want === null ? null : Math.max(0, want - seekMarginSeconds(source));
  const early = want === null ? 0 : want - openAt!;
  const idx = g.addInput(source.id, openSource(source, { seekSeconds: openAt, durationSeconds: seconds(decoded + 3, srcFps) + early, video: true }, target));
  const filters = [...videoNormalisation(source, target)];
  // From here frame k is source frame lo + k (VFR: brought onto the nominal grid by timestamp).
  if (source.vfr) filters.push(...vfrGridFilters(source, openAt, lo, srcFps));
  else if (early > 0) filters.push(`trim=start=${num(early)}`, 'setpts=PTS-STARTPTS');
  const step = sourceStep(source.fps, fps, clip.speed);
  // A freeze frame: the one frame, cloned by tpad below (fps would emit nothing for a lone frame).
  if (clip.freeze) filters.push('trim=end_frame=1', 'setpts=0');
  else {
    if (clip.reverse) filters.push(`trim=end_frame=${decoded}`, 'reverse');
    const first = clip.reverse ? clip.sourceOut - 1 - hi : lo - clip.sourceIn;
    const identity = step.p === step.q && !clip.reverse && first === s.u0 - layer.pre;
    if (!identity) filters.push(retimeFilter(first, layer.pre - s.u0, step, fps), `fps=${rate(fps)}`);
  }
  // A source that runs out (a transition past its last frame, a short file) holds its last frame.
  filters.push(`tpad=stop_mode=clone:stop=${s.count}`, `trim=end_frame=${s.count}`);
  filters.push(...cropFilters(clip.crop, s.u0 - layer.pre, source, spec.output.width, spec.output.height));
  return { input: `${idx}:v`, filters };
}

/** A still image held for the layer's frames (scaled once, before the loop, when its size is fixed). */
function imageSourceChain(ctx: VideoContext, layer: VisualLayer, s: Slice, size: string[]): { input: string; filters: string[] } {
  const idx = ctx.g.addInput(layer.source!.id, openSource(layer.source!, WHOLE_FILE, ctx.target));
  return { input: `${idx}:v`, filters: ['format=rgba', ...size, `loop=loop=${s.count - 1}:size=1:start=0`, framePts(s.u0, ctx.spec.output.fps)] };
}

/**
 * libass draws the clip's script onto a black canvas of its box, twice: in its colours (what it
 * draws over black is colour x coverage) and as a white matte (the coverage itself), which becomes
 * the alpha; unpremultiply then gives back the colours. Drawing straight onto a transparent canvas
 * would leave ffmpeg's blended alpha, which is not the coverage for translucent boxes and edges.
 */
function textSourceChain(ctx: VideoContext, layer: LayerPlan<TextClip>, s: Slice, geometry: LayerGeometry, n: number): { input: string; filters: string[] } {
  const { g } = ctx;
  const { fps } = ctx.spec.output;
  const { w, h } = geometry.natural;
  const frames = layer.end - layer.start;
  const charsAt = (u: number) => visibleChars(layer, u);
  const script = g.addFile(`text-${n}.ass`, buildTextLayerAss(layer.clip, { w, h }, fps, frames, charsAt));
  const matte = g.addFile(`text-${n}-matte.ass`, buildTextLayerAss(layer.clip, { w, h }, fps, frames, charsAt, true));
  const fonts = escapeFilterValue(ctx.fontsDir);
  const [canvas, cover, paint, alpha, out] = ['tcanvas', 'tcover', 'tpaint', 'talpha', 'text'].map((p) => g.label(p)) as [string, string, string, string, string];
  g.chains.push(`color=c=black:s=${w}x${h}:r=${rate(fps)},trim=end_frame=${s.count},format=rgba,${framePts(s.u0, fps)},split[${canvas}][${cover}]`);
  g.chain([canvas], [`subtitles=filename=${escapeFilterValue(script)}:fontsdir=${fonts}`], paint);
  g.chain([cover], [`subtitles=filename=${escapeFilterValue(matte)}:fontsdir=${fonts}`, 'format=gray'], alpha);
  g.chain([paint, alpha], ['alphamerge', 'format=gbrap', 'unpremultiply=inplace=1'], out);
  return { input: out, filters: [] };
}

// ---------- crop ----------

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

/** crop (pan, constant size) or perspective (size changes) reproducing cropAt() per frame; `offset` = clip frame of the chain's first frame. */
export function cropFilters(keyframes: readonly CropKeyframe[], offset: number, source: Source, W: number, H: number): string[] {
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

// ---------- size, alpha, effects ----------

function staticSize(geometry: LayerGeometry): { w: number; h: number } | null {
  return isConstant(geometry.w) && isConstant(geometry.h) ? { w: evaluate(geometry.w, 0), h: evaluate(geometry.h, 0) } : null;
}

/** Scales the layer to its (fixed) size, or to its natural size when the size animates. */
function sizeChain(geometry: LayerGeometry, current: { w: number; h: number } | null): string[] {
  const target = staticSize(geometry) ?? geometry.natural;
  if (current && current.w === target.w && current.h === target.h) return [];
  return [`scale=${target.w}:${target.h}:flags=bicubic`];
}

/**
 * The frame number u of the frame a filter sees, from its timestamp (chains stamp layer frames as
 * u / fps): filters disagree on whether their `n` counts from 0 or 1, timestamps do not.
 */
function frameVar(fps: Fps, shift = 0): string {
  const u = `round(t*${fps.num}/${fps.den})`;
  return shift === 0 ? u : shift > 0 ? `(${u}+${shift})` : `(${u}-${-shift})`;
}

function frameExpr(e: Expr, fps: Fps): string {
  return toFfmpeg(e, frameVar(fps));
}

/** Animated size: scaled per frame, then padded (transparent) to the largest size, centred. */
function animatedSizeChain(geometry: LayerGeometry, fps: Fps): string[] {
  if (!geometry.dynamicSize) return [];
  return [
    `scale=w='${frameExpr(geometry.w, fps)}':h='${frameExpr(geometry.h, fps)}':eval=frame:flags=bicubic`,
    `pad=w=${geometry.box.w}:h=${geometry.box.h}:x=(ow-iw)/2:y=(oh-ih)/2:color=black@0:eval=frame`,
  ];
}

/** Rotation about the centre into the constant square box (transparent corners). */
function rotateChain(geometry: LayerGeometry, fps: Fps): string[] {
  if (!geometry.rotates) return [];
  const a = isConstant(geometry.angle) ? num(evaluate(geometry.angle, 0)) : `'${frameExpr(geometry.angle, fps)}'`;
  // A transparent fill, not c=none: none leaves the pool buffer's old pixels (trails of earlier angles) outside the picture.
  return [`rotate=a=${a}:ow=${geometry.box.w}:oh=${geometry.box.h}:c=black@0:bilinear=1`];
}

/** A timeline `enable` expression true on layer frames from..to (by timestamp, half a frame of margin). */
function frameWindow(from: number, to: number, fps: Fps): string {
  return `between(t,${num(seconds(from - 0.5, fps))},${num(seconds(to + 0.5, fps))})`;
}

/** 8-bit steps: commands are sent only when a value really changes. */
const q8 = (v: number) => Math.round(v * 255) / 255;

const TINT_YUV: Record<Tint['color'], [number, number, number]> = { black: [16, 128, 128], white: [235, 128, 128] };

/** lutyuv expressions for an opacity and a colour dip (yuva420p). */
function lutValues(opacity: number, tint: Tint | null): { y: string; u: string; v: string; a: string } {
  const a = `val*${num(q8(opacity))}`;
  if (!tint) return { y: 'val', u: 'val', v: 'val', a };
  const t = q8(tint.amount);
  const [cy, cu, cv] = TINT_YUV[tint.color];
  const mix = (c: number) => `val*${num(1 - t)}+${num(c * t)}`;
  return { y: mix(cy), u: mix(cu), v: mix(cv), a };
}

interface Effects {
  filters: string[];
  alpha: boolean;
}

/**
 * Per-frame effects in layer space: the hidden part of an incoming wipe (drawbox, transparent) and
 * opacity + colour dip (lutyuv), their values sent by a sendcmd script at the frames they change.
 */
function effectsChain(ctx: VideoContext, layer: VisualLayer, s: Slice, size: { w: number; h: number }, n: number): Effects {
  const fps = ctx.spec.output.fps;
  const lutName = `lutyuv@op${n}`;
  const boxName = `drawbox@wipe${n}`;
  const lines: string[] = [];
  let lutNeeded = false;
  let lutFrom = -1;
  let lutTo = -1;
  let wipeFrom = -1;
  let wipeTo = -1;
  let prevLut = '';
  let prevBox = '';
  let firstLut: ReturnType<typeof lutValues> | null = null;
  let firstBox: ReturnType<typeof wipeHiddenRect> | null = null;
  for (let u = s.u0; u < s.u1; u++) {
    const opacity = layerOpacity(layer, u);
    const tint = layerTint(layer, u);
    const wipe = layerWipe(layer, u);
    const lut = lutValues(opacity, tint);
    const lutKey = JSON.stringify(lut);
    if (q8(opacity) < 1 || tint) {
      lutNeeded = true;
      if (lutFrom < 0) lutFrom = u;
      lutTo = u;
    }
    const cmds: string[] = [];
    if (u === s.u0) firstLut = lut;
    else if (lutKey !== prevLut) for (const c of ['y', 'u', 'v', 'a'] as const) cmds.push(`${lutName} ${c} ${lut[c]}`);
    prevLut = lutKey;
    if (wipe) {
      const r = wipeHiddenRect(wipe, size.w, size.h);
      const boxKey = JSON.stringify(r);
      if (wipeFrom < 0) {
        wipeFrom = u;
        firstBox = r;
      } else if (boxKey !== prevBox) for (const c of ['x', 'y', 'w', 'h'] as const) cmds.push(`${boxName} ${c} ${r[c]}`);
      wipeTo = u;
      prevBox = boxKey;
    }
    if (cmds.length > 0) lines.push(`${num(seconds(u - 0.5, fps))}-${num(seconds(u + 0.5, fps))} [enter] ${cmds.join(', ')};`);
  }
  const filters: string[] = [];
  if (lines.length > 0) filters.push(`sendcmd=filename=${escapeFilterValue(ctx.g.addFile(`layer-${n}.cmd`, `${lines.join('\n')}\n`))}`);
  if (firstBox) {
    const r = firstBox;
    filters.push(`${boxName}=x=${r.x}:y=${r.y}:w=${r.w}:h=${r.h}:color=black@0:t=fill:replace=1:enable='${frameWindow(wipeFrom, wipeTo, fps)}'`);
  }
  // Commands only ever change a value that differs somewhere, so a lut command implies lutNeeded.
  // Only on the frames that need it (a dissolve's window, not the whole clip after it).
  if (lutNeeded && firstLut) filters.push(`${lutName}=y=${firstLut.y}:u=${firstLut.u}:v=${firstLut.v}:a=${firstLut.a}:enable='${frameWindow(lutFrom, lutTo, fps)}'`);
  return { filters, alpha: lutNeeded || !!firstBox };
}

// ---------- layers ----------

function needsAlphaAlways(layer: VisualLayer, geometry: LayerGeometry): boolean {
  return layer.clip.kind !== 'video' || geometry.dynamicSize || geometry.rotates;
}

/** Builds one layer's chain; returns its label (frames stamped on the render's timeline). */
function layerChain(ctx: VideoContext, layer: VisualLayer, n: number): { label: string; geometry: LayerGeometry } {
  const { spec, range, g } = ctx;
  const { width: W, height: H, fps } = spec.output;
  const s = sliceOf(layer, range);
  const geometry = layerGeometry(layer, W, H);
  const sized = staticSize(geometry) ?? geometry.natural;
  let src: { input: string; filters: string[] };
  let afterSource: string[];
  if (layer.clip.kind === 'video') {
    src = videoSourceChain(ctx, layer as LayerPlan<VideoClip>, s);
    afterSource = sizeChain(geometry, null);
  } else if (layer.clip.kind === 'image') {
    src = imageSourceChain(ctx, layer, s, sizeChain(geometry, null));
    afterSource = [];
  } else {
    src = textSourceChain(ctx, layer as LayerPlan<TextClip>, s, geometry, n);
    afterSource = sizeChain(geometry, geometry.natural);
  }
  const effects = effectsChain(ctx, layer, s, sized, n);
  const alpha = effects.alpha || needsAlphaAlways(layer, geometry);
  // Effects, animated sizes and rotation read the layer's own frame time (stills and text stamp it already).
  const layerTime = layer.clip.kind === 'video' && (effects.filters.length > 0 || geometry.dynamicSize || geometry.rotates) ? [framePts(s.u0, fps)] : [];
  const filters = [
    ...src.filters,
    ...layerTime,
    ...afterSource,
    'setsar=1',
    alpha ? 'format=yuva420p' : 'format=yuv420p',
    ...effects.filters,
    ...animatedSizeChain(geometry, fps),
    ...rotateChain(geometry, fps),
    // Onto the render's timeline: layer frame u is output frame layer.start + u - range.start.
    framePts(s.u0 + layer.start - range.start, fps),
  ];
  const label = g.label('layer');
  g.chain([src.input], filters, label);
  return { label, geometry };
}

/** Places a layer over `below` at its per-frame position. */
function overlayStep(ctx: VideoContext, below: string, layer: VisualLayer, built: { label: string; geometry: LayerGeometry }): string {
  const out = ctx.g.label('comp');
  // The main stream's frames are stamped on the render's timeline: u = its frame + start - layer start.
  const uVar = frameVar(ctx.spec.output.fps, ctx.range.start - layer.start);
  const pos = (e: Expr) => (isConstant(e) ? String(evaluate(e, 0)) : `'${toFfmpeg(e, uVar)}'`);
  ctx.g.chains.push(`[${below}][${built.label}]overlay=x=${pos(built.geometry.left)}:y=${pos(built.geometry.top)}:eof_action=pass:format=yuv420[${out}]`);
  return out;
}

/** Every visible layer in the range over the canvas, bottom first; returns the composite's label. */
export function compositeLayers(ctx: VideoContext, layers: readonly VisualLayer[]): string {
  let current = ctx.g.label('canvas');
  canvasChain(ctx, current);
  layers.forEach((layer, n) => {
    if (!(layer.start < ctx.range.end && layer.end > ctx.range.start)) return;
    const built = layerChain(ctx, layer, n);
    current = overlayStep(ctx, current, layer, built);
  });
  return current;
}
