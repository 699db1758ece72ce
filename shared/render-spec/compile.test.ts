import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addAsset, addClip, addCue, addImageClip, initTimeline, moveClip, setClipVolume, setCropKeyframe, setTransform, setTransition, trimClip } from '../timeline/ops.ts';
import type { AssetInfo } from '../timeline/model.ts';
import { readTimeline } from '../timeline/read.ts';
import { compileRenderSpec, RenderSpecError } from './compile.ts';
import { DEFAULT_SUBTITLE_STYLE, RenderSpec, SOCIAL_LOUDNESS } from './schema.ts';

const sha = 'ab'.repeat(32);
const video: AssetInfo = { id: 'a1', key: 'orgs/o/projects/p/assets/a1/original.mp4', kind: 'video', name: 'v.mp4', width: 1920, height: 1080, fps: { num: 30, den: 1 }, durationFrames: 120, durationUs: 4_000_000, hasAudio: true, sha256: sha };
const unused: AssetInfo = { ...video, id: 'a2', key: 'k/unused.mp4', sha256: null };
const logo: AssetInfo = { id: 'logo', key: 'k/logo.png', kind: 'image', name: 'logo.png', width: 200, height: 100, fps: null, durationFrames: null, durationUs: 0, hasAudio: false, sha256: 'not-a-hash' };
const song: AssetInfo = { id: 'song', key: 'k/song.mp3', kind: 'audio', name: 'song.mp3', width: 0, height: 0, fps: null, durationFrames: null, durationUs: 60_000_000, hasAudio: true, sha256: null };

function fresh(): Y.Doc {
  const doc = new Y.Doc();
  initTimeline(doc, { fps: { num: 30, den: 1 }, aspect: '9:16' });
  for (const a of [video, unused, logo, song]) addAsset(doc, a);
  return doc;
}

