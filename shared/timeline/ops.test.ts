import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  addAsset,
  addClip,
  addCue,
  addOverlay,
  initTimeline,
  migrateTimeline,
  moveClip,
  newId,
  removeClip,
  removeCropKeyframe,
  removeCue,
  removeOverlay,
  repairTimeline,
  setAspect,
  setClipVolume,
  setCropKeyframe,
  setMusic,
  setSubtitleStyle,
  splitClip,
  trimClip,
  updateCue,
  updateOverlay,
} from './ops.ts';
import { clipLength, readTimeline, TIMELINE_SCHEMA_VERSION, TimelineError, type AssetInfo } from './model.ts';
import { DEFAULT_SUBTITLE_STYLE } from '../render-spec/schema.ts';
import { cropAt } from '../render-spec/crop.ts';

const video: AssetInfo = { id: 'a1', key: 'orgs/o/projects/p/assets/a1/original.mp4', kind: 'video', name: 'v.mp4', width: 1920, height: 1080, fps: { num: 30, den: 1 }, durationFrames: 120, durationUs: 4_000_000, hasAudio: true, sha256: null };
const film: AssetInfo = { ...video, id: 'a24', name: 'film.mp4', fps: { num: 24, den: 1 }, durationFrames: 96 };
const logo: AssetInfo = { id: 'logo', key: 'k/logo.png', kind: 'image', name: 'logo.png', width: 200, height: 100, fps: null, durationFrames: null, durationUs: 0, hasAudio: false, sha256: null };
const song: AssetInfo = { id: 'song', key: 'k/song.mp3', kind: 'audio', name: 'song.mp3', width: 0, height: 0, fps: null, durationFrames: null, durationUs: 60_000_000, hasAudio: true, sha256: null };

function fresh(): Y.Doc {
  const doc = new Y.Doc();
  initTimeline(doc, { fps: { num: 30, den: 1 }, aspect: '9:16' });
  for (const a of [video, film, logo, song]) addAsset(doc, a);
  return doc;
}

/** Two replicas of one document, and a way to exchange everything each has. */
function pair(): { d1: Y.Doc; d2: Y.Doc; sync: () => void } {
  const d1 = fresh();
  const d2 = new Y.Doc();
  const sync = () => {
    Y.applyUpdate(d2, Y.encodeStateAsUpdate(d1, Y.encodeStateVector(d2)));
    Y.applyUpdate(d1, Y.encodeStateAsUpdate(d2, Y.encodeStateVector(d1)));
  };
  sync();
  return { d1, d2, sync };
}

/** Runs `fn` and returns the origins of the transactions it made. */
function transactions(doc: Y.Doc, fn: () => void): unknown[] {
  const origins: unknown[] = [];
  const onTx = (tx: Y.Transaction) => origins.push(tx.origin);
  doc.on('afterTransaction', onTx);
  fn();
  doc.off('afterTransaction', onTx);
  return origins;
}

function noOverlap(doc: Y.Doc): boolean {
  const tl = readTimeline(doc);
  const assets = new Map(tl.assets.map((a) => [a.id, a]));
  let end = 0;
  for (const c of tl.clips) {
    if (c.start < end) return false;
    end = c.start + clipLength(c, assets.get(c.assetId), tl.meta.fps);
  }
  return true;
}

