import { describe, expect, it } from 'vitest';
import { movedCrop, resizedCrop, zoomedCrop, MIN_CROP } from './crop-handles.ts';

const A = 9 / 16; // a 9:16 output
const inside = (r: { x: number; y: number; w: number; h: number }, W: number, H: number) => r.x >= 0 && r.y >= 0 && r.x + r.w <= W && r.y + r.h <= H;
const evenAll = (r: { x: number; y: number; w: number; h: number }) => [r.x, r.y, r.w, r.h].every((v) => v % 2 === 0);

describe('crop handles', () => {
  const r = { x: 656, y: 0, w: 608, h: 1080 }; // the default 9:16 crop of 1920x1080

  it('moves inside the source, even', () => {
    expect(movedCrop(r, -101, 40, 1920, 1080)).toEqual({ x: 554, y: 0, w: 608, h: 1080 });
    expect(movedCrop(r, -5000, 0, 1920, 1080).x).toBe(0);
    expect(movedCrop(r, 5000, 0, 1920, 1080).x).toBe(1920 - 608);
  });

  it('resizes from a corner keeping the opposite corner and the output aspect', () => {
    const se = resizedCrop(r, 'se', 656 + 300, 300 / A, A, 1920, 1080);
    expect(se.x).toBe(656);
    expect(se.y).toBe(0);
    expect(se.w).toBe(300);
    // Dragged sideways only, the corner still shrinks the rectangle (aspect kept).
    expect(resizedCrop(r, 'se', 656 + 300, 1080, A, 1920, 1080).w).toBeLessThan(608);
    expect(Math.abs(se.h - se.w / A)).toBeLessThanOrEqual(2);
    const nw = resizedCrop(r, 'nw', 900, 400, A, 1920, 1080);
    expect(nw.x + nw.w).toBe(656 + 608);
    expect(nw.y + nw.h).toBe(1080);
    expect(Math.abs(nw.h - nw.w / A)).toBeLessThanOrEqual(2);
    for (const c of ['nw', 'ne', 'se', 'sw'] as const)
      for (const [px, py] of [[-500, -500], [3000, 3000], [960, 540], [0, 1080]]) {
        const out = resizedCrop(r, c, px!, py!, A, 1920, 1080);
        expect(inside(out, 1920, 1080), `${c} ${px},${py}`).toBe(true);
        expect(evenAll(out)).toBe(true);
        expect(out.w).toBeGreaterThanOrEqual(MIN_CROP);
        expect(Math.abs(out.h - out.w / A)).toBeLessThanOrEqual(2);
      }
  });

  it('zooms about the centre within the source', () => {
    const z = zoomedCrop(r, 0.5, A, 1920, 1080);
    expect(z.w).toBe(304);
    expect(z.h).toBe(540);
    expect(z.x + z.w / 2).toBe(960);
    const big = zoomedCrop(r, 10, A, 1920, 1080);
    expect(big.h).toBe(1080);
    expect(inside(big, 1920, 1080)).toBe(true);
  });
});
