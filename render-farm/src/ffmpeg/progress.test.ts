import { describe, expect, it } from 'vitest';
import { isProgressLine, parseProgressLine } from './progress.ts';

const LINE = 'frame=   45 fps= 30 q=28.0 size=       0kB time=00:00:01.43 bitrate=   0.3kbits/s speed=2.85x    ';

describe('parseProgressLine', () => {
  it('reads frame, fps, percent and eta against the expected frame count', () => {
    expect(parseProgressLine(LINE, 90)).toEqual({ frame: 45, fps: 30, percent: 50, etaSeconds: 1.5 });
  });
  it('leaves percent and eta null when the frame count is unknown', () => {
    expect(parseProgressLine(LINE)).toEqual({ frame: 45, fps: 30, percent: null, etaSeconds: null });
  });
  it('treats fps=0.0 (ffmpeg warming up) as unknown and clamps past-the-end frames', () => {
    expect(parseProgressLine('frame=  120 fps=0.0 q=-1.0 Lsize=  12kB time=00:00:04.00', 100)).toEqual({ frame: 120, fps: null, percent: 100, etaSeconds: null });
  });
  it('ignores other stderr lines', () => {
    expect(parseProgressLine('Stream #0:0: Video: h264, yuv420p, 640x360')).toBeNull();
    expect(isProgressLine(LINE)).toBe(true);
    expect(isProgressLine('[libx264 @ 0x5] frame I:1 Avg QP:20.00')).toBe(false);
  });
});