describe('document layout', () => {
  it('initTimeline writes meta once (idempotent) with the contract names', () => {
    const doc = fresh();
    initTimeline(doc, { fps: { num: 25, den: 1 }, aspect: '16:9' });
    expect(doc.getMap('meta').toJSON()).toEqual({ schemaVersion: TIMELINE_SCHEMA_VERSION, fpsNum: 30, fpsDen: 1, aspect: '9:16', width: 1080, height: 1920 });
    expect(readTimeline(doc).meta).toEqual({ schemaVersion: 1, fps: { num: 30, den: 1 }, aspect: '9:16', width: 1080, height: 1920 });
  });

  it('stores assets as plain JSON and clips/cues/overlays as Y.Maps (crop as a Y.Array)', () => {
    const doc = fresh();
    const clip = addClip(doc, { assetId: 'a1', sourceOut: 30 });
    addCue(doc, { start: 0, end: 10, text: 'hi' });
    addOverlay(doc, { kind: 'text', text: 'T', start: 0, end: 10, x: 0, y: 0, w: 0.5, h: 0.1, opacity: 1, fontSize: 40, color: '#FFFFFF' });
    expect(doc.getMap('assets').get('a1')).toEqual(video);
    const c = doc.getMap('clips').get(clip);
    expect(c).toBeInstanceOf(Y.Map);
    expect((c as Y.Map<unknown>).get('crop')).toBeInstanceOf(Y.Array);
    expect([...doc.getMap('cues').values()][0]).toBeInstanceOf(Y.Map);
    expect([...doc.getMap('overlays').values()][0]).toBeInstanceOf(Y.Map);
    expect(doc.getMap('music').size).toBe(0);
  });

  it('ids are short, random and URL-safe', () => {
    const ids = new Set(Array.from({ length: 500 }, () => newId()));
    expect(ids.size).toBe(500);
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{12}$/);
  });

  it('every operation is one transaction carrying the caller origin', () => {
    const doc = fresh();
    const me = { user: 'me' };
    let clip = '';
    let cue = '';
    let overlay = '';
    const steps: [string, () => void][] = [
      ['addClip', () => (clip = addClip(doc, { assetId: 'a1', sourceOut: 60 }, me))],
      ['moveClip', () => moveClip(doc, clip, 5, me)],
      ['trimClip', () => trimClip(doc, clip, { sourceIn: 2 }, me)],
      ['setCropKeyframe', () => setCropKeyframe(doc, clip, { frame: 0, x: 0, y: 0, w: 608, h: 1080 }, me)],
      ['removeCropKeyframe', () => removeCropKeyframe(doc, clip, 0, me)],
      ['splitClip', () => splitClip(doc, clip, 20, me)],
      ['setClipVolume', () => setClipVolume(doc, clip, 0.5, me)],
      ['addCue', () => (cue = addCue(doc, { start: 0, end: 5, text: 'x' }, me))],
      ['updateCue', () => updateCue(doc, cue, { text: 'y' }, me)],
      ['removeCue', () => removeCue(doc, cue, me)],
      ['setSubtitleStyle', () => setSubtitleStyle(doc, { fontSize: 50 }, me)],
      ['addOverlay', () => (overlay = addOverlay(doc, { kind: 'image', sourceId: 'logo', start: 0, end: 5, x: 0, y: 0, w: 0.1, h: 0.1, opacity: 1 }, me))],
      ['updateOverlay', () => updateOverlay(doc, overlay, { opacity: 0.5 }, me)],
      ['removeOverlay', () => removeOverlay(doc, overlay, me)],
      ['setMusic', () => setMusic(doc, { assetId: 'song', volume: 0.5, start: 0 }, me)],
      ['setAspect', () => setAspect(doc, '1:1', undefined, me)],
      ['removeClip', () => removeClip(doc, clip, { ripple: true }, me)],
    ];
    for (const [name, step] of steps) expect([name, transactions(doc, step)]).toEqual([name, [me]]);
  });
});

