import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addAsset, addClip, addTextClip, initTimeline, readTimeline as read, setCropKeyframe, type TimelineSnapshot, type VideoClipSnapshot } from '@clipmaker/shared/timeline';

const readTimeline = (d: Y.Doc): TimelineSnapshot => read(d);
/** The clips seen as video clips (this file places videos, and one text clip it reads through `read`). */
const vclips = (d: Y.Doc) => read(d).clips as VideoClipSnapshot[];
import { applyDrag } from './timeline-edits';

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
