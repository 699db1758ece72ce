import { describe, expect, it } from 'vitest';
import { framesForPixels, nearest, snapEdge, snapMove, snapTargets } from './snapping';

describe('snapping', () => {
  const spans = [
    { id: 'a', start: 0, end: 60 },
    { id: 'b', start: 90, end: 150 },
  ];

  it('collects 0, the playhead and the edges of the spans not being moved, sorted and unique', () => {
    expect(snapTargets(spans, 75, new Set(['b']))).toEqual([0, 60, 75]);
    expect(snapTargets(spans, 60)).toEqual([0, 60, 90, 150]);
  });

  it('finds the nearest target within the threshold only', () => {
    expect(nearest(63, [0, 60, 90], 5)).toBe(60);
    expect(nearest(70, [0, 60, 90], 5)).toBeNull();
    expect(nearest(75, [70, 78], 5)).toBe(78);
  });

  it('snaps the start edge of a moved span', () => {
    expect(snapMove(62, 30, [0, 60, 150], 4)).toEqual({ start: 60, snappedTo: 60 });
  });

  it('snaps the end edge when it is the closer one', () => {
    // end at 148 is 2 from 150; start 118 is far from everything
    expect(snapMove(118, 30, [0, 60, 150], 4)).toEqual({ start: 120, snappedTo: 150 });
  });

  it('prefers the start edge on a tie and rounds when nothing is near', () => {
    expect(snapMove(62, 86, [60, 150], 2)).toEqual({ start: 60, snappedTo: 60 });
    expect(snapMove(33.4, 10, [0, 100], 2)).toEqual({ start: 33, snappedTo: null });
  });

  it('never snaps to a negative start', () => {
    expect(snapMove(-3, 10, [0], 1)).toEqual({ start: 0, snappedTo: null });
  });

  it('snaps a single edge and converts a pixel threshold to frames at the zoom', () => {
    expect(snapEdge(88.6, [90], 2)).toBe(90);
    expect(snapEdge(80.4, [90], 2)).toBe(80);
    expect(framesForPixels(8, 4)).toBe(2);
  });
});