describe('clips', () => {
  it('addClip appends at the end of the track by default, with the whole media', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1', sourceOut: 60 });
    const b = addClip(doc, { assetId: 'a1', sourceIn: 60 });
    const c = addClip(doc, { assetId: 'a24' }); // 96 frames at 24 fps = 120 frames at 30 fps
    expect(readTimeline(doc).clips.map((x) => [x.id, x.start, x.sourceIn, x.sourceOut, x.volume, x.trackId])).toEqual([
      [a, 0, 0, 60, 1, 'v1'],
      [b, 60, 60, 120, 1, 'v1'],
      [c, 120, 0, 96, 1, 'v1'],
    ]);
    expect(clipLength(readTimeline(doc).clips[2]!, film, { num: 30, den: 1 })).toBe(120);
  });

  it('addClip refuses overlaps, non-video media and points outside the media', () => {
    const doc = fresh();
    addClip(doc, { assetId: 'a1', start: 10, sourceOut: 30 });
    expect(() => addClip(doc, { assetId: 'a1', start: 0, sourceOut: 11 })).toThrow('clips cannot overlap: frames 0–11 collide with another clip (10–40)');
    expect(() => addClip(doc, { assetId: 'logo' })).toThrow('only video can be placed on the video track');
    expect(() => addClip(doc, { assetId: 'a1', sourceOut: 121 })).toThrow('the out point is past the end of the media (120 frames)');
    expect(() => addClip(doc, { assetId: 'nope' })).toThrow('that media is not in this project');
    expect(() => addClip(doc, { assetId: 'a1', start: -1 })).toThrow(TimelineError);
    expect(addClip(doc, { assetId: 'a1', start: 0, sourceOut: 10 })).toMatch(/^[A-Za-z0-9_-]+$/);
  });

  it('moveClip moves within free space only', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1', sourceOut: 60 });
    const b = addClip(doc, { assetId: 'a1', sourceIn: 60 });
    expect(() => moveClip(doc, b, 30)).toThrow(/overlap/);
    moveClip(doc, b, 70);
    moveClip(doc, a, 10); // moving a clip over its own old place is fine
    expect(readTimeline(doc).clips.map((c) => c.start)).toEqual([10, 70]);
  });

  it('trimClip works in source frames, clamps to the media and keeps at least one frame', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1' });
    trimClip(doc, a, { sourceIn: 15, sourceOut: 500 });
    expect(readTimeline(doc).clips[0]).toMatchObject({ start: 0, sourceIn: 15, sourceOut: 120 });
    trimClip(doc, a, { sourceOut: 10 }); // dragged past the in point
    expect(readTimeline(doc).clips[0]).toMatchObject({ sourceIn: 15, sourceOut: 16 });
    trimClip(doc, a, { sourceIn: 90 }); // dragged past the out point
    expect(readTimeline(doc).clips[0]).toMatchObject({ sourceIn: 15, sourceOut: 16 });
    trimClip(doc, a, { sourceOut: 100 });
    trimClip(doc, a, { sourceIn: 500 });
    expect(readTimeline(doc).clips[0]).toMatchObject({ sourceIn: 99, sourceOut: 100 });
    expect(() => trimClip(doc, a, { sourceIn: 50, sourceOut: 40 })).toThrow('the out point must be after the in point');
    const b = addClip(doc, { assetId: 'a1', start: 20, sourceOut: 10 });
    expect(() => trimClip(doc, a, { sourceIn: 0 })).toThrow(/overlap/);
    expect(readTimeline(doc).clips.find((c) => c.id === b)?.start).toBe(20);
  });

  it('trimming the head keeps crop keyframes on the same source frames', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1', sourceOut: 100 });
    setCropKeyframe(doc, a, { frame: 0, x: 0, y: 0, w: 608, h: 1080 });
    setCropKeyframe(doc, a, { frame: 99, x: 990, y: 0, w: 608, h: 1080 });
    trimClip(doc, a, { sourceIn: 10 });
    expect(readTimeline(doc).clips[0]!.crop).toEqual([
      { frame: 0, x: 100, y: 0, w: 608, h: 1080 },
      { frame: 89, x: 990, y: 0, w: 608, h: 1080 },
    ]);
  });

  it('splitClip splits at the playhead; both halves show the same crop as before on every frame', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1', sourceOut: 100 });
    const kfs = [
      { frame: 0, x: 0, y: 0, w: 608, h: 1080 },
      { frame: 30, x: 301, y: 0, w: 608, h: 1080 },
      { frame: 99, x: 990, y: 0, w: 608, h: 1080 },
    ];
    for (const k of kfs) setCropKeyframe(doc, a, k);
    const b = splitClip(doc, a, 50);
    const [left, right] = readTimeline(doc).clips;
    expect([left!.id, left!.start, left!.sourceIn, left!.sourceOut]).toEqual([a, 0, 0, 50]);
    expect([right!.id, right!.start, right!.sourceIn, right!.sourceOut, right!.volume]).toEqual([b, 50, 50, 100, 1]);
    for (let f = 0; f < 100; f++) {
      const half = f < 50 ? left! : right!;
      expect(cropAt(half.crop, f - half.start, 1920, 1080, 1080, 1920)).toEqual(cropAt(kfs, f, 1920, 1080, 1080, 1920));
    }
    expect(() => splitClip(doc, a, 0)).toThrow('put the playhead inside the clip to split it');
    expect(() => splitClip(doc, a, 50)).toThrow('put the playhead inside the clip to split it');
  });

  it('splitClip of a 24 fps clip in a 30 fps timeline cuts on the source frame under the playhead', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a24' });
    const b = splitClip(doc, a, 45);
    const [left, right] = readTimeline(doc).clips;
    expect([left!.sourceOut, right!.sourceIn, right!.start]).toEqual([36, 36, 45]);
    expect(b).toBe(right!.id);
  });

  it('removeClip leaves a gap, or closes it with ripple', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1', sourceOut: 30 });
    const b = addClip(doc, { assetId: 'a1', sourceIn: 30, sourceOut: 60 });
    const c = addClip(doc, { assetId: 'a1', start: 100, sourceIn: 60, sourceOut: 90 });
    removeClip(doc, b);
    expect(readTimeline(doc).clips.map((x) => [x.id, x.start])).toEqual([
      [a, 0],
      [c, 100],
    ]);
    removeClip(doc, a, { ripple: true });
    expect(readTimeline(doc).clips.map((x) => [x.id, x.start])).toEqual([[c, 70]]);
    expect(() => removeClip(doc, a)).toThrow('that clip no longer exists');
  });

  it('setClipVolume accepts 0..4', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1' });
    setClipVolume(doc, a, 2.5);
    expect(readTimeline(doc).clips[0]!.volume).toBe(2.5);
    expect(() => setClipVolume(doc, a, 5)).toThrow('volume must be between 0 and 4');
    expect(() => setClipVolume(doc, a, Number.NaN)).toThrow(TimelineError);
  });

  it('setCropKeyframe replaces the keyframe on the same frame; removeCropKeyframe removes it', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1' });
    setCropKeyframe(doc, a, { frame: 10, x: 0, y: 0, w: 608, h: 1080 });
    setCropKeyframe(doc, a, { frame: 0, x: 2, y: 0, w: 608, h: 1080 });
    setCropKeyframe(doc, a, { frame: 10, x: 400, y: 0, w: 608, h: 1080 });
    expect(readTimeline(doc).clips[0]!.crop).toEqual([
      { frame: 0, x: 2, y: 0, w: 608, h: 1080 },
      { frame: 10, x: 400, y: 0, w: 608, h: 1080 },
    ]);
    removeCropKeyframe(doc, a, 0);
    expect(readTimeline(doc).clips[0]!.crop.map((k) => k.frame)).toEqual([10]);
    expect(() => setCropKeyframe(doc, a, { frame: 0, x: 1500, y: 0, w: 608, h: 1080 })).toThrow('the crop rectangle must stay inside the video frame');
    expect(() => setCropKeyframe(doc, a, { frame: 0, x: 0, y: 0, w: 1, h: 1080 })).toThrow(/invalid crop/);
  });
});

