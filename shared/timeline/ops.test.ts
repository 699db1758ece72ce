import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import {
  addMarker,
  copyClip,
  removeMarker,
  updateMarker,
  arrangeTrack,
  addAsset,
  addClip,
  addCue,
  addImageClip,
  addTextClip,
  addTrack,
  freezeFrame,
  initTimeline,
  migrateTimeline,
  moveClip,
  newId,
  remapAssetIds,
  removeClip,
  removeCropKeyframe,
  removeCue,
  moveTrack,
  removeTrack,
  repairTimeline,
  setAspect,
  setAudioFades,
  setClipAnimation,
  setClipReverse,
  setClipSpeed,
  setClipVolume,
  setCropKeyframe,
  setImageAspectLock,
  setLoudnessTarget,
  setSubtitleStyle,
  setTrack,
  setTrackDucking,
  setTransform,
  setTransformKeyframe,
  setTransition,
  setVolumeKeyframe,
  splitClip,
  trimClip,
  updateCue,
  updateTextClip,
} from './ops.ts';
import { clipLength, TIMELINE_SCHEMA_VERSION, TimelineError, type AssetInfo, type ClipSnapshot, type VideoClipSnapshot } from './model.ts';
import { readTimeline } from './read.ts';
import { DEFAULT_SUBTITLE_STYLE, IDENTITY_TRANSFORM, SOCIAL_LOUDNESS } from '../render-spec/schema.ts';
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
  const ends = new Map<string, number>();
  for (const c of tl.clips) {
    if (c.start < (ends.get(c.trackId) ?? 0)) return false;
    ends.set(c.trackId, c.start + clipLength(c, c.kind === 'text' ? undefined : assets.get(c.assetId), tl.meta.fps));
  }
  return true;
}

const vclips = (d: Y.Doc) => readTimeline(d).clips.filter((c): c is VideoClipSnapshot => c.kind === 'video');

/** The media fields of a clip (video/audio) for compact assertions. */
const media = (c: ClipSnapshot) => (c.kind === 'video' || c.kind === 'audio' ? c : (() => { throw new Error(`${c.kind} clip`); })());

