/**
 * Advanced SubStation Alpha (ASS, and SSA v4) files as subtitle teams hand them over: import and
 * export. (The burn-in script the farm gives libass is ass.ts; this module reads and writes files.)
 *
 * Import: [Script Info] PlayResY scales sizes onto the project's output height; the style most
 * Dialogue lines use maps onto our SubtitleStyle (size, colours, outline, opaque box for BorderStyle 3,
 * alignment -> position, vertical margin, bold); Dialogue lines become cues, Comment lines are
 * skipped. In the text, \N is a line break, \n one only with WrapStyle 2 (else a space), \h a no-break
 * space; override blocks set italic/bold/underline/strike-through/colour runs (\i \b \u \s \c \1c \r)
 * and the cue's position (\an, legacy \a); drawings (\p1 … \p0) are dropped; every other tag
 * (\pos, \move, \t, \fad, \k, \blur …) is removed because our timeline cannot carry it, with one
 * warning naming how many lines had them.
 */
import type { SubtitleStyle } from '../render-spec/schema.ts';
import { BUNDLED_FONT } from '../fonts.ts';
import { ASS_ALIGN, ASS_EVENT_FORMAT, ASS_STYLE_FORMAT, assScript, escapeAssText, formatAssCentiseconds, styleLine } from './ass.ts';
import { normalizeRuns, styledRun, type CuePosition, type ParsedCue, type ParsedSubtitles, type RunStyle, type SubtitleWarning, type TextRun, type WriteCue } from './cue-text.ts';
import { overridePosition } from './srt.ts';

/** An ASS section header comes before any SRT timing line (an SRT cue may contain "[Events]" as text). */
export function looksLikeAss(text: string): boolean {
  const head = /^[ \t]*\[(?:Script Info|V4\+? Styles\+?|Events)\][ \t]*$/im.exec(text);
  if (!head) return false;
  const timing = /^[^\n]*\d+\s*:\s*\d+\s*[,.]\s*\d+\s*-+\s*>/m.exec(text);
  return !timing || head.index < timing.index;
}

const V4PLUS_STYLE_FIELDS = ASS_STYLE_FORMAT.slice('Format: '.length).split(', ');
const SSA_STYLE_FIELDS = 'Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, TertiaryColour, BackColour, Bold, Italic, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, AlphaLevel, Encoding'.split(', ');
const V4PLUS_EVENT_FIELDS = ASS_EVENT_FORMAT.slice('Format: '.length).split(', ');
const SSA_EVENT_FIELDS = 'Marked, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text'.split(', ');

interface AssStyle {
  name: string;
  line: number;
  fields: Map<string, string>;
  legacy: boolean;
}

/** '&HAABBGGRR', '&HBBGGRR&' or a decimal number -> '#RRGGBB' plus 'AA' (opacity) when not opaque. */
export function assColorToHex(raw: string | undefined): string | null {
  if (!raw) return null;
  const v = raw.trim();
  const hex = /^&H([0-9a-f]{1,8})&?$/i.exec(v);
  const n = hex ? parseInt(hex[1]!, 16) : /^-?\d+$/.test(v) ? Number(v) >>> 0 : NaN;
  if (!Number.isFinite(n)) return null;
  const byte = (x: number) => x.toString(16).padStart(2, '0').toUpperCase();
  const [r, g, b, a] = [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff];
  return `#${byte(r)}${byte(g)}${byte(b)}${a ? byte(255 - a) : ''}`;
}

const rgbOnly = (c: string | null) => (c ? c.slice(0, 7) : null);

