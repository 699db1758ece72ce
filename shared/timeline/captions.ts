/**
 * Transcript editing on the shared timeline (docs/CAPTIONS.md). Every op is one Yjs transaction
 * with the caller's origin, so per-user undo takes back exactly one edit and collaborators see it
 * live. Caption cues are ordinary cues carrying word timings (frames); editing a word changes the
 * cue text and keeps every timing; cutting words ripple-deletes their time range from every track.
 */
import * as Y from 'yjs';
import { WordStyle as WordStyleSchema, type Cue, type WordStyle } from '../render-spec/schema.ts';
import { isFiller } from '../captions/transcript.ts';
import { TimelineError, maps, movedWord, type CueSnapshot, type CueWord } from './model.ts';
import { newId, setFields } from './ops.ts';
import { readTimeline } from './read.ts';
import { mergeRanges, rippleDeleteRanges, textOf, tokensOf } from './ripple.ts';
export { rippleDeleteRanges } from './ripple.ts';

type Origin = unknown;

function cueMap(doc: Y.Doc, cueId: string): { m: Y.Map<unknown>; cue: CueSnapshot & { words: CueWord[] } } {
  const m = maps(doc).cues.get(cueId);
  if (!(m instanceof Y.Map)) throw new TimelineError('that caption no longer exists');
  const cue = readTimeline(doc).cues.find((c) => c.id === cueId);
  if (!cue?.words) throw new TimelineError('that subtitle has no word timings: run Auto-captions first');
  const tokens = tokensOf(cue.text);
  if (tokens.length !== cue.words.length) throw new TimelineError('this caption was edited as plain text: its word timings no longer match');
  // Words as stored, flags kept (a malformed flag read as absent is not written back as a key).
  return { m, cue: { ...cue, words: cue.words.map((w) => movedWord(w, w.start, w.end)) } };
}

/**
 * Replaces the timeline's caption cues (those with word timings) with `cues`; plain subtitles stay.
 * A word's low-confidence flag (`low: true`, from transcriptToCues) is kept.
 */
export function setCaptionCues(doc: Y.Doc, cues: readonly (Pick<Cue, 'start' | 'end' | 'text'> & { words?: readonly { start: number; end: number; low?: true | undefined }[] | undefined })[], origin: Origin = null): string[] {
  const ids: string[] = [];
  doc.transact(() => {
    const all = maps(doc).cues;
    for (const [id, m] of [...all.entries()]) if (m instanceof Y.Map && Array.isArray(m.get('words'))) all.delete(id);
    for (const c of cues) {
      if (!c.words || c.words.length !== tokensOf(c.text).length) throw new TimelineError('each caption needs one timing per word');
      const id = newId();
      const m = new Y.Map<unknown>();
      all.set(id, m);
      setFields(m, { id, start: c.start, end: c.end, text: c.text, words: c.words.map((w) => movedWord(w, w.start, w.end)) });
      ids.push(id);
    }
  }, origin);
  return ids;
}

/**
 * Fixes one word. Its timing is kept; a correction with several words ("gonna" -> "going to")
 * shares the word's time evenly; an empty correction removes the word (its time stays in the cue).
 * The fixed word loses its low-confidence flag (the user has checked it), even when the text is unchanged.
 */
export function editCaptionWord(doc: Y.Doc, cueId: string, wordIndex: number, text: string, origin: Origin = null): void {
  const { m, cue } = cueMap(doc, cueId);
  const tokens = tokensOf(cue.text);
  if (!Number.isInteger(wordIndex) || wordIndex < 0 || wordIndex >= tokens.length) throw new TimelineError('that word is not in this caption');
  if (text.length > 200) throw new TimelineError('a word is at most 200 characters');
  const parts = text.split(/\s+/u).filter(Boolean);
  const w = cue.words[wordIndex]!;
  if (parts.length === 0 && tokens.length === 1) throw new TimelineError('a caption needs at least one word: delete the caption instead');
  const span = w.end - w.start;
  const newWords = parts.map((_, i): CueWord => {
    const s = w.start + Math.floor((span * i) / parts.length);
    return { start: s, end: Math.max(s + 1, w.start + Math.floor((span * (i + 1)) / parts.length)) };
  });
  const line = tokens[wordIndex]!.line;
  const nextTokens = [...tokens.slice(0, wordIndex), ...parts.map((p) => ({ text: p, line })), ...tokens.slice(wordIndex + 1)];
  const nextWords = [...cue.words.slice(0, wordIndex), ...newWords, ...cue.words.slice(wordIndex + 1)];
  const next = textOf(nextTokens);
  if (next.length > 2000) throw new TimelineError('subtitle text must be at most 2000 characters');
  doc.transact(() => setFields(m, { text: next, words: nextWords }), origin);
}

/**
 * Confirms words as right ("checked"): drops their low-confidence flags, text and timing unchanged,
 * in one transaction. `words` are {cueId, index} as the panel lists them; unknown or unflagged ones
 * are skipped. Returns how many flags were dropped.
 */
