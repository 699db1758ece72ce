import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addAsset, addClip, initTimeline } from './ops.ts';
import { readTimeline } from './read.ts';
import { confirmCaptionWords, editCaptionWord, fillerAndPauseRanges, mergeCaptionWithNext, removeFillersAndPauses, rippleDeleteRanges, setCaptionCues, setWordStyle, splitCaption } from './captions.ts';
import { compileRenderSpec } from '../render-spec/compile.ts';
import { WORD_STYLE_PRESETS } from '../captions/word-style.ts';
import { maps, type AssetInfo } from './model.ts';
import { RIPPLE_CUT_META, undoRippleCut, type RippleCut } from './ripple.ts';
import { RenderSpec } from '../render-spec/schema.ts';

const video: AssetInfo = { id: 'a1', key: 'orgs/o/projects/p/assets/a1/original.mp4', kind: 'video', name: 'v.mp4', width: 1920, height: 1080, fps: { num: 30, den: 1 }, durationFrames: 300, durationUs: 10_000_000, hasAudio: true, sha256: null };

/** "so um we ship today" then a long pause, then "thanks all"; `low` flags the words of those indexes (per cue). */
function fresh(low: readonly (readonly number[])[] = [[], []]): Y.Doc {
  const doc = new Y.Doc();
  initTimeline(doc, { fps: { num: 30, den: 1 }, aspect: '9:16' });
  addAsset(doc, video);
  addClip(doc, { assetId: 'a1', sourceOut: 300 });
  const flag = (n: number, ws: { start: number; end: number }[]) => ws.map((w, i) => (low[n]!.includes(i) ? { ...w, low: true as const } : w));
  setCaptionCues(doc, [
    { start: 0, end: 60, text: 'so um we\nship today', words: flag(0, [{ start: 0, end: 10 }, { start: 10, end: 20 }, { start: 20, end: 30 }, { start: 30, end: 40 }, { start: 40, end: 60 }]) },
    { start: 150, end: 180, text: 'thanks all', words: flag(1, [{ start: 150, end: 165 }, { start: 165, end: 180 }]) },
  ]);
  return doc;
}
const captions = (doc: Y.Doc) => readTimeline(doc).cues.filter((c) => c.words);

