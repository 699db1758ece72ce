/**
 * WebVTT, following the W3C WebVTT specification's parsing algorithm (https://www.w3.org/TR/webvtt1/
 * "WebVTT parser algorithm", "collect a WebVTT block", "collect a WebVTT timestamp", "WebVTT cue text
 * parsing rules"): NUL becomes U+FFFD; the header runs to the first blank line or to a line with
 * "-->"; a block whose first or second line has "-->" is a cue; STYLE and REGION blocks count only
 * before the first cue; NOTE and other blocks are dropped; timestamps are `[hh+:]mm:ss.ttt` with
 * exactly two minute/second digits and three fraction digits. Cue text goes through the spec's
 * tokenizer (data, tag, start tag, class, annotation, end tag, timestamp states) and tree rules: c, i,
 * b, u, v, lang, ruby, rt are kept as styling, any other tag is ignored, character references are
 * HTML's (every named one and numeric ones, via the `entities` package).
 *
 * Where the spec silently drops something, this parser drops it too and says so in a warning with the
 * line number, so an import shows what a browser would show and why the rest is missing.
 */
import { decodeHTML, decodeHTMLAttribute } from 'entities';
import type { SubtitleStyle } from '../render-spec/schema.ts';
import { BUNDLED_FONT } from '../fonts.ts';
import { formatClockTime, NAMED_COLORS, normalizeRuns, parseCssColor, styledRun, WORD_JOINER, type CuePosition, type ParsedCue, type ParsedSubtitles, type RunStyle, type SubtitleWarning, type TextRun, type WriteCue } from './cue-text.ts';

/** The WebVTT default colour classes (`<c.yellow>`). */
const VTT_COLOR_CLASSES = ['white', 'lime', 'cyan', 'red', 'yellow', 'magenta', 'blue', 'black'] as const;

export function hasWebVttSignature(text: string): boolean {
  return /^\uFEFF?WEBVTT(?:[ \t\r\n]|$)/.test(text);
}

// ---------------------------------------------------------------------------------------------
// Timestamps and timings

type Result<T> = { ok: true; value: T; rest: string } | { ok: false; reason: string };

/** "Collect a WebVTT timestamp" at the start of `s`: milliseconds and what follows. */
export function collectVttTimestamp(s: string): Result<number> {
  let i = 0;
  const digits = () => {
    const start = i;
    while (i < s.length && s.charCodeAt(i) >= 48 && s.charCodeAt(i) <= 57) i++;
    return s.slice(start, i);
  };
  if (i >= s.length || !/[0-9]/.test(s[i]!)) return { ok: false, reason: 'a timestamp starts with a digit' };
  const first = digits();
  const v1 = Number(first);
  let hours = first.length !== 2 || v1 > 59;
  if (s[i] !== ':') return { ok: false, reason: `expected ":" after "${first}"` };
  i++;
  const second = digits();
  if (second.length !== 2) return { ok: false, reason: 'minutes and seconds have exactly two digits' };
  let v2 = Number(second);
  let v3: number;
  let h = 0;
  if (hours || s[i] === ':') {
    if (s[i] !== ':') return { ok: false, reason: 'hours need minutes and seconds (hh:mm:ss.ttt)' };
    i++;
    const third = digits();
    if (third.length !== 2) return { ok: false, reason: 'minutes and seconds have exactly two digits' };
    h = v1;
    v3 = Number(third);
    hours = true;
  } else {
    v3 = v2;
    v2 = v1;
  }
  if (s[i] !== '.') return { ok: false, reason: s[i] === ',' ? 'WebVTT uses "." before the milliseconds, not ","' : 'expected "." and three digits of milliseconds' };
  i++;
  const frac = digits();
  if (frac.length !== 3) return { ok: false, reason: 'milliseconds have exactly three digits' };
  if (v2 > 59 || v3 > 59) return { ok: false, reason: 'minutes and seconds are at most 59' };
  return { ok: true, value: ((h * 60 + v2) * 60 + v3) * 1000 + Number(frac), rest: s.slice(i) };
}

interface Timings {
  startMs: number;
  endMs: number;
  settings: string;
}

/** "Collect WebVTT cue timings and settings". */
export function parseVttTimings(line: string): Result<Timings> {
  const skipWs = (s: string) => s.replace(/^[ \t\n\f\r]+/, '');
  const start = collectVttTimestamp(skipWs(line));
  if (!start.ok) return { ok: false, reason: `start time: ${start.reason}` };
  let rest = skipWs(start.rest);
  if (!rest.startsWith('-->')) return { ok: false, reason: 'expected "-->" after the start time' };
  rest = skipWs(rest.slice(3));
  const end = collectVttTimestamp(rest);
  if (!end.ok) return { ok: false, reason: `end time: ${end.reason}` };
  return { ok: true, value: { startMs: start.value, endMs: end.value, settings: end.rest }, rest: '' };
}

