/**
 * SubRip (SRT) as tolerant as the players people use (ffmpeg/mpv, VLC): a cue starts at every timing
 * line and its text runs to the next cue's number or timing line, so blank lines right after a timing
 * line or inside a cue keep their text; cue numbers are optional and never checked; timestamps take
 * any number of hour digits, one or two minute/second digits, ',' '.' ':' or ';' before a fraction of
 * 1-9 digits (a decimal fraction of a second), full-width digits and punctuation (CJK files), and the
 * arrows `-->`, `->`, `- >`, `-- >`; anything after the end time (X1:… coordinates) is ignored. Cues
 * that cannot be read (a broken timing line, an end not after the start) are dropped with a warning
 * naming the line and the reason; the rest imports.
 *
 * Markup: <b> <i> <u> <s> and <font color> become styled runs, `{\an8}`-style position overrides set
 * the cue's position, WebVTT tags and karaoke timestamps are removed, anything else stays as text.
 */
import { formatClockTime, mapRunText, normalizeRuns, parseCssColor, styledRun, WORD_JOINER, type CuePosition, type ParsedCue, type ParsedSubtitles, type RunStyle, type SubtitleWarning, type TextRun, type WriteCue } from './cue-text.ts';
import { protectBlankLines, unprotectBlankLine } from './webvtt.ts';

/** Full-width and look-alike characters CJK and word-processor files use in timing lines. */
const WIDTH_MAP: Record<string, string> = { '：': ':', '，': ',', '．': '.', '、': ',', '－': '-', '＞': '>', '\u3000': ' ', '\u2010': '-', '\u2011': '-', '\u2012': '-', '\u2013': '-', '\u2014': '-', '\u2212': '-' };

export function normalizeTimingChars(line: string): string {
  return line.replace(/[\uFF10-\uFF19]/g, (d) => String.fromCharCode(d.charCodeAt(0) - 0xff10 + 48)).replace(/[：，．、－＞\u3000\u2010-\u2014\u2212]/g, (c) => WIDTH_MAP[c]!);
}

const TIME_SRC = String.raw`(?:(\d+)\s*:\s*(\d{1,2})\s*:\s*(\d{1,2})(?:\s*[,.:;]\s*(\d{1,9}))?|(\d{1,2})\s*:\s*(\d{1,2})\s*[,.]\s*(\d{1,9}))`;
const TIMING = new RegExp(String.raw`^\s*${TIME_SRC}\s*-+\s*>\s*${TIME_SRC}(?=\s|$)(.*)$`);
const ARROW = /-+\s*>/;

function timeMs(m: RegExpExecArray, at: number): number {
  const [h, mi, s, frac] = m[at] !== undefined ? [m[at], m[at + 1], m[at + 2], m[at + 3]] : ['0', m[at + 4], m[at + 5], m[at + 6]];
  const ms = frac ? Number(`0.${frac}`) * 1000 : 0;
  return ((Number(h) * 60 + Number(mi)) * 60 + Number(s)) * 1000 + ms;
}

/** `00:00:01,000 --> 00:00:02,500` (and every tolerated variant) -> milliseconds, else null. */
export function parseSrtTiming(line: string): { startMs: number; endMs: number } | null {
  const m = TIMING.exec(normalizeTimingChars(line));
  if (!m) return null;
  return { startMs: timeMs(m, 1), endMs: timeMs(m, 8) };
}

const isBlank = (l: string) => l.trim() === '';
const isIndex = (l: string) => /^\s*\d+\s*$/.test(normalizeTimingChars(l));
/** A line that starts like a time and has an arrow, but is not a readable timing line. */
const looksLikeTiming = (l: string) => {
  const n = normalizeTimingChars(l);
  return /^\s*\d+\s*[:,.]\s*\d/.test(n) && ARROW.test(n);
};

export function parseSrt(input: string): ParsedSubtitles {
  const warnings: SubtitleWarning[] = [];
  const cues: ParsedCue[] = [];
  const lines = input.replace(/^\uFEFF/, '').replace(/\u0000/g, '\uFFFD').replace(/\r\n?/g, '\n').split('\n');
  const starts: { at: number; timing: { startMs: number; endMs: number } | null }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const timing = parseSrtTiming(lines[i]!);
    if (timing) starts.push({ at: i, timing });
    else if (looksLikeTiming(lines[i]!) && (i === 0 || isBlank(lines[i - 1]!) || isIndex(lines[i - 1]!))) starts.push({ at: i, timing: null });
  }
  /** Where the text before `at` ends: before the next cue's number (and the blank lines around it). */
  const textEnd = (at: number, floor: number) => {
    let j = at - 1;
    while (j >= floor && isBlank(lines[j]!)) j--;
    return j >= floor && isIndex(lines[j]!) ? j : at;
  };
  const firstText = starts.length ? textEnd(starts[0]!.at, 0) : lines.length;
  const stray = lines.slice(0, firstText).findIndex((l) => !isBlank(l));
  if (stray >= 0) warnings.push({ line: stray + 1, message: starts.length ? 'text before the first cue skipped' : 'no SRT timing line ("00:00:01,000 --> 00:00:02,000") found' });
  starts.forEach((s, k) => {
    const next = starts[k + 1];
    const end = next ? textEnd(next.at, s.at + 1) : lines.length;
    const line = s.at + 1;
    if (!s.timing) {
      warnings.push({ line, message: `cue skipped: "${lines[s.at]!.trim().slice(0, 60)}" is not a timing line like 00:00:01,000 --> 00:00:02,000` });
      return;
    }
    const { startMs, endMs } = s.timing;
    if (endMs <= startMs) {
      warnings.push({ line, message: endMs === startMs ? 'cue skipped: it has no duration (start and end are the same)' : 'cue skipped: it ends before it starts' });
      return;
    }
    // Blank lines around the text are structure; a word-joiner line (our writer's blank line) is not blank.
    let from = s.at + 1;
    let to = end;
    while (from < to && isBlank(lines[from]!)) from++;
    while (to > from && isBlank(lines[to - 1]!)) to--;
    const { runs, position } = parseSrtMarkup(lines.slice(from, to).join('\n'));
    const cue: ParsedCue = { startMs, endMs, runs: mapRunText(runs, unescapeSrtText), line };
    if (position) cue.position = position;
    cues.push(cue);
  });
  return { format: 'srt', cues, warnings, style: null };
}