describe('cues, style, overlays, music, aspect', () => {
  it('cues: add, update, remove, validated', () => {
    const doc = fresh();
    const id = addCue(doc, { start: 0, end: 30, text: 'hi' });
    updateCue(doc, id, { text: 'hello', end: 40 });
    expect(readTimeline(doc).cues).toEqual([{ id, start: 0, end: 40, text: 'hello' }]);
    expect(() => addCue(doc, { start: 10, end: 10, text: 'x' })).toThrow('a subtitle must end after it starts');
    expect(() => updateCue(doc, id, { start: 50 })).toThrow('a subtitle must end after it starts');
    expect(() => addCue(doc, { start: 0, end: 1, text: 'x'.repeat(2001) })).toThrow('subtitle text must be at most 2000 characters');
    removeCue(doc, id);
    expect(readTimeline(doc).cues).toEqual([]);
    expect(() => updateCue(doc, id, { text: 'x' })).toThrow('that subtitle no longer exists');
  });

  it('subtitle style: defaults, validated patches', () => {
    const doc = fresh();
    expect(readTimeline(doc).subtitleStyle).toEqual(DEFAULT_SUBTITLE_STYLE);
    setSubtitleStyle(doc, { position: 'top', box: true });
    expect(readTimeline(doc).subtitleStyle).toEqual({ ...DEFAULT_SUBTITLE_STYLE, position: 'top', box: true });
    expect(() => setSubtitleStyle(doc, { color: 'red' })).toThrow('invalid subtitle style: color colour must be #RRGGBB or #RRGGBBAA');
  });

  it('overlays: image and text, updates keep kind and id', () => {
    const doc = fresh();
    const img = addOverlay(doc, { kind: 'image', sourceId: 'logo', start: 0, end: 30, x: 0.8, y: 0.05, w: 0.15, h: 0.08, opacity: 0.9 });
    const txt = addOverlay(doc, { kind: 'text', text: 'Sale', start: 10, end: 20, x: 0.1, y: 0.1, w: 0.5, h: 0.1, opacity: 1, fontSize: 64, color: '#FFCC00' });
    updateOverlay(doc, txt, { text: 'Big sale', start: 5 });
    expect(readTimeline(doc).overlays.map((o) => [o.id, o.kind, o.start, o.kind === 'text' ? o.text : o.sourceId])).toEqual([
      [img, 'image', 0, 'logo'],
      [txt, 'text', 5, 'Big sale'],
    ]);
    expect(() => addOverlay(doc, { kind: 'image', sourceId: 'a1', start: 0, end: 5, x: 0, y: 0, w: 0.1, h: 0.1, opacity: 1 })).toThrow('an image overlay needs an image');
    expect(() => updateOverlay(doc, img, { end: 0 })).toThrow('an overlay must end after it starts');
    removeOverlay(doc, img);
    expect(readTimeline(doc).overlays.map((o) => o.id)).toEqual([txt]);
  });

  it('music: set, replace, clear; needs sound', () => {
    const doc = fresh();
    setMusic(doc, { assetId: 'song', volume: 0.4, start: 15 });
    expect(readTimeline(doc).music).toEqual({ assetId: 'song', volume: 0.4, start: 15 });
    expect(() => setMusic(doc, { assetId: 'logo', volume: 1, start: 0 })).toThrow('that media has no sound');
    setMusic(doc, null);
    expect(readTimeline(doc).music).toBeNull();
    expect(doc.getMap('music').size).toBe(0);
  });

  it('aspect presets and custom even sizes', () => {
    const doc = fresh();
    setAspect(doc, '4:5');
    expect(readTimeline(doc).meta).toMatchObject({ aspect: '4:5', width: 1080, height: 1350 });
    setAspect(doc, 'custom', { width: 720, height: 720 });
    expect(readTimeline(doc).meta).toMatchObject({ aspect: 'custom', width: 720, height: 720 });
    expect(() => setAspect(doc, 'custom', { width: 101, height: 200 })).toThrow('custom sizes must be even whole pixels between 16 and 8192');
    expect(() => setAspect(doc, 'custom')).toThrow('a custom aspect needs a width and a height');
  });
});

