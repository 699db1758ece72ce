import { describe, expect, it } from 'vitest';
import { PlaybackClock, shuttle } from './playback';

describe('J/K/L shuttle', () => {
  it('L plays forward and doubles up to 8x, J the same backwards, K stops', () => {
    expect(shuttle(0, 'l')).toBe(1);
    expect(shuttle(1, 'l')).toBe(2);
    expect(shuttle(8, 'l')).toBe(8);
    expect(shuttle(2, 'j')).toBe(-1);
    expect(shuttle(-1, 'j')).toBe(-2);
    expect(shuttle(-4, 'l')).toBe(1);
    expect(shuttle(4, 'k')).toBe(0);
  });
});

describe('PlaybackClock', () => {
  it('advances in whole frames at the rate and holds when paused', () => {
    let t = 1000;
    const c = new PlaybackClock(() => t);
    c.fps = 30;
    c.play(10, 1);
    t += 1000;
    expect(c.frame()).toBe(40);
    c.play(c.frame(), -2);
    t += 500;
    expect(c.frame()).toBe(10);
    c.pause(12);
    t += 5000;
    expect(c.frame()).toBe(12);
  });

  it('clamps to the timeline', () => {
    let t = 0;
    const c = new PlaybackClock(() => t);
    c.fps = 30;
    c.play(5, -1);
    t += 1000;
    expect(c.frame(100)).toBe(0);
    c.play(95, 4);
    t += 1000;
    expect(c.frame(100)).toBe(99);
  });

  it('seek keeps the rate', () => {
    let t = 0;
    const c = new PlaybackClock(() => t);
    c.fps = 25;
    c.play(0, 1);
    c.seek(50);
    t += 400;
    expect(c.frame()).toBe(60);
    expect(c.playing).toBe(true);
  });
});