describe('transcript editing ops', () => {
  it('fixing a word changes the text and keeps every timing; one undo step', () => {
    const doc = fresh();
    const me = { user: 'me' };
    const undo = new Y.UndoManager([doc.getMap('cues')], { trackedOrigins: new Set([me]), captureTimeout: 0 });
    const id = captions(doc)[0]!.id;
    editCaptionWord(doc, id, 3, 'shipped', me);
    expect(captions(doc)[0]).toMatchObject({ text: 'so um we\nshipped today', words: [{ start: 0, end: 10 }, { start: 10, end: 20 }, { start: 20, end: 30 }, { start: 30, end: 40 }, { start: 40, end: 60 }] });
    editCaptionWord(doc, id, 4, 'to day', me);
    expect(captions(doc)[0]!.text).toBe('so um we\nshipped to day');
    expect(captions(doc)[0]!.words!.slice(4)).toEqual([{ start: 40, end: 50 }, { start: 50, end: 60 }]);
    undo.undo();
    expect(captions(doc)[0]!.text).toBe('so um we\nshipped today');
    expect(() => editCaptionWord(doc, id, 9, 'x')).toThrow(/not in this caption/);
  });

  it('split and merge lines keep timings', () => {
    const doc = fresh();
    const [a] = captions(doc);
    const b = splitCaption(doc, a!.id, 3);
    const [l, r] = captions(doc);
    expect(l).toMatchObject({ text: 'so um we', start: 0, end: 30 });
    expect(r).toMatchObject({ id: b, text: 'ship today', start: 30, end: 60, words: [{ start: 30, end: 40 }, { start: 40, end: 60 }] });
    mergeCaptionWithNext(doc, l!.id);
    expect(captions(doc)[0]).toMatchObject({ text: 'so um we\nship today', start: 0, end: 60 });
    expect(captions(doc)[0]!.words).toHaveLength(5);
  });

  it('deleting words ripple-cuts their range from the clips and shifts later captions', () => {
    const doc = fresh();
    rippleDeleteRanges(doc, [[10, 20]]);
    const tl = readTimeline(doc);
    expect(tl.clips.map((c) => [c.start, (c as { sourceIn: number }).sourceIn, (c as { sourceOut: number }).sourceOut])).toEqual([[0, 0, 10], [10, 20, 300]]);
    expect(captions(doc)[0]).toMatchObject({ text: 'so we\nship today', start: 0, end: 50 });
    expect(captions(doc)[1]).toMatchObject({ start: 140, end: 170, words: [{ start: 140, end: 155 }, { start: 155, end: 170 }] });
  });

  it('remove fillers and pauses > N is one undoable edit, seen by a second replica', () => {
    const d1 = fresh();
    const d2 = new Y.Doc();
    d1.on('update', (u: Uint8Array) => Y.applyUpdate(d2, u));
    Y.applyUpdate(d2, Y.encodeStateAsUpdate(d1));
    const me = { user: 'me' };
    const undo = new Y.UndoManager([d1.getMap('clips'), d1.getMap('cues')], { trackedOrigins: new Set([me]), captureTimeout: 0 });
    expect(fillerAndPauseRanges(d1, { maxPauseFrames: 9 })).toEqual([[10, 20], [64, 145]]);
    const cut = removeFillersAndPauses(d1, { maxPauseFrames: 9 }, me);
    expect(cut).toBe(91);
    const after = captions(d2);
    expect(after.map((c) => c.text)).toEqual(['so we\nship today', 'thanks all']);
    expect(after[1]!.start).toBe(59);
    expect(readTimeline(d2).clips.reduce((n, c) => n + ((c as { sourceOut: number }).sourceOut - (c as { sourceIn: number }).sourceIn), 0)).toBe(300 - 91);
    undo.undo();
    expect(captions(d2).map((c) => c.text)).toEqual(['so um we\nship today', 'thanks all']);
    expect(readTimeline(d2).clips).toHaveLength(1);
  });

  it('word timings and the word style reach the RenderSpec', () => {
    const doc = fresh();
    setWordStyle(doc, WORD_STYLE_PRESETS.pop);
    const spec = compileRenderSpec(doc);
    expect(spec.subtitles.wordStyle).toEqual(WORD_STYLE_PRESETS.pop);
    expect(spec.subtitles.cues[0]!.words).toHaveLength(5);
    expect(() => setWordStyle(doc, { ...WORD_STYLE_PRESETS.pop, activeScale: 999 })).toThrow(/invalid caption style/);
  });
});

