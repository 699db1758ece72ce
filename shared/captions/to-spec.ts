/** Built cues (milliseconds) -> RenderSpec cues (timeline frames) with per-word timings. */
import type { Cue, Fps } from '../render-spec/schema.ts';
import { buildCues, type CaptionPreset, type CueRulesInput } from './cues.ts';
import { isLowConfidence, type TranscriptWord } from './transcript.ts';

/** Nearest frame boundary at or after `ms` (frame n starts at n * den / num seconds). */
export function msToFrame(ms: number, fps: Fps): number {
  return Math.max(0, Math.round((ms * fps.num) / (fps.den * 1000)));
}

export interface CaptionCueOptions {
  fps: Fps;
  rules?: CueRulesInput | CaptionPreset;
  /** Timeline frame where transcript time 0 sits (the clip's start minus its source in-point). */
  offsetFrames?: number;
  idPrefix?: string;
  mediaEndMs?: number;
}

/** A caption word: timeline frames, and `low: true` only when the transcript rated it below LOW_CONFIDENCE. */
export interface CaptionCueWord {
  start: number;
  end: number;
  low?: true;
}
/**
 * A caption cue as the editor stores it (the timeline's CueSnapshot shape). It is also a valid
 * RenderSpec cue: `low` is not part of the spec and never reaches a render (compile copies only
 * start/end; RenderSpec parsing strips unknown keys).
 */
export type CaptionCue = Omit<Cue, 'words'> & { words: CaptionCueWord[] };

export function transcriptToCues(words: readonly (Pick<TranscriptWord, 'text' | 'start' | 'end'> & { confidence?: number })[], opts: CaptionCueOptions): CaptionCue[] {
  const off = opts.offsetFrames ?? 0;
  const out: CaptionCue[] = [];
  for (const [n, c] of buildCues(words, opts.rules, { mediaEndMs: opts.mediaEndMs }).entries()) {
    const start = msToFrame(c.start, opts.fps) + off;
    const end = Math.max(start + 1, msToFrame(c.end, opts.fps) + off);
    if (end + 0 <= 0) continue;
    const ws = words.slice(c.from, c.to).map((w): CaptionCueWord => {
      const s = Math.min(Math.max(msToFrame(w.start, opts.fps) + off, start), end - 1);
      const e = Math.min(Math.max(s + 1, msToFrame(w.end, opts.fps) + off), end);
      return isLowConfidence(w) ? { start: s, end: e, low: true } : { start: s, end: e };
    });
    // Tokens must be whitespace-free words: a recognised "word" never carries spaces.
    const lines = c.lines.map((l) => l.split(/\s+/u).filter(Boolean).join(' '));
    out.push({ id: `${opts.idPrefix ?? 'cap'}-${n}`, start, end, text: lines.join('\n'), words: ws });
  }
  return out;
}
