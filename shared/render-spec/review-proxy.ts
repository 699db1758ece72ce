/**
 * The review-proxy (watermark) command: a finished render re-encoded with its viewer's name, email
 * and the time burned in, for share links with `watermark` on (shared/jobs ReviewProxyJobData).
 *
 * The viewer's text never reaches the filter string. It goes into an ASS script (a CommandFile the
 * worker writes into its own job folder), escaped by escapeAssText so libass draws it literally:
 * quotes, `%{`, backslashes, newlines, colons, braces are glyphs, not syntax. The graph is one fixed
 * `subtitles=` filter naming that file and the bundled fonts folder (both paths are the worker's own,
 * escaped anyway). Frames pass through one for one (-fps_mode passthrough, same time base), so frame
 * N of the copy is frame N of the render; audio is copied as is.
 */
import { BUNDLED_FONT } from '../fonts.ts';
import { assColor, assScript, escapeAssText } from '../subtitles/ass.ts';
import type { FfmpegCommand } from './ffmpeg-args.ts';
import { commandToArgs } from './ffmpeg-args.ts';
import { escapeFilterValue, fileArg, FfmpegBuildError, type CommandFile } from './graph/common.ts';

export interface WatermarkText {
  name: string;
  email: string | null;
  /** ISO 8601 instant. */
  issuedAt: string;
}

/** A pixel rectangle of the output frame. */
export interface WatermarkBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** `2026-12-02 07:50 UTC` */
export function watermarkTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) throw new FfmpegBuildError('watermark time is not a date');
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** The lines burned into the corner, top to bottom: name, email (when known), time. */
export function watermarkLines(t: WatermarkText): string[] {
  return [t.name.replace(/\s+/gu, ' ').trim() || '?', ...(t.email ? [t.email] : []), watermarkTime(t.issuedAt)];
}

/**
 * Where the corner lines sit (bottom-left, time lowest). `lines[i].start` is a box that the first
 * characters of line i always cover (a line is at least one glyph wide); tests compare pixels there.
 */
export function watermarkLayout(width: number, height: number, lineCount: number) {
  const lineHeight = Math.max(12, Math.round(height / 22));
  const margin = Math.max(8, Math.round(height / 30));
  const step = Math.round(lineHeight * 1.2);
  const lines = Array.from({ length: lineCount }, (_, i) => {
    const baseline = height - margin - (lineCount - 1 - i) * step;
    return { x: margin, baseline, start: { x: margin, y: baseline - lineHeight, w: Math.round(lineHeight * 0.6), h: lineHeight } satisfies WatermarkBox };
  });
  return { lineHeight, margin, lines, centre: { x: Math.round(width / 2), y: Math.round(height / 2), fontSize: Math.max(16, Math.round(height / 10)) } };
}

const FOREVER = '9:59:59.99';

/** The ASS script the worker writes: the corner lines (opaque-ish) and a faint large name in the middle. */
export function buildWatermarkAss(t: WatermarkText, width: number, height: number): string {
  if (!(Number.isInteger(width) && width > 0 && Number.isInteger(height) && height > 0)) throw new FfmpegBuildError('watermark needs the frame size');
  const lines = watermarkLines(t);
  const layout = watermarkLayout(width, height, lines.length);
  const white = assColor('#FFFFFF');
  const black = assColor('#000000');
  const outline = Math.max(1, Math.round(layout.lineHeight / 12));
  // Name, Fontname, Fontsize, Primary, Secondary, Outline, Back, Bold, Italic, Underline, StrikeOut,
  // ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding
  const style = (name: string, size: number, align: number) => `Style: ${name},${BUNDLED_FONT.family},${size},${white},${white},${black},${black},-1,0,0,0,100,100,0,0,1,${outline},0,${align},0,0,0,1`;
  // Our own override tags come first; the viewer's text after them is escaped (no tag can open).
  const events = lines.map((line, i) => {
    const l = layout.lines[i]!;
    return `Dialogue: 1,0:00:00.00,${FOREVER},Corner,,0,0,0,,{\\an1\\pos(${l.x},${l.baseline})\\1a&H30&\\3a&H30&}${escapeAssText(line)}`;
  });
  const c = layout.centre;
  const centreText = [lines[0]!, ...(t.email ? [t.email] : [])].map(escapeAssText).join('\\N');
  events.unshift(`Dialogue: 0,0:00:00.00,${FOREVER},Centre,,0,0,0,,{\\an5\\pos(${c.x},${c.y})\\1a&HB8&\\3a&HFF&}${centreText}`);
  return assScript(width, height, [style('Corner', layout.lineHeight, 1), style('Centre', c.fontSize, 5)], events, 2);
}

export interface ReviewProxyCommandInput {
  /** The render's MP4 (local copy). */
  inputPath: string;
  outputPath: string;
  /** The job's own folder: the ASS script is written there. */
  workDir: string;
  /** The bundled fonts folder (libass finds DejaVu Sans there, nowhere else). */
  fontsDir: string;
  width: number;
  height: number;
  viewer: WatermarkText;
  /** Whether the render has an audio stream (copied as is). */
  hasAudio: boolean;
  threads?: number;
}

/** The whole review-proxy command (argv in `args`, the ASS script in `files`). Pure. */
export function reviewProxyCommand(i: ReviewProxyCommandInput): FfmpegCommand {
  const script: CommandFile = { path: `${i.workDir.replace(/\/+$/, '')}/watermark.ass`, contents: buildWatermarkAss(i.viewer, i.width, i.height) };
  // The render is our own MP4: opened as that format only, from a file only.
  const inputs = [{ options: ['-protocol_whitelist', 'file', '-f', 'mov'], path: fileArg(i.inputPath) }];
  const filterComplex = `[0:v:0]subtitles=filename=${escapeFilterValue(script.path)}:fontsdir=${escapeFilterValue(i.fontsDir)},format=yuv420p[wm]`;
  const out = ['-map', '[wm]'];
  if (i.hasAudio) out.push('-map', '0:a:0', '-c:a', 'copy');
  out.push('-fps_mode', 'passthrough', '-enc_time_base', '-1', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '20', '-pix_fmt', 'yuv420p');
  if (i.threads && Number.isInteger(i.threads) && i.threads > 0) out.push('-threads', String(i.threads));
  // Nothing of the render's metadata (titles, encoder tags) travels; faststart for streaming.
  out.push('-map_metadata', '-1', '-movflags', '+faststart');
  const c: FfmpegCommand = { globalOptions: ['-hide_banner', '-nostdin', '-y'], inputs, filterComplex, outputOptions: out, outputPath: fileArg(i.outputPath), files: [script] };
  return { ...c, args: commandToArgs(c), encoder: 'libx264' };
}
