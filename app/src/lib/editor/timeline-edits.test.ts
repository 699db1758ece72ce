import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addAsset, addClip, addTextClip, addTrack, initTimeline, readTimeline as read, setCropKeyframe, type TimelineSnapshot, type VideoClipSnapshot } from '@clipmaker/shared/timeline';

const readTimeline = (d: Y.Doc): TimelineSnapshot => read(d);
/** The clips seen as video clips (this file places videos, and one text clip it reads through `read`). */
const vclips = (d: Y.Doc) => read(d).clips as VideoClipSnapshot[];
import { applyDrag, deleteClips, dropAsset, insertFrame, insertIndex, pasteClips, selectionEnd } from './timeline-edits';

const ORIGIN = { local: true };

function doc() {
  const d = new Y.Doc();
  initTimeline(d, { fps: { num: 30, den: 1 }, aspect: '9:16' });
  addAsset(d, { id: 'a', key: 'k/a.mp4', kind: 'video', name: 'a', width: 1920, height: 1080, fps: { num: 30, den: 1 }, durationFrames: 300, durationUs: 10_000_000, hasAudio: false, sha256: null });
  const c1 = addClip(d, { assetId: 'a', start: 0, sourceIn: 0, sourceOut: 30 });
  const c2 = addClip(d, { assetId: 'a', start: 30, sourceIn: 30, sourceOut: 60 });
  return { d, c1, c2 };
}

describe('timeline drags as edits', () => {
  it('moves several adjacent clips right and left without them colliding with each other', () => {
    const { d, c1, c2 } = doc();
    applyDrag(d, readTimeline(d), { kind: 'move-clips', ids: [c1, c2], delta: 10 }, ORIGIN);
    expect(vclips(d).map((c) => c.start)).toEqual([10, 40]);
    applyDrag(d, readTimeline(d), { kind: 'move-clips', ids: [c1, c2], delta: -10 }, ORIGIN);
    expect(vclips(d).map((c) => c.start)).toEqual([0, 30]);
  });

  it('refuses a move before frame 0', () => {
    const { d, c1 } = doc();
    expect(() => applyDrag(d, readTimeline(d), { kind: 'move-clips', ids: [c1], delta: -1 }, ORIGIN)).toThrow(/before the start/);
  });

  it('trims a head keeping the tail in place, and a tail', () => {
    const { d, c2 } = doc();
    applyDrag(d, readTimeline(d), { kind: 'trim-head', id: c2, delta: 5 }, ORIGIN);
    let c = vclips(d).find((x) => x.id === c2)!;
    expect([c.start, c.sourceIn, c.sourceOut]).toEqual([35, 35, 60]);
    applyDrag(d, readTimeline(d), { kind: 'trim-head', id: c2, delta: -5 }, ORIGIN);
    c = vclips(d).find((x) => x.id === c2)!;
    expect([c.start, c.sourceIn, c.sourceOut]).toEqual([30, 30, 60]);
    applyDrag(d, readTimeline(d), { kind: 'trim-tail', id: c2, delta: -10 }, ORIGIN);
    c = vclips(d).find((x) => x.id === c2)!;
    expect([c.start, c.sourceIn, c.sourceOut]).toEqual([30, 30, 50]);
  });

  it('moves a crop keyframe to another frame', () => {
    const { d, c1 } = doc();
    setCropKeyframe(d, c1, { frame: 5, x: 100, y: 0, w: 606, h: 1080 });
    applyDrag(d, readTimeline(d), { kind: 'move-keyframe', clipId: c1, from: 5, to: 12 }, ORIGIN);
    expect(vclips(d).find((x) => x.id === c1)!.crop).toEqual([{ frame: 12, x: 100, y: 0, w: 606, h: 1080 }]);
  });

  it('moves a clip onto another track, and trims text clips by their duration', () => {
    const { d, c1 } = doc();
    applyDrag(d, readTimeline(d), { kind: 'move-clips', ids: [c1], delta: 5, trackId: 'v2' }, ORIGIN);
    expect(vclips(d).find((c) => c.id === c1)).toMatchObject({ trackId: 'v2', start: 5 });
    const t = addTextClip(d, { trackId: 'v2', start: 100, duration: 30, text: 'Hi' });
    applyDrag(d, readTimeline(d), { kind: 'trim-head', id: t, delta: 10 }, ORIGIN);
    applyDrag(d, readTimeline(d), { kind: 'trim-tail', id: t, delta: -5 }, ORIGIN);
    expect(read(d).clips.find((c) => c.id === t)).toMatchObject({ start: 110, duration: 15 });
  });
});