// ---------------------------------------------------------------------------------------------
// Markup

const AN_POSITION = (n: number): CuePosition => (n >= 7 ? 'top' : n >= 4 ? 'middle' : 'bottom');
const LEGACY_A_POSITION = (n: number): CuePosition => (n >= 9 ? 'middle' : n >= 5 ? 'top' : 'bottom');

/** Position from an ASS override block's \an<n> or legacy \a<n>. */
export function overridePosition(block: string): CuePosition | undefined {
  const an = /\\an([1-9])/.exec(block);
  if (an) return AN_POSITION(Number(an[1]));
  const a = /\\a(\d{1,2})(?![0-9])/.exec(block);
  return a && Number(a[1]) >= 1 && Number(a[1]) <= 11 ? LEGACY_A_POSITION(Number(a[1])) : undefined;
}

const MARKUP = /<(\/?)(b|i|u|s|font|c|v|lang|ruby|rt|span)((?:[\s.][^>]*)?)\/?>|<br\s*\/?>|<\d+:\d{1,2}(?::\d{1,2})?[.,]\d{1,3}>|\{(\\[^}]*)\}/gi;

export function parseSrtMarkup(text: string): { runs: TextRun[]; position?: CuePosition } {
  const count = { b: 0, i: 0, u: 0, s: 0 };
  const colors: (string | null)[] = [];
  let position: CuePosition | undefined;
  const runs: TextRun[] = [];
  const style = (): RunStyle => ({ bold: count.b > 0, italic: count.i > 0, underline: count.u > 0, strike: count.s > 0, color: [...colors].reverse().find((c) => c) ?? undefined });
  let last = 0;
  for (const m of text.matchAll(MARKUP)) {
    runs.push(styledRun(text.slice(last, m.index), style()));
    last = m.index + m[0].length;
    if (m[0].toLowerCase().startsWith('<br')) runs.push(styledRun('\n', style()));
    else if (m[4] !== undefined) {
      position ??= overridePosition(m[4]);
      for (const t of m[4].matchAll(/\\([ibus])([01])(?![0-9])/g)) count[t[1] as 'b'] = t[2] === '1' ? Math.max(1, count[t[1] as 'b']) : 0;
    } else if (m[2]) {
      const name = m[2].toLowerCase();
      const closing = m[1] === '/';
      if (name === 'b' || name === 'i' || name === 'u' || name === 's') count[name] = Math.max(0, count[name] + (closing ? -1 : 1));
      else if (name === 'font' || name === 'c') {
        if (closing) colors.pop();
        else if (name === 'font') colors.push(parseCssColor(/color\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/i.exec(m[3] ?? '')?.[1] ?? '') ?? null);
        else colors.push((m[3] ?? '').split('.').map((c) => parseCssColor(c.trim())).find((c) => c) ?? null);
      }
    }
  }
  runs.push(styledRun(text.slice(last), style()));
  const out = normalizeRuns(runs);
  return position && position !== 'bottom' ? { runs: out, position } : { runs: out };
}

/** Undoes our writer's escapes: word joiners after '<' and '{', before '>', and on their own line. */
function unescapeSrtText(text: string): string {
  return text
    .replace(/([<{])\u2060/g, '$1')
    .replace(/\u2060([>＞])/g, '$1')
    .split('\n')
    .map(unprotectBlankLine)
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// Writer

/**
 * Text that could be read as structure is broken with a word joiner (zero width, no glyph): before
 * the '>' of every arrow (so no line can be a timing line), after a '<' that could open a tag and a
 * '{' that could open an override block. Our parser removes exactly these again.
 */
export function escapeSrtText(text: string): string {
  return text
    .replace(/\r\n?/g, '\n')
    .replace(/([-－\u2010-\u2014\u2212])(\s*)([>＞])/g, `$1$2${WORD_JOINER}$3`)
    .replace(/<(?=[A-Za-z/!]|\d+:)/g, `<${WORD_JOINER}`)
    .replace(/\{(?=\\)/g, `{${WORD_JOINER}`);
}

const AN_TAG: Record<CuePosition, string> = { top: '{\\an8}', middle: '{\\an5}', bottom: '' };

/** SRT that every player re-imports; styling as <b>/<i>/<u>/<s>/<font color>, positions as {\an8}. */
export function writeSrt(cues: readonly WriteCue[]): string {
  return cues
    .map((cue, n) => {
      let body = cue.position ? AN_TAG[cue.position] : '';
      for (const run of cue.runs) {
        let t = escapeSrtText(run.text);
        if (run.color) t = `<font color="${run.color}">${t}</font>`;
        if (run.strike) t = `<s>${t}</s>`;
        if (run.underline) t = `<u>${t}</u>`;
        if (run.italic) t = `<i>${t}</i>`;
        if (run.bold) t = `<b>${t}</b>`;
        body += t;
      }
      return `${n + 1}\n${formatClockTime(cue.startMs, ',')} --> ${formatClockTime(cue.endMs, ',')}\n${body === '' ? '' : `${protectBlankLines(body)}\n`}`;
    })
    .join('\n');
}
