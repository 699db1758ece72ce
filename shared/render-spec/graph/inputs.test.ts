import { describe, expect, it } from 'vitest';
import { containerSeconds, previewMediaSeconds, VFR_TOLERANCE_US } from './inputs.ts';
import { videoSource } from '../fixtures.ts';

const fps30 = { num: 30, den: 1 };

describe('previewMediaSeconds: the <video> time that shows source frame N', () => {
  it('is the middle of the frame for CFR, after the video stream starts', () => {
    expect(previewMediaSeconds({ vfr: false, videoStartUs: 0 }, 45, fps30)).toBeCloseTo(45.5 / 30, 9);
    // Video delayed 0.2 s; an MP4 without edit list whose frame grid starts 21.354 ms in.
    expect(previewMediaSeconds({ vfr: false, videoStartUs: 200_000 }, 45, fps30)).toBeCloseTo(0.2 + 45.5 / 30, 9);
    expect(previewMediaSeconds({ vfr: false, videoStartUs: 21_354 }, 0, fps30)).toBeCloseTo(0.021354 + 0.5 / 30, 9);
    expect(previewMediaSeconds({ vfr: false, videoStartUs: 0 }, 24, { num: 24000, den: 1001 })).toBeCloseTo((24.5 * 1001) / 24000, 9);
  });

  it('is N / fps plus the tolerance for VFR (the frame displayed then), after the first frame', () => {
    expect(previewMediaSeconds({ vfr: true, videoStartUs: 0 }, 30, fps30)).toBeCloseTo(1 + VFR_TOLERANCE_US / 1e6, 9);
    expect(previewMediaSeconds({ vfr: true, videoStartUs: 100_000 }, 30, fps30)).toBeCloseTo(1.1 + VFR_TOLERANCE_US / 1e6, 9);
  });

  it('lands inside the interval of the frame the farm opens for the same source time', () => {
    const src = { ...videoSource('s', 'a/s.ts', { width: 160, height: 96, frames: 90, hasAudio: true }), videoStartUs: 21_333 };
    for (const n of [0, 1, 20, 45, 89]) {
      // Frame n of the stream is presented from containerSeconds(n / fps) until the next frame.
      const start = containerSeconds(src, n / 30);
      const t = previewMediaSeconds(src, n, fps30);
      expect(t).toBeGreaterThan(start);
      expect(t).toBeLessThan(containerSeconds(src, (n + 1) / 30));
    }
  });
});
