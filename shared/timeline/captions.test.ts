import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addAsset, addClip, initTimeline } from './ops.ts';
import { readTimeline } from './read.ts';
import { editCaptionWord, fillerAndPauseRanges, mergeCaptionWithNext, removeFillersAndPauses, rippleDeleteRanges, setCaptionCues, setWordStyle, splitCaption } from './captions.ts';
import { compileRenderSpec } from '../render-spec/compile.ts';
import { WORD_STYLE_PRESETS } from '../captions/word-style.ts';
import type { AssetInfo } from './model.ts';

const video: AssetInfo = { id: 'a1', key: 'orgs/o/projects/p/assets/a1/original.mp4', kind: 'video', name: 'v.mp4', width: 1920, height: 1080, fps: { num: 30, den: 1 }, durationFrames: 300, durationUs: 10_000_000, hasAudio: true, sha256: null };

function fresh(): Y.Doc {
  const doc = new Y.Doc();
  initTimeline(doc, { fps: { num: 30, den: 1 }, aspect: '9:16' });
  addAsset(doc, video);
  addClip(doc, { assetId: 'a1', sourceOut: 300 });
  // "so um we ship today" then a long pause, then "thanks all"
  setCaptionCues(doc, [
    { start: 0, end: 60, text: 'so um we\nship today', words: [{ start: 0, end: 10 }, { start: 10, end: 20 }, { start: 20, end: 30 }, { start: 30, end: 40 }, { start: 40, end: 60 }] },
    { start: 150, end: 180, text: 'thanks all', words: [{ start: 150, end: 165 }, { start: 165, end: 180 }] },
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