export function confirmCaptionWords(doc: Y.Doc, words: readonly { cueId: string; index: number }[], origin: Origin = null): number {
  const byCue = new Map<string, Set<number>>();
  for (const w of words) byCue.set(w.cueId, (byCue.get(w.cueId) ?? new Set()).add(w.index));
  const patches: { m: Y.Map<unknown>; words: CueWord[] }[] = [];
  let n = 0;
  const all = maps(doc).cues;
  const snapshots = new Map(readTimeline(doc).cues.map((c) => [c.id, c]));
  for (const [cueId, idx] of byCue) {
    const m = all.get(cueId);
    const cue = snapshots.get(cueId);
    if (!(m instanceof Y.Map) || !cue?.words) continue;
    const hit = cue.words.filter((w, i) => idx.has(i) && w.low).length;
    if (hit === 0) continue;
    n += hit;
    patches.push({ m, words: cue.words.map((w, i) => (idx.has(i) ? { start: w.start, end: w.end } : movedWord(w, w.start, w.end))) });
  }
  if (patches.length > 0) doc.transact(() => patches.forEach((p) => setFields(p.m, { words: p.words })), origin);
  return n;
}

/** Splits a caption before word `atWord` into two cues; timings kept. */
export function splitCaption(doc: Y.Doc, cueId: string, atWord: number, origin: Origin = null): string {
  const { m, cue } = cueMap(doc, cueId);
  const tokens = tokensOf(cue.text);
  if (!Number.isInteger(atWord) || atWord <= 0 || atWord >= tokens.length) throw new TimelineError('split between two words of the caption');
  const at = cue.words[atWord]!.start;
  const left = tokens.slice(0, atWord).map((t) => ({ ...t, line: 0 }));
  const right = tokens.slice(atWord).map((t) => ({ ...t, line: 0 }));
  const id = newId();
  doc.transact(() => {
    setFields(m, { text: textOf(left), end: Math.max(at, cue.start + 1), words: cue.words.slice(0, atWord) });
    const r = new Y.Map<unknown>();
    maps(doc).cues.set(id, r);
    setFields(r, { id, start: Math.max(at, cue.start + 1), end: cue.end, text: textOf(right), words: cue.words.slice(atWord) });
  }, origin);
  return id;
}

/** Merges a caption with the next one (by time); the merged cue spans both, on one line each. */
export function mergeCaptionWithNext(doc: Y.Doc, cueId: string, origin: Origin = null): void {
  const { m, cue } = cueMap(doc, cueId);
  const captions = readTimeline(doc).cues.filter((c) => c.words);
  const next = captions[captions.findIndex((c) => c.id === cueId) + 1];
  if (!next) throw new TimelineError('there is no caption after this one to merge with');
  const b = cueMap(doc, next.id).cue;
  const lines = [...tokensOf(cue.text).map((t) => ({ ...t, line: 0 })), ...tokensOf(b.text).map((t) => ({ ...t, line: 1 }))];
  const text = textOf(lines);
  if (text.length > 2000) throw new TimelineError('subtitle text must be at most 2000 characters');
  doc.transact(() => {
    setFields(m, { text, end: Math.max(cue.end, b.end), words: [...cue.words, ...b.words] });
    maps(doc).cues.delete(next.id);
  }, origin);
}

export function setWordStyle(doc: Y.Doc, style: WordStyle | null, origin: Origin = null): void {
  if (style !== null) {
    const parsed = WordStyleSchema.safeParse(style);
    if (!parsed.success) throw new TimelineError(`invalid caption style: ${parsed.error.issues[0]?.path.join('.')} ${parsed.error.issues[0]?.message}`);
    style = parsed.data;
  }
  doc.transact(() => maps(doc).subtitleStyle.set('wordStyle', style), origin);
}

/**
 * Ranges to cut for "remove fillers and pauses": every filler word of every caption, and the part of
 * every silence between two caption words longer than `maxPauseFrames` beyond that length (the
 * pause is shortened to `maxPauseFrames`, centred, not removed).
 */
export function fillerAndPauseRanges(doc: Y.Doc, opts: { maxPauseFrames: number; fillers?: readonly string[] }): [number, number][] {
  const out: [number, number][] = [];
  const words: { start: number; end: number; text: string }[] = [];
  for (const c of readTimeline(doc).cues) {
    if (!c.words) continue;
    const tokens = tokensOf(c.text);
    if (tokens.length !== c.words.length) continue;
    c.words.forEach((w, i) => words.push({ ...w, text: tokens[i]!.text }));
  }
  words.sort((a, b) => a.start - b.start);
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (isFiller(w.text, opts.fillers)) out.push([w.start, w.end]);
    const next = words[i + 1];
    if (next && next.start - w.end > opts.maxPauseFrames) {
      const keep = opts.maxPauseFrames;
      const a = w.end + Math.floor(keep / 2);
      out.push([a, a + (next.start - w.end - keep)]);
    }
  }
  return mergeRanges(out);
}

/** "Remove fillers and pauses > N": one undoable edit; returns the frames removed. */
export function removeFillersAndPauses(doc: Y.Doc, opts: { maxPauseFrames: number; fillers?: readonly string[] }, origin: Origin = null): number {
  const ranges = fillerAndPauseRanges(doc, opts);
  rippleDeleteRanges(doc, ranges, origin);
  return ranges.reduce((n, [a, b]) => n + b - a, 0);
}
