/**
 * Word-timed transcripts: what the farm's transcribe job produces and the editor edits.
 * Times are milliseconds of the transcribed media (asset time, or timeline time for a range job).
 */
import { z } from 'zod';

export const MAX_TRANSCRIPT_WORDS = 100_000;

export const TranscriptWord = z.object({
  /** As spoken/recognised; may carry trailing punctuation ("world,"). Never empty. */
  text: z.string().min(1).max(200).regex(/^\S+$/u, 'a word has no spaces'),
  start: z.number().int().min(0),
  end: z.number().int().min(0),
  /** 0..1 (engine posterior); 1 for aligned known text. */
  confidence: z.number().min(0).max(1),
  speaker: z.string().max(100).nullable().default(null),
});
export type TranscriptWord = z.infer<typeof TranscriptWord>;

/**
 * Below this `confidence` a word's recognition or timing is a guess (pocketsphinx align mode rates
 * words so, docs/CAPTIONS.md): caption cues flag such words (`low: true`) and the editor's transcript
 * panel marks them for checking.
 */
export const LOW_CONFIDENCE = 0.5;

/** True when the transcript rated the word below LOW_CONFIDENCE (a word without a rating is not flagged). */
export function isLowConfidence(w: { confidence?: number | null }): boolean {
  return typeof w.confidence === 'number' && w.confidence < LOW_CONFIDENCE;
}

export const TranscriptEngineId = z.enum(['pocketsphinx', 'whisper']);
export type TranscriptEngineId = z.infer<typeof TranscriptEngineId>;

export const Transcript = z
  .object({
    version: z.literal(1),
    language: z.string().regex(/^[a-z]{2,3}(-[A-Za-z]{2,4})?$/),
    engine: TranscriptEngineId,
    /** 'draft' for the offline pocketsphinx recogniser; 'aligned' when known text was aligned. */
    quality: z.enum(['draft', 'standard', 'aligned']),
    mode: z.enum(['recognise', 'align']),
    durationMs: z.number().int().min(0),
    words: z.array(TranscriptWord).max(MAX_TRANSCRIPT_WORDS),
  })
  .superRefine((t, ctx) => {
    let prev = -1;
    t.words.forEach((w, i) => {
      if (w.end < w.start) ctx.addIssue({ code: 'custom', path: ['words', i, 'end'], message: 'word end before its start' });
      if (w.start < prev) ctx.addIssue({ code: 'custom', path: ['words', i, 'start'], message: 'words must be in time order' });
      prev = w.start;
    });
  });
export type Transcript = z.infer<typeof Transcript>;

/** Lower-case letters/digits/apostrophes only: how words are compared (WER, alignment, fillers). */
export function normaliseWord(text: string): string {
  return text
    .toLowerCase()
    .replace(/[\u2019]/g, "'")
    .replace(/[^\p{L}\p{N}']+/gu, '')
    .replace(/^'+|'+$/g, '');
}

/** Splits a script (pasted text, TXT or the text of SRT cues) into words, punctuation kept on the word. */
export function scriptWords(text: string): string[] {
  return text
    .split(/\s+/u)
    .map((w) => w.trim())
    .filter((w) => normaliseWord(w) !== '');
}

/** Word error rate of `hypothesis` against `reference` (Levenshtein over normalised words). */
export function wordErrorRate(reference: readonly string[], hypothesis: readonly string[]): number {
  const r = reference.map(normaliseWord).filter(Boolean);
  const h = hypothesis.map(normaliseWord).filter(Boolean);
  if (r.length === 0) return h.length === 0 ? 0 : 1;
  let prev = Array.from({ length: h.length + 1 }, (_, j) => j);
  for (let i = 1; i <= r.length; i++) {
    const cur = [i];
    for (let j = 1; j <= h.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (r[i - 1] === h[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[h.length]! / r.length;
}

export const DEFAULT_FILLERS = ['um', 'uh', 'erm', 'er', 'ah', 'hmm', 'mm', 'uhm'] as const;

export function isFiller(text: string, fillers: readonly string[] = DEFAULT_FILLERS): boolean {
  return fillers.includes(normaliseWord(text));
}