describe('low-confidence words (docs/CAPTIONS.md)', () => {
  /** "um" and "ship" flagged, and "all". */
  const flagged = () => fresh([[1, 3], [1]]);
  /** Per cue: the flagged words' texts (what the panel marks). */
  const lowWords = (doc: Y.Doc) => captions(doc).map((c) => c.text.split(/\s+/u).filter((_, i) => c.words![i]!.low === true));
  /** The RippleCut[] of every transaction on `doc` from now on (what the app's undo manager files). */
  function recordCuts(doc: Y.Doc): RippleCut[][] {
    const cuts: RippleCut[][] = [];
    doc.on('afterTransaction', (tr: Y.Transaction) => {
      const r = tr.meta.get(RIPPLE_CUT_META) as RippleCut[] | undefined;
      if (r) cuts.push(r);
    });
    return cuts;
  }
  const rawWords = (doc: Y.Doc) => [...maps(doc).cues.values()].map((m) => m.get('words'));

  it('is stored as low: true on flagged words only; words without the key (older documents) stay valid', () => {
    const doc = flagged();
    expect(lowWords(doc)).toEqual([['um', 'ship'], ['all']]);
    // Only flagged words carry the key: nothing is stored for the others.
    expect(JSON.stringify(rawWords(doc))).not.toMatch(/"low":false/);
    expect(rawWords(doc).flat().filter((w) => 'low' in (w as object))).toHaveLength(3);
    // A malformed flag (another client's bug) reads as unflagged; the cue is not dropped.
    maps(doc).cues.get(captions(doc)[1]!.id)!.set('words', [{ start: 150, end: 165, low: 'yes' }, { start: 165, end: 180, low: false }]);
    expect(captions(doc)).toHaveLength(2);
    expect(lowWords(doc)[1]).toEqual([]);
  });

  it('fixing a word drops its flag (even unchanged text); the others keep theirs', () => {
    const doc = flagged();
    const id = captions(doc)[0]!.id;
    editCaptionWord(doc, id, 1, 'uh');
    expect(lowWords(doc)[0]).toEqual(['ship']);
    editCaptionWord(doc, id, 3, 'ship');
    expect(lowWords(doc)[0]).toEqual([]);
    expect(lowWords(doc)[1]).toEqual(['all']);
    // A multi-word fix of a flagged word: none of its parts is flagged.
    editCaptionWord(doc, captions(doc)[1]!.id, 1, 'of you');
    expect(captions(doc)[1]).toMatchObject({ text: 'thanks of you', words: [{ start: 150, end: 165 }, { start: 165, end: 172 }, { start: 172, end: 180 }] });
    expect(lowWords(doc)[1]).toEqual([]);
  });

  it('confirming words drops their flags in one undo step, text and timing unchanged', () => {
    const doc = flagged();
    const me = { user: 'me' };
    const undo = new Y.UndoManager([doc.getMap('cues')], { trackedOrigins: new Set([me]), captureTimeout: 0 });
    const [a, b] = captions(doc);
    expect(confirmCaptionWords(doc, [{ cueId: a!.id, index: 1 }, { cueId: a!.id, index: 2 }, { cueId: b!.id, index: 1 }], me)).toBe(2);
    expect(lowWords(doc)).toEqual([['ship'], []]);
    expect(captions(doc).map((c) => [c.text, c.words!.map((w) => [w.start, w.end])])).toEqual([[a!.text, a!.words!.map((w) => [w.start, w.end])], [b!.text, b!.words!.map((w) => [w.start, w.end])]]);
    expect(confirmCaptionWords(doc, [{ cueId: b!.id, index: 1 }, { cueId: 'gone', index: 0 }], me)).toBe(0);
    undo.undo();
    expect(lowWords(doc)).toEqual([['um', 'ship'], ['all']]);
  });

  it('split and merge keep each word its flag', () => {
    const doc = flagged();
    splitCaption(doc, captions(doc)[0]!.id, 2);
    expect(lowWords(doc)).toEqual([['um'], ['ship'], ['all']]);
    mergeCaptionWithNext(doc, captions(doc)[0]!.id);
    expect(lowWords(doc)).toEqual([['um', 'ship'], ['all']]);
  });

  it('ripple cuts move flagged words with their flags; the semantic undo brings removed words back flagged', () => {
    const doc = flagged();
    const cuts = recordCuts(doc);
    // Cut "um" (flagged), a plain word's part of "we" stays; later flagged words move left.
    rippleDeleteRanges(doc, [[10, 20], [150, 180]]);
    expect(captions(doc).map((c) => c.text)).toEqual(['so we\nship today']);
    expect(lowWords(doc)).toEqual([['ship']]);
    expect(captions(doc)[0]!.words![2]).toEqual({ start: 20, end: 30, low: true });
    // A cut recorded the flags of the words (and the cue) it removed.
    expect(cuts[0]!.flatMap((r) => r.words)).toEqual([expect.objectContaining({ text: 'um', low: true })]);
    undoRippleCut(doc, cuts[0]!);
    expect(captions(doc).map((c) => c.text)).toEqual(['so um we\nship today', 'thanks all']);
    expect(lowWords(doc)).toEqual([['um', 'ship'], ['all']]);
    expect(captions(doc)[1]!.words).toEqual([{ start: 150, end: 165 }, { start: 165, end: 180, low: true }]);
  });

  it('a cut that clamps a flagged word keeps its flag, and its undo too', () => {
    const doc = flagged();
    const cuts = recordCuts(doc);
    // [25, 35) removes the end of "we" and the start of flagged "ship": both are kept, clamped.
    rippleDeleteRanges(doc, [[25, 35]]);
    expect(captions(doc)[0]!.words![3]).toEqual({ start: 25, end: 30, low: true });
    undoRippleCut(doc, cuts[0]!);
    expect(captions(doc)[0]!.words![3]).toEqual({ start: 30, end: 40, low: true });
    expect(lowWords(doc)).toEqual([['um', 'ship'], ['all']]);
  });

  it('never reaches the RenderSpec: compiled cue words are { start, end } only', () => {
    const doc = flagged();
    const spec = compileRenderSpec(doc);
    expect(spec.subtitles.cues[0]!.words![1]).toEqual({ start: 10, end: 20 });
    expect(JSON.stringify(spec)).not.toContain('"low"');
    // And a spec that did carry it (a cue passed straight from transcriptToCues) is stripped on parse.
    const withFlag = structuredClone(spec);
    (withFlag.subtitles.cues[0]!.words![1] as { low?: true }).low = true;
    expect(JSON.stringify(RenderSpec.parse(withFlag))).not.toContain('"low"');
  });
});