describe('readTimeline', () => {
  it('returns a sorted plain snapshot and skips entries that do not validate', () => {
    const doc = fresh();
    const b = addClip(doc, { assetId: 'a1', start: 50, sourceOut: 10 });
    const a = addClip(doc, { assetId: 'a1', start: 0, sourceOut: 10 });
    addCue(doc, { start: 20, end: 30, text: 'second' });
    addCue(doc, { start: 0, end: 10, text: 'first' });
    doc.transact(() => {
      const junk = new Y.Map<unknown>();
      doc.getMap<Y.Map<unknown>>('clips').set('junk', junk);
      junk.set('id', 'junk');
      junk.set('start', 'soon');
      doc.getMap('assets').set('bad', { id: 'bad' });
    });
    const tl = readTimeline(doc);
    expect(tl.clips.map((c) => c.id)).toEqual([a, b]);
    expect(tl.cues.map((c) => c.text)).toEqual(['first', 'second']);
    expect(tl.assets.map((x) => x.id)).toEqual(['a1', 'a24', 'logo', 'song']);
    expect(JSON.parse(JSON.stringify(tl))).toEqual(tl);
  });
});

describe('migrations', () => {
  it('is a no-op at the current version and refuses newer documents', () => {
    const doc = fresh();
    expect(transactions(doc, () => expect(migrateTimeline(doc)).toBe(TIMELINE_SCHEMA_VERSION))).toEqual([]);
    doc.getMap('meta').set('schemaVersion', TIMELINE_SCHEMA_VERSION + 1);
    expect(() => migrateTimeline(doc)).toThrow('this project was saved by a newer ClipMaker (timeline v2)');
  });

  it('upgrades an unversioned document, filling the meta defaults it was read with', () => {
    const doc = new Y.Doc();
    doc.getMap('meta').set('fpsNum', 25);
    doc.getMap('assets').set('a1', video);
    expect(migrateTimeline(doc, 'migration')).toBe(1);
    expect(doc.getMap('meta').toJSON()).toEqual({ schemaVersion: 1, fpsNum: 30, fpsDen: 1, aspect: '9:16', width: 1080, height: 1920 });
    expect(migrateTimeline(new Y.Doc())).toBe(0); // an empty local copy is left alone until it syncs
  });
});

