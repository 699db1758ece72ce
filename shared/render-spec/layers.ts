/**
 * What every layer of a RenderSpec shows at every frame: THE definition shared by the ffmpeg
 * builder (farm, ffmpeg.wasm) and the PixiJS preview. Pure.
 *
 * A layer is a clip drawn over its window: the clip's own frames plus, inside a transition, the
 * frames that extend it past its out point or before its in point. Each layer has its own frame
 * counter u (0 = first frame of its window); k = u - pre is the clip-relative frame the spec's
 * keyframes and animations use. Geometry (size, rotation, placement) is an Expr of u (printed for
 * ffmpeg, evaluated for PixiJS); opacity, colour dips, wipes and typewriter reveal are plain
 * per-frame numbers (the builder sends them to ffmpeg frame by frame).
 */
import { cropAt, type CropRect } from './crop.ts';
import { add, cos, div, evaluate, evenFloor, floor, max, mul, num, piecewise, sin, sub, U, type Expr, type Piece } from './expr.ts';
import {
  IDENTITY_TRANSFORM,
  type Animation,
  type Clip,
  type Direction,
  type ImageClip,
  type MediaClip,
  type RenderSpec,
  type Source,
  type TextClip,
  type Track,
  type Transform,
  type TransformKeyframe,
  type Transition,
  type VideoClip,
  type VisualClip,
} from './schema.ts';
import { clipLength, clipSourceFrame } from './time.ts';

export interface Size {
  w: number;
  h: number;
}

/** A transition's window on the timeline: [start, end), centred on the cut. */
export interface TransitionWindow {
  transition: Transition;
  start: number;
  cut: number;
  end: number;
}

export function transitionWindow(transition: Transition, cut: number): TransitionWindow {
  const before = Math.floor(transition.duration / 2);
  return { transition, start: cut - before, cut, end: cut - before + transition.duration };
}

/** Transitions during which both clips are on screen (the others dip through a colour at the cut). */
export function overlaps(t: Transition): boolean {
  return t.kind === 'dissolve' || t.kind === 'wipe' || t.kind === 'slide';
}

export interface LayerPlan<C extends Clip = Clip> {
  clip: C;
  track: Track;
  source: Source | null;
  /** Frames of the clip itself. */
  length: number;
  /** Timeline window [start, end) the layer plays over. */
  start: number;
  end: number;
  /** clip.start - start: frames played before the clip (the incoming side of a transition). */
  pre: number;
  /** The clip's own transition (from the previous clip). */
  into: TransitionWindow | null;
  /** The next clip's transition (this clip is its outgoing side). */
  outOf: TransitionWindow | null;
}

export type VisualLayer = LayerPlan<VisualClip>;
export type AudioLayer = LayerPlan<MediaClip>;

function sourceMap(spec: RenderSpec): Map<string, Source> {
  return new Map(spec.sources.map((s) => [s.id, s]));
}

/** Every clip as a layer, tracks in spec order (video: bottom first), clips in time order. */
export function planLayers(spec: RenderSpec): LayerPlan[] {
  const sources = sourceMap(spec);
  const out: LayerPlan[] = [];
  for (const track of spec.tracks) {
    const clips = spec.clips.filter((c) => c.trackId === track.id).sort((a, b) => a.start - b.start);
    const plans = clips.map((clip) => {
      const source = clip.kind === 'text' ? null : (sources.get(clip.sourceId) ?? null);
      const length = clipLength(clip, source, spec.output.fps);
      return { clip, track, source, length, start: clip.start, end: clip.start + length, pre: 0, into: null, outOf: null } as LayerPlan;
    });
    for (let i = 1; i < plans.length; i++) {
      const a = plans[i - 1]!;
      const b = plans[i]!;
      const t = b.clip.transition;
      if (!t || a.clip.start + a.length !== b.clip.start || t.duration > Math.min(a.length, b.length)) continue;
      const w = transitionWindow(t, b.clip.start);
      b.into = w;
      a.outOf = w;
      // Video tracks: dips do not overlap the clips; sound always crossfades over the window.
      if (overlaps(t) || track.kind === 'audio') {
        a.end = w.end;
        b.start = w.start;
        b.pre = b.clip.start - b.start;
      }
    }
    out.push(...plans);
  }
  return out;
}

/** Layers drawn on video tracks that are not hidden, bottom to top. */
export function visualLayers(spec: RenderSpec, plans = planLayers(spec)): VisualLayer[] {
  return plans.filter((p): p is VisualLayer => p.track.kind === 'video' && !p.track.hidden && p.clip.kind !== 'audio');
}

