/**
 * Where text goes in the preview, computed as libass lays out the same scripts (the subtitle cue
 * style of subtitles/ass.ts; a text clip's script of subtitles/text-layer.ts). Pure: no PixiJS, so
 * it can be imported during SSR and unit-tested; text widths come from a measuring function.
 */
import type { SubtitleStyle, TextStyle } from '@clipmaker/shared/render-spec';
import { ascentOfLine, cssFontSize } from '@clipmaker/shared/fonts';
/**
 * libass sizes a font so that (usWinAscent + usWinDescent) spans the ASS font size; CSS sizes the em.
 * DejaVu Sans: 2048 units per em, winAscent 1901, winDescent 483.
 */
export const ASS_TO_CSS_SIZE = 2048 / (1901 + 483);
export const ASCENT_OF_LINE = 1901 / (1901 + 483);

/** Must match styleLine() in shared/subtitles/ass.ts. */
const ASS_MARGIN_LR = 40;

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

/** Style options for PixiJS's TextStyle (kept as plain data here). */
export interface PixiTextStyle {
  fontFamily: string;
  fontSize: number;
  fontWeight: 'bold' | 'normal';
  fontStyle: 'italic' | 'normal';
  fill: string;
  lineHeight: number;
  stroke?: { color: string; width: number; join: 'round' };
  dropShadow?: { color: string; alpha: number; distance: number; angle: number; blur: number };
}

export interface TextLine {
  text: string;
  /** Left edge of the line's glyphs, its top and its baseline, in box pixels. */
  x: number;
  top: number;
  baseline: number;
  width: number;
  /** Characters between this line and the next (the space a wrap replaced, a newline): 0 or 1. */
  consumed: number;
}

export interface TextLayout {
  style: PixiTextStyle;
  lineHeight: number;
  lines: TextLine[];
}

function hexAlpha(color: string): { rgb: string; alpha: number } {
  return { rgb: color.slice(0, 7), alpha: color.length === 9 ? parseInt(color.slice(7, 9), 16) / 255 : 1 };
}

/**
 * A text clip laid out in its box like libass draws its script: font size = line height, lines
 * broken greedily at spaces where the next word would pass the box width (WrapStyle 1) and at
 * newlines, each aligned on its own, the block aligned vertically, baselines at the font's
 * ascent of the line.
 */
export function layoutText(text: string, s: TextStyle, boxW: number, boxH: number, measure: (text: string, style: PixiTextStyle) => number): TextLayout {
  const fill = hexAlpha(s.color);
  const style: PixiTextStyle = {
    fontFamily: s.fontFamily,
    fontSize: cssFontSize(s.fontFamily, s.fontSize),
    fontWeight: s.bold ? 'bold' : 'normal',
    fontStyle: s.italic ? 'italic' : 'normal',
    fill: s.color,
    lineHeight: s.fontSize,
  };
  if (s.strokeWidth > 0) style.stroke = { color: s.strokeColor, width: 2 * s.strokeWidth, join: 'round' };
  if (s.shadowDepth > 0) {
    const sh = hexAlpha(s.shadowColor);
    style.dropShadow = { color: sh.rgb, alpha: sh.alpha, distance: s.shadowDepth * Math.SQRT2, angle: Math.PI / 4, blur: 0 };
  }
  void fill;
  // Advance widths only, as libass aligns and boxes lines (canvas measuring would add the stroke and the shadow).
  const plain: PixiTextStyle = { fontFamily: style.fontFamily, fontSize: style.fontSize, fontWeight: style.fontWeight, fontStyle: style.fontStyle, fill: style.fill, lineHeight: style.lineHeight };
  const advance = (t: string) => measure(t, plain);
  const raw: { text: string; consumed: number }[] = [];
  const paragraphs = text.replace(/\r\n?/g, '\n').split('\n');
  paragraphs.forEach((para, pi) => {
    const words = para.split(' ');
    let line = '';
    words.forEach((word, wi) => {
      const candidate = wi === 0 ? word : `${line} ${word}`;
      if (wi > 0 && line !== '' && advance(candidate) > boxW) {
        raw.push({ text: line, consumed: 1 });
        line = word;
      } else line = candidate;
    });
    raw.push({ text: line, consumed: pi < paragraphs.length - 1 ? 1 : 0 });
  });
  const lineHeight = s.fontSize;
  const block = raw.length * lineHeight;
  const top0 = s.verticalAlign === 'top' ? 0 : s.verticalAlign === 'middle' ? (boxH - block) / 2 : boxH - block;
  const ascent = ascentOfLine(s.fontFamily) * lineHeight;
  const lines = raw.map((l, i) => {
    const width = l.text === '' ? 0 : advance(l.text);
    const x = s.align === 'left' ? 0 : s.align === 'center' ? (boxW - width) / 2 : boxW - width;
    const top = top0 + i * lineHeight;
    return { text: l.text, x, top, baseline: top + ascent, width, consumed: l.consumed };
  });
  return { style, lineHeight, lines };
}