describe('document layout', () => {
  it('initTimeline writes meta once (idempotent) with the contract names', () => {
    const doc = fresh();
    initTimeline(doc, { fps: { num: 25, den: 1 }, aspect: '16:9' });
    expect(doc.getMap('meta').toJSON()).toEqual({ schemaVersion: TIMELINE_SCHEMA_VERSION, fpsNum: 30, fpsDen: 1, aspect: '9:16', width: 1080, height: 1920, loudness: SOCIAL_LOUDNESS });
    expect(readTimeline(doc).meta).toEqual({ schemaVersion: 2, fps: { num: 30, den: 1 }, aspect: '9:16', width: 1080, height: 1920, loudness: SOCIAL_LOUDNESS });
    expect(readTimeline(doc).tracks.map((t) => [t.id, t.kind])).toEqual([['v1', 'video'], ['v2', 'video'], ['a1', 'audio'], ['a2', 'audio']]);
  });

  it('stores assets as plain JSON, tracks and clips as Y.Maps (keyframes as Y.Arrays, text as Y.Text)', () => {
    const doc = fresh();
    const clip = addClip(doc, { assetId: 'a1', sourceOut: 30 });
    setCropKeyframe(doc, clip, { frame: 0, x: 0, y: 0, w: 608, h: 1080 });
    const text = addTextClip(doc, { trackId: 'v2', start: 0, text: 'T' });
    addCue(doc, { start: 0, end: 10, text: 'hi' });
    expect(doc.getMap('assets').get('a1')).toEqual(video);
    const c = doc.getMap('clips').get(clip);
    expect(c).toBeInstanceOf(Y.Map);
    expect((c as Y.Map<unknown>).get('crop')).toBeInstanceOf(Y.Array);
    expect((doc.getMap('clips').get(text) as Y.Map<unknown>).get('text')).toBeInstanceOf(Y.Text);
    expect((doc.getMap('clips').get(text) as Y.Map<unknown>).get('style')).toBeInstanceOf(Y.Map);
    expect(doc.getMap('tracks').get('v1')).toBeInstanceOf(Y.Map);
    expect([...doc.getMap('cues').values()][0]).toBeInstanceOf(Y.Map);
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
    let image = '';
    let text = '';
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
      ['addImageClip', () => (image = addImageClip(doc, { assetId: 'logo', trackId: 'v2', start: 0 }, me))],
      ['setTransform', () => setTransform(doc, image, { x: 0.8 }, 0, me)],
      ['setImageAspectLock', () => setImageAspectLock(doc, image, false, me)],
      ['addTextClip', () => (text = addTextClip(doc, { trackId: 'v2', start: 100, text: 'Sale' }, me))],
      ['updateTextClip', () => updateTextClip(doc, text, { text: 'Big sale', style: { bold: false } }, me)],
      ['setClipAnimation', () => setClipAnimation(doc, text, { in: { kind: 'typewriter', duration: 10, direction: 'left' } }, me)],
      ['setClipSpeed', () => setClipSpeed(doc, clip, 2, me)],
      ['setClipReverse', () => setClipReverse(doc, clip, true, me)],
      ['setAudioFades', () => setAudioFades(doc, clip, { fadeIn: 3 }, me)],
      ['setVolumeKeyframe', () => setVolumeKeyframe(doc, clip, { frame: 0, gain: 0.5 }, me)],
      ['addTrack', () => addTrack(doc, { kind: 'video' }, me)],
      ['setTrack', () => setTrack(doc, 'v2', { muted: true }, me)],
      ['setTrackDucking', () => setTrackDucking(doc, 'a1', { mode: 'sidechain', keyTrackIds: ['v1'], amountDb: 12, attackMs: 20, releaseMs: 300 }, me)],
      ['moveTrack', () => moveTrack(doc, 'v2', 0, me)],
      ['setLoudnessTarget', () => setLoudnessTarget(doc, null, me)],
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
    expect(readTimeline(doc).clips.map((x) => [x.id, x.start, media(x).sourceIn, media(x).sourceOut, media(x).audio.volume, x.trackId])).toEqual([
      [a, 0, 0, 60, 1, 'v1'],
      [b, 60, 60, 120, 1, 'v1'],
      [c, 120, 0, 96, 1, 'v1'],
    ]);
    expect(clipLength(vclips(doc)[2]!, film, { num: 30, den: 1 })).toBe(120);
  });

  it('addClip refuses overlaps, non-video media and points outside the media', () => {
    const doc = fresh();
    addClip(doc, { assetId: 'a1', start: 10, sourceOut: 30 });
    expect(() => addClip(doc, { assetId: 'a1', start: 0, sourceOut: 11 })).toThrow('clips cannot overlap: frames 0–11 collide with another clip (10–40)');
    expect(() => addClip(doc, { assetId: 'song' })).toThrow('sound goes on an audio track');
    expect(() => addClip(doc, { assetId: 'logo', trackId: 'a1' })).toThrow('images go on a video track');
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
    expect(vclips(doc)[0]).toMatchObject({ start: 0, sourceIn: 15, sourceOut: 120 });
    trimClip(doc, a, { sourceOut: 10 }); // dragged past the in point
    expect(vclips(doc)[0]).toMatchObject({ sourceIn: 15, sourceOut: 16 });
    trimClip(doc, a, { sourceIn: 90 }); // dragged past the out point
    expect(vclips(doc)[0]).toMatchObject({ sourceIn: 15, sourceOut: 16 });
    trimClip(doc, a, { sourceOut: 100 });
    trimClip(doc, a, { sourceIn: 500 });
    expect(vclips(doc)[0]).toMatchObject({ sourceIn: 99, sourceOut: 100 });
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
    expect(vclips(doc)[0]!.crop).toEqual([
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
    const [left, right] = vclips(doc);
    expect([left!.id, left!.start, left!.sourceIn, left!.sourceOut]).toEqual([a, 0, 0, 50]);
    expect([right!.id, right!.start, right!.sourceIn, right!.sourceOut, right!.audio.volume]).toEqual([b, 50, 50, 100, 1]);
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
    const [left, right] = vclips(doc);
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
    expect(vclips(doc)[0]!.audio.volume).toBe(2.5);
    expect(() => setClipVolume(doc, a, 5)).toThrow('volume must be between 0 and 4');
    expect(() => setClipVolume(doc, a, Number.NaN)).toThrow(TimelineError);
  });

  it('setCropKeyframe replaces the keyframe on the same frame; removeCropKeyframe removes it', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1' });
    setCropKeyframe(doc, a, { frame: 10, x: 0, y: 0, w: 608, h: 1080 });
    setCropKeyframe(doc, a, { frame: 0, x: 2, y: 0, w: 608, h: 1080 });
    setCropKeyframe(doc, a, { frame: 10, x: 400, y: 0, w: 608, h: 1080 });
    expect(vclips(doc)[0]!.crop).toEqual([
      { frame: 0, x: 2, y: 0, w: 608, h: 1080 },
      { frame: 10, x: 400, y: 0, w: 608, h: 1080 },
    ]);
    removeCropKeyframe(doc, a, 0);
    expect(vclips(doc)[0]!.crop.map((k) => k.frame)).toEqual([10]);
    expect(() => setCropKeyframe(doc, a, { frame: 0, x: 1500, y: 0, w: 608, h: 1080 })).toThrow('the crop rectangle must stay inside the video frame');
    expect(() => setCropKeyframe(doc, a, { frame: 0, x: 0, y: 0, w: 1, h: 1080 })).toThrow(/invalid crop/);
  });
});

describe('cues, style, aspect', () => {
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
    expect(() => migrateTimeline(doc)).toThrow('this project was saved by a newer ClipMaker (timeline v3)');
  });

  it('upgrades an unversioned document, filling the meta defaults it was read with', () => {
    const doc = new Y.Doc();
    doc.getMap('meta').set('fpsNum', 25);
    doc.getMap('assets').set('a1', video);
    expect(migrateTimeline(doc, 'migration')).toBe(2);
    expect(doc.getMap('meta').toJSON()).toEqual({ schemaVersion: 2, fpsNum: 30, fpsDen: 1, aspect: '9:16', width: 1080, height: 1920, loudness: null });
    expect(migrateTimeline(new Y.Doc())).toBe(0); // an empty local copy is left alone until it syncs
  });

  it('v1 -> v2: the video track keeps its clips, overlays become clips on tracks above, music an audio clip', () => {
    const doc = v1Document();
    const before = readTimeline(doc); // read through an in-memory migration, the document untouched
    expect(doc.getMap('meta').get('schemaVersion')).toBe(1);
    expect(migrateTimeline(doc, 'migration')).toBe(2);
    const tl = readTimeline(doc);
    expect(tl).toEqual(before);
    expect(tl.meta.loudness).toBeNull();
    expect(tl.tracks.map((t) => [t.id, t.kind, t.name])).toEqual([
      ['v1', 'video', 'Video 1'],
      ['v2', 'video', 'Text 1'],
      ['v3', 'video', 'Logo 2'],
      ['v4', 'video', 'Logo 3'],
      ['a1', 'audio', 'Music'],
      ['a2', 'audio', 'Audio 2'],
    ]);
    const byId = new Map(tl.clips.map((c) => [c.id, c]));
    expect(byId.get('c1')).toMatchObject({ kind: 'video', trackId: 'v1', start: 0, sourceIn: 0, sourceOut: 60, speed: { num: 1, den: 1 }, reverse: false, audio: { volume: 0.8 }, crop: [{ frame: 0, x: 0, y: 0, w: 608, h: 1080 }] });
    expect(byId.get('ov-t1')).toMatchObject({ kind: 'text', trackId: 'v2', start: 0, duration: 30, text: 'Sale', style: { fontFamily: 'DejaVu Sans', fontSize: 64, color: '#FFCC00', align: 'left', verticalAlign: 'top' } });
    // Overlapping logos on two tracks, each keeping its v1 box (a square logo in a fractional box stays as it was).
    expect(byId.get('ov-l1')).toMatchObject({ kind: 'image', trackId: 'v3', start: 0, duration: 60, aspectLocked: false, transform: [{ anchorX: 0, anchorY: 0, opacity: 0.9, x: 0.8, y: 0.05 }] });
    expect(byId.get('ov-l2')).toMatchObject({ kind: 'image', trackId: 'v4', start: 30, duration: 30 });
    expect(byId.get('music')).toMatchObject({ kind: 'audio', trackId: 'a1', start: 15, sourceIn: 0, sourceOut: 1800, audio: { volume: 0.4 } });
    expect(doc.getMap('overlays').size).toBe(0);
    expect(doc.getMap('music').size).toBe(0);
    expect(noOverlap(doc)).toBe(true);
  });

  it('v1 -> v2 is deterministic: two replicas migrating at once converge to one timeline', () => {
    const d1 = v1Document();
    const d2 = new Y.Doc();
    Y.applyUpdate(d2, Y.encodeStateAsUpdate(d1));
    migrateTimeline(d1);
    migrateTimeline(d2);
    Y.applyUpdate(d2, Y.encodeStateAsUpdate(d1, Y.encodeStateVector(d2)));
    Y.applyUpdate(d1, Y.encodeStateAsUpdate(d2, Y.encodeStateVector(d1)));
    expect(readTimeline(d1)).toEqual(readTimeline(d2));
    expect(readTimeline(d1).clips).toHaveLength(5);
  });
});

