import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addAsset, addClip, addCue, initTimeline, moveClip, removeClip, setAspect, setCropKeyframe, splitClip, trimClip, updateCue } from './ops.ts';
import { readTimeline, TimelineError, type AssetInfo } from './model.ts';
import { compileRenderSpec, RenderSpecError } from '../render-spec/compile.ts';

const video: AssetInfo = { id: 'a1', key: 'orgs/o/projects/p/assets/a1/original.mp4', kind: 'video', name: 'v.mp4', width: 1920, height: 1080, fps: { num: 30, den: 1 }, durationFrames: 120, durationUs: 4_000_000, hasAudio: true, sha256: null };

function fresh() {
  const doc = new Y.Doc();
  initTimeline(doc, { fps: { num: 30, den: 1 }, aspect: '9:16' });
  addAsset(doc, video);
  return doc;
}

describe('timeline operations', () => {
  it('places clips end to end and refuses overlaps', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1', sourceOut: 60 });
    const b = addClip(doc, { assetId: 'a1', sourceIn: 60 });
    expect(readTimeline(doc).clips.map((c) => [c.id, c.start])).toEqual([
      [a, 0],
      [b, 60],
    ]);
    expect(() => moveClip(doc, b, 30)).toThrow(TimelineError);
    expect(() => trimClip(doc, a, { sourceOut: 100 })).toThrow(/overlap/);
    moveClip(doc, b, 70);
    expect(readTimeline(doc).clips[1]!.start).toBe(70);
  });

  it('trims in source frames, clamped to the media, anchored at the start', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1' });
    trimClip(doc, a, { sourceIn: 15, sourceOut: 500 });
    const c = readTimeline(doc).clips[0]!;
    expect([c.start, c.sourceIn, c.sourceOut]).toEqual([0, 15, 120]);
    expect(() => trimClip(doc, a, { sourceOut: 10 })).toThrow(/after the in point/);
  });

  it('splits at the playhead, keeping the crop continuous across the cut', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1', sourceOut: 100 });
    setCropKeyframe(doc, a, { frame: 0, x: 0, y: 0, w: 608, h: 1080 });
    setCropKeyframe(doc, a, { frame: 99, x: 990, y: 0, w: 608, h: 1080 });
    const b = splitClip(doc, a, 50);
    const [left, right] = readTimeline(doc).clips;
    expect([left!.id, left!.sourceIn, left!.sourceOut, right!.id, right!.start, right!.sourceIn, right!.sourceOut]).toEqual([a, 0, 50, b, 50, 50, 100]);
    expect(right!.crop[0]).toEqual({ frame: 0, x: 500, y: 0, w: 608, h: 1080 });
    expect(left!.crop.at(-1)).toEqual({ frame: 49, x: 490, y: 0, w: 608, h: 1080 });
    expect(() => splitClip(doc, a, 0)).toThrow(/inside the clip/);
  });

  it('ripple delete closes the gap', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1', sourceOut: 30 });
    addClip(doc, { assetId: 'a1', sourceIn: 30, sourceOut: 60 });
    removeClip(doc, a, { ripple: true });
    expect(readTimeline(doc).clips.map((c) => c.start)).toEqual([0]);
  });

  it('cues validate and update', () => {
    const doc = fresh();
    const id = addCue(doc, { start: 0, end: 30, text: 'hi' });
    updateCue(doc, id, { text: 'hello' });
    expect(readTimeline(doc).cues[0]!.text).toBe('hello');
    expect(() => addCue(doc, { start: 10, end: 10, text: 'x' })).toThrow(/end after/);
    expect(() => setAspect(doc, 'custom', { width: 101, height: 200 })).toThrow(/even/);
  });

  it('concurrent edits on two replicas converge with no overlap created by either alone', () => {
    const d1 = fresh();
    const d2 = new Y.Doc();
    Y.applyUpdate(d2, Y.encodeStateAsUpdate(d1));
    const a = addClip(d1, { assetId: 'a1', sourceOut: 30 });
    Y.applyUpdate(d2, Y.encodeStateAsUpdate(d1));
    trimClip(d1, a, { sourceIn: 5 });
    addCue(d2, { start: 0, end: 10, text: 'from d2' });
    updateCue(d2, readTimeline(d2).cues[0]!.id, { text: 'edited' });
    Y.applyUpdate(d1, Y.encodeStateAsUpdate(d2));
    Y.applyUpdate(d2, Y.encodeStateAsUpdate(d1));
    expect(readTimeline(d1)).toEqual(readTimeline(d2));
    expect(readTimeline(d1).clips[0]!.sourceIn).toBe(5);
  });

  it('undo with a tracked origin reverts only that user', () => {
    const doc = fresh();
    const me = { user: 'me' };
    const undo = new Y.UndoManager([doc.getMap('clips'), doc.getMap('cues')], { trackedOrigins: new Set([me]) });
    addClip(doc, { assetId: 'a1', sourceOut: 30 }, me);
    addCue(doc, { start: 0, end: 5, text: 'remote' }, 'remote');
    undo.undo();
    const tl = readTimeline(doc);
    expect(tl.clips).toHaveLength(0);
    expect(tl.cues).toHaveLength(1);
  });
});

describe('compileRenderSpec', () => {
  it('compiles a 9:16 spec with exact duration and clipped cues', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1' });
    trimClip(doc, a, { sourceIn: 15, sourceOut: 90 });
    addCue(doc, { start: 15, end: 200, text: 'Hi' });
    addCue(doc, { start: 100, end: 120, text: 'after the end' });
    const spec = compileRenderSpec(doc);
    expect(spec.output).toMatchObject({ width: 1080, height: 1920, durationFrames: 75, fps: { num: 30, den: 1 }, gop: 60 });
    expect(spec.clips).toEqual([{ id: a, sourceId: 'a1', start: 0, sourceIn: 15, sourceOut: 90, volume: 1, crop: [] }]);
    expect(spec.subtitles.cues.map((c) => [c.start, c.end])).toEqual([[15, 75]]);
    expect(spec.sources.map((s) => s.id)).toEqual(['a1']);
  });
  it('refuses an empty timeline clearly', () => {
    expect(() => compileRenderSpec(fresh())).toThrow(RenderSpecError);
  });
});
