import { describe, expect, it } from 'vitest';
import { buildAss } from '../subtitles/ass.ts';
import { RenderSpec } from '../render-spec/schema.ts';
import { specOf, track } from '../render-spec/fixtures.ts';
const minimalSpec = () => specOf({ width: 320, height: 240, durationFrames: 50, sources: [], tracks: [track('v')], clips: [] });
import { activeWordScale, buildCues, breakLines, captionAt, captionSegments, popDurationMs, transcriptToCues, wordErrorRate, WORD_STYLE_PRESETS, scriptWords, isLowConfidence, LOW_CONFIDENCE } from './index.ts';

const w = (text: string, start: number, end: number) => ({ text, start, end });

describe('cue builder rules', () => {
  it('breaks at sentence punctuation and pauses over 300 ms, never inside a word', () => {
    const words = [w('Hello', 0, 300), w('world.', 320, 700), w('This', 760, 900), w('is', 920, 1000), w('fine', 1400, 1800)];
    const cues = buildCues(words);
    expect(cues.map((c) => c.lines.join(' '))).toEqual(['Hello world.', 'This is', 'fine']);
    // Minimum 0.8 s on screen, extended only into the silence before the next cue.
    expect(cues[0]!.end).toBe(760);
    expect(cues[1]!.end).toBe(1400);
    expect(cues[2]!.end).toBe(2200);
  });

  it('keeps lines within 42 chars, at most 2 lines, at most 7 s', () => {
    const words = Array.from({ length: 60 }, (_, i) => w(i % 7 === 0 ? 'extraordinarily' : 'word', i * 250, i * 250 + 200));
    const cues = buildCues(words);
    for (const c of cues) {
      expect(c.lines.length).toBeLessThanOrEqual(2);
      for (const l of c.lines) expect(l.length).toBeLessThanOrEqual(42);
      expect(words[c.to - 1]!.end - words[c.from]!.start).toBeLessThanOrEqual(7000);
    }
    expect(cues.flatMap((c) => c.lines.join(' ').split(' '))).toEqual(words.map((x) => x.text));
    expect(breakLines(['a'.repeat(50), 'b'], 42)).toEqual(['a'.repeat(50), 'b']);
  });

  it('social presets hold one to three words', () => {
    const words = 'one two three four five six seven'.split(' ').map((t, i) => w(t, i * 200, i * 200 + 180));
    expect(buildCues(words, 'one-word').map((c) => c.to - c.from)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect(buildCues(words, 'three-words').map((c) => c.to - c.from)).toEqual([3, 3, 1]);
  });
});

describe('low-confidence words', () => {
  it('transcriptToCues flags words below LOW_CONFIDENCE (low: true) and stores nothing for the others', () => {
    const words = [{ ...w('make', 0, 400), confidence: 0.2 }, { ...w('it', 400, 600), confidence: LOW_CONFIDENCE }, { ...w('pop', 600, 1200), confidence: 1 }, w('now', 1200, 1500)];
    const cues = transcriptToCues(words, { fps: { num: 30, den: 1 }, rules: 'three-words' });
    expect(cues.flatMap((c) => c.words)).toEqual([{ start: 0, end: 12, low: true }, { start: 12, end: 18 }, { start: 18, end: 36 }, { start: 36, end: 45 }]);
    expect(isLowConfidence({ confidence: 0.49 })).toBe(true);
    expect(isLowConfidence({ confidence: 0.5 })).toBe(false);
    expect(isLowConfidence({})).toBe(false);
  });
});

describe('word styles', () => {
  const fps = { num: 25, den: 1 };
  const cues = transcriptToCues([w('make', 0, 400), w('it', 400, 600), w('pop', 600, 1200)], { fps, rules: 'three-words' });

  it('transcript -> cues with per-word frames', () => {
    expect(cues).toHaveLength(1);
    expect(cues[0]).toMatchObject({ start: 0, end: 30, text: 'make it pop', words: [{ start: 0, end: 10 }, { start: 10, end: 15 }, { start: 15, end: 30 }] });
  });

  it('the active word changes exactly at word starts', () => {
    const ws = WORD_STYLE_PRESETS.karaoke;
    expect(captionSegments(cues[0]!, ws).map((s) => [s.start, s.end])).toEqual([[0, 10], [10, 15], [15, 30]]);
    expect(captionAt(cues[0]!, ws, 12)!.words.map((x) => x.state)).toEqual(['spoken', 'active', 'pending']);
    expect(captionAt(cues[0]!, ws, 30)).toBeNull();
  });

  it('buildAss emits one event per word with escaped text and highlight tags', () => {
    const spec = minimalSpec();
    spec.output.fps = fps;
    spec.subtitles.cues = [{ ...cues[0]!, text: 'make {\\pos(0,0)} pop', words: cues[0]!.words }];
    spec.subtitles.wordStyle = WORD_STYLE_PRESETS.box;
    expect(RenderSpec.safeParse(spec).success).toBe(true);
    const ass = buildAss(spec);
    const events = ass.split('\n').filter((l) => l.startsWith('Dialogue:'));
    expect(events).toHaveLength(3);
    expect(events[1]).toContain('MAKE {\\1c&HFFFFFF&\\3c&HED3A7C&');
    expect(events[1]).toContain('\\{\\\u2060POS(0,0)\\}');
    expect(events[1]).not.toContain('{\\pos');
  });

  it('the pop-in: whole 10 ms steps, 70 % on the first frame, activeScale once popped; no pop = activeScale', () => {
    expect(popDurationMs({ popMs: 0 })).toBe(10);
    expect(popDurationMs({ popMs: 124 })).toBe(120);
    expect(popDurationMs({ popMs: 125 })).toBe(130);
    const pop = { popMs: 120, activeScale: 130 };
    expect(activeWordScale(pop, -5)).toBeCloseTo(0.7, 9);
    expect(activeWordScale(pop, 0)).toBeCloseTo(0.7, 9);
    expect(activeWordScale(pop, 60)).toBeCloseTo(1.0, 9);
    expect(activeWordScale(pop, 120)).toBeCloseTo(1.3, 9);
    expect(activeWordScale(pop, 5000)).toBeCloseTo(1.3, 9);
    expect(activeWordScale({ popMs: 0, activeScale: 115 }, 0)).toBeCloseTo(1.15, 9);
  });

  it('buildAss starts the pop on the word\'s first frame, not at the event\'s (earlier) start', () => {
    const spec = minimalSpec();
    spec.output.fps = fps;
    spec.subtitles.cues = [cues[0]!];
    spec.subtitles.wordStyle = { ...WORD_STYLE_PRESETS.karaoke, popMs: 120, activeScale: 125 };
    const events = buildAss(spec).split('\n').filter((l) => l.startsWith('Dialogue:'));
    expect(events).toHaveLength(3);
    for (const e of events) {
      // Event start (h:mm:ss.cc) + the \t offset = the word's first frame in whole ms (frame 10 = 400 ms at 25 fps).
      const [, start] = /^Dialogue: 0,(\d+:\d\d:\d\d\.\d\d),/.exec(e)!;
      const [h, m, sec] = start!.split(':').map(Number) as [number, number, number];
      const startMs = Math.round((h * 3600 + m * 60 + sec) * 1000);
      const [, t0, t1] = /\\t\((\d+),(\d+),\\fscx125\\fscy125\)/.exec(e)!.map(Number) as [number, number, number];
      expect(t1! - t0!).toBe(120);
      expect([0, 400, 600]).toContain(startMs + t0!);
    }
  });

  it('the spec rejects word timings that do not match the cue words', () => {
    const spec = minimalSpec();
    spec.subtitles.cues = [{ id: 'c', start: 0, end: 10, text: 'two words', words: [{ start: 0, end: 5 }] }];
    const r = RenderSpec.safeParse(spec);
    expect(r.success).toBe(false);
    expect(JSON.stringify(r.error?.issues)).toContain('2 words but 1 word timings');
  });
});

describe('transcript helpers', () => {
  it('WER and script words', () => {
    expect(wordErrorRate(['the', 'cat', 'sat'], ['the', 'cat', 'sat'])).toBe(0);
    expect(wordErrorRate(['the', 'cat', 'sat'], ['a', 'cat'])).toBeCloseTo(2 / 3);
    expect(scriptWords('Hello, world!\n  It’s me.')).toEqual(['Hello,', 'world!', 'It’s', 'me.']);
  });
});
