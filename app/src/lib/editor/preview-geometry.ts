/**
 * Where things go in the preview, computed exactly as the farm computes them (shared cropAt, the
 * builder's overlay box, libass's placement of the ASS "Cue" style). Pure: no PixiJS, so it can be
 * imported during SSR and unit-tested.
 */
import { cropAt, even, type CropRect } from '@clipmaker/shared/render-spec';
import type { Overlay, SubtitleStyle } from '@clipmaker/shared/render-spec';
import type { AssetInfo, ClipSnapshot, TimelineSnapshot } from '@clipmaker/shared/timeline';
import { clipLength } from '@clipmaker/shared/timeline';
/**
 * libass sizes a font so that (usWinAscent + usWinDescent) spans the ASS font size; CSS sizes the em.
 * DejaVu Sans: 2048 units per em, winAscent 1901, winDescent 483.
 */
export const ASS_TO_CSS_SIZE = 2048 / (1901 + 483);
export const ASCENT_OF_LINE = 1901 / (1901 + 483);

/** Must match styleLine() in shared/subtitles/ass.ts. */
const ASS_MARGIN_LR = 40;

export interface ClipAtFrame {
  clip: ClipSnapshot;
  asset: AssetInfo;
  /** Frame relative to the clip's timeline start. */
  rel: number;
  length: number;
}

export function clipAt(tl: TimelineSnapshot, frame: number): ClipAtFrame | null {
  const assets = new Map(tl.assets.map((a) => [a.id, a]));
  for (const clip of tl.clips) {
    const asset = assets.get(clip.assetId);
    if (!asset) continue;
    const length = clipLength(clip, asset, tl.meta.fps);
    if (frame >= clip.start && frame < clip.start + length) return { clip, asset, rel: frame - clip.start, length };
  }
  return null;
}

/** Source time (s) the builder starts from for a frame of a clip, plus a quarter source frame so the decoder cannot pick the previous one. */
export function sourceTimeAt(c: ClipAtFrame, fps: { num: number; den: number }): number {
  const src = c.asset.fps ?? fps;
  return c.clip.sourceIn * (src.den / src.num) + c.rel * (fps.den / fps.num) + src.den / src.num / 4;
}

/** The crop rectangle of a clip frame, exactly as the farm computes it. */
export function cropFor(c: ClipAtFrame, outW: number, outH: number): CropRect {
  return cropAt(c.clip.crop, c.rel, c.asset.width, c.asset.height, outW, outH);
}

export interface SubtitleLayout {
  cssFontSize: number;
  lineHeight: number;
  /** Text anchor point and anchor fractions. */
  x: number;
  y: number;
  anchorY: number;
  strokeWidth: number;
  boxPadding: number;
  wrapWidth: number;
}

/** libass's placement of the Cue style (see ass.ts): bottom/middle/top, marginV, outline or box (BorderStyle 3). */
export function subtitleLayout(style: SubtitleStyle, W: number, H: number): SubtitleLayout {
  const outline = style.box ? 0 : style.outlineWidth;
  const boxPadding = style.box ? Math.max(4, style.outlineWidth) : 0;
  // Pixi grows the text's box by the stroke width (half each side); the ASS margin applies to the glyph box.
  const y = style.position === 'bottom' ? H - style.marginV + outline : style.position === 'top' ? style.marginV - outline : H / 2;
  const anchorY = style.position === 'bottom' ? 1 : style.position === 'top' ? 0 : 0.5;
  return { cssFontSize: style.fontSize * ASS_TO_CSS_SIZE, lineHeight: style.fontSize, x: W / 2, y, anchorY, strokeWidth: outline * 2, boxPadding, wrapWidth: W - 2 * ASS_MARGIN_LR };
}

/** Image overlay box in output pixels, as the builder's scale/overlay filters place it. */
export function overlayBox(o: Overlay, W: number, H: number): { x: number; y: number; w: number; h: number } {
  return { x: Math.round(o.x * W), y: Math.round(o.y * H), w: Math.max(2, even(Math.round(o.w * W))), h: Math.max(2, even(Math.round(o.h * H))) };
}