/** Is a track heard? Muted tracks never; when any track is soloed, only soloed ones. */
export function audible(spec: RenderSpec, track: Track): boolean {
  if (track.muted) return false;
  return !spec.tracks.some((t) => t.solo) || track.solo;
}

/** Layers with sound: audio clips and video clips (not freeze frames) whose source has audio, on audible tracks. */
export function audioLayers(spec: RenderSpec, plans = planLayers(spec)): AudioLayer[] {
  return plans.filter((p): p is AudioLayer => {
    if (!audible(spec, p.track)) return false;
    if (p.clip.kind === 'audio') return true;
    return p.clip.kind === 'video' && !p.clip.freeze && !!p.source?.hasAudio;
  });
}

/** Does any part of [start, end) of the layer fall in [from, to)? */
export function layerIn(l: { start: number; end: number }, from: number, to: number): boolean {
  return l.start < to && l.end > from;
}

// ---------- geometry ----------

const even = (v: number) => 2 * Math.floor(v / 2);

function fitInside(w: number, h: number, W: number, H: number): Size {
  if (w <= 0 || h <= 0) return { w: W, h: H };
  if (w * H >= h * W) return { w: W, h: Math.max(2, even(Math.round((W * h) / w))) };
  return { w: Math.max(2, even(Math.round((H * w) / h))), h: H };
}

/**
 * The layer's size before its transform: video: its crop fitted into the output (a crop of the
 * output's aspect, the default, fills it exactly, as v1 rendered every clip); image: the image
 * fitted into the output; text: its box.
 */
export function naturalSize(layer: VisualLayer, W: number, H: number): Size {
  const c = layer.clip;
  if (c.kind === 'text') return { w: Math.max(2, even(Math.round(c.box.width * W))), h: Math.max(2, even(Math.round(c.box.height * H))) };
  const s = layer.source!;
  if (c.kind === 'image') return fitInside(s.width, s.height, W, H);
  const r = cropAt(c.crop, 0, s.width, s.height, W, H);
  const aspect = r.w / r.h;
  if (Math.abs(aspect / (W / H) - 1) < 0.01) return { w: W, h: H };
  return fitInside(r.w, r.h, W, H);
}

type Prop = keyof Transform;

function easeValue(kind: TransformKeyframe['easing'], v0: number, v1: number, u0: number, du: number): Expr {
  if (kind === 'hold' || v0 === v1) return num(v0);
  const p = div(sub(U, num(u0)), num(du));
  if (kind === 'linear') return add(num(v0), div(mul(num(v1 - v0), sub(U, num(u0))), num(du)));
  // smoothstep: p * p * (3 - 2p)
  return add(num(v0), mul(num(v1 - v0), mul(mul(p, p), sub(num(3), mul(num(2), p)))));
}

/** One transform property of the clip as a function of u over [0, last]. */
export function keyframedProp(kfs: readonly TransformKeyframe[], prop: Prop, pre: number, last: number): Expr {
  if (kfs.length === 0) return num(IDENTITY_TRANSFORM[prop]);
  if (kfs.length === 1 || kfs.every((k) => k[prop] === kfs[0]![prop])) return num(kfs[0]![prop]);
  const pieces: Piece[] = [];
  const at = (k: TransformKeyframe) => k.frame + pre;
  if (at(kfs[0]!) > 0) pieces.push({ from: 0, to: at(kfs[0]!) - 1, value: num(kfs[0]![prop]) });
  for (let i = 0; i < kfs.length - 1; i++) {
    const a = kfs[i]!;
    const b = kfs[i + 1]!;
    pieces.push({ from: at(a), to: at(b) - 1, value: easeValue(a.easing, a[prop], b[prop], at(a), b.frame - a.frame) });
  }
  const tail = kfs[kfs.length - 1]!;
  pieces.push({ from: at(tail), to: Math.max(at(tail), last), value: num(tail[prop]) });
  return piecewise(pieces.filter((p) => p.to >= 0 && p.from <= last).map((p) => ({ ...p, from: Math.max(0, p.from) })));
}

/** Transform values of a clip at clip frame k (the preview's inspector shows these). */
export function transformAt(clip: VisualClip, k: number): Transform {
  const out = { ...IDENTITY_TRANSFORM };
  for (const prop of Object.keys(IDENTITY_TRANSFORM) as Prop[]) out[prop] = evaluate(keyframedProp(clip.transform, prop, 0, Math.max(0, k)), k);
  return out;
}

/** Entrance progress at clip frame k: 1/duration on the first frame .. 1; 1 when not animating. */
export function inProgress(a: Animation, k: number): number {
  if (a.kind === 'none') return 1;
  return Math.max(0, Math.min(1, (k + 1) / a.duration));
}