/** A document as the v1 editor wrote it: clips on 'v1', a text overlay, two overlapping logos, music. */
function v1Document(): Y.Doc {
  const doc = new Y.Doc();
  doc.transact(() => {
    const meta = doc.getMap('meta');
    for (const [k, v] of Object.entries({ schemaVersion: 1, fpsNum: 30, fpsDen: 1, aspect: '9:16', width: 1080, height: 1920 })) meta.set(k, v);
    for (const a of [video, logo, song]) doc.getMap('assets').set(a.id, a);
    const clip = new Y.Map<unknown>();
    doc.getMap<Y.Map<unknown>>('clips').set('c1', clip);
    for (const [k, v] of Object.entries({ id: 'c1', trackId: 'v1', assetId: 'a1', start: 0, sourceIn: 0, sourceOut: 60, volume: 0.8 })) clip.set(k, v);
    const crop = new Y.Array();
    clip.set('crop', crop);
    crop.push([{ frame: 0, x: 0, y: 0, w: 608, h: 1080 }]);
    const overlays: Record<string, unknown>[] = [
      { id: 't1', kind: 'text', text: 'Sale', start: 0, end: 30, x: 0.1, y: 0.1, w: 0.5, h: 0.1, opacity: 1, fontSize: 64, color: '#FFCC00' },
      { id: 'l1', kind: 'image', sourceId: 'logo', start: 0, end: 60, x: 0.8, y: 0.05, w: 0.15, h: 0.08, opacity: 0.9 },
      { id: 'l2', kind: 'image', sourceId: 'logo', start: 30, end: 60, x: 0.1, y: 0.8, w: 0.1, h: 0.05, opacity: 1 },
    ];
    for (const o of overlays) {
      const m = new Y.Map<unknown>();
      doc.getMap<Y.Map<unknown>>('overlays').set(String(o.id), m);
      for (const [k, v] of Object.entries(o)) m.set(k, v);
    }
    for (const [k, v] of Object.entries({ assetId: 'song', volume: 0.4, start: 15 })) doc.getMap('music').set(k, v);
  });
  return doc;
}

