/** Built cues (milliseconds) -> RenderSpec cues (timeline frames) with per-word timings. */
import type { Cue, Fps } from '../render-spec/schema.ts';
import { buildCues, type CaptionPreset, type CueRulesInput } from './cues.ts';
import type { TranscriptWord } from './transcript.ts';

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

export function transcriptToCues(words: readonly Pick<TranscriptWord, 'text' | 'start' | 'end'>[], opts: CaptionCueOptions): Cue[] {
  const off = opts.offsetFrames ?? 0;
  const out: Cue[] = [];
  for (const [n, c] of buildCues(words, opts.rules, { mediaEndMs: opts.mediaEndMs }).entries()) {
    const start = msToFrame(c.start, opts.fps) + off;
    const end = Math.max(start + 1, msToFrame(c.end, opts.fps) + off);
    if (end + 0 <= 0) continue;
    const ws = words.slice(c.from, c.to).map((w) => {
      const s = Math.min(Math.max(msToFrame(w.start, opts.fps) + off, start), end - 1);
      return { start: s, end: Math.min(Math.max(s + 1, msToFrame(w.end, opts.fps) + off), end) };
    });
    // Tokens must be whitespace-free words: a recognised "word" never carries spaces.
    const lines = c.lines.map((l) => l.split(/\s+/u).filter(Boolean).join(' '));
    out.push({ id: `${opts.idPrefix ?? 'cap'}-${n}`, start, end, text: lines.join('\n'), words: ws });
  }
  return out;
}