/** Exit progress: 1 until the exit starts, down to 1/duration on the clip's last frame. */
export function outProgress(a: Animation, k: number, length: number): number {
  if (a.kind === 'none') return 1;
  return Math.max(0, Math.min(1, (length - k) / a.duration));
}

/** Pop: grows to 110 % over the first 70 % of the animation, settles to 100 %. */
export function popScale(p: number): number {
  return p <= 0.7 ? (1.1 * p) / 0.7 : 1.1 - (0.1 * (p - 0.7)) / 0.3;
}

function slideDistance(dir: Direction, W: number, H: number): { x: number; y: number } {
  return dir === 'left' ? { x: -W, y: 0 } : dir === 'right' ? { x: W, y: 0 } : dir === 'up' ? { x: 0, y: -H } : { x: 0, y: H };
}

/** Ease-out cubic. */
const easeOut = (p: number) => 1 - (1 - p) ** 3;

/** Per-frame constant pieces of f(k) over the animation frames of a layer, as an Expr of u. */
function sampled(layer: VisualLayer, kFrom: number, kTo: number, f: (k: number) => number, neutral: number): Piece[] {
  const pieces: Piece[] = [];
  for (let k = Math.max(kFrom, -layer.pre); k <= kTo && k + layer.pre < layer.end - layer.start; k++) {
    const v = f(k);
    if (v !== neutral) pieces.push({ from: k + layer.pre, to: k + layer.pre, value: num(v) });
  }
  return pieces;
}

function animationFrames(layer: VisualLayer, which: 'in' | 'out'): [number, number] {
  const a = which === 'in' ? layer.clip.animIn : layer.clip.animOut;
  return which === 'in' ? [0, a.duration - 1] : [layer.length - a.duration, layer.length - 1];
}

function popFactor(layer: VisualLayer): Expr {
  const pieces: Piece[] = [];
  const { animIn, animOut } = layer.clip;
  if (animIn.kind === 'pop') pieces.push(...sampled(layer, ...animationFrames(layer, 'in'), (k) => popScale(inProgress(animIn, k)), 1));
  if (animOut.kind === 'pop') pieces.push(...sampled(layer, ...animationFrames(layer, 'out'), (k) => popScale(outProgress(animOut, k, layer.length)), 1));
  if (pieces.length === 0) return num(1);
  // Frames outside the animations scale by 1: fill the gaps.
  return fillGaps(pieces, layer.end - layer.start - 1, 1);
}

function fillGaps(pieces: Piece[], last: number, value: number): Expr {
  const sorted = [...pieces].sort((a, b) => a.from - b.from);
  const out: Piece[] = [];
  let cursor = 0;
  for (const p of sorted) {
    if (p.from > cursor) out.push({ from: cursor, to: p.from - 1, value: num(value) });
    out.push(p);
    cursor = Math.max(cursor, p.to + 1);
  }
  if (cursor <= last) out.push({ from: cursor, to: last, value: num(value) });
  return piecewise(out);
}

/** Output-pixel offsets from slide animations and slide transitions. */
function slideOffset(layer: VisualLayer, axis: 'x' | 'y', W: number, H: number): Expr {
  const pieces: Piece[] = [];
  const { animIn, animOut } = layer.clip;
  if (animIn.kind === 'slide') {
    const d = slideDistance(animIn.direction, W, H)[axis];
    if (d !== 0) pieces.push(...sampled(layer, ...animationFrames(layer, 'in'), (k) => (1 - easeOut(inProgress(animIn, k))) * d, 0));
  }
  if (animOut.kind === 'slide') {
    const d = slideDistance(animOut.direction, W, H)[axis];
    if (d !== 0) pieces.push(...sampled(layer, ...animationFrames(layer, 'out'), (k) => (1 - easeOut(outProgress(animOut, k, layer.length))) * d, 0));
  }
  let out = piecewise(pieces);
  const into = layer.into;
  if (into && into.transition.kind === 'slide') {
    // The incoming clip travels from one frame-size away to its place, linearly over the window.
    const d = -slideDistance(into.transition.direction, W, H)[axis];
    if (d !== 0) {
      const u0 = into.start - layer.start;
      const dur = into.transition.duration;
      out = add(out, piecewise([{ from: u0, to: u0 + dur - 1, value: sub(num(d), div(mul(num(d), sub(U, num(u0))), num(dur))) }]));
    }
  }
  return out;
}

