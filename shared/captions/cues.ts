/**
 * Words -> caption cues (docs/CAPTIONS.md, "Cue rules"). Pure and deterministic: the farm, the
 * editor and the tests all build cues with this one function.
 *
 * Rules, in the order they are checked before adding a word to the open cue:
 *  1. never inside a word: a word is the unit; one longer than a line is put on its own line.
 *  2. a pause before the word longer than `pauseMs` (300 ms) closes the cue;
 *  3. a word after sentence punctuation (. ? ! …) closes the cue; after , ; : it closes the cue
 *     once the cue is at least half full;
 *  4. the cue may not exceed `maxWords` (presets), `maxLines` lines of `maxCharsPerLine` chars
 *     (greedy line filling), or `maxDurationMs` (7 s) from its first word's start to this word's end.
 * Then every cue is held on screen for at least `minDurationMs` (0.8 s) by extending its end into
 * the silence after it, never past the next cue's start nor `mediaEndMs`.
 */
import { z } from 'zod';
import type { TranscriptWord } from './transcript.ts';

export const CueRules = z.object({
  maxCharsPerLine: z.number().int().min(4).max(120).default(42),
  maxLines: z.number().int().min(1).max(4).default(2),
  minDurationMs: z.number().int().min(0).max(10_000).default(800),
  maxDurationMs: z.number().int().min(200).max(30_000).default(7000),
  pauseMs: z.number().int().min(0).max(10_000).default(300),
  /** null: no limit (subtitle-style cues); 1..3 for social captions. */
  maxWords: z.number().int().min(1).max(50).nullable().default(null),
});
export type CueRules = z.infer<typeof CueRules>;
export type CueRulesInput = z.input<typeof CueRules>;

export const CAPTION_PRESETS = {
  /** Classic two-line subtitles. */
  subtitles: { maxWords: null },
  /** One word at a time, big and centred. */
  'one-word': { maxWords: 1, maxLines: 1, maxCharsPerLine: 24, minDurationMs: 0 },
  'two-words': { maxWords: 2, maxLines: 1, maxCharsPerLine: 24, minDurationMs: 300 },
  'three-words': { maxWords: 3, maxLines: 1, maxCharsPerLine: 28, minDurationMs: 500 },
} as const satisfies Record<string, CueRulesInput>;
export type CaptionPreset = keyof typeof CAPTION_PRESETS;
export const CaptionPresetId = z.enum(Object.keys(CAPTION_PRESETS) as [CaptionPreset, ...CaptionPreset[]]);

export interface BuiltCue {
  start: number;
  end: number;
  /** Index of the first word and one past the last in the input array. */
  from: number;
  to: number;
  /** The cue's words broken into lines (word texts joined by single spaces). */
  lines: string[];
}

const SENTENCE_END = /[.?!…]["')\]]*$/u;
const CLAUSE_END = /[,;:\u2014–-]["')\]]*$/u;

/** Greedy line filling; a word longer than a line sits alone on its line (never split). */
export function breakLines(words: readonly string[], maxChars: number): string[] {
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (cur === '') cur = w;
    else if (cur.length + 1 + w.length <= maxChars) cur += ` ${w}`;
    else {
      lines.push(cur);
      cur = w;
    }
  }
  if (cur !== '') lines.push(cur);
  return lines;
}

export function resolveRules(rules: CueRulesInput | CaptionPreset = 'subtitles'): CueRules {
  return CueRules.parse(typeof rules === 'string' ? CAPTION_PRESETS[rules] : rules);
}

export function buildCues(words: readonly Pick<TranscriptWord, 'text' | 'start' | 'end'>[], rulesIn: CueRulesInput | CaptionPreset = 'subtitles', opts: { mediaEndMs?: number } = {}): BuiltCue[] {
  const rules = resolveRules(rulesIn);
  const cues: BuiltCue[] = [];
  let from = 0;
  const close = (to: number) => {
    if (to <= from) return;
    const slice = words.slice(from, to);
    cues.push({ start: slice[0]!.start, end: slice[slice.length - 1]!.end, from, to, lines: breakLines(slice.map((w) => w.text), rules.maxCharsPerLine) });
    from = to;
  };
  for (let i = 0; i < words.length; i++) {
    if (i === from) continue;
    const prev = words[i - 1]!;
    const w = words[i]!;
    const count = i - from;
    const texts = words.slice(from, i + 1).map((x) => x.text);
    const capacity = rules.maxLines * rules.maxCharsPerLine;
    const used = texts.slice(0, -1).join(' ').length;
    const breakHere =
      w.start - prev.end > rules.pauseMs ||
      SENTENCE_END.test(prev.text) ||
      (CLAUSE_END.test(prev.text) && used >= capacity / 2) ||
      (rules.maxWords !== null && count >= rules.maxWords) ||
      breakLines(texts, rules.maxCharsPerLine).length > rules.maxLines ||
      w.end - words[from]!.start > rules.maxDurationMs;
    if (breakHere) close(i);
  }
  close(words.length);
  // Minimum display time: extend into the following silence only.
  for (let i = 0; i < cues.length; i++) {
    const c = cues[i]!;
    const limit = Math.min(cues[i + 1]?.start ?? Infinity, opts.mediaEndMs ?? Infinity);
    if (c.end - c.start < rules.minDurationMs) c.end = Math.max(c.end, Math.min(c.start + rules.minDurationMs, limit));
  }
  return cues;
}
