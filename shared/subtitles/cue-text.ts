/**
 * The format-neutral model every subtitle parser produces and every writer consumes: cues in
 * milliseconds with their text as styled runs (bold, italic, underline, strike-through, colour), the
 * cue's own position where the file gave one, and warnings for whatever was dropped. The timeline
 * keeps plain text (`plainText`); conversions between files keep the runs.
 */
import type { SubtitleStyle } from '../render-spec/schema.ts';

export type SubtitleFormat = 'srt' | 'vtt' | 'ass';
export type CuePosition = SubtitleStyle['position'];

export interface RunStyle {
  bold?: boolean;
  italic?: boolean;
  underline?: boolean;
  strike?: boolean;
  /** '#RRGGBB' (upper-case). */
  color?: string;
}

export interface TextRun extends RunStyle {
  /** May contain '\n' line breaks. */
  text: string;
}

export interface ParsedCue {
  startMs: number;
  endMs: number;
  runs: TextRun[];
  /** 1-based line of the cue's timing line (or Dialogue line) in the file. */
  line: number;
  /** WebVTT cue identifier. */
  id?: string;
  /** WebVTT voice (`<v Bob>`) or ASS actor name. */
  voice?: string;
  /** A position the cue sets for itself ({\an8}, `line:0`), when it differs from the default. */
  position?: CuePosition;
}

export interface SubtitleWarning {
  /** 1-based line in the file the warning is about. */
  line: number;
  message: string;
  /** Set when nothing was dropped: the text imports, but something about it changes (a style, a tag). */
  note?: true;
}

export interface ParsedSubtitles {
  format: SubtitleFormat;
  cues: ParsedCue[];
  warnings: SubtitleWarning[];
  /** The file's main style mapped onto ours (ASS styles, WebVTT `::cue` rules), or null. */
  style: Partial<SubtitleStyle> | null;
  /** Which style of the file `style` came from, e.g. the ASS style name. */
  styleName?: string;
}

/** What the SRT, WebVTT and ASS writers take: milliseconds and styled runs. */
export interface WriteCue {
  startMs: number;
  endMs: number;
  runs: readonly TextRun[];
  position?: CuePosition;
  voice?: string;
}

/** hh:mm:ss<sep>mmm (hours at least two digits), from milliseconds rounded to the nearest one. */
export function formatClockTime(ms: number, sep: ',' | '.'): string {
  const total = Math.max(0, Math.round(ms));
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const s = Math.floor((total % 60_000) / 1000);
  return `${String(h).padStart(2, '0')}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}${sep}${String(total % 1000).padStart(3, '0')}`;
}

/** Word joiner (U+2060): zero width, no glyph; our writers put it where text would form structure. */
export const WORD_JOINER = '\u2060';

export function plainText(runs: readonly TextRun[]): string {
  return runs.map((r) => r.text).join('');
}

export function hasStyling(runs: readonly TextRun[]): boolean {
  return runs.some((r) => r.bold || r.italic || r.underline || r.strike || r.color);
}

function sameStyle(a: RunStyle, b: RunStyle): boolean {
  return !!a.bold === !!b.bold && !!a.italic === !!b.italic && !!a.underline === !!b.underline && !!a.strike === !!b.strike && (a.color ?? null) === (b.color ?? null);
}

/** A run with only the style fields that are set (no `bold: false`), so runs compare with toEqual. */
export function styledRun(text: string, s: RunStyle): TextRun {
  const run: TextRun = { text };
  if (s.bold) run.bold = true;
  if (s.italic) run.italic = true;
  if (s.underline) run.underline = true;
  if (s.strike) run.strike = true;
  if (s.color) run.color = s.color;
  return run;
}

/** Drops empty runs and merges neighbours with the same style. */
export function normalizeRuns(runs: readonly TextRun[]): TextRun[] {
  const out: TextRun[] = [];
  for (const r of runs) {
    if (r.text === '') continue;
    const last = out[out.length - 1];
    if (last && sameStyle(last, r)) last.text += r.text;
    else out.push(styledRun(r.text, r));
  }
  return out;
}

/** Maps every run's text (style kept), e.g. to undo a writer's escapes. */
export function mapRunText(runs: readonly TextRun[], fn: (text: string) => string): TextRun[] {
  return normalizeRuns(runs.map((r) => ({ ...r, text: fn(r.text) })));
}

/** '#RGB', '#RRGGBB', 'RRGGBB' or a CSS/HTML basic colour name -> '#RRGGBB', else null. */
export function parseCssColor(raw: string): string | null {
  const v = raw.trim().replace(/^["']|["']$/g, '').toLowerCase();
  const named = NAMED_COLORS[v];
  if (named) return named;
  let m = /^#?([0-9a-f]{6})(?:[0-9a-f]{2})?$/.exec(v);
  if (m) return `#${m[1]!.toUpperCase()}`;
  m = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/.exec(v);
  if (m) return `#${m[1]}${m[1]}${m[2]}${m[2]}${m[3]}${m[3]}`.toUpperCase();
  m = /^rgba?\(\s*(\d{1,3})\s*,\s*(\d{1,3})\s*,\s*(\d{1,3})\s*(?:,\s*[\d.]+\s*)?\)$/.exec(v);
  if (m) return `#${[m[1], m[2], m[3]].map((n) => Math.min(255, Number(n)).toString(16).padStart(2, '0')).join('')}`.toUpperCase();
  return null;
}

/** The HTML 4 basic colours (what <font color> in SRT files uses) plus orange. */
export const NAMED_COLORS: Record<string, string> = {
  black: '#000000',
  silver: '#C0C0C0',
  gray: '#808080',
  grey: '#808080',
  white: '#FFFFFF',
  maroon: '#800000',
  red: '#FF0000',
  purple: '#800080',
  fuchsia: '#FF00FF',
  magenta: '#FF00FF',
  green: '#008000',
  lime: '#00FF00',
  olive: '#808000',
  yellow: '#FFFF00',
  navy: '#000080',
  blue: '#0000FF',
  teal: '#008080',
  aqua: '#00FFFF',
  cyan: '#00FFFF',
  orange: '#FFA500',
};
