import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addAsset, addClip, initTimeline, readTimeline, rippleDeleteRanges, setCaptionCues, type AssetInfo, type MediaClipSnapshot } from '@clipmaker/shared/timeline';
import { captionCuesForClip, captionSourceClip, frameClock, nextUncertain, panelWords, selectedRanges, wordKey } from './captions.ts';

const fps = { num: 25, den: 1 };
const asset: AssetInfo = { id: 'a1', key: 'media/a1', kind: 'video', name: 'talk.mp4', width: 320, height: 180, fps, durationFrames: 250, durationUs: 10_000_000, hasAudio: true, sha256: null };
const words = [
  { text: 'hello', start: 400, end: 800, confidence: 1, speaker: null },
  { text: 'there', start: 900, end: 1300, confidence: 1, speaker: null },
  { text: 'general', start: 4000, end: 4600, confidence: 1, speaker: null },
  { text: 'kenobi', start: 4700, end: 5200, confidence: 1, speaker: null },
];

function timeline(sourceIn: number, start: number) {
  const doc = new Y.Doc();
  initTimeline(doc, { fps, aspect: '16:9' });
  addAsset(doc, asset);
  addClip(doc, { assetId: 'a1', start, sourceIn, sourceOut: 250 });
  return doc;
}

describe('editor captions helpers', () => {
  it('places words under the clip: in point subtracted, clip start added, words outside the clip dropped', () => {
    const doc = timeline(25, 50); // the clip plays the asset from 1 s, at timeline frame 50
    const tl = readTimeline(doc);
    const clip = captionSourceClip(tl.clips, tl.assets, null)!;
    const cues = captionCuesForClip(words, clip as MediaClipSnapshot, asset, fps, 'one-word');
    expect(cues.map((c) => c.text)).toEqual(['general', 'kenobi']); // hello/there start before the in point
    expect(cues[0]!.words![0]).toEqual({ start: 50 + 75, end: 50 + 90 }); // (4000 - 1000) ms = 75 frames
  });

  it('the panel lists caption words in time order; selecting words gives their frame ranges for the ripple cut', () => {
    const doc = timeline(0, 0);
    const tl = readTimeline(doc);
    setCaptionCues(doc, captionCuesForClip(words, tl.clips[0] as MediaClipSnapshot, asset, fps, 'two-words'));
    const list = panelWords(readTimeline(doc).cues);
    expect(list.map((w) => w.text)).toEqual(['hello', 'there', 'general', 'kenobi']);
    const ranges = selectedRanges(list, new Set([wordKey(list[1]!)]));
    expect(ranges).toEqual([[23, 33]]);
    rippleDeleteRanges(doc, ranges);
    const after = panelWords(readTimeline(doc).cues);
    expect(after.map((w) => w.text)).toEqual(['hello', 'general', 'kenobi']);
    expect(after[1]!.start).toBe(100 - 10);
    expect(frameClock(90, fps)).toBe('0:03.60');
  });

  it('refuses a clip at another speed', () => {
    const tl = readTimeline(timeline(0, 0));
    const fast = { ...(tl.clips[0] as MediaClipSnapshot), speed: { num: 2, den: 1 } };
    expect(() => captionCuesForClip(words, fast, asset, fps, 'subtitles')).toThrow(/normal speed/);
  });

  it('words the transcript rated below 0.5 are flagged into the document; the panel lists them and finds the next one', () => {
    const doc = timeline(0, 0);
    const tl = readTimeline(doc);
    const rated = words.map((w, i) => ({ ...w, confidence: [0.9, 0.49, 0.5, 0.1][i]! }));
    const cues = captionCuesForClip(rated, tl.clips[0] as MediaClipSnapshot, asset, fps, 'two-words');
    expect(cues.flatMap((c) => c.words)).toEqual([{ start: 10, end: 20 }, { start: 23, end: 33, low: true }, { start: 100, end: 115 }, { start: 118, end: 130, low: true }]);
    setCaptionCues(doc, cues);
    const list = panelWords(readTimeline(doc).cues);
    expect(list.map((w) => [w.text, w.low])).toEqual([['hello', false], ['there', true], ['general', false], ['kenobi', true]]);
    expect(nextUncertain(list, -1)).toBe(1);
    expect(nextUncertain(list, 1)).toBe(3);
    expect(nextUncertain(list, 3)).toBe(1); // wraps round
    expect(nextUncertain(list.map((w) => ({ ...w, low: false })), 0)).toBeNull();
    expect(nextUncertain([], -1)).toBeNull();
    // A cut before a flagged word moves it; it stays flagged.
    rippleDeleteRanges(doc, [[10, 20]]);
    expect(panelWords(readTimeline(doc).cues).map((w) => [w.text, w.start, w.low])).toEqual([['there', 13, true], ['general', 90, false], ['kenobi', 108, true]]);
  });
});
