import { describe, expect, it } from 'vitest';
import { cropAt, defaultCrop, isConstantSize } from './crop.ts';

describe('crop interpolation', () => {
  it('defaults to the largest centred rect of the output aspect', () => {
    expect(defaultCrop(1920, 1080, 1080, 1920)).toEqual({ x: 656, y: 0, w: 608, h: 1080 });
    expect(defaultCrop(1920, 1080, 1080, 1080)).toEqual({ x: 420, y: 0, w: 1080, h: 1080 });
    expect(defaultCrop(1080, 1920, 1920, 1080)).toEqual({ x: 0, y: 656, w: 1080, h: 608 });
  });
  it('holds before the first and after the last keyframe, interpolates between, even values', () => {
    const kfs = [
      { frame: 10, x: 0, y: 0, w: 608, h: 1080 },
      { frame: 20, x: 101, y: 0, w: 608, h: 1080 },
    ];
    expect(cropAt(kfs, 0, 1920, 1080, 1080, 1920).x).toBe(0);
    expect(cropAt(kfs, 15, 1920, 1080, 1080, 1920).x).toBe(50); // 50.5 -> 50
    expect(cropAt(kfs, 19, 1920, 1080, 1080, 1920).x).toBe(90); // 90.9 -> 90
    expect(cropAt(kfs, 25, 1920, 1080, 1080, 1920).x).toBe(100);
    expect(isConstantSize(kfs)).toBe(true);
  });
  it('clamps rectangles into the source', () => {
    const r = cropAt([{ frame: 0, x: 1900, y: 0, w: 608, h: 1080 }], 0, 1920, 1080, 1080, 1920);
    expect(r).toEqual({ x: 1312, y: 0, w: 608, h: 1080 });
  });
});
