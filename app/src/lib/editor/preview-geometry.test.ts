import { describe, expect, it } from 'vitest';
import { DEFAULT_SUBTITLE_STYLE } from '@clipmaker/shared/render-spec';
import { clipAt, cropFor, overlayBox, sourceTimeAt, subtitleLayout } from './preview-geometry';
import type { TimelineSnapshot } from '@clipmaker/shared/timeline';

const tl = {
  meta: { schemaVersion: 1, fps: { num: 30, den: 1 }, aspect: '9:16', width: 1080, height: 1920 },
  assets: [{ id: 'a', key: 'k', kind: 'video', name: 'a', width: 1920, height: 1080, fps: { num: 30, den: 1 }, durationFrames: 120, durationUs: 4_000_000, hasAudio: true, sha256: null }],
  clips: [{ id: 'c', trackId: 'v1', assetId: 'a', start: 10, sourceIn: 15, sourceOut: 90, volume: 1, crop: [{ frame: 0, x: 0, y: 0, w: 606, h: 1080 }, { frame: 40, x: 1314, y: 0, w: 606, h: 1080 }] }],
  cues: [],
  subtitleStyle: DEFAULT_SUBTITLE_STYLE,
  overlays: [],
  music: null,
} as unknown as TimelineSnapshot;

describe('preview geometry', () => {
  it('finds the clip under a frame and its source time (a quarter frame past the frame start)', () => {
    expect(clipAt(tl, 9)).toBeNull();
    const c = clipAt(tl, 30)!;
    expect(c.rel).toBe(20);
    expect(sourceTimeAt(c, tl.meta.fps)).toBeCloseTo((15 + 20 + 0.25) / 30, 9);
    expect(clipAt(tl, 85)).toBeNull();
  });

  it('crops with the shared interpolation (even pixels)', () => {
    expect(cropFor(clipAt(tl, 30)!, 1080, 1920)).toEqual({ x: 656, y: 0, w: 606, h: 1080 });
  });

  it('lays subtitles out like libass: bottom margin on the glyph box, outline outside it', () => {
    const L = subtitleLayout({ ...DEFAULT_SUBTITLE_STYLE, fontSize: 64, outlineWidth: 3, marginV: 160, position: 'bottom' }, 1080, 1920);
    expect(L.y).toBe(1920 - 160 + 3);
    expect(L.anchorY).toBe(1);
    expect(L.strokeWidth).toBe(6);
    expect(L.lineHeight).toBe(64);
    expect(L.cssFontSize).toBeCloseTo((64 * 2048) / 2384, 6);
    expect(L.wrapWidth).toBe(1000);
    const boxed = subtitleLayout({ ...DEFAULT_SUBTITLE_STYLE, box: true, outlineWidth: 2, position: 'top', marginV: 50 }, 1080, 1920);
    expect(boxed).toMatchObject({ y: 50, anchorY: 0, strokeWidth: 0, boxPadding: 4 });
  });

  it('places image overlays as the builder scales them (even sizes)', () => {
    expect(overlayBox({ id: 'o', kind: 'image', sourceId: 'a', start: 0, end: 1, x: 0.75, y: 0.04, w: 0.2, h: 0.1, opacity: 1 }, 1080, 1920)).toEqual({ x: 810, y: 77, w: 216, h: 192 });
  });
});
