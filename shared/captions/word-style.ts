/**
 * The one description of what a word-timed caption shows at any frame. libass (farm and
 * ffmpeg.wasm, through buildAss) and the PixiJS preview both draw from captionSegments(), so the
 * active word, its colour, scale and box change at exactly the same frames everywhere.
 */
import type { Cue, WordStyle } from '../render-spec/schema.ts';

export type WordState = 'active' | 'spoken' | 'pending';

export interface CaptionWordRun {
  text: string;
  state: WordState;
  /** Where the word sits: line index and index within that line (line breaks come from cue.text). */
  line: number;
}

export interface CaptionSegment {
  /** Frames [start, end) of this look. */
  start: number;
  end: number;
  /** Frame the active word started (pop animation origin); null when no word is active. */
  activeSince: number | null;
  words: CaptionWordRun[];
}

export const DEFAULT_WORD_STYLE: WordStyle = { mode: 'highlight', activeColor: '#FFD400', activeScale: 115, activeBoxColor: null, popMs: 0, uppercase: true };

/** Word-style presets offered in the inspector. */
export const WORD_STYLE_PRESETS: Record<'karaoke' | 'pop' | 'box' | 'reveal', WordStyle> = {
  karaoke: { mode: 'highlight', activeColor: '#FFD400', activeScale: 100, activeBoxColor: null, popMs: 0, uppercase: false },
  pop: { mode: 'highlight', activeColor: '#FFFFFF', activeScale: 125, activeBoxColor: null, popMs: 120, uppercase: true },
  box: { mode: 'highlight', activeColor: '#FFFFFF', activeScale: 100, activeBoxColor: '#7C3AED', popMs: 0, uppercase: true },
  reveal: { mode: 'reveal', activeColor: '#22D3EE', activeScale: 110, activeBoxColor: null, popMs: 100, uppercase: true },
};

/** Words of a cue with their line numbers (cue.text's newlines are the line breaks). */
export function cueWords(text: string, uppercase: boolean): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  text.split('\n').forEach((line, li) => {
    for (const w of line.split(/\s+/u)) if (w !== '') out.push({ text: uppercase ? w.toUpperCase() : w, line: li });
  });
  return out;
}

/**
 * Piecewise-constant looks of one cue. Between words (a pause) the last spoken word stays active
 * until the next one starts, so the highlight never flickers off mid-phrase.
 */
export function captionSegments(cue: Pick<Cue, 'start' | 'end' | 'text' | 'words'>, style: WordStyle): CaptionSegment[] {
  const words = cueWords(cue.text, style.uppercase);
  const timings = cue.words;
  if (!timings || timings.length !== words.length || words.length === 0)
    return [{ start: cue.start, end: cue.end, activeSince: null, words: words.map((w) => ({ ...w, state: 'spoken' as const })) }];
  const segs: CaptionSegment[] = [];
  const first = Math.max(cue.start, Math.min(timings[0]!.start, cue.end));
  if (first > cue.start) segs.push({ start: cue.start, end: first, activeSince: null, words: words.map((w) => ({ ...w, state: 'pending' as const })) });
  for (let i = 0; i < words.length; i++) {
    const start = Math.max(i === 0 ? first : timings[i]!.start, segs.at(-1)?.end ?? cue.start);
    const end = i + 1 < words.length ? Math.min(Math.max(timings[i + 1]!.start, start), cue.end) : cue.end;
    if (end <= start) continue;
    segs.push({ start, end, activeSince: start, words: words.map((w, j) => ({ ...w, state: j < i ? 'spoken' : j === i ? 'active' : 'pending' })) });
  }
  return segs;
}

/** The look at one frame, or null when the cue is not on screen. */
export function captionAt(cue: Pick<Cue, 'start' | 'end' | 'text' | 'words'>, style: WordStyle, frame: number): CaptionSegment | null {
  if (frame < cue.start || frame >= cue.end) return null;
  return captionSegments(cue, style).find((s) => frame >= s.start && frame < s.end) ?? null;
}

/** The pop-in's length as libass gets it (\\t times are whole milliseconds; at least 10 ms). */
export function popDurationMs(style: Pick<WordStyle, 'popMs'>): number {
  return Math.max(10, Math.round(style.popMs / 10) * 10);
}

/**
 * The active word's scale (1 = 100 %) `msSinceStart` ms after its first frame: with a pop-in it
 * grows linearly from 70 % on that frame to activeScale popDurationMs later (libass's \\t, which
 * buildAss starts exactly at the word's first frame), else it is activeScale throughout.
 */
export function activeWordScale(style: Pick<WordStyle, 'popMs' | 'activeScale'>, msSinceStart: number): number {
  const full = style.activeScale / 100;
  if (style.popMs <= 0) return full;
  return 0.7 + (full - 0.7) * Math.min(1, Math.max(0, msSinceStart) / popDurationMs(style));
}

/** Whether a word in this state is drawn (reveal mode hides words not yet spoken, keeping their space). */
export function wordVisible(state: WordState, style: WordStyle): boolean {
  return style.mode === 'highlight' || state !== 'pending';
}
