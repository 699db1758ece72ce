import { describe, expect, it } from 'vitest';
import { DEFAULT_SUBTITLE_STYLE, DEFAULT_TEXT_STYLE } from '@clipmaker/shared/render-spec';
import { ASCENT_OF_LINE, layoutText, subtitleLayout, wordCaptionLayout } from './preview-geometry';

/** A monospace stand-in for canvas text measuring: 10 px per character at any size. */
const measure = (t: string) => t.length * 10;

describe('preview geometry', () => {
  it('lays subtitles out like libass: bottom margin on the glyph box, outline outside it', () => {
    const L = subtitleLayout({ ...DEFAULT_SUBTITLE_STYLE, fontSize: 64, outlineWidth: 3, marginV: 160, position: 'bottom' }, 1080, 1920);
    expect(L.y).toBe(1920 - 160 + 3);
    expect(L.anchorY).toBe(1);
    expect(L.strokeWidth).toBe(6);
    expect(L.lineHeight).toBe(64);
    expect(L.cssFontSize).toBeCloseTo((64 * 2048) / 2384, 6);
    expect(L.wrapWidth).toBe(1000);
    const boxed = subtitleLayout({ ...DEFAULT_SUBTITLE_STYLE, box: true, outlineWidth: 2, position: 'top', marginV: 50 }, 1080, 1920);
    expect(boxed).toMatchObject({ y: 50, anchorY: 0, strokeWidth: 0, boxPadding: 4 });
  });

  it('lays a text clip out like libass: greedy wrap at spaces in the box, newlines, alignment, line height = font size', () => {
    const style = { ...DEFAULT_TEXT_STYLE, fontFamily: 'Inter', fontSize: 40, align: 'right' as const, verticalAlign: 'middle' as const, strokeWidth: 2 };
    const L = layoutText('aaaa bbbb cccc\nd', style, 100, 400, measure);
    expect(L.lines.map((l) => [l.text, l.x, l.top, l.consumed])).toEqual([
      ['aaaa bbbb', 10, 140, 1],
      ['cccc', 60, 180, 1],
      ['d', 90, 220, 0],
    ]);
    expect(L.lines[0]!.baseline).toBeCloseTo(140 + (40 * 2269) / (2269 + 660), 9);
    expect(L.style).toMatchObject({ fontSize: (40 * 2048) / (2269 + 660), lineHeight: 40, stroke: { width: 4 } });
    // a word longer than the box stays whole (libass never breaks inside a word)
    expect(layoutText('supercalifragilistic', style, 50, 100, measure).lines).toHaveLength(1);
  });

  it('word captions: centred per line, the scaled word widens its line, a too-wide line wraps evenly (libass WrapStyle 0)', () => {
    const style = { ...DEFAULT_SUBTITLE_STYLE, fontSize: 40, marginV: 100, position: 'bottom' as const };
    const words = [{ text: 'aaaa', line: 0, scale: 1 }, { text: 'bb', line: 0, scale: 1.5 }, { text: 'cc', line: 1, scale: 1 }];
    const boxes = wordCaptionLayout(words, style, 400, 600, measure, 10);
    // Line 0: 40 + 10 + 20 * 1.5 = 80 wide, centred on 200; the scaled word's advance is scaled too.
    expect(boxes.map((b) => b.x)).toEqual([160, 210, 190]);
    // Line 0 is as tall as its 150 % word; lines stack without gaps above the bottom margin.
    const asc = ASCENT_OF_LINE * 40;
    expect(boxes[0]!.baseline).toBeCloseTo(600 - 100 - 40 * 1.5 - 40 + asc * 1.5, 9);
    expect(boxes[2]!.baseline).toBeCloseTo(600 - 100 - 40 + asc, 9);
    expect(boxes[1]!.baseline).toBe(boxes[0]!.baseline);
    // 5 words of 70 px in 400 - 80 = 320 px: greedy gives 4 + 1, evened to 3 + 2 (never inside a word).
    const long = Array.from({ length: 5 }, () => ({ text: 'x'.repeat(7), line: 0, scale: 1 }));
    const wrapped = wordCaptionLayout(long, style, 400, 600, measure, 10);
    const rows = [...new Set(wrapped.map((b) => b.baseline))];
    expect(rows).toHaveLength(2);
    expect(wrapped.filter((b) => b.baseline === rows[0]).length).toBe(3);
    expect(wrapped[0]!.x).toBe(200 - (3 * 70 + 2 * 10) / 2);
    expect(wrapped[3]!.x).toBe(200 - (2 * 70 + 10) / 2);
  });
});
