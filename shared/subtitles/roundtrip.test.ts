/**
 * Property: any cue text survives our export and import, in SRT, WebVTT and ASS, with its frames.
 * The texts mix the things that break naive files: "-->" and whole timing lines, digits-only lines
 * (cue numbers), blank and whitespace-only lines (also first and last), tags and override blocks
 * typed as text, character references typed as text, RTL and bidi marks, emoji, random Unicode.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SUBTITLE_STYLE } from '../render-spec/schema.ts';
import { exportSubtitles, importSubtitles, type SubtitleCue } from './formats.ts';
import { parseSrt } from './srt.ts';

const tricky = fc.constantFrom(
  '-->',
  ' --> ',
  'a-->b',
  '- >',
  '-- >',
  '->',
  '－－＞',
  '00:00:01,000 --> 00:00:02,000',
  '00:01.000 --> 00:02.000',
  '１ ００:００:０１，０００ －－＞ ００:００:０２，０００',
  '1',
  '42',
  '１２',
  '<i>',
  '</i>',
  '<b>bold</b>',
  '<font color="red">x</font>',
  '<v Bob>',
  '<c.yellow>',
  '<00:00:01.000>',
  '<br>',
  '{\\an8}',
  '{\\pos(1,2)}',
  '\\N',
  '{',
  '}',
  '&amp;',
  '&lt;',
  '&nbsp;',
  '&#65;',
  '&',
  '<',
  '>',
  '< 3',
  'WEBVTT',
  'NOTE',
  'STYLE',
  '[Events]',
  'مرحبا بالعالم',
  'שלום עולם',
  '\u200f\u200e',
  '😀👍🏽🇺🇦',
  '漢字かな',
  ' ',
  '  ',
  '\t',
);
/** Random Unicode without control characters (the timeline never stores them) and without U+2060, our escape. */
const anyText = fc.string({ unit: 'grapheme', maxLength: 12 }).map((s) => s.replace(/[\u0000-\u0008\u000a-\u001f\u007f\u2060\r]/g, ''));
const line = fc.oneof(tricky, anyText, fc.stringMatching(/^\d{1,5}$/), fc.constant(''));
const cueText = fc.array(fc.array(line, { minLength: 1, maxLength: 3 }).map((parts) => parts.join('')), { minLength: 1, maxLength: 6 }).map((lines) => lines.join('\n'));
const fpsArb = fc.constantFrom({ num: 24, den: 1 }, { num: 25, den: 1 }, { num: 30000, den: 1001 }, { num: 30, den: 1 }, { num: 60000, den: 1001 });
const cuesArb = fc.array(fc.record({ start: fc.integer({ min: 0, max: 2_000_000 }), length: fc.integer({ min: 1, max: 500 }), text: cueText }), { minLength: 1, maxLength: 5 }).map((cs) =>
  cs.map((c) => ({ start: c.start, end: c.start + c.length, text: c.text })).sort((a, b) => a.start - b.start || a.end - b.end),
);

const strip = (cues: SubtitleCue[]) => cues.map(({ start, end, text }) => ({ start, end, text }));
const byStart = (cues: SubtitleCue[]) => [...cues].sort((a, b) => a.start - b.start || a.end - b.end);

describe('export then import keeps every cue text and its frames', () => {
  it('SRT', () => {
    fc.assert(
      fc.property(cuesArb, fpsArb, (cues, fps) => {
        const file = exportSubtitles('srt', cues, { fps });
        const back = importSubtitles(file, { fps, fileName: 'x.srt' });
        expect(back.warnings.filter((w) => !w.note)).toEqual([]);
        expect(strip(back.cues)).toEqual(byStart(cues));
      }),
      { numRuns: 400 },
    );
  });

  it('WebVTT', () => {
    fc.assert(
      fc.property(cuesArb, fpsArb, (cues, fps) => {
        const file = exportSubtitles('vtt', cues, { fps, style: DEFAULT_SUBTITLE_STYLE });
        const back = importSubtitles(file, { fps, fileName: 'x.vtt' });
        expect(back.warnings.filter((w) => !w.note)).toEqual([]);
        expect(strip(back.cues)).toEqual(byStart(cues));
      }),
      { numRuns: 400 },
    );
  });

  it('ASS (tabs become spaces and U+2028/2029 line breaks, as libass shows them)', () => {
    const fps30 = fc.constantFrom({ num: 24, den: 1 }, { num: 25, den: 1 }, { num: 30000, den: 1001 }, { num: 30, den: 1 }, { num: 60, den: 1 });
    fc.assert(
      fc.property(cuesArb, fps30, (cues, fps) => {
        const file = exportSubtitles('ass', cues, { fps, style: DEFAULT_SUBTITLE_STYLE, width: 1080, height: 1920 });
        const back = importSubtitles(file, { fps, outputHeight: 1920 });
        expect(back.warnings.filter((w) => !w.note)).toEqual([]);
        expect(strip(back.cues)).toEqual(byStart(cues).map((c) => ({ ...c, text: c.text.replace(/\t/g, ' ').replace(/[\u2028\u2029]/g, '\n') })));
      }),
      { numRuns: 300 },
    );
  });

  it('styled runs survive SRT and WebVTT', () => {
    const run = fc.record({ text: fc.oneof(tricky, anyText).filter((t) => t.trim() !== ''), bold: fc.boolean(), italic: fc.boolean(), underline: fc.boolean(), color: fc.constantFrom(undefined, '#FF0000', '#FFFF00', '#12AB34') });
    fc.assert(
      fc.property(fc.array(run, { minLength: 1, maxLength: 4 }), (raw) => {
        const runs = raw.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined && v !== false)) as { text: string });
        const cue = { start: 30, end: 60, text: runs.map((r) => r.text).join(''), runs };
        for (const format of ['srt', 'vtt'] as const) {
          const back = importSubtitles(exportSubtitles(format, [cue], { fps: { num: 30, den: 1 } }), { fps: { num: 30, den: 1 }, format });
          expect(back.cues[0]!.text).toBe(cue.text);
          const flat = (rs: { text: string }[] | undefined) => [...(rs ?? [{ text: cue.text }])].flatMap((r) => [...r.text].map((ch) => JSON.stringify({ ...r, text: ch })));
          expect(flat(back.cues[0]!.runs)).toEqual(flat(runs));
        }
      }),
      { numRuns: 200 },
    );
  });

  it('our SRT never produces a line another reader would take for a timing line', () => {
    fc.assert(
      fc.property(cuesArb, (cues) => {
        const file = exportSubtitles('srt', cues, { fps: { num: 25, den: 1 } });
        const timingLines = file.split('\n').filter((l) => /\d+:\d+:\d+[,.]\d+\s*-+\s*>/.test(l) || /-->/.test(l));
        expect(timingLines.length).toBe(cues.length);
        expect(parseSrt(file).cues.length).toBe(cues.length);
      }),
      { numRuns: 200 },
    );
  });
});