describe('compileRenderSpec', () => {
  it('compiles the whole document: output from meta, tracks in order, duration = end of the last picture, only used sources', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1' });
    trimClip(doc, a, { sourceIn: 15, sourceOut: 90 });
    const b = addClip(doc, { assetId: 'a1', start: 80, sourceOut: 10 });
    setCropKeyframe(doc, b, { frame: 0, x: 10, y: 0, w: 608, h: 1080 });
    const q1 = addCue(doc, { start: 15, end: 200, text: 'Hi' });
    addCue(doc, { start: 90, end: 120, text: 'after the end' });
    addCue(doc, { start: 0, end: 5, text: '  ' });
    const logoClip = addImageClip(doc, { assetId: 'logo', trackId: 'v2', start: 60, duration: 30 });
    const music = addClip(doc, { assetId: 'song', trackId: 'a1', sourceOut: 1800 });
    setClipVolume(doc, music, 0.3);
    const spec = compileRenderSpec(doc, { crf: 23, preset: 'fast', audioBitrateKbps: 128 });
    expect(spec.version).toBe(2);
    expect(spec.output).toEqual({ width: 1080, height: 1920, fps: { num: 30, den: 1 }, durationFrames: 90, video: { codec: 'h264', crf: 23, preset: 'fast' }, audio: { codec: 'aac', bitrateKbps: 128, sampleRate: 48000, loudness: SOCIAL_LOUDNESS }, gop: 60 });
    expect(spec.sources.map((s) => [s.id, s.sha256])).toEqual([['a1', sha], ['logo', null], ['song', null]]);
    expect(spec.tracks.map((t) => [t.id, t.kind])).toEqual([['v1', 'video'], ['v2', 'video'], ['a1', 'audio'], ['a2', 'audio']]);
    expect(spec.clips.map((c) => [c.id, c.kind, c.trackId, c.start])).toEqual([
      [a, 'video', 'v1', 0],
      [b, 'video', 'v1', 80],
      [logoClip, 'image', 'v2', 60],
      [music, 'audio', 'a1', 0],
    ]);
    expect(spec.clips[1]).toMatchObject({ sourceId: 'a1', sourceIn: 0, sourceOut: 10, crop: [{ frame: 0, x: 10, y: 0, w: 608, h: 1080 }], speed: { num: 1, den: 1 } });
    expect(spec.subtitles).toEqual({ style: DEFAULT_SUBTITLE_STYLE, cues: [{ id: q1, start: 15, end: 90, text: 'Hi' }] });
    expect(RenderSpec.parse(spec)).toEqual(spec);
  });

  it('accepts a snapshot as well as a document, with the default encode settings', () => {
    const doc = fresh();
    addClip(doc, { assetId: 'a1', sourceOut: 30 });
    expect(compileRenderSpec(readTimeline(doc))).toEqual(compileRenderSpec(doc));
    expect(compileRenderSpec(doc).output).toMatchObject({ video: { codec: 'h264', crf: 20, preset: 'veryfast' }, audio: { bitrateKbps: 192 }, gop: 60 });
  });

  it('gop defaults to two seconds at 29.97 fps too', () => {
    const doc = new Y.Doc();
    initTimeline(doc, { fps: { num: 30000, den: 1001 }, aspect: '1:1' });
    addAsset(doc, { ...video, fps: { num: 30000, den: 1001 } });
    addClip(doc, { assetId: 'a1' });
    expect(compileRenderSpec(doc).output).toMatchObject({ width: 1080, height: 1080, gop: 60, durationFrames: 120 });
  });

  it('enforces a locked image aspect and drops transitions whose clips no longer touch', () => {
    const doc = fresh();
    const img = addImageClip(doc, { assetId: 'logo', trackId: 'v2', start: 0, duration: 30 });
    setTransform(doc, img, { scaleX: 0.4 });
    const a = addClip(doc, { assetId: 'a1', sourceOut: 30 });
    const b = addClip(doc, { assetId: 'a1', sourceIn: 30, sourceOut: 60 });
    setTransition(doc, b, { kind: 'dissolve', direction: 'left', duration: 10 });
    expect(compileRenderSpec(doc).clips.find((c) => c.id === b)!.transition).toEqual({ kind: 'dissolve', direction: 'left', duration: 10 });
    moveClip(doc, b, 40);
    const spec = compileRenderSpec(doc);
    expect(spec.clips.find((c) => c.id === b)!.transition).toBeNull();
    expect(spec.clips.find((c) => c.id === img)).toMatchObject({ transform: [{ scaleX: 0.4, scaleY: 0.4 }] });
    expect(a).toBeTruthy();
  });

  it('a v1 document compiles through its migration: the same clips, the overlays as clips, the music as a clip', () => {
    const doc = new Y.Doc();
    doc.transact(() => {
      for (const [k, v] of Object.entries({ schemaVersion: 1, fpsNum: 30, fpsDen: 1, aspect: '9:16', width: 1080, height: 1920 })) doc.getMap('meta').set(k, v);
      for (const x of [video, logo, song]) doc.getMap('assets').set(x.id, x);
      const c = new Y.Map<unknown>();
      doc.getMap<Y.Map<unknown>>('clips').set('c1', c);
      for (const [k, v] of Object.entries({ id: 'c1', trackId: 'v1', assetId: 'a1', start: 0, sourceIn: 0, sourceOut: 90, volume: 1 })) c.set(k, v);
      const o = new Y.Map<unknown>();
      doc.getMap<Y.Map<unknown>>('overlays').set('o1', o);
      for (const [k, v] of Object.entries({ id: 'o1', kind: 'image', sourceId: 'logo', start: 0, end: 500, x: 0.8, y: 0.05, w: 0.1, h: 0.05, opacity: 1 })) o.set(k, v);
      for (const [k, v] of Object.entries({ assetId: 'song', volume: 0.3, start: 0 })) doc.getMap('music').set(k, v);
    });
    const spec = compileRenderSpec(doc);
    expect(spec.output.durationFrames).toBe(90);
    expect(spec.output.audio.loudness).toBeNull();
    expect(spec.clips.map((c) => [c.id, c.kind, c.trackId])).toEqual([['c1', 'video', 'v1'], ['ov-o1', 'image', 'v2'], ['music', 'audio', 'a1']]);
  });

  it('refuses clearly what cannot render', () => {
    expect(() => compileRenderSpec(fresh())).toThrow(new RenderSpecError('the timeline is empty: add a clip first'));
    const doc = fresh();
    addClip(doc, { assetId: 'a1' });
    doc.getMap('assets').set('a1', { ...video, key: 'a/../escape' });
    expect(() => compileRenderSpec(doc)).toThrow(new RenderSpecError('the timeline cannot be rendered: storage key has an empty, "." or ".." segment (at sources.0.key)'));
    const missing = fresh();
    addClip(missing, { assetId: 'a1' });
    addClip(missing, { assetId: 'song', trackId: 'a1', sourceOut: 30 });
    missing.getMap('assets').delete('song');
    expect(() => compileRenderSpec(missing)).toThrow('a clip uses media that is missing from the project');
  });
});
