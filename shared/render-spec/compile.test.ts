import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addAsset, addClip, addCue, addOverlay, initTimeline, setCropKeyframe, setMusic, trimClip } from '../timeline/ops.ts';
import { readTimeline, type AssetInfo } from '../timeline/model.ts';
import { compileRenderSpec, RenderSpecError } from './compile.ts';
import { DEFAULT_SUBTITLE_STYLE, RenderSpec } from './schema.ts';

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
  it('compiles the whole document: output from meta, duration = end of the last clip, only used sources', () => {
    const doc = fresh();
    const a = addClip(doc, { assetId: 'a1' });
    trimClip(doc, a, { sourceIn: 15, sourceOut: 90 });
    const b = addClip(doc, { assetId: 'a1', start: 80, sourceOut: 10 });
    setCropKeyframe(doc, b, { frame: 0, x: 10, y: 0, w: 608, h: 1080 });
    const q1 = addCue(doc, { start: 15, end: 200, text: 'Hi' });
    addCue(doc, { start: 90, end: 120, text: 'after the end' });
    addCue(doc, { start: 0, end: 5, text: '  ' });
    const o = addOverlay(doc, { kind: 'image', sourceId: 'logo', start: 60, end: 500, x: 0.8, y: 0.05, w: 0.1, h: 0.05, opacity: 1 });
    setMusic(doc, { assetId: 'song', volume: 0.3, start: 0 });
    const spec = compileRenderSpec(doc, { crf: 23, preset: 'fast', audioBitrateKbps: 128 });
    expect(spec).toEqual({
      version: 1,
      output: { width: 1080, height: 1920, fps: { num: 30, den: 1 }, durationFrames: 90, video: { codec: 'h264', crf: 23, preset: 'fast' }, audio: { codec: 'aac', bitrateKbps: 128, sampleRate: 48000 }, gop: 60 },
      sources: [
        { id: 'a1', key: video.key, kind: 'video', width: 1920, height: 1080, fps: { num: 30, den: 1 }, durationFrames: 120, durationUs: 4_000_000, hasAudio: true, sha256: sha },
        { id: 'logo', key: 'k/logo.png', kind: 'image', width: 200, height: 100, fps: null, durationFrames: null, durationUs: 0, hasAudio: false, sha256: null },
        { id: 'song', key: 'k/song.mp3', kind: 'audio', width: 0, height: 0, fps: null, durationFrames: null, durationUs: 60_000_000, hasAudio: true, sha256: null },
      ],
      clips: [
        { id: a, sourceId: 'a1', start: 0, sourceIn: 15, sourceOut: 90, volume: 1, crop: [] },
        { id: b, sourceId: 'a1', start: 80, sourceIn: 0, sourceOut: 10, volume: 1, crop: [{ frame: 0, x: 10, y: 0, w: 608, h: 1080 }] },
      ],
      subtitles: { style: DEFAULT_SUBTITLE_STYLE, cues: [{ id: q1, start: 15, end: 90, text: 'Hi' }] },
      overlays: [{ id: o, kind: 'image', sourceId: 'logo', start: 60, end: 90, x: 0.8, y: 0.05, w: 0.1, h: 0.05, opacity: 1 }],
      music: { sourceId: 'song', volume: 0.3, start: 0 },
    });
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

  it('refuses clearly what cannot render', () => {
    expect(() => compileRenderSpec(fresh())).toThrow(new RenderSpecError('the timeline is empty: add a clip first'));
    const doc = fresh();
    addClip(doc, { assetId: 'a1' });
    doc.getMap('assets').set('a1', { ...video, key: 'a/../escape' });
    expect(() => compileRenderSpec(doc)).toThrow(new RenderSpecError('the timeline cannot be rendered: storage key has an empty, "." or ".." segment (at sources.0.key)'));
    const missing = fresh();
    addClip(missing, { assetId: 'a1' });
    setMusic(missing, { assetId: 'song', volume: 1, start: 0 });
    missing.getMap('assets').delete('song');
    expect(() => compileRenderSpec(missing)).toThrow('an overlay or the music uses media that is missing from the project');
  });
});