/** h:mm:ss.cc (any hour digits, 1-3 fraction digits) -> ms, else null. */
export function parseAssTime(raw: string): number | null {
  const m = /^\s*(\d+):(\d{1,2}):(\d{1,2})(?:[.,:](\d{1,3}))?\s*$/.exec(raw);
  if (!m) return null;
  return ((Number(m[1]) * 60 + Number(m[2])) * 60 + Number(m[3])) * 1000 + (m[4] ? Number(`0.${m[4]}`) * 1000 : 0);
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const flag = (v: string | undefined) => v !== undefined && v.trim() !== '' && Number(v) !== 0;

function positionOf(style: AssStyle): CuePosition {
  const n = Number(style.fields.get('alignment') ?? 2);
  if (style.legacy) return n >= 9 ? 'middle' : n >= 5 ? 'top' : 'bottom';
  return n >= 7 ? 'top' : n >= 4 ? 'middle' : 'bottom';
}

/** An ASS style as our SubtitleStyle, sizes scaled by outputHeight / PlayResY. */
function mapStyle(style: AssStyle, scale: number): Partial<SubtitleStyle> {
  const f = style.fields;
  const out: Partial<SubtitleStyle> = {};
  const size = Number(f.get('fontsize'));
  if (Number.isFinite(size) && size > 0) out.fontSize = Math.round(clamp(size * scale, 8, 400));
  const primary = assColorToHex(f.get('primarycolour'));
  if (primary) out.color = primary;
  const box = Number(f.get('borderstyle')) === 3;
  out.box = box;
  const outline = assColorToHex(f.get('outlinecolour'));
  const back = assColorToHex(f.get('backcolour'));
  if (box && outline) out.boxColor = outline;
  if (!box && outline) out.outlineColor = outline;
  if (!box && back) out.boxColor = back;
  const width = Number(f.get('outline'));
  if (Number.isFinite(width)) out.outlineWidth = Math.round(clamp(width * scale, 0, 20) * 10) / 10;
  out.position = positionOf(style);
  const marginV = Number(f.get('marginv'));
  if (Number.isFinite(marginV)) out.marginV = Math.round(clamp(marginV * scale, 0, 2000));
  out.bold = flag(f.get('bold'));
  if ((f.get('fontname') ?? '').trim() === BUNDLED_FONT.family) out.fontFamily = BUNDLED_FONT.family;
  return out;
}

interface TextState extends RunStyle {
  drawing: boolean;
}

/** An event's text as runs relative to the main style (what the project style already carries is not repeated). */
export function parseAssText(text: string, opts: { wrapStyle?: number; eventStyle?: AssStyle; mainStyle?: AssStyle; styles?: Map<string, AssStyle> } = {}): { runs: TextRun[]; position?: CuePosition; droppedTags: boolean } {
  const base = (style: AssStyle | undefined): TextState => {
    const f = style?.fields;
    const main = opts.mainStyle?.fields;
    const color = rgbOnly(assColorToHex(f?.get('primarycolour')));
    const mainColor = rgbOnly(assColorToHex(main?.get('primarycolour')));
    return {
      drawing: false,
      italic: flag(f?.get('italic')),
      underline: flag(f?.get('underline')),
      strike: flag(f?.get('strikeout')),
      bold: flag(f?.get('bold')) && !flag(main?.get('bold')),
      color: color && color !== mainColor ? color : undefined,
    };
  };
  let state = base(opts.eventStyle);
  let position: CuePosition | undefined;
  let droppedTags = false;
  const runs: TextRun[] = [];
  const plain = (s: string) =>
    s
      .replace(/\\\u2060/g, '\\\u0000') // our writer: backslash + word joiner is a literal backslash
      .replace(/\\N/g, '\n')
      .replace(/\\n/g, opts.wrapStyle === 2 ? '\n' : ' ')
      .replace(/\\h/g, '\u00A0')
      .replace(/\\([{}])/g, '$1')
      .replace(/\\\u0000/g, '\\');
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{', i);
    const escapedOpen = open > 0 && text[open - 1] === '\\';
    const close = open >= 0 ? text.indexOf('}', open) : -1;
    if (open < 0 || close < 0 || escapedOpen) {
      const upto = open < 0 || close < 0 ? text.length : open + 1;
      if (!state.drawing) runs.push(styledRun(plain(text.slice(i, upto)), state));
      i = upto;
      continue;
    }
    if (!state.drawing) runs.push(styledRun(plain(text.slice(i, open)), state));
    const block = text.slice(open + 1, close);
    position ??= overridePosition(block);
    for (const tag of block.split('\\').slice(1)) {
      const t = tag.trim();
      let m: RegExpExecArray | null;
      if ((m = /^([ibus])(\d*)$/.exec(t))) {
        const key = ({ i: 'italic', b: 'bold', u: 'underline', s: 'strike' } as const satisfies Record<string, keyof RunStyle>)[m[1] as 'i' | 'b' | 'u' | 's'];
        const n = m[2] === '' ? null : Number(m[2]);
        const on = n === null ? !!base(opts.eventStyle)[key] : key === 'bold' ? n === 1 || n >= 600 : n !== 0;
        state = { ...state, [key]: key === 'bold' ? on && !flag(opts.mainStyle?.fields.get('bold')) : on };
      } else if ((m = /^1?c(&H[0-9a-f]+&?)?$/i.exec(t))) {
        const c = m[1] ? rgbOnly(assColorToHex(m[1])) : null;
        const mainColor = rgbOnly(assColorToHex(opts.mainStyle?.fields.get('primarycolour')));
        state = { ...state, color: c && c !== mainColor ? c : m[1] ? undefined : base(opts.eventStyle).color };
      } else if ((m = /^r(.*)$/.exec(t))) {
        const named = m[1] ? opts.styles?.get(m[1].trim()) : undefined;
        state = { ...base(named ?? opts.eventStyle), drawing: state.drawing };
      } else if ((m = /^p(\d+)$/.exec(t))) {
        state = { ...state, drawing: Number(m[1]) > 0 };
      } else if (!/^(?:an?\d+)$/.test(t) && t !== '') {
        droppedTags = true;
      }
    }
    i = close + 1;
  }
  const out = normalizeRuns(runs);
  return position ? { runs: out, position, droppedTags } : { runs: out, droppedTags };
}

function splitFields(value: string, count: number): string[] {
  const parts: string[] = [];
  let rest = value;
  for (let k = 0; k < count - 1; k++) {
    const idx = rest.indexOf(',');
    if (idx < 0) break;
    parts.push(rest.slice(0, idx));
    rest = rest.slice(idx + 1);
  }
  parts.push(rest);
  return parts;
}

export function parseAss(input: string, opts: { outputHeight?: number } = {}): ParsedSubtitles {
  const warnings: SubtitleWarning[] = [];
  const lines = input.replace(/^\uFEFF/, '').replace(/\u0000/g, '\uFFFD').replace(/\r\n?/g, '\n').split('\n');
  const info = new Map<string, string>();
  const styles = new Map<string, AssStyle>();
  let section = '';
  let styleFields: string[] | null = null;
  let eventFields: string[] | null = null;
  let legacy = false;
  const events: { fields: Map<string, string>; line: number }[] = [];
  lines.forEach((raw, idx) => {
    const line = raw.trimStart();
    const lineNo = idx + 1;
    if (line === '' || line.startsWith(';') || line.startsWith('!:')) return;
    const sec = /^\[(.+)\]\s*$/.exec(line);
    if (sec) {
      section = sec[1]!.trim().toLowerCase();
      if (section === 'v4 styles') legacy = true;
      return;
    }
    const colon = line.indexOf(':');
    if (colon < 0) return;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).replace(/^ /, '');
    if (section === 'script info') {
      info.set(key, value.trim());
      if (key === 'scripttype' && /v4\.00$/i.test(value.trim())) legacy = true;
    } else if (section.startsWith('v4')) {
      if (key === 'format') styleFields = value.split(',').map((f) => f.trim().toLowerCase());
      else if (key === 'style') {
        const names = styleFields ?? (legacy ? SSA_STYLE_FIELDS : V4PLUS_STYLE_FIELDS).map((f) => f.toLowerCase());
        const values = splitFields(value, names.length);
        const fields = new Map(names.map((n, k) => [n, (values[k] ?? '').trim()]));
        const name = fields.get('name') ?? 'Default';
        styles.set(name, { name, line: lineNo, fields, legacy });
      }
    } else if (section === 'events') {
      if (key === 'format') eventFields = value.split(',').map((f) => f.trim().toLowerCase());
      else if (key === 'dialogue') {
        const names = eventFields ?? (legacy ? SSA_EVENT_FIELDS : V4PLUS_EVENT_FIELDS).map((f) => f.toLowerCase());
        if (!names.includes('text')) {
          warnings.push({ line: lineNo, message: 'Dialogue skipped: the [Events] Format line has no Text field' });
          return;
        }
        const values = splitFields(value, names.length);
        events.push({ fields: new Map(names.map((n, k) => [n, values[k] ?? ''])), line: lineNo });
      }
    }
  });
  if (!events.length && !styles.size) warnings.push({ line: 1, message: 'no [Events] Dialogue lines found: is this an ASS/SSA file?' });

  // The main style: the one most Dialogue lines use.
  const uses = new Map<string, number>();
  for (const e of events) {
    const name = (e.fields.get('style') ?? '').trim().replace(/^\*/, '');
    uses.set(name, (uses.get(name) ?? 0) + 1);
  }
  const mainName = [...uses.entries()].filter(([n]) => styles.has(n)).sort((a, b) => b[1] - a[1])[0]?.[0] ?? (styles.has('Default') ? 'Default' : [...styles.keys()][0]);
  const main = mainName !== undefined ? styles.get(mainName) : undefined;
  const playResY = Number(info.get('playresy')) || (Number(info.get('playresx')) ? (Number(info.get('playresx')) * 3) / 4 : 288);
  const scale = opts.outputHeight ? opts.outputHeight / playResY : 1;
  const style = main ? mapStyle(main, scale) : null;
  if (main && (main.fields.get('fontname') ?? '').trim() !== BUNDLED_FONT.family) {
    warnings.push({ line: main.line, message: `font "${(main.fields.get('fontname') ?? '').trim()}" is not bundled: subtitles use ${BUNDLED_FONT.family}`, note: true });
  }
  const otherStyles = [...uses.keys()].filter((n) => n !== mainName && styles.has(n));
  if (otherStyles.length) {
    const first = events.find((e) => otherStyles.includes((e.fields.get('style') ?? '').trim()))!;
    warnings.push({ line: first.line, message: `the project has one subtitle style: "${mainName}" is used; lines in ${otherStyles.map((n) => `"${n}"`).join(', ')} keep only italic/bold/colour differences`, note: true });
  }

  const wrapStyle = Number(info.get('wrapstyle') ?? 0);
  const cues: ParsedCue[] = [];
  let dropped = 0;
  let firstDropped = 0;
  for (const e of events) {
    const start = parseAssTime(e.fields.get('start') ?? '');
    const end = parseAssTime(e.fields.get('end') ?? '');
    if (start === null || end === null) {
      warnings.push({ line: e.line, message: `Dialogue skipped: "${(start === null ? e.fields.get('start') : e.fields.get('end'))?.trim()}" is not a time like 0:00:01.50` });
      continue;
    }
    if (end <= start) {
      warnings.push({ line: e.line, message: end === start ? 'Dialogue skipped: it has no duration (start and end are the same)' : 'Dialogue skipped: it ends before it starts' });
      continue;
    }
    const eventStyle = styles.get((e.fields.get('style') ?? '').trim().replace(/^\*/, '')) ?? main;
    const parsed = parseAssText(e.fields.get('text') ?? '', { wrapStyle, eventStyle, mainStyle: main, styles });
    if (parsed.droppedTags && dropped++ === 0) firstDropped = e.line;
    const cue: ParsedCue = { startMs: start, endMs: end, runs: parsed.runs, line: e.line };
    const stylePosition = eventStyle ? positionOf(eventStyle) : 'bottom';
    const position = parsed.position ?? stylePosition;
    if (position !== (style?.position ?? 'bottom')) cue.position = position;
    const name = (e.fields.get('name') ?? '').trim();
    if (name) cue.voice = name;
    cues.push(cue);
  }
  if (dropped) warnings.push({ line: firstDropped, message: `${dropped} line${dropped === 1 ? '' : 's'} use override tags the timeline cannot keep (\\pos, \\move, \\fad, \\t, karaoke …): their text imports without them`, note: true });
  cues.sort((a, b) => a.startMs - b.startMs || a.line - b.line);
  return mainName !== undefined && style ? { format: 'ass', cues, warnings, style, styleName: mainName } : { format: 'ass', cues, warnings, style: null };
}

