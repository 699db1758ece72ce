/**
 * Subtitle files <-> timeline cues. Detects the format from the content (a WEBVTT signature, ASS
 * section headers, otherwise SRT; the file name only breaks ties), parses with the format's module
 * (webvtt.ts, srt.ts, ass-file.ts), and converts times to integer frames at the project fps: SRT and
 * WebVTT times round down to the frame that contains them; ASS times round up, because libass shows
 * an event from the first frame at or after its start. A cue is at least one frame long.
 *
 * Writing goes the other way: SRT/WebVTT milliseconds are rounded up so that reading them back gives
 * the same frames; ASS uses the burn-in writer's frame-boundary rule (ass.ts assTime).
 */
import type { Fps, SubtitleStyle } from '../render-spec/schema.ts';
import { assBoundaryCentiseconds } from './ass.ts';
import { looksLikeAss, parseAss, writeAss } from './ass-file.ts';
import { hasStyling, plainText, type CuePosition, type ParsedSubtitles, type SubtitleFormat, type SubtitleWarning, type TextRun } from './cue-text.ts';
import { parseSrt, parseSrtTiming, writeSrt } from './srt.ts';
import { hasWebVttSignature, parseWebVtt, writeWebVtt } from './webvtt.ts';

/** A cue on the timeline: integer frames [start, end), plain text; runs and position when a file gave them. */
export interface SubtitleCue {
  start: number;
  end: number;
  text: string;
  runs?: TextRun[];
  position?: CuePosition;
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

/** The timeline's limits (shared/timeline checkCue, RenderSpec cues). */
export const MAX_CUE_TEXT = 2000;
export const MAX_CUES = 20_000;

export const SUBTITLE_FILE_TYPES: Record<SubtitleFormat, { extension: string; mime: string; label: string }> = {
  srt: { extension: 'srt', mime: 'application/x-subrip', label: 'SubRip (.srt)' },
  vtt: { extension: 'vtt', mime: 'text/vtt', label: 'WebVTT (.vtt)' },
  ass: { extension: 'ass', mime: 'text/x-ssa', label: 'Advanced SubStation (.ass)' },
};

export function detectSubtitleFormat(text: string, fileName?: string): SubtitleFormat {
  if (hasWebVttSignature(text)) return 'vtt';
  if (looksLikeAss(text)) return 'ass';
  const ext = /\.([a-z0-9]+)$/i.exec(fileName ?? '')?.[1]?.toLowerCase();
  if ((ext === 'ass' || ext === 'ssa') && !text.split(/\r\n?|\n/, 50).some((l) => parseSrtTiming(l))) return 'ass';
  return 'srt';
}

/** Parses a subtitle file (milliseconds, styled runs, warnings), detecting the format unless given. */
export function parseSubtitleFile(text: string, opts: { format?: SubtitleFormat; fileName?: string; outputHeight?: number } = {}): ParsedSubtitles {
  const format = opts.format ?? detectSubtitleFormat(text, opts.fileName);
  if (format === 'vtt') return parseWebVtt(text);
  if (format === 'ass') return parseAss(text, { outputHeight: opts.outputHeight });
  const parsed = parseSrt(text);
  if (!opts.format && /\.vtt$/i.test(opts.fileName ?? '') && parsed.cues.length) {
    parsed.warnings.unshift({ line: 1, message: 'this .vtt file has no "WEBVTT" first line, so browsers reject it; it was read as SRT', note: true });
  }
  return parsed;
}

function msToFrame(ms: number, fps: Fps, round: 'down' | 'up'): number {
  const exact = (ms * fps.num) / (fps.den * 1000);
  return round === 'down' ? Math.floor(exact + 1e-6) : Math.ceil(exact - 1e-6);
}

/** Rounded UP so that parsing the millisecond value back (floor) gives the same frame. */
export function frameToMs(frame: number, fps: Fps): number {
  return Math.ceil((frame * fps.den * 1000) / fps.num - 1e-9);
}

export interface SubtitleImport extends Omit<ParsedSubtitles, 'cues'> {
  cues: SubtitleCue[];
}

/**
 * A subtitle file as timeline cues, sorted by start. Never throws: whatever cannot be read is a
 * warning with its line; `cues` may be empty (the import dialog then has nothing to import).
 */
export function importSubtitles(text: string, opts: { fps: Fps; format?: SubtitleFormat; fileName?: string; outputHeight?: number }): SubtitleImport {
  const parsed = parseSubtitleFile(text, opts);
  const round = parsed.format === 'ass' ? 'up' : 'down';
  const warnings: SubtitleWarning[] = [...parsed.warnings];
  const cues: SubtitleCue[] = [];
  let styled = 0;
  let positioned = 0;
  let firstStyled = 0;
  let firstPositioned = 0;
  const ordered = [...parsed.cues].sort((a, b) => a.startMs - b.startMs || a.line - b.line);
  for (const c of ordered) {
    if (cues.length >= MAX_CUES) {
      warnings.push({ line: c.line, message: `cue skipped: a project holds at most ${MAX_CUES} subtitles` });
      continue;
    }
    const start = Math.max(0, msToFrame(c.startMs, opts.fps, round));
    const end = Math.max(start + 1, msToFrame(c.endMs, opts.fps, round));
    let text = plainText(c.runs);
    if (text.length > MAX_CUE_TEXT) {
      warnings.push({ line: c.line, message: `text cut to ${MAX_CUE_TEXT} characters (it had ${text.length})`, note: true });
      text = text.slice(0, MAX_CUE_TEXT);
    }
    const cue: SubtitleCue = { start, end, text };
    if (hasStyling(c.runs)) {
      cue.runs = c.runs;
      if (styled++ === 0) firstStyled = c.line;
    }
    if (c.position) {
      cue.position = c.position;
      if (positioned++ === 0) firstPositioned = c.line;
    }
    cues.push(cue);
  }
  if (styled) warnings.push({ line: firstStyled, message: `${styled} cue${styled === 1 ? ' has' : 's have'} italic/bold/colour markup: the timeline keeps the text, the project's subtitle style applies to all`, note: true });
  if (positioned) warnings.push({ line: firstPositioned, message: `${positioned} cue${positioned === 1 ? ' sets its' : 's set their'} own position: the timeline uses the project's subtitle position for all`, note: true });
  warnings.sort((a, b) => a.line - b.line);
  return { ...parsed, cues, warnings };
}

const runsOf = (c: SubtitleCue): TextRun[] => c.runs ?? (c.text === '' ? [] : [{ text: c.text }]);

/**
 * Timeline cues as a file every player re-imports. `style` (the project's) goes into WebVTT's STYLE
 * block and the ASS style; SRT has no file-wide style. width/height are the ASS PlayRes.
 */
export function exportSubtitles(format: SubtitleFormat, cues: readonly SubtitleCue[], opts: { fps: Fps; style?: SubtitleStyle; width?: number; height?: number }): string {
  const sorted = [...cues].sort((a, b) => a.start - b.start || a.end - b.end);
  if (format === 'ass') {
    if (!opts.style) throw new Error('ASS export needs the subtitle style');
    const ms = (f: number) => assBoundaryCentiseconds(f, opts.fps) * 10;
    return writeAss(
      sorted.map((c) => ({ startMs: ms(c.start), endMs: ms(c.end), runs: runsOf(c), ...(c.position ? { position: c.position } : {}) })),
      { style: opts.style, width: opts.width ?? 1920, height: opts.height ?? 1080 },
    );
  }
  const ms = sorted.map((c) => ({ startMs: frameToMs(c.start, opts.fps), endMs: frameToMs(c.end, opts.fps), runs: runsOf(c), ...(c.position ? { position: c.position } : {}) }));
  return format === 'vtt' ? writeWebVtt(ms, { style: opts.style }) : writeSrt(ms);
}

/** One subtitle file as another, in milliseconds, keeping styling where the target can carry it. */
export function convertSubtitles(text: string, to: SubtitleFormat, opts: { fileName?: string; style?: SubtitleStyle; width?: number; height?: number } = {}): { text: string; warnings: SubtitleWarning[] } {
  const parsed = parseSubtitleFile(text, { fileName: opts.fileName, outputHeight: opts.height });
  const cues = parsed.cues.map((c) => ({ startMs: c.startMs, endMs: c.endMs, runs: c.runs, ...(c.position ? { position: c.position } : {}), ...(c.voice ? { voice: c.voice } : {}) }));
  if (to === 'ass') {
    if (!opts.style) throw new Error('ASS output needs a subtitle style');
    return { text: writeAss(cues, { style: opts.style, width: opts.width ?? 1920, height: opts.height ?? 1080 }), warnings: parsed.warnings };
  }
  return { text: to === 'vtt' ? writeWebVtt(cues, { style: opts.style }) : writeSrt(cues), warnings: parsed.warnings };
}

/** For callers that want an error when nothing imports (e.g. a CLI); the editor shows warnings instead. */
export function importSubtitlesOrThrow(text: string, opts: Parameters<typeof importSubtitles>[1]): SubtitleImport {
  const result = importSubtitles(text, opts);
  if (result.cues.length === 0) {
    const first = result.warnings.find((w) => !w.note);
    throw new SubtitleParseError(first?.line ?? 1, first ? first.message : 'no subtitles found');
  }
  return result;
}
