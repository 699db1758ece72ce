/**
 * SRT and WebVTT: tolerant parsers (BOM, CRLF, missing blank lines, ',' or '.' before milliseconds,
 * optional hours in VTT, cue settings ignored) with line-numbered errors, and serializers. Times are
 * integer frames at the project fps; parsing rounds a cue's start down to the frame that contains it.
 */
import type { Fps } from '../render-spec/schema.ts';

export interface SubtitleCue {
  start: number;
  end: number;
  text: string;
}

export class SubtitleParseError extends Error {
  override name = 'SubtitleParseError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const TIME = /^(?:(\d{1,3}):)?(\d{1,2}):(\d{1,2})[.,](\d{1,3})$/;
const ARROW = /-->/;

/** Milliseconds of `00:01:02,500`, `01:02.5` or `1:02:03.040` (hours optional in both formats). */
function parseTime(raw: string, line: number): number {
  const m = TIME.exec(raw.trim());
  if (!m) throw new SubtitleParseError(line, `"${raw.trim()}" is not a time like 00:00:01,500`);
  const [h, mi, s] = [Number(m[1] ?? 0), Number(m[2]), Number(m[3])];
  if (mi > 59 || s > 59) throw new SubtitleParseError(line, `"${raw.trim()}" has minutes or seconds above 59`);
  const ms = Number(m[4]!.padEnd(3, '0'));
  return ((h * 60 + mi) * 60 + s) * 1000 + ms;
}

function msToFrame(ms: number, fps: Fps): number {
  return Math.floor((ms * fps.num) / (fps.den * 1000) + 1e-6);
}

/** Rounded UP so that parsing the millisecond value back (floor) gives the same frame. */
function frameToMs(frame: number, fps: Fps): number {
  return Math.ceil((frame * fps.den * 1000) / fps.num - 1e-9);
}

function splitLines(text: string): string[] {
  return text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n').split('\n');
}

function toCue(startMs: number, endMs: number, text: string[], fps: Fps, line: number): SubtitleCue {
  if (endMs <= startMs) throw new SubtitleParseError(line, 'the cue ends before it starts');
  const start = msToFrame(startMs, fps);
  const end = Math.max(start + 1, msToFrame(endMs, fps));
  return { start, end, text: text.join('\n').trim() };
}

function parseBlocks(text: string, fps: Fps, format: 'srt' | 'vtt'): SubtitleCue[] {
  const lines = splitLines(text);
  const cues: SubtitleCue[] = [];
  let i = 0;
  if (format === 'vtt') {
    if (!/^WEBVTT(\s|$)/.test(lines[0] ?? '')) throw new SubtitleParseError(1, 'a WebVTT file starts with "WEBVTT"');
    // The header block (WEBVTT line plus optional metadata lines) runs to the first blank line.
    i = 1;
    while (i < lines.length && lines[i]!.trim() !== '' && !ARROW.test(lines[i]!)) i++;
  }
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.trim() === '') {
      i++;
      continue;
    }
    if (format === 'vtt' && /^(NOTE|STYLE|REGION)(\s|$)/.test(line)) {
      while (i < lines.length && lines[i]!.trim() !== '') i++;
      continue;
    }
    // Optional cue number (SRT) or identifier (VTT) before the timing line.
    let timingIndex = i;
    if (!ARROW.test(line)) {
      timingIndex = i + 1;
      if (timingIndex >= lines.length || !ARROW.test(lines[timingIndex]!)) {
        throw new SubtitleParseError(i + 1, format === 'srt' ? 'expected a cue number followed by a timing line "00:00:01,000 --> 00:00:02,000"' : 'expected a timing line "00:01.000 --> 00:02.000"');
      }
    }
    const timing = lines[timingIndex]!;
    const [left, rightWithSettings] = timing.split(ARROW) as [string, string];
    const right = rightWithSettings.trim().split(/\s+/)[0] ?? '';
    const startMs = parseTime(left, timingIndex + 1);
    const endMs = parseTime(right, timingIndex + 1);
    const body: string[] = [];
    let j = timingIndex + 1;
    // Text runs to a blank line; a following timing line also ends it (missing blank line).
    while (j < lines.length && lines[j]!.trim() !== '' && !ARROW.test(lines[j]!) && !(j + 1 < lines.length && /^\d+$/.test(lines[j]!.trim()) && ARROW.test(lines[j + 1]!))) {
      body.push(lines[j]!);
      j++;
    }
    cues.push(toCue(startMs, endMs, body, fps, timingIndex + 1));
    i = j;
  }
  return cues.sort((a, b) => a.start - b.start);
}

/** Strips the inline markup players understand (<i>, <b>, <font …>, <v Bob>, <00:01.000>, {\an8}) to plain text. */
function plain(text: string): string {
  return text
    .replace(/<\/?(?:i|b|u|font|c|v|lang|ruby|rt)(?:[\s.][^>]*)?>/gi, '')
    .replace(/<(?:\d+:)?\d{1,2}:\d{1,2}[.,]\d{1,3}>/g, '')
    .replace(/\{\\[^}]*\}/g, '');
}

export function parseSrt(text: string, fps: Fps): SubtitleCue[] {
  return parseBlocks(text, fps, 'srt').map((c) => ({ ...c, text: plain(c.text) }));
}

export function parseVtt(text: string, fps: Fps): SubtitleCue[] {
  return parseBlocks(text, fps, 'vtt').map((c) => ({ ...c, text: plain(c.text).replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&') }));
}

function fmt(ms: number, sep: ',' | '.'): string {
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const r = ms % 1000;
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}${sep}${String(r).padStart(3, '0')}`;
}

/** Blank lines inside a cue would end it early in every player: they are collapsed. */
function bodyText(text: string): string {
  return text.replace(/\r\n?/g, '\n').replace(/\n{2,}/g, '\n').trim();
}

export function serializeSrt(cues: readonly SubtitleCue[], fps: Fps): string {
  return cues.map((c, i) => `${i + 1}\n${fmt(frameToMs(c.start, fps), ',')} --> ${fmt(frameToMs(c.end, fps), ',')}\n${bodyText(c.text)}\n`).join('\n');
}

export function serializeVtt(cues: readonly SubtitleCue[], fps: Fps): string {
  const esc = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/-->/g, '--&gt;');
  return `WEBVTT\n\n${cues.map((c) => `${fmt(frameToMs(c.start, fps), '.')} --> ${fmt(frameToMs(c.end, fps), '.')}\n${esc(bodyText(c.text))}\n`).join('\n')}`;
}