// ---------------------------------------------------------------------------------------------
// Writer

function assInlineColor(hex: string): string {
  return `&H${hex.slice(5, 7)}${hex.slice(3, 5)}${hex.slice(1, 3)}&`.toUpperCase();
}

/** Override tags that move the inline state from `a` to `b`. */
function tagsBetween(a: RunStyle, b: RunStyle): string {
  let t = '';
  if (!!a.bold !== !!b.bold) t += `\\b${b.bold ? 1 : 0}`;
  if (!!a.italic !== !!b.italic) t += `\\i${b.italic ? 1 : 0}`;
  if (!!a.underline !== !!b.underline) t += `\\u${b.underline ? 1 : 0}`;
  if (!!a.strike !== !!b.strike) t += `\\s${b.strike ? 1 : 0}`;
  if ((a.color ?? null) !== (b.color ?? null)) t += b.color ? `\\c${assInlineColor(b.color)}` : '\\c';
  return t;
}

/** A standalone .ass file: one "Default" style from ours, each cue a Dialogue with its runs as override tags. */
export function writeAss(cues: readonly WriteCue[], opts: { style: SubtitleStyle; width: number; height: number }): string {
  const events = cues.map((cue) => {
    let text = cue.position && cue.position !== opts.style.position ? `{\\an${ASS_ALIGN[cue.position]}}` : '';
    let state: RunStyle = {};
    for (const run of cue.runs) {
      const tags = tagsBetween(state, run);
      if (tags) text += `{${tags}}`;
      text += escapeAssText(run.text);
      state = run;
    }
    const cs = (ms: number) => formatAssCentiseconds(Math.max(0, Math.round(ms / 10)));
    return `Dialogue: 0,${cs(cue.startMs)},${cs(cue.endMs)},Default,${(cue.voice ?? '').replace(/[,\r\n]/g, ' ')},0,0,0,,${text}`;
  });
  return assScript(opts.width, opts.height, [styleLine('Default', opts.style)], events);
}