describe('tracks', () => {
  it('add, rename, reorder, flags, remove (with its clips); a project keeps one video track', () => {
    const doc = fresh();
    const v3 = addTrack(doc, { kind: 'video' });
    const v4 = addTrack(doc, { kind: 'video', name: 'Logos' });
    expect(readTimeline(doc).tracks.filter((t) => t.kind === 'video').map((t) => t.name)).toEqual(['Video 1', 'Video 2', 'Video 3', 'Logos']);
    moveTrack(doc, v4, 0);
    expect(readTimeline(doc).tracks.filter((t) => t.kind === 'video').map((t) => t.id)).toEqual([v4, 'v1', 'v2', v3]);
    setTrack(doc, 'v2', { muted: true, solo: true, hidden: true, locked: true, name: 'B-roll' });
    expect(readTimeline(doc).tracks.find((t) => t.id === 'v2')).toMatchObject({ muted: true, solo: true, hidden: true, locked: true, name: 'B-roll' });
    const c = addClip(doc, { assetId: 'a1', trackId: v3, sourceOut: 30 });
    removeTrack(doc, v3);
    expect(readTimeline(doc).clips.map((x) => x.id)).not.toContain(c);
    for (const t of readTimeline(doc).tracks.filter((x) => x.kind === 'video' && x.id !== 'v1')) if (!t.locked) removeTrack(doc, t.id);
    setTrack(doc, 'v2', { locked: false });
    removeTrack(doc, 'v2');
    expect(() => removeTrack(doc, 'v1')).toThrow('a project keeps at least one video track');
  });

  it('a locked track refuses every clip edit', () => {
    const doc = fresh();
    const c = addClip(doc, { assetId: 'a1', sourceOut: 30 });
    setTrack(doc, 'v1', { locked: true, name: 'Main' });
    expect(() => moveClip(doc, c, 10)).toThrow('track “Main” is locked');
    expect(() => addClip(doc, { assetId: 'a1' })).toThrow('track “Main” is locked');
    expect(() => setClipSpeed(doc, c, 2)).toThrow(/locked/);
    expect(() => removeClip(doc, c)).toThrow(/locked/);
  });

  it('ducking: audio tracks only, under other existing tracks; removing a key track updates it', () => {
    const doc = fresh();
    const d = { mode: 'automation' as const, keyTrackIds: ['a2'], amountDb: 12, attackMs: 50, releaseMs: 400 };
    expect(() => setTrackDucking(doc, 'v1', d)).toThrow('only audio tracks (music) can be ducked');
    expect(() => setTrackDucking(doc, 'a1', { ...d, keyTrackIds: ['a1'] })).toThrow('duck under other tracks of this project');
    setTrackDucking(doc, 'a1', { ...d, keyTrackIds: ['a2', 'v1'] });
    removeTrack(doc, 'a2');
    expect(readTimeline(doc).tracks.find((t) => t.id === 'a1')!.ducking).toEqual({ ...d, keyTrackIds: ['v1'] });
  });
});