describe('magnetic main track', () => {
  function three() {
    const { d, c1, c2 } = doc();
    const c3 = addClip(d, { assetId: 'a', start: 60, sourceIn: 100, sourceOut: 120 });
    return { d, c1, c2, c3 };
  }
  const order = (d: Y.Doc) => [...vclips(d)].sort((a, b) => a.start - b.start).map((c) => [c.id, c.start]);

  it('dragging the last clip before the first inserts it there and ripples the rest (one undo step)', () => {
    const { d, c1, c2, c3 } = three();
    const um = new Y.UndoManager([d.getMap('clips')], { trackedOrigins: new Set([ORIGIN]) });
    applyDrag(d, readTimeline(d), { kind: 'move-clips', ids: [c3], delta: -60 }, ORIGIN, { magnetic: true });
    expect(order(d)).toEqual([[c3, 0], [c1, 20], [c2, 50]]);
    um.undo();
    expect(order(d)).toEqual([[c1, 0], [c2, 30], [c3, 60]]);
  });

  it('without magnetic the same drag is refused as an overlap', () => {
    const { d, c3 } = three();
    expect(() => applyDrag(d, readTimeline(d), { kind: 'move-clips', ids: [c3], delta: -60 }, ORIGIN)).toThrow(/overlap/);
  });

  it('trimming a clip on the main track closes the gap; extending it pushes later clips', () => {
    const { d, c1, c2, c3 } = three();
    applyDrag(d, readTimeline(d), { kind: 'trim-tail', id: c1, delta: -10 }, ORIGIN, { magnetic: true });
    expect(order(d)).toEqual([[c1, 0], [c2, 20], [c3, 50]]);
    applyDrag(d, readTimeline(d), { kind: 'trim-tail', id: c1, delta: 25 }, ORIGIN, { magnetic: true });
    expect(order(d)).toEqual([[c1, 0], [c2, 45], [c3, 75]]);
    applyDrag(d, readTimeline(d), { kind: 'trim-head', id: c2, delta: 5 }, ORIGIN, { magnetic: true });
    expect(order(d)).toEqual([[c1, 0], [c2, 45], [c3, 70]]);
    expect(vclips(d).find((c) => c.id === c2)!.sourceIn).toBe(35);
  });

  it('a drop from the bin inserts at the nearest cut; delete closes the gap', () => {
    const { d, c1, c2 } = doc();
    const id = dropAsset(d, readTimeline(d), { assetId: 'a', trackId: 'v1', frame: 25 }, ORIGIN, true);
    expect(order(d)).toEqual([[c1, 0], [id, 30], [c2, 330]]);
    deleteClips(d, readTimeline(d), [id], false, ORIGIN, true);
    expect(order(d)).toEqual([[c1, 0], [c2, 30]]);
  });

  it('a clip dragged off the main track onto another video track lands where dropped and the main track closes up', () => {
    const { d, c1, c2, c3 } = three();
    const v2 = addTrack(d, { kind: 'video' });
    applyDrag(d, readTimeline(d), { kind: 'move-clips', ids: [c2], delta: 10, trackId: v2 }, ORIGIN, { magnetic: true });
    expect(read(d).clips.find((c) => c.id === c2)).toMatchObject({ trackId: v2, start: 40 });
    expect(order(d).filter(([id]) => id !== c2)).toEqual([[c1, 0], [c3, 30]]);
    expect(insertFrame(read(d), 'v1', insertIndex(read(d), 'v1', 45))).toBe(50);
  });
});

describe('paste and duplicate', () => {
  const layout = (d: Y.Doc, track = 'v1') => vclips(d).filter((c) => c.trackId === track).sort((a, b) => a.start - b.start).map((c) => [c.start, c.sourceIn]);

  it('on the magnetic main track the copies go in at the cut and the rest ripple, in one transaction', () => {
    const { d, c1, c2 } = doc();
    let txs = 0;
    d.on('afterTransaction', () => txs++);
    const ids = pasteClips(d, readTimeline(d), [c1], selectionEnd(readTimeline(d), [c1]), ORIGIN, true);
    expect(txs).toBe(1);
    expect(ids).toHaveLength(1);
    expect(layout(d)).toEqual([[0, 0], [30, 0], [60, 30]]);
    pasteClips(d, readTimeline(d), [c1, c2], 0, ORIGIN, true);
    expect(layout(d)).toEqual([[0, 0], [30, 30], [60, 0], [90, 0], [120, 30]]);
  });

  it('elsewhere (or magnetic off) copies keep their offsets from the earliest and an overlap refuses the whole paste', () => {
    const { d, c1, c2 } = doc();
    pasteClips(d, readTimeline(d), [c1, c2], 100, ORIGIN, false);
    expect(layout(d)).toEqual([[0, 0], [30, 30], [100, 0], [130, 30]]);
    const before = layout(d);
    expect(() => pasteClips(d, readTimeline(d), [c1, c2], 120, ORIGIN, false)).toThrow(/overlap/);
    expect(layout(d)).toEqual(before);
    expect(() => pasteClips(d, readTimeline(d), ['gone'], 0, ORIGIN, false)).toThrow(/deleted/);
  });
});