export interface LayerGeometry {
  natural: Size;
  /** Scaled size, even and at least 2. */
  w: Expr;
  h: Expr;
  /** Radians, clockwise. */
  angle: Expr;
  /** Centre of the layer in output pixels. */
  cx: Expr;
  cy: Expr;
  /** The constant box ffmpeg places (scaled layer, padded to its largest size, or the rotation square). */
  box: Size;
  dynamicSize: boolean;
  rotates: boolean;
  /** Top-left of the box in whole output pixels (overlay then clears the low bit on yuv420p). */
  left: Expr;
  top: Expr;
}

export function layerGeometry(layer: VisualLayer, W: number, H: number): LayerGeometry {
  const last = layer.end - layer.start - 1;
  const kfs = layer.clip.transform;
  const prop = (p: Prop) => keyframedProp(kfs, p, layer.pre, last);
  const natural = naturalSize(layer, W, H);
  const pop = popFactor(layer);
  // Sizes are even integers >= 2: max(2, evenFloor(natural * scale)).
  // + 0.001: a scale written as size / natural (migrated v1 overlays) must give back that size.
  const w = max(evenFloor(add(mul(num(natural.w), mul(prop('scaleX'), pop)), num(0.001))), num(2));
  const h = max(evenFloor(add(mul(num(natural.h), mul(prop('scaleY'), pop)), num(0.001))), num(2));
  const angle = mul(prop('rotation'), num(Math.PI / 180));
  const px = add(mul(prop('x'), num(W)), slideOffset(layer, 'x', W, H));
  const py = add(mul(prop('y'), num(H)), slideOffset(layer, 'y', W, H));
  const dx = mul(sub(prop('anchorX'), num(0.5)), w);
  const dy = mul(sub(prop('anchorY'), num(0.5)), h);
  const c = cos(angle);
  const s = sin(angle);
  const cx = sub(px, sub(mul(dx, c), mul(dy, s)));
  const cy = sub(py, add(mul(dx, s), mul(dy, c)));
  let wMax = 0;
  let hMax = 0;
  let rotates = false;
  let wMin = Infinity;
  let hMin = Infinity;
  for (let u = 0; u <= last; u++) {
    const wu = evaluate(w, u);
    const hu = evaluate(h, u);
    wMax = Math.max(wMax, wu);
    hMax = Math.max(hMax, hu);
    wMin = Math.min(wMin, wu);
    hMin = Math.min(hMin, hu);
    if (evaluate(angle, u) % (2 * Math.PI) !== 0) rotates = true;
    if (w.op === 'num' && h.op === 'num' && angle.op === 'num') break;
  }
  const dynamicSize = wMin !== wMax || hMin !== hMax;
  const side = even(Math.ceil(Math.hypot(wMax, hMax))) + 2;
  const box = rotates ? { w: side, h: side } : { w: wMax, h: hMax };
  // Whole pixels (+ 0.001 for positions written as pixel / size), so overlay's truncation is a floor.
  const left = floor(add(sub(cx, num(box.w / 2)), num(0.001)));
  const top = floor(add(sub(cy, num(box.h / 2)), num(0.001)));
  return { natural, w, h, angle, cx, cy, box, dynamicSize, rotates, left, top };
}

/** ffmpeg overlay's placement of a computed position on yuv420p: truncate, then clear the low bit. */
export function overlayPosition(v: number): number {
  return (Math.trunc(v) | 0) & ~1;
}

// ---------- per-frame scalars ----------

/** Opacity at layer frame u: transform opacity x fade animations x an incoming dissolve. */
export function layerOpacity(layer: VisualLayer, u: number): number {
  const k = u - layer.pre;
  const kfs = layer.clip.transform;
  let o = evaluate(keyframedProp(kfs, 'opacity', layer.pre, layer.end - layer.start - 1), u);
  const { animIn, animOut } = layer.clip;
  if (animIn.kind === 'fade') o *= inProgress(animIn, k);
  if (animOut.kind === 'fade') o *= outProgress(animOut, k, layer.length);
  const into = layer.into;
  if (into && into.transition.kind === 'dissolve') {
    const f = layer.start + u;
    if (f < into.end) o *= Math.max(0, f - into.start) / into.transition.duration;
  }
  return Math.max(0, Math.min(1, o));
}

export interface Tint {
  color: 'black' | 'white';
  /** 0 = the picture, 1 = the colour. */
  amount: number;
}

