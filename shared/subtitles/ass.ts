/**
 * ASS script for libass burn-in (farm and ffmpeg.wasm). All user text (cues and text overlays) goes
 * through this file, never into an ffmpeg filter string, and is escaped so it renders literally:
 * braces become libass's \{ \} escapes, every backslash is followed by a WORD JOINER (U+2060, zero
 * width, no glyph) so \N, \h, \n and override tags cannot form, real newlines become \N, tabs become
 * spaces and other control characters are dropped. Checked with ffmpeg 5.1 + libass: text such as
 * `{\pos(0,0)}hack \N [a];b:c,'d' % 😀 مرحبا` renders literally and stays in place.
 */
import type { RenderSpec, SubtitleStyle } from '../render-spec/schema.ts';

const WORD_JOINER = '\u2060';

export function escapeAssText(text: string): string {
  return (
    text
      .replace(/\r\n?|[\u2028\u2029]/g, '\n')
      // libass turns a tab into a space anyway; other control characters have no glyph.
      .replace(/\t/g, ' ')
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, '')
      .replace(/\\/g, `\\${WORD_JOINER}`)
      .replace(/\{/g, '\\{')
      .replace(/\}/g, '\\}')
      .replace(/\n/g, '\\N')
  );
}

/** Style fields are comma-separated: a font name may not carry commas or line breaks. */
function escapeAssField(value: string): string {
  return value.replace(/[,\r\n\u0000-\u001f\u007f]/g, ' ').trim() || 'DejaVu Sans';
}

/** '#RRGGBB' or '#RRGGBBAA' (AA = opacity) -> '&HAABBGGRR' (AA = transparency). */
export function assColor(hex: string): string {
  const h = hex.replace('#', '');
  const r = h.slice(0, 2);
  const g = h.slice(2, 4);
  const b = h.slice(4, 6);
  const opacity = h.length === 8 ? parseInt(h.slice(6, 8), 16) : 255;
  return `&H${hex2(255 - opacity)}${b}${g}${r}`.toUpperCase();
}

function hex2(n: number): string {
  return n.toString(16).padStart(2, '0').toUpperCase();
}

/**
 * Frame boundary -> ASS time (h:mm:ss.cc). libass shows an event at time t when start <= t < end,
 * and ffmpeg's subtitles filter asks for each frame at its pts in milliseconds (truncated, after
 * floating-point arithmetic), so a boundary placed exactly ON a frame's time can land a millisecond
 * on either side of it. The rule: the time for boundary `frame` is the centisecond NEAREST to the
 * midpoint between frames `frame - 1` and `frame`. A cue [s, e) then starts after frame s-1 and no
 * later than frame s, and ends after frame e-1 and before frame e: visible on frames s..e-1 exactly,
 * with at least 3 ms to spare on each side for any fps up to 60 (centiseconds are too coarse above
 * ~95 fps). Frame 0 maps to 0.
 */
export function assTime(frame: number, fps: { num: number; den: number }): string {
  return formatAssCentiseconds(assBoundaryCentiseconds(frame, fps));
}

/** The centisecond assTime() writes for a frame boundary. */
export function assBoundaryCentiseconds(frame: number, fps: { num: number; den: number }): number {
  return frame <= 0 ? 0 : Math.round(((2 * frame - 1) * fps.den * 100) / (2 * fps.num));
}

/** h:mm:ss.cc */
export function formatAssCentiseconds(cs: number): string {
  const h = Math.floor(cs / 360_000);
  const m = Math.floor((cs % 360_000) / 6000);
  const s = Math.floor((cs % 6000) / 100);
  const c = cs % 100;
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(c).padStart(2, '0')}`;
}

export const ASS_STYLE_FORMAT =
  'Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding';
export const ASS_EVENT_FORMAT = 'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text';

export const ASS_ALIGN = { bottom: 2, middle: 5, top: 8 } as const;

/** One `Style:` line in ASS_STYLE_FORMAT's field order. */
export function styleLine(name: string, s: SubtitleStyle): string {
  const borderStyle = s.box ? 3 : 1;
  // BorderStyle 3 paints an opaque box in OutlineColour; the outline colour then is the box colour.
  const outline = s.box ? assColor(s.boxColor) : assColor(s.outlineColor);
  return [
    `Style: ${name}`,
    escapeAssField(s.fontFamily),
    s.fontSize,
    assColor(s.color),
    assColor(s.color),
    outline,
    assColor(s.boxColor),
    s.bold ? -1 : 0,
    0,
    0,
    0,
    100,
    100,
    0,
    0,
    borderStyle,
    s.box ? Math.max(4, s.outlineWidth) : s.outlineWidth,
    0,
    ASS_ALIGN[s.position],
    40,
    40,
    s.marginV,
    1,
  ].join(',');
}

/**
 * The whole script, in timeline time (frame 0 = 0:00:00.00). Chunked renders use the same file:
 * the ffmpeg builder shifts the frames' timestamps before the subtitles filter instead.
 */
export function buildAss(spec: RenderSpec): string {
  const { width, height, fps } = spec.output;
  const events: string[] = [];
  for (const cue of spec.subtitles.cues) {
    if (cue.text.trim() === '') continue;
    events.push(`Dialogue: 0,${assTime(cue.start, fps)},${assTime(cue.end, fps)},Cue,,0,0,0,,${escapeAssText(cue.text)}`);
  }
  for (const o of spec.overlays) {
    if (o.kind !== 'text' || o.text.trim() === '') continue;
    const x = Math.round(o.x * width);
    const y = Math.round(o.y * height);
    // The overlay's opacity multiplies the colour's own alpha (#RRGGBBAA); ASS alpha is transparency.
    const colorOpacity = o.color.length === 9 ? parseInt(o.color.slice(7, 9), 16) / 255 : 1;
    const alpha = hex2(255 - Math.round(o.opacity * colorOpacity * 255));
    const bgr = assColor(o.color).slice(4);
    const tags = `{\\an7\\pos(${x},${y})\\fs${o.fontSize}\\c&H${bgr}&\\alpha&H${alpha}&}`;
    events.push(`Dialogue: 1,${assTime(o.start, fps)},${assTime(o.end, fps)},Overlay,,0,0,0,,${tags}${escapeAssText(o.text)}`);
  }
  const overlayStyle: SubtitleStyle = { ...spec.subtitles.style, outlineWidth: 0, box: false, position: 'top', marginV: 0, bold: false };
  return [
    '[Script Info]',
    '; Generated by ClipMaker',
    'ScriptType: v4.00+',
    `PlayResX: ${width}`,
    `PlayResY: ${height}`,
    'WrapStyle: 0',
    'ScaledBorderAndShadow: yes',
    'YCbCr Matrix: TV.709',
    '',
    '[V4+ Styles]',
    ASS_STYLE_FORMAT,
    styleLine('Cue', spec.subtitles.style),
    styleLine('Overlay', overlayStyle),
    '',
    '[Events]',
    ASS_EVENT_FORMAT,
    ...events,
    '',
  ].join('\n');
}

/** True when the spec has anything for libass to draw (cues or text overlays): write the file then. */
export function needsAss(spec: RenderSpec): boolean {
  return spec.subtitles.cues.some((c) => c.text.trim() !== '') || spec.overlays.some((o) => o.kind === 'text' && o.text.trim() !== '');
}
