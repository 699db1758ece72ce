/**
 * The ASS script of one text clip: libass draws it onto the clip's own transparent canvas (its box,
 * PlayRes = box size in output pixels), which the builder then transforms like any layer. User text
 * reaches ffmpeg only inside this file, escaped by escapeAssText.
 *
 * Layout: the style's alignment inside the box, no margins, end-of-line word wrapping (WrapStyle 1,
 * what the PixiJS preview does), font size = line height (libass). A background box is a second
 * event on a lower layer with the same text in a BorderStyle 3 style and invisible glyphs, so the
 * box, the outline and the shadow can all be on at once. Typewriter frames hide the characters not
 * yet typed with \alpha&HFF& so the layout never jumps.
 */
import type { Fps, TextClip, TextStyle } from '../render-spec/schema.ts';
import { ASS_STYLE_FORMAT, assColor, assScript, assTime, escapeAssText } from './ass.ts';

/** ASS numpad alignment. */
export function assAlignment(style: Pick<TextStyle, 'align' | 'verticalAlign'>): number {
  const col = style.align === 'left' ? 1 : style.align === 'center' ? 2 : 3;
  const row = style.verticalAlign === 'bottom' ? 0 : style.verticalAlign === 'middle' ? 3 : 6;
  return row + col;
}

function fontName(family: string): string {
  return family.replace(/[,\r\n\u0000-\u001f\u007f]/g, ' ').trim() || 'Inter';
}

/** The colour, or in a matte script the same transparency in white (what libass draws over black is then the coverage). */
function colour(hex: string, matte: boolean): string {
  const c = assColor(hex);
  return matte ? `${c.slice(0, 4)}FFFFFF` : c;
}

function styleLine(name: string, s: TextStyle, box: boolean, matte: boolean): string {
  const fields = box
    ? ['&HFF000000', '&HFF000000', colour(s.boxColor ?? '#00000000', matte), colour(s.boxColor ?? '#00000000', matte), 3, s.boxPadding, 0]
    : [colour(s.color, matte), colour(s.color, matte), colour(s.strokeColor, matte), colour(s.shadowColor, matte), 1, s.strokeWidth, s.shadowDepth];
  const [primary, secondary, outline, back, borderStyle, outlineWidth, shadow] = fields;
  return [`Style: ${name}`, fontName(s.fontFamily), s.fontSize, primary, secondary, outline, back, s.bold ? -1 : 0, s.italic ? -1 : 0, 0, 0, 100, 100, 0, 0, borderStyle, outlineWidth, shadow, assAlignment(s), 0, 0, 0, 1].join(',');
}

/** Text with the characters from `shown` on made invisible (code points, as visibleChars counts). */
export function typedText(text: string, shown: number | null): string {
  if (shown === null) return escapeAssText(text);
  const chars = [...text];
  const visible = escapeAssText(chars.slice(0, shown).join(''));
  const rest = chars.slice(shown).join('');
  return rest.length === 0 ? visible : `${visible}{\\alpha&HFF&}${escapeAssText(rest)}`;
}

/**
 * The script for a text layer of `frames` frames (layer time: frame 0 = the layer's first frame),
 * `charsAt(u)` the characters shown at u (null = all). `matte`: the same layout with every colour
 * white at its own transparency: drawn over black it is the layer's alpha (libass blends onto an
 * opaque picture exactly; onto a transparent one ffmpeg's alpha is not the coverage).
 */
export function buildTextLayerAss(clip: TextClip, box: { w: number; h: number }, fps: Fps, frames: number, charsAt: (u: number) => number | null, matte = false): string {
  const events: string[] = [];
  const boxed = clip.style.boxColor !== null;
  if (clip.text.trim() !== '') {
    let runStart = 0;
    for (let u = 1; u <= frames; u++) {
      if (u < frames && charsAt(u) === charsAt(runStart)) continue;
      const text = typedText(clip.text, charsAt(runStart));
      const from = assTime(runStart, fps);
      const to = assTime(u, fps);
      if (boxed) events.push(`Dialogue: 0,${from},${to},Box,,0,0,0,,${text}`);
      events.push(`Dialogue: 1,${from},${to},Text,,0,0,0,,${text}`);
      runStart = u;
    }
  }
  // WrapStyle 1: end-of-line (greedy) wrapping, what the preview does.
  return assScript(box.w, box.h, [styleLine('Text', clip.style, false, matte), styleLine('Box', clip.style, true, matte)], events, 1);
}