/** Dip to black/white: the outgoing clip fades to the colour before the cut, the incoming fades from it after. */
export function layerTint(layer: VisualLayer, u: number): Tint | null {
  const f = layer.start + u;
  const out = layer.outOf;
  if (out && (out.transition.kind === 'dip-black' || out.transition.kind === 'dip-white') && f >= out.start && f < out.cut)
    return { color: out.transition.kind === 'dip-black' ? 'black' : 'white', amount: (f - out.start + 1) / (out.cut - out.start + 1) };
  const into = layer.into;
  if (into && (into.transition.kind === 'dip-black' || into.transition.kind === 'dip-white') && f >= into.cut && f < into.end)
    return { color: into.transition.kind === 'dip-black' ? 'black' : 'white', amount: (into.end - f) / (into.end - into.cut + 1) };
  return null;
}

export interface Wipe {
  direction: Direction;
  /** Revealed fraction of the layer, 0..1 (exclusive of 1). */
  progress: number;
}

/** An incoming wipe: the part of the layer shown grows from the side opposite `direction`. */
export function layerWipe(layer: VisualLayer, u: number): Wipe | null {
  const into = layer.into;
  if (!into || into.transition.kind !== 'wipe') return null;
  const f = layer.start + u;
  if (f >= into.end) return null;
  return { direction: into.transition.direction, progress: Math.max(0, f - into.start) / into.transition.duration };
}

/** The hidden part of a layer of size w x h during a wipe, in layer pixels (x, y, w, h; never empty). */
export function wipeHiddenRect(wipe: Wipe, w: number, h: number): { x: number; y: number; w: number; h: number } {
  const horizontal = wipe.direction === 'left' || wipe.direction === 'right';
  const size = horizontal ? w : h;
  const shown = Math.min(size - 1, Math.floor(wipe.progress * size));
  const hidden = size - shown;
  if (wipe.direction === 'right') return { x: shown, y: 0, w: hidden, h };
  if (wipe.direction === 'left') return { x: 0, y: 0, w: hidden, h };
  if (wipe.direction === 'down') return { x: 0, y: shown, w, h: hidden };
  return { x: 0, y: 0, w, h: hidden };
}

/** Characters of a text clip shown at u (typewriter), or null when all are. Counts code points. */
export function visibleChars(layer: VisualLayer, u: number): number | null {
  if (layer.clip.kind !== 'text') return null;
  const k = u - layer.pre;
  const n = [...layer.clip.text].length;
  const { animIn, animOut } = layer.clip;
  let shown = n;
  if (animIn.kind === 'typewriter') shown = Math.min(shown, Math.ceil(inProgress(animIn, k) * n));
  if (animOut.kind === 'typewriter') shown = Math.min(shown, Math.ceil(outProgress(animOut, k, layer.length) * n));
  return shown === n ? null : shown;
}

/** The source frame a video layer shows at u. */
export function layerSourceFrame(layer: LayerPlan<VideoClip> | AudioLayer, u: number, spec: RenderSpec): number {
  return clipSourceFrame(layer.clip, layer.source!, spec.output.fps, u - layer.pre);
}

/** The crop rectangle (source pixels) of a video layer at u. */
export function layerCrop(layer: LayerPlan<VideoClip>, u: number, W: number, H: number): CropRect {
  const s = layer.source!;
  return cropAt(layer.clip.crop, u - layer.pre, s.width, s.height, W, H);
}

/** Everything the preview needs to draw one layer at a timeline frame. */
export interface LayerFrame {
  u: number;
  k: number;
  sourceFrame: number | null;
  crop: CropRect | null;
  w: number;
  h: number;
  angle: number;
  /** Top-left of the box as ffmpeg's overlay places it (even pixels) and the box size. */
  left: number;
  top: number;
  box: Size;
  opacity: number;
  tint: Tint | null;
  wipe: Wipe | null;
  chars: number | null;
}

export function layerFrame(layer: VisualLayer, geometry: LayerGeometry, frame: number, spec: RenderSpec): LayerFrame {
  const u = frame - layer.start;
  const { width: W, height: H } = spec.output;
  const video = layer.clip.kind === 'video' ? (layer as LayerPlan<VideoClip>) : null;
  return {
    u,
    k: u - layer.pre,
    sourceFrame: video ? layerSourceFrame(video, u, spec) : null,
    crop: video ? layerCrop(video, u, W, H) : null,
    w: evaluate(geometry.w, u),
    h: evaluate(geometry.h, u),
    angle: evaluate(geometry.angle, u),
    left: overlayPosition(evaluate(geometry.left, u)),
    top: overlayPosition(evaluate(geometry.top, u)),
    box: geometry.box,
    opacity: layerOpacity(layer, u),
    tint: layerTint(layer, u),
    wipe: layerWipe(layer, u),
    chars: visibleChars(layer, u),
  };
}

export type { ImageClip, TextClip };
