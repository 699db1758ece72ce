/**
 * Playback clock and J/K/L shuttle. The clock is the master during playback: the preview asks it
 * for the frame at "now" and makes the video elements follow (seeking when they drift), so clips,
 * gaps and reverse shuttle all play the same way. Pure apart from the injected time source.
 */

export const SHUTTLE_MAX = 8;

/** Next rate after a J, K or L press (NLE convention: repeated L/J double the speed, K stops). */
export function shuttle(rate: number, key: 'j' | 'k' | 'l'): number {
  if (key === 'k') return 0;
  if (key === 'l') return rate <= 0 ? 1 : Math.min(rate * 2, SHUTTLE_MAX);
  return rate >= 0 ? -1 : Math.max(rate * 2, -SHUTTLE_MAX);
}

export class PlaybackClock {
  /** Frames per second of the timeline. */
  fps = 30;
  /** 0 = paused; negative plays backwards. */
  rate = 0;
  private anchorFrame = 0;
  private anchorMs = 0;

  constructor(private readonly now: () => number = () => performance.now()) {}

  get playing(): boolean {
    return this.rate !== 0;
  }

  /** Timeline frame at this instant (integer), clamped to [0, end - 1] when end is given. */
  frame(end?: number): number {
    const f = this.rate === 0 ? this.anchorFrame : Math.floor(this.anchorFrame + ((this.now() - this.anchorMs) / 1000) * this.fps * this.rate + 1e-6);
    const max = end === undefined ? Infinity : Math.max(0, end - 1);
    return Math.max(0, Math.min(max, f));
  }

  /** Starts (or changes speed) from a frame. */
  play(fromFrame: number, rate: number): void {
    this.anchorFrame = fromFrame;
    this.anchorMs = this.now();
    this.rate = rate;
  }

  /** Stops on a frame (the frame stays the playhead). */
  pause(atFrame: number): void {
    this.anchorFrame = atFrame;
    this.anchorMs = this.now();
    this.rate = 0;
  }

  /** Moves the playhead while keeping the current rate (scrubbing during playback). */
  seek(frame: number): void {
    this.anchorFrame = frame;
    this.anchorMs = this.now();
  }
}