/** The `line:` cue setting as one of our three positions (a line counted from the top, or a percentage). */
function positionFromSettings(settings: string): CuePosition | undefined {
  for (const token of settings.split(/[ \t\n\f\r]+/)) {
    const m = /^line:(-?\d+(?:\.\d+)?)(%)?(?:,(?:start|center|end))?$/.exec(token);
    if (!m) continue;
    const n = Number(m[1]);
    if (m[2]) return n < 34 ? 'top' : n < 67 ? 'middle' : 'bottom';
    return n >= 0 ? 'top' : 'bottom';
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Cue text: tokenizer and tree rules

type Token =
  | { kind: 'string'; value: string }
  | { kind: 'start'; name: string; classes: string[]; annotation: string }
  | { kind: 'end'; name: string }
  | { kind: 'timestamp'; value: string };

/** The WebVTT cue text tokenizer, all states. */
export function* tokenizeCueText(input: string): Generator<Token> {
  let pos = 0;
  while (pos < input.length) {
    let state: 'data' | 'tag' | 'startTag' | 'class' | 'annotation' | 'endTag' | 'timestamp' = 'data';
    let result = '';
    let buffer = '';
    const classes: string[] = [];
    let token: Token | null = null;
    while (token === null) {
      const c = pos < input.length ? input[pos]! : null;
      switch (state) {
        case 'data':
          if (c === '<' && result === '') state = 'tag';
          else if (c === '<' || c === null) {
            token = { kind: 'string', value: decodeHTML(result) };
            continue; // do not advance past '<'
          } else result += c;
          break;
        case 'tag':
          if (c === '\t' || c === '\n' || c === '\f' || c === ' ') state = 'annotation';
          else if (c === '.') state = 'class';
          else if (c === '/') state = 'endTag';
          else if (c !== null && c >= '0' && c <= '9') {
            result = c;
            state = 'timestamp';
          } else if (c === '>' || c === null) {
            if (c === '>') pos++;
            token = { kind: 'start', name: '', classes: [], annotation: '' };
            continue;
          } else {
            result = c;
            state = 'startTag';
          }
          break;
        case 'startTag':
          if (c === '\t' || c === '\f' || c === ' ') state = 'annotation';
          else if (c === '\n') {
            buffer = c;
            state = 'annotation';
          } else if (c === '.') state = 'class';
          else if (c === '>' || c === null) {
            if (c === '>') pos++;
            token = { kind: 'start', name: result, classes: [], annotation: '' };
            continue;
          } else result += c;
          break;
        case 'class':
          if (c === '\t' || c === '\f' || c === ' ' || c === '\n') {
            classes.push(buffer);
            buffer = c === '\n' ? c : '';
            state = 'annotation';
          } else if (c === '.') {
            classes.push(buffer);
            buffer = '';
          } else if (c === '>' || c === null) {
            if (c === '>') pos++;
            classes.push(buffer);
            token = { kind: 'start', name: result, classes: classes.filter((x) => x !== ''), annotation: '' };
            continue;
          } else buffer += c;
          break;
        case 'annotation':
          if (c === '>' || c === null) {
            if (c === '>') pos++;
            token = { kind: 'start', name: result, classes: classes.filter((x) => x !== ''), annotation: decodeHTMLAttribute(buffer).trim().replace(/[ \t\n\f\r]+/g, ' ') };
            continue;
          } else buffer += c;
          break;
        case 'endTag':
          if (c === '>' || c === null) {
            if (c === '>') pos++;
            token = { kind: 'end', name: result };
            continue;
          } else result += c;
          break;
        case 'timestamp':
          if (c === '>' || c === null) {
            if (c === '>') pos++;
            token = { kind: 'timestamp', value: result };
            continue;
          } else result += c;
          break;
      }
      pos++;
    }
    yield token;
  }
}

const KNOWN_TAGS = new Set(['c', 'i', 'b', 'u', 'ruby', 'rt', 'v', 'lang']);

interface CueTextResult {
  runs: TextRun[];
  voice?: string;
}

/**
 * The WebVTT cue text parsing rules, flattened to styled runs: i/b/u and colour classes (the default
 * ones and any `::cue(.name) { color }` rule of the file's style sheets) become run styles; ruby text
 * follows its base in parentheses; the first voice is returned; whitespace right after a voice tag at
 * the start of a line is dropped (what a browser's `white-space: pre-line` shows).
 */
export function parseVttCueText(text: string, classColors: ReadonlyMap<string, string> = new Map()): CueTextResult {
  interface Node {
    name: string;
    classes: string[];
    parent: Node | null;
  }
  const root: Node = { name: '', classes: [], parent: null };
  let current = root;
  const runs: TextRun[] = [];
  let voice: string | undefined;
  let afterVoiceAtLineStart = false;
  const styleOf = (): RunStyle => {
    const s: RunStyle = {};
    const colors: string[] = [];
    for (let n: Node | null = current; n; n = n.parent) {
      if (n.name === 'b') s.bold = true;
      if (n.name === 'i') s.italic = true;
      if (n.name === 'u') s.underline = true;
      for (const cls of n.classes) {
        const color = classColors.get(cls) ?? ((VTT_COLOR_CLASSES as readonly string[]).includes(cls) ? NAMED_COLORS[cls] : undefined);
        if (color) colors.push(color);
      }
    }
    if (colors[0]) s.color = colors[0]; // the innermost wins
    return s;
  };
  const inRuby = (n: Node | null) => n?.name === 'rt';
  for (const token of tokenizeCueText(text)) {
    if (token.kind === 'string') {
      let value = token.value;
      if (afterVoiceAtLineStart) value = value.replace(/^[ \t]+/, '');
      afterVoiceAtLineStart = false;
      if (value === '') continue;
      runs.push(styledRun(inRuby(current) ? `(${value})` : value, styleOf()));
    } else if (token.kind === 'start') {
      if (!KNOWN_TAGS.has(token.name) || (token.name === 'rt' && current.name !== 'ruby')) continue;
      const node: Node = { name: token.name, classes: token.classes, parent: current };
      current = node;
      if (token.name === 'v') {
        voice ??= token.annotation;
        const before = runs.map((r) => r.text).join('');
        afterVoiceAtLineStart = before === '' || before.endsWith('\n');
      }
    } else if (token.kind === 'end') {
      if (token.name === current.name && current.parent) current = current.parent;
      else if (token.name === 'ruby' && current.name === 'rt' && current.parent?.parent) current = current.parent.parent;
    }
    // Timestamp tags (karaoke) carry no text.
  }
  return voice === undefined ? { runs: normalizeRuns(runs) } : { runs: normalizeRuns(runs), voice };
}

// ---------------------------------------------------------------------------------------------
// Style sheets

/** `::cue { … }` -> our style (colour, background box, font family, bold); `::cue(.x) { color }` -> class colours. */
function readStyleSheet(css: string, classColors: Map<string, string>): Partial<SubtitleStyle> {
  const style: Partial<SubtitleStyle> = {};
  const body = css.replace(/\/\*[\s\S]*?\*\//g, '');
  for (const m of body.matchAll(/::cue(?:\(([^)]*)\))?\s*\{([^}]*)\}/g)) {
    const selector = (m[1] ?? '').trim();
    const decls = new Map<string, string>();
    for (const d of m[2]!.split(';')) {
      const idx = d.indexOf(':');
      if (idx > 0) decls.set(d.slice(0, idx).trim().toLowerCase(), d.slice(idx + 1).replace(/!important/i, '').trim());
    }
    const color = decls.has('color') ? parseCssColor(decls.get('color')!) : null;
    if (selector === '') {
      if (color) style.color = color;
      const bg = decls.get('background-color') ?? decls.get('background');
      const rgba = bg ? /rgba\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*([\d.]+)\s*\)/.exec(bg) : null;
      const bgColor = rgba ? `${parseCssColor(`rgb(${rgba[1]},${rgba[2]},${rgba[3]})`)}${Math.round(Math.min(1, Number(rgba[4])) * 255).toString(16).padStart(2, '0').toUpperCase()}` : bg ? parseCssColor(bg) : null;
      if (bgColor && !/^transparent$/i.test(bg ?? '')) {
        style.box = !bgColor.endsWith('00') || bgColor.length === 7;
        style.boxColor = bgColor;
      }
      const family = decls.get('font-family')?.split(',')[0]?.trim().replace(/^["']|["']$/g, '');
      if (family === BUNDLED_FONT.family) style.fontFamily = family; // the only font every renderer has
      const weight = decls.get('font-weight');
      if (weight) style.bold = /bold|[6-9]00/.test(weight);
    } else {
      const cls = /^\.([\w-]+)$/.exec(selector)?.[1];
      if (cls && color) classColors.set(cls, color);
    }
  }
  return style;
}

// ---------------------------------------------------------------------------------------------
// The file parser

export function parseWebVtt(input: string): ParsedSubtitles {
  const warnings: SubtitleWarning[] = [];
  const cues: ParsedCue[] = [];
  const text = input.replace(/^\uFEFF/, '').replace(/\u0000/g, '\uFFFD').replace(/\r\n?/g, '\n');
  const lines = text.split('\n');
  if (!/^WEBVTT(?:[ \t]|$)/.test(lines[0] ?? '')) {
    return { format: 'vtt', cues, warnings: [{ line: 1, message: 'not a WebVTT file: the first line must start with "WEBVTT"' }], style: null };
  }
  const classColors = new Map<string, string>();
  let style: Partial<SubtitleStyle> = {};
  let seenCue = false;
  let i = 1;
  const atEnd = () => i >= lines.length;

  interface Block {
    kind: 'cue' | 'style' | 'region' | 'other' | 'none';
    cue?: { timings: Timings; id: string; line: number };
    buffer: string;
    firstLine: number;
    failed?: { line: number; reason: string };
    /** The block ended on a second "-->" line that starts the next block. */
    reread?: boolean;
  }

  /** "Collect a WebVTT block". */
  const collectBlock = (inHeader: boolean): Block => {
    let lineCount = 0;
    let previous = i;
    let buffer = '';
    let seenArrow = false;
    let kind: Block['kind'] = 'none';
    const block: Block = { kind, buffer: '', firstLine: i + 1 };
    for (;;) {
      const lineNo = i + 1;
      const line = lines[i] ?? '';
      const eof = i >= lines.length - 1;
      i++;
      lineCount++;
      if (line.includes('-->')) {
        if (!inHeader && (lineCount === 1 || (lineCount === 2 && !seenArrow))) {
          seenArrow = true;
          previous = i;
          const t = parseVttTimings(line);
          if (t.ok) {
            block.cue = { timings: t.value, id: buffer, line: lineNo };
            kind = 'cue';
            buffer = '';
            seenCue = true;
            block.failed = undefined;
          } else {
            block.cue = undefined;
            kind = 'other';
            block.failed = { line: lineNo, reason: t.reason };
          }
        } else {
          i = previous;
          block.reread = true;
          break;
        }
      } else if (line === '') {
        break;
      } else {
        if (!inHeader && lineCount === 2 && !seenCue) {
          if (/^STYLE[ \t]*$/.test(buffer)) {
            kind = 'style';
            buffer = '';
          } else if (/^REGION[ \t]*$/.test(buffer)) {
            kind = 'region';
            buffer = '';
          }
        }
        if (buffer !== '') buffer += '\n';
        buffer += line;
        previous = i;
        if (kind === 'none') kind = 'other';
      }
      if (eof) break;
    }
    block.kind = kind;
    block.buffer = buffer;
    return block;
  };

  if (!atEnd()) {
    if (lines[i] !== '') collectBlock(true);
    else i++;
  }
  const skipBlankLines = () => {
    while (i < lines.length && lines[i] === '') i++;
  };
  skipBlankLines();
  while (!atEnd() && !(i === lines.length - 1 && lines[i] === '')) {
    const block = collectBlock(false);
    if (block.kind === 'cue' && block.cue) {
      const { timings, id, line } = block.cue;
      if (timings.endMs <= timings.startMs) {
        warnings.push({ line, message: timings.endMs === timings.startMs ? 'cue skipped: it has no duration (start and end are the same)' : 'cue skipped: it ends before it starts' });
      } else {
        const { runs, voice } = parseVttCueText(block.buffer, classColors);
        const cue: ParsedCue = { startMs: timings.startMs, endMs: timings.endMs, runs: runs.map((r) => ({ ...r, text: unescapeVttText(r.text) })), line };
        if (id !== '') cue.id = id;
        if (voice) cue.voice = voice;
        const position = positionFromSettings(timings.settings);
        if (position) cue.position = position;
        cues.push(cue);
      }
    } else if (block.kind === 'style' || block.kind === 'region') {
      if (block.kind === 'style') {
        style = { ...style, ...readStyleSheet(block.buffer, classColors) };
      }
    } else if (block.failed) {
      warnings.push(
        block.reread
          ? { line: block.failed.line, message: 'a cue identifier contains "-->"; the identifier was ignored', note: true }
          : { line: block.failed.line, message: `cue skipped: its timing line is not valid WebVTT (${block.failed.reason})` },
      );
    } else if (block.kind === 'other') {
      const first = block.buffer.split('\n')[0] ?? '';
      if (/^NOTE(?:[ \t\n]|$)/.test(block.buffer)) {
        // a comment
      } else if (seenCue && /^(?:STYLE|REGION)[ \t]*$/.test(first)) {
        warnings.push({ line: block.firstLine, message: `${first.trim()} block after the first cue ignored (WebVTT allows style sheets and regions only before cues)` });
      } else {
        warnings.push({ line: block.firstLine, message: 'text without a timing line skipped' });
      }
    }
    skipBlankLines();
  }
  const hasStyle = Object.keys(style).length > 0;
  return { format: 'vtt', cues, warnings, style: hasStyle ? style : null, ...(hasStyle ? { styleName: '::cue' } : {}) };
}

/** Our writer's escapes: a line holding only a word joiner stands for a blank line inside a cue. */
function unescapeVttText(text: string): string {
  return text
    .split('\n')
    .map(unprotectBlankLine)
    .join('\n');
}

// ---------------------------------------------------------------------------------------------
// Writer

const escapeVtt = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/\u0000/g, '\uFFFD');

/** A line that would be blank (and end the cue) is written as a word joiner plus its spaces. */
export function protectBlankLines(text: string): string {
  return text
    .split('\n')
    .map((l) => (l.trim() === '' ? `${WORD_JOINER}${l}` : l))
    .join('\n');
}

/** protectBlankLines() undone for one line. */
export function unprotectBlankLine(line: string): string {
  return line.startsWith(WORD_JOINER) && line.slice(1).trim() === '' ? line.slice(1) : line;
}

function colorClass(color: string): string {
  const named = VTT_COLOR_CLASSES.find((c) => NAMED_COLORS[c] === color);
  return named ?? `c_${color.slice(1).toLowerCase()}`;
}

const POSITION_SETTING: Record<CuePosition, string> = { top: ' line:0', middle: ' line:50%', bottom: '' };

/**
 * WebVTT every player re-imports: text escaped (&amp; &lt; &gt;, so "-->" cannot occur), blank lines
 * inside a cue kept as word-joiner lines, styling as <b>/<i>/<u>/<c.colour> with a STYLE block for
 * the colours and for the file-wide style (colour, font, weight, background box). Strike-through has
 * no WebVTT tag and is dropped.
 */
export function writeWebVtt(cues: readonly WriteCue[], opts: { style?: SubtitleStyle } = {}): string {
  const customColors = new Set<string>();
  const bodies = cues.map((cue) => {
    let out = '';
    for (const run of cue.runs) {
      let t = escapeVtt(run.text);
      if (run.color) {
        const cls = colorClass(run.color);
        if (cls.startsWith('c_')) customColors.add(run.color);
        t = `<c.${cls}>${t}</c>`;
      }
      if (run.underline) t = `<u>${t}</u>`;
      if (run.italic) t = `<i>${t}</i>`;
      if (run.bold) t = `<b>${t}</b>`;
      out += t;
    }
    return `${formatClockTime(cue.startMs, '.')} --> ${formatClockTime(cue.endMs, '.')}${cue.position ? POSITION_SETTING[cue.position] : opts.style ? POSITION_SETTING[opts.style.position] : ''}\n${out === '' ? '' : `${protectBlankLines(out)}\n`}`;
  });
  const rules: string[] = [];
  if (opts.style) {
    const s = opts.style;
    const decl = [`color: ${cssColor(s.color)}`, `font-family: "${s.fontFamily.replace(/["\\\n{}]/g, '')}", sans-serif`, `font-weight: ${s.bold ? 'bold' : 'normal'}`];
    if (s.box) decl.push(`background-color: ${cssColor(s.boxColor)}`);
    rules.push(`::cue {\n  ${decl.join(';\n  ')};\n}`);
  }
  for (const c of customColors) rules.push(`::cue(.${colorClass(c)}) {\n  color: ${c};\n}`);
  const head = rules.length ? `WEBVTT\n\nSTYLE\n${rules.join('\n')}\n\n` : 'WEBVTT\n\n';
  return head + bodies.join('\n');
}

/** '#RRGGBB' or '#RRGGBBAA' -> CSS (rgba() when there is an alpha byte). */
function cssColor(hex: string): string {
  if (hex.length !== 9) return hex;
  const [r, g, b, a] = [1, 3, 5, 7].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number, number];
  return `rgba(${r}, ${g}, ${b}, ${Number((a / 255).toFixed(3))})`;
}