describe('concurrent editing (two replicas exchanging updates)', () => {
  it('edits of different fields of one clip both survive and replicas converge', () => {
    const { d1, d2, sync } = pair();
    const a = addClip(d1, { assetId: 'a1', sourceOut: 60 });
    sync();
    trimClip(d1, a, { sourceIn: 5 });
    setClipVolume(d2, a, 0.5);
    addCue(d2, { start: 0, end: 10, text: 'from d2' });
    sync();
    expect(readTimeline(d1)).toEqual(readTimeline(d2));
    expect(readTimeline(d1).clips[0]).toMatchObject({ sourceIn: 5, volume: 0.5 });
  });

  it('crop keyframes added on different frames at once all survive, sorted', () => {
    const { d1, d2, sync } = pair();
    const a = addClip(d1, { assetId: 'a1' });
    setCropKeyframe(d1, a, { frame: 0, x: 0, y: 0, w: 608, h: 1080 });
    sync();
    setCropKeyframe(d1, a, { frame: 30, x: 300, y: 0, w: 608, h: 1080 });
    setCropKeyframe(d2, a, { frame: 20, x: 200, y: 0, w: 608, h: 1080 });
    setCropKeyframe(d2, a, { frame: 0, x: 10, y: 0, w: 608, h: 1080 });
    sync();
    expect(readTimeline(d1)).toEqual(readTimeline(d2));
    expect(readTimeline(d1).clips[0]!.crop.map((k) => [k.frame, k.x])).toEqual([
      [0, 10],
      [20, 200],
      [30, 300],
    ]);
  });

  it('a keyframe set on the same frame by both users resolves to one, the same everywhere', () => {
    const { d1, d2, sync } = pair();
    const a = addClip(d1, { assetId: 'a1' });
    sync();
    setCropKeyframe(d1, a, { frame: 5, x: 100, y: 0, w: 608, h: 1080 });
    setCropKeyframe(d2, a, { frame: 5, x: 200, y: 0, w: 608, h: 1080 });
    sync();
    const crop = readTimeline(d1).clips[0]!.crop;
    expect(crop).toHaveLength(1);
    expect(readTimeline(d2).clips[0]!.crop).toEqual(crop);
    // The next edit on that frame cleans up both entries.
    setCropKeyframe(d2, a, { frame: 5, x: 300, y: 0, w: 608, h: 1080 });
    sync();
    expect((d1.getMap<Y.Map<unknown>>('clips').get(a)!.get('crop') as Y.Array<unknown>).length).toBe(1);
  });

  it('clips added into the same frames at once are repaired deterministically', () => {
    const { d1, d2, sync } = pair();
    addClip(d1, { assetId: 'a1', sourceOut: 30 });
    addClip(d2, { assetId: 'a1', sourceOut: 40 });
    sync();
    expect(noOverlap(d1)).toBe(false); // each edit was valid locally; together they collide
    // Both replicas repair the same merged state: they write the same values and converge.
    expect(repairTimeline(d1, 'repair')).toBe(1);
    expect(repairTimeline(d2, 'repair')).toBe(1);
    sync();
    expect(readTimeline(d1)).toEqual(readTimeline(d2));
    expect(noOverlap(d1)).toBe(true);
    expect(readTimeline(d1).clips.map((c) => c.start)).toEqual([0, readTimeline(d1).clips[0]!.sourceOut]);
    expect(repairTimeline(d1)).toBe(0);
  });

  it('a clip removed by one user while another trims it stays removed', () => {
    const { d1, d2, sync } = pair();
    const a = addClip(d1, { assetId: 'a1' });
    sync();
    removeClip(d1, a);
    trimClip(d2, a, { sourceOut: 50 });
    sync();
    expect(readTimeline(d1).clips).toEqual([]);
    expect(readTimeline(d2).clips).toEqual([]);
  });

  it('per-user undo reverts only that user’s edits', () => {
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
