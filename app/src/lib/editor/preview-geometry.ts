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

export interface CaptionWordBox {
  /** Left edge of the word's advance and its baseline, in output pixels. */
  x: number;
  baseline: number;
}

/**
 * Where libass puts each word of a word-styled caption event (buildAss: one Dialogue per look, the
 * active word with \fscx/\fscy): lines from the cue's line breaks, each wrapped as WrapStyle 0 does
 * (greedy at spaces inside W - margins, then the last word of a line moved down while that evens
 * the two lines), centred; a line is as tall as its tallest run (a word's ascent and descent grow
 * with its scale, unscaled spaces keep the plain height), lines stacked without gaps, the block
 * placed at the style's position. `advance` is a word's unscaled advance; the scale applies about
 * the word's left end on the baseline, as libass scales a glyph about its origin.
 */
export function wordCaptionLayout(words: readonly { text: string; line: number; scale: number }[], style: SubtitleStyle, W: number, H: number, advance: (text: string) => number, space: number): CaptionWordBox[] {
  const maxW = W - 2 * ASS_MARGIN_LR;
  const width = (idx: readonly number[]) => idx.reduce((a, i) => a + advance(words[i]!.text) * words[i]!.scale, 0) + space * Math.max(0, idx.length - 1);
  // Visual lines (word indices), and whether the break before each line is a soft (wrap) one.
  const lines: number[][] = [];
  const soft: boolean[] = [];
  words.forEach((w, i) => {
    const cur = lines.at(-1);
    if (!cur || words[cur[0]!]!.line !== w.line) {
      lines.push([i]);
      soft.push(false);
    } else if (width([...cur, i]) > maxW) {
      lines.push([i]);
      soft.push(true);
    } else cur.push(i);
  });
  for (let changed = true; changed; ) {
    changed = false;
    for (let k = 1; k < lines.length; k++) {
      const [a, b] = [lines[k - 1]!, lines[k]!];
      if (!soft[k] || a.length < 2) continue;
      const a2 = a.slice(0, -1);
      const b2 = [a.at(-1)!, ...b];
      if (Math.abs(width(a2) - width(b2)) < Math.abs(width(a) - width(b))) {
        lines[k - 1] = a2;
        lines[k] = b2;
        changed = true;
      }
    }
  }
  const asc0 = ASCENT_OF_LINE * style.fontSize;
  const desc0 = style.fontSize - asc0;
  const metrics = lines.map((idx) => {
    const scales = idx.map((i) => words[i]!.scale);
    if (idx.length > 1) scales.push(1);
    const s = Math.max(...scales);
    return { asc: asc0 * s, desc: desc0 * s };
  });
  const blockH = metrics.reduce((a, m) => a + m.asc + m.desc, 0);
  let top = style.position === 'bottom' ? H - style.marginV - blockH : style.position === 'top' ? style.marginV : (H - blockH) / 2;
  const out: CaptionWordBox[] = new Array(words.length);
  lines.forEach((idx, k) => {
    const baseline = top + metrics[k]!.asc;
    top += metrics[k]!.asc + metrics[k]!.desc;
    let x = W / 2 - width(idx) / 2;
    for (const i of idx) {
      out[i] = { x, baseline };
      x += advance(words[i]!.text) * words[i]!.scale + space;
    }
  });
  return out;
}
