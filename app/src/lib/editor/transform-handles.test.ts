import { describe, expect, it } from 'vitest';
import { IDENTITY_TRANSFORM } from '@clipmaker/shared/render-spec';
import { moved, rotated, scaled, snapToGuides } from './transform-handles';

describe('on-canvas transform handles', () => {
  it('moves by output pixels and snaps the anchor to the centre and thirds', () => {
    const t = { ...IDENTITY_TRANSFORM, x: 0.2, y: 0.2 };
    expect(moved(t, 108, 0, 1080, 1920, false).patch).toEqual({ x: 0.3, y: 0.2 });
    const s = moved(t, 140, 590, 1080, 1920, true);
    expect(s.patch.x).toBeCloseTo(1 / 3, 4);
    expect(s.gx).toBeCloseTo(1 / 3);
    expect(s.patch.y).toBe(0.5); // 0.2 + 590/1920 = 0.5073: within 1.5 % of the centre, snapped
    expect(moved(t, 0, 700, 1080, 1920, true).patch.y).toBeCloseTo(0.5646, 3); // 0.5646: free
    expect(snapToGuides(0.51, 0.9, 0.015)).toEqual({ x: 0.5, y: 0.9, gx: 0.5, gy: null });
  });

  it('scales uniformly by the pointer distance from the centre', () => {
    const t = { ...IDENTITY_TRANSFORM, scaleX: 0.5, scaleY: 0.25 };
    expect(scaled(t, { cx: 100, cy: 100 }, { x: 150, y: 100 }, { x: 200, y: 100 })).toEqual({ scaleX: 1, scaleY: 0.5 });
  });

  it('rotates by the swept angle and snaps near multiples of 45 degrees', () => {
    const t = IDENTITY_TRANSFORM;
    expect(rotated(t, { cx: 0, cy: 0 }, { x: 0, y: -10 }, { x: 10, y: 0 }).rotation).toBe(90);
    expect(rotated(t, { cx: 0, cy: 0 }, { x: 10, y: 0 }, { x: 10, y: Math.tan((30 * Math.PI) / 180) * 10 }).rotation).toBe(30);
    expect(rotated(t, { cx: 0, cy: 0 }, { x: 10, y: 0 }, { x: 10, y: Math.tan((43 * Math.PI) / 180) * 10 }).rotation).toBe(45);
    expect(rotated(t, { cx: 0, cy: 0 }, { x: 10, y: 0 }, { x: 10, y: Math.tan((43 * Math.PI) / 180) * 10 }, true).rotation).toBe(43);
  });
});
