import { describe, expect, it } from 'vitest';
import { Annotation, frameAt, showTime, smpte, timeOfFrame } from './annotation';

describe('review timecode', () => {
  it('SMPTE non-drop at integer rates', () => {
    expect(smpte(0, 30)).toBe('00:00:00:00');
    expect(smpte(300, 30)).toBe('00:00:10:00');
    expect(smpte(29, 30)).toBe('00:00:00:29');
    expect(smpte(25 * 3661 + 7, 25)).toBe('01:01:01:07');
    expect(smpte(24 * 60, 24)).toBe('00:01:00:00');
  });
  it('29.97 uses drop-frame: labels ;00 and ;01 are skipped each minute except every tenth', () => {
    const fps = 30000 / 1001;
    expect(smpte(1799, fps)).toBe('00:00:59;29');
    expect(smpte(1800, fps)).toBe('00:01:00;02');
    expect(smpte(17981, fps)).toBe('00:09:59;29');
    expect(smpte(17982, fps)).toBe('00:10:00;00');
    // one hour of 29.97 frames is exactly 01:00:00;00 on the wall clock
    expect(smpte(107892, fps)).toBe('01:00:00;00');
  });
  it('frame display mode and frame/time round trip', () => {
    expect(showTime(45, 30, 'frames')).toBe('f45');
    for (const fps of [24, 25, 30, 30000 / 1001, 60]) for (const f of [0, 1, 45, 299, 300, 12345]) expect(frameAt(timeOfFrame(f, fps), fps)).toBe(f);
  });
  it('shapes accept an optional stroke width within bounds', () => {
    expect(Annotation.safeParse({ shapes: [{ kind: 'rect', color: '#ffcc00', width: 12, from: { x: 0, y: 0 }, to: { x: 1, y: 1 } }] }).success).toBe(true);
    expect(Annotation.safeParse({ shapes: [{ kind: 'rect', color: '#ffcc00', width: 500, from: { x: 0, y: 0 }, to: { x: 1, y: 1 } }] }).success).toBe(false);
  });
});