describe('layers: speed, freeze, reverse, transitions, transforms, text, audio', () => {
  it('speed changes the clip length exactly (0.25x-4x); moves onto any track of its kind', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1', sourceOut: 60 });
    setClipSpeed(doc, a, 2);
    expect(clipLength(vclips(doc)[0]!, video, { num: 30, den: 1 })).toBe(30);
    setClipSpeed(doc, a, 0.5);
    expect(clipLength(vclips(doc)[0]!, video, { num: 30, den: 1 })).toBe(120);
    expect(() => setClipSpeed(doc, a, 5)).toThrow('speed must be between 0.25x and 4x');
    moveClip(doc, a, { start: 10, trackId: 'v2' });
    expect(vclips(doc)[0]).toMatchObject({ trackId: 'v2', start: 10, speed: { num: 1, den: 2 } });
    expect(() => moveClip(doc, a, { start: 0, trackId: 'a1' })).toThrow('pictures stay on video tracks');
    const s = addClip(doc, { assetId: 'song', trackId: 'a1', sourceOut: 90 });
    expect(readTimeline(doc).clips.find((c) => c.id === s)).toMatchObject({ kind: 'audio', trackId: 'a1' });
  });

  it('freeze frame holds the frame under the playhead, splitting the clip and rippling the track', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1', sourceOut: 60 });
    const b = addClip(doc, { assetId: 'a1', sourceIn: 60, sourceOut: 90 });
    const f = freezeFrame(doc, a, 20, 15);
    const clips = vclips(doc);
    expect(clips.map((c) => [c.start, c.sourceIn, c.sourceOut, c.freeze])).toEqual([
      [0, 0, 20, null],
      [20, 20, 21, 15],
      [35, 20, 60, null],
      [75, 60, 90, null],
    ]);
    expect(clips[1]!.id).toBe(f);
    expect(clips[3]!.id).toBe(b);
    expect(noOverlap(doc)).toBe(true);
  });

  it('reverse is capped; splitting a reversed clip keeps the picture order', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1', sourceOut: 100 });
    setClipReverse(doc, a, true);
    const b = splitClip(doc, a, 40);
    const [left, right] = vclips(doc);
    expect([left!.id, left!.sourceIn, left!.sourceOut, right!.id, right!.sourceIn, right!.sourceOut]).toEqual([a, 60, 100, b, 0, 60]);
  });

  it('transitions need touching clips and fit both; audio tracks only crossfade', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1', sourceOut: 30 });
    const b = addClip(doc, { assetId: 'a1', sourceIn: 30, sourceOut: 90 });
    setTransition(doc, b, { kind: 'wipe', direction: 'left', duration: 20 });
    expect(vclips(doc)[1]!.transition).toEqual({ kind: 'wipe', direction: 'left', duration: 20 });
    expect(() => setTransition(doc, b, { kind: 'dissolve', direction: 'left', duration: 31 })).toThrow('this transition can last at most 30 frames (the shorter clip)');
    expect(() => setTransition(doc, a, { kind: 'dissolve', direction: 'left', duration: 10 })).toThrow(/previous clip to end exactly/);
    const m1 = addClip(doc, { assetId: 'song', trackId: 'a1', sourceOut: 30 });
    const m2 = addClip(doc, { assetId: 'song', trackId: 'a1', sourceIn: 30, sourceOut: 60 });
    expect(() => setTransition(doc, m2, { kind: 'wipe', direction: 'left', duration: 10 })).toThrow('audio tracks crossfade only');
    setTransition(doc, m2, { kind: 'dissolve', direction: 'left', duration: 10 });
    setTransition(doc, b, null);
    expect(vclips(doc)[1]!.transition).toBeNull();
    expect(m1).toBeTruthy();
  });

  it('transform keyframes; an image keeps its aspect ratio unless unlocked', () => {
    const doc = fresh();
    const img = addImageClip(doc, { assetId: 'logo', trackId: 'v2', start: 0, duration: 60 });
    const scale = () => readTimeline(doc).clips.find((c) => c.id === img) as Extract<ClipSnapshot, { kind: 'image' }>;
    expect(scale().transform[0]).toMatchObject({ frame: 0, scaleX: 0.25, scaleY: 0.25 });
    setTransform(doc, img, { scaleX: 0.5, scaleY: 0.2 });
    expect(scale().transform[0]).toMatchObject({ scaleX: 0.5, scaleY: 0.5 });
    setImageAspectLock(doc, img, false);
    setTransform(doc, img, { scaleY: 0.2 });
    expect(scale().transform[0]).toMatchObject({ scaleX: 0.5, scaleY: 0.2 });
    setTransformKeyframe(doc, img, { ...IDENTITY_TRANSFORM, frame: 30, easing: 'linear', rotation: 90 });
    setTransform(doc, img, { opacity: 0.5 }, 15); // between keyframes: starts from the interpolated values
    expect(scale().transform.map((k) => [k.frame, k.rotation, k.opacity])).toEqual([[0, 0, 1], [15, 45, 0.5], [30, 90, 1]]);
  });

  it('text: bundled fonts only, Y.Text edited by minimal diffs, typewriter only for text', () => {
    const doc = fresh();
    const t = addTextClip(doc, { trackId: 'v2', start: 0, text: 'Hello world', style: { fontFamily: 'Lora' } });
    const ytext = (doc.getMap('clips').get(t) as Y.Map<unknown>).get('text') as Y.Text;
    const deltas: unknown[] = [];
    ytext.observe((e) => deltas.push(e.delta));
    updateTextClip(doc, t, { text: 'Hello brave world' });
    expect(deltas).toEqual([[{ retain: 6 }, { insert: 'brave ' }]]);
    expect(() => updateTextClip(doc, t, { style: { fontFamily: 'Comic Sans' } })).toThrow('“Comic Sans” is not one of the bundled fonts');
    const v = addClip(doc, { assetId: 'a1', sourceOut: 30 });
    expect(() => setClipAnimation(doc, v, { in: { kind: 'typewriter', duration: 10, direction: 'left' } })).toThrow('typewriter animates text only');
    setClipAnimation(doc, t, { out: { kind: 'slide', duration: 12, direction: 'down' } });
    expect(readTimeline(doc).clips.find((c) => c.id === t)).toMatchObject({ kind: 'text', text: 'Hello brave world', style: { fontFamily: 'Lora' }, animOut: { kind: 'slide', duration: 12 } });
  });

  it('volume envelope points and fade handles', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1', sourceOut: 60 });
    setVolumeKeyframe(doc, a, { frame: 30, gain: 0.2 });
    setVolumeKeyframe(doc, a, { frame: 0, gain: 1 });
    setAudioFades(doc, a, { fadeIn: 10, fadeOut: 999 });
    expect(vclips(doc)[0]!.audio).toEqual({ volume: 1, envelope: [{ frame: 0, gain: 1 }, { frame: 30, gain: 0.2 }], fadeIn: 10, fadeOut: 60 });
    expect(() => setVolumeKeyframe(doc, a, { frame: 0, gain: 5 })).toThrow(/invalid volume point/);
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
    expect(vclips(d1)[0]).toMatchObject({ sourceIn: 5, audio: { volume: 0.5 } });
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
    expect(vclips(d1)[0]!.crop.map((k) => [k.frame, k.x])).toEqual([
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
    const crop = vclips(d1)[0]!.crop;
    expect(crop).toHaveLength(1);
    expect(vclips(d2)[0]!.crop).toEqual(crop);
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
    expect(readTimeline(d1).clips.map((c) => c.start)).toEqual([0, vclips(d1)[0]!.sourceOut]);
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

describe('arrangeTrack (magnetic placement)', () => {
  it('lays the named clips back to back in order and refuses an order that leaves one out', () => {
    const d = new Y.Doc();
    initTimeline(d, { fps: { num: 30, den: 1 }, aspect: '9:16' });
    addAsset(d, { id: 'a', key: 'k/a.mp4', kind: 'video', name: 'a', width: 640, height: 360, fps: { num: 30, den: 1 }, durationFrames: 300, durationUs: 10_000_000, hasAudio: true, sha256: null });
    const x = addClip(d, { assetId: 'a', start: 0, sourceIn: 0, sourceOut: 30 });
    const y = addClip(d, { assetId: 'a', start: 50, sourceIn: 0, sourceOut: 10 });
    expect(() => arrangeTrack(d, 'v1', [y])).toThrow(TimelineError);
    arrangeTrack(d, 'v1', [y, x]);
    expect(readTimeline(d).clips.map((c) => [c.id, c.start])).toEqual([[y, 0], [x, 10]]);
    const sound = addClip(d, { assetId: 'a', trackId: 'a1' });
    expect(() => arrangeTrack(d, 'v1', [y, x, sound])).toThrow(/sound stays/);
  });
});

describe('copies and markers', () => {
  it('copyClip copies trims, crop, transform and text into a new clip, refuses overlaps and the wrong kind of track', () => {
    const doc = fresh();
    const id = addClip(doc, { assetId: 'a1', trackId: 'v1', start: 0, sourceIn: 10, sourceOut: 40 });
    setCropKeyframe(doc, id, { frame: 0, x: 100, y: 0, w: 606, h: 1078 });
    setTransform(doc, id, { scaleX: 0.5, scaleY: 0.5 }, 0);
    const copy = copyClip(doc, id, { start: 30 });
    const [a, b] = vclips(doc);
    expect(b!.id).toBe(copy);
    expect({ ...b, id: a!.id, start: a!.start }).toEqual(a);
    expect(() => copyClip(doc, id, { start: 45 })).toThrow(TimelineError);
    expect(() => copyClip(doc, id, { start: 100, trackId: 'a1' })).toThrow(/video track/);
    const text = addTextClip(doc, { trackId: 'v1', start: 200, text: 'Hello' });
    const t2 = copyClip(doc, text, { start: 300 });
    updateTextClip(doc, text, { text: 'Changed' });
    expect(readTimeline(doc).clips.find((c) => c.id === t2)).toMatchObject({ kind: 'text', text: 'Hello', start: 300 });
    expect(noOverlap(doc)).toBe(true);
  });

  it('markers are added, moved, renamed and removed, sorted by frame, and merge between replicas', () => {
    const { d1, d2, sync } = pair();
    const m1 = addMarker(d1, { frame: 50, label: 'drop' });
    const m2 = addMarker(d2, { frame: 10 });
    sync();
    expect(readTimeline(d1).markers!.map((m) => m.frame)).toEqual([10, 50]);
    updateMarker(d1, m1, { frame: 5 });
    updateMarker(d2, m1, { label: 'beat' });
    sync();
    expect(readTimeline(d2).markers!.find((m) => m.id === m1)).toEqual({ id: m1, frame: 5, label: 'beat' });
    expect(() => addMarker(d1, { frame: -1 })).toThrow(TimelineError);
    removeMarker(d2, m2);
    sync();
    expect(readTimeline(d1).markers!.map((m) => m.id)).toEqual([m1]);
  });
});

describe('remapAssetIds (duplicated projects)', () => {
  it('moves assets to their new ids and re-points every clip, in one transaction; the stored key stays', () => {
    const doc = fresh();
    const v = addClip(doc, { assetId: 'a1' });
    const i = addImageClip(doc, { assetId: 'logo' });
    const s = addClip(doc, { assetId: 'song', trackId: 'a1' });
    const origins = transactions(doc, () => remapAssetIds(doc, new Map([['a1', 'b1'], ['logo', 'b-logo']]), 'dup'));
    expect(origins).toEqual(['dup']);
    const tl = readTimeline(doc);
    expect(tl.assets.map((a) => a.id).sort()).toEqual(['a24', 'b-logo', 'b1', 'song']);
    expect(tl.assets.find((a) => a.id === 'b1')!.key).toBe(video.key);
    const byId = new Map(tl.clips.map((c) => [c.id, c]));
    expect((byId.get(v) as { assetId: string }).assetId).toBe('b1');
    expect((byId.get(i) as { assetId: string }).assetId).toBe('b-logo');
    expect((byId.get(s) as { assetId: string }).assetId).toBe('song');
  });
});
