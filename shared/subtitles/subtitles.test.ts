import { describe, expect, it } from 'vitest';
import { SUBTITLE_CORPUS } from '../../tests/support/subtitle-corpus.ts';
import { convertSubtitles, exportSubtitles, importSubtitles, importSubtitlesOrThrow, parseSubtitleFile, SubtitleParseError } from './formats.ts';
import { parseWebVtt } from './webvtt.ts';
import { parseAss } from './ass-file.ts';
import { assColor, assTime, buildAss, escapeAssText } from './ass.ts';
import { buildTextLayerAss } from './text-layer.ts';
import { DEFAULT_SUBTITLE_STYLE, DEFAULT_TEXT_STYLE, RenderSpec } from '../render-spec/schema.ts';

const fps30 = { num: 30, den: 1 };
const ntsc = { num: 30000, den: 1001 };

describe('the subtitle corpus', () => {
  for (const c of SUBTITLE_CORPUS) {
    it(c.name, () => {
      const parsed = parseSubtitleFile(c.text, { fileName: c.fileName, outputHeight: 1080 });
      expect(parsed.format).toBe(c.format);
      const got = parsed.cues.map((q) => [q.startMs, q.endMs, q.runs.map((r) => r.text).join('')]).sort((x, y) => (x[0] as number) - (y[0] as number));
      expect(got).toEqual([...c.cues].sort((x, y) => x[0] - y[0]));
      const problems = parsed.warnings.filter((w) => !w.note).sort((x, y) => x.line - y.line);
      expect(problems.map((w) => w.line)).toEqual(c.warnings.map((w) => w[0]));
      problems.forEach((w, i) => expect(w.message).toMatch(c.warnings[i]![1]));
    });
  }
});

describe('timeline import', () => {
  it('takes the frame that contains each SRT/WebVTT time (floor, 1e-6 tolerance), at least one frame long', () => {
    const srt = '1\n00:00:01,033 --> 00:00:01,034\na\n\n2\n00:00:00,034 --> 00:00:00,067\nb\n\n3\n00:00:00,100 --> 00:00:00,200\nx\n';
    expect(importSubtitles(srt, { fps: fps30 }).cues).toEqual([
      { start: 1, end: 2, text: 'b' },
      { start: 3, end: 6, text: 'x' },
      { start: 30, end: 31, text: 'a' },
    ]);
  });

  it('ASS times round up to the first frame libass shows them on', () => {
    const ass = '[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\nDialogue: 0,0:00:00.02,0:00:01.48,Default,,0,0,0,,x\n';
    expect(importSubtitles(ass, { fps: fps30 }).cues).toEqual([{ start: 1, end: 45, text: 'x' }]);
  });

  it('keeps styling and positions on the cues, with notes that the timeline flattens them', () => {
    const r = importSubtitles('1\n00:00:01,000 --> 00:00:02,000\n{\\an8}<i>hi</i> there\n', { fps: fps30 });
    expect(r.cues).toEqual([{ start: 30, end: 60, text: 'hi there', runs: [{ text: 'hi', italic: true }, { text: ' there' }], position: 'top' }]);
    expect(r.warnings.map((w) => [w.line, w.note])).toEqual([
      [2, true],
      [2, true],
    ]);
  });

  it('maps the main ASS style onto ours, scaled from PlayResY to the output height', () => {
    const c = SUBTITLE_CORPUS.find((x) => x.fileName === 'episode.ass')!;
    const r = parseAss(c.text, { outputHeight: 1080 });
    expect(r.styleName).toBe('Default');
    expect(r.style).toEqual({ fontFamily: 'DejaVu Sans', fontSize: 72, color: '#FFFF00', outlineColor: '#101010', boxColor: '#0000007F', outlineWidth: 6, box: false, position: 'bottom', marginV: 90, bold: true });
    const old = parseAss(SUBTITLE_CORPUS.find((x) => x.fileName === 'old.ssa')!.text, { outputHeight: 480 });
    expect(old.style).toMatchObject({ fontSize: 32, color: '#FFFFFF', position: 'top', bold: true });
    expect(old.warnings.find((w) => /Tahoma/.test(w.message))?.note).toBe(true);
  });

  it('maps a WebVTT ::cue rule onto our style and class colours onto runs', () => {
    const c = SUBTITLE_CORPUS.find((x) => x.fileName === 'blocks.vtt')!;
    const r = parseWebVtt(c.text);
    expect(r.style).toEqual({ color: '#FFFF00', box: true, boxColor: '#00000099', fontFamily: 'DejaVu Sans' });
    expect(r.cues[1]!.runs).toEqual([{ text: 'LOUD', color: '#FF8800' }]);
    expect(r.cues[1]!.id).toBe('intro');
  });

  it('caps cue text at the timeline limit with a note', () => {
    const r = importSubtitles(`1\n00:00:01,000 --> 00:00:02,000\n${'x'.repeat(2500)}\n`, { fps: fps30 });
    expect(r.cues[0]!.text).toHaveLength(2000);
    expect(r.warnings[0]!.message).toMatch(/2000 characters/);
  });

  it('importSubtitlesOrThrow names the first problem when nothing imports', () => {
    expect(() => importSubtitlesOrThrow('1\n00:00:01,000 --> nope\nx\n', { fps: fps30 })).toThrow(SubtitleParseError);
    expect(() => importSubtitlesOrThrow('WEBVTT\n\n00:01,000 --> 00:02.000\nx\n', { fps: fps30 })).toThrow(/line 3: cue skipped/);
  });
});

describe('export', () => {
  it('SRT: ms rounded up so that reading back gives the same frames; structure-like text broken with a word joiner', () => {
    const cues = [
      { start: 1, end: 2, text: 'a' },
      { start: 299, end: 1000, text: '2\n00:00:01,000 --> 00:00:02,000\n\n<i>x</i> {\\an8}' },
    ];
    expect(exportSubtitles('srt', cues, { fps: ntsc })).toBe(
      '1\n00:00:00,034 --> 00:00:00,067\na\n\n2\n00:00:09,977 --> 00:00:33,367\n2\n00:00:01,000 --\u2060> 00:00:02,000\n\u2060\n<\u2060i>x<\u2060/i> {\u2060\\an8}\n',
    );
  });

  it('WebVTT: entities escaped, the project style in a STYLE block, the position as a cue setting', () => {
    expect(exportSubtitles('vtt', [{ start: 30, end: 45, text: 'a < b & c --> d' }], { fps: fps30, style: { ...DEFAULT_SUBTITLE_STYLE, position: 'top', box: true } })).toBe(
      'WEBVTT\n\nSTYLE\n::cue {\n  color: #FFFFFF;\n  font-family: "DejaVu Sans", sans-serif;\n  font-weight: bold;\n  background-color: rgba(0, 0, 0, 0.6);\n}\n\n00:00:01.000 --> 00:00:01.500 line:0\na &lt; b &amp; c --&gt; d\n',
    );
  });

  it('round-trips frames exactly at 24, 25, 29.97, 30 and 59.94 fps in all three formats', () => {
    const cues = Array.from({ length: 200 }, (_, i) => ({ start: i * 7 + 1, end: i * 7 + 4 + (i % 5), text: `cue ${i}` }));
    const sorted = [...cues].sort((a, b) => a.start - b.start);
    for (const fps of [{ num: 24, den: 1 }, { num: 25, den: 1 }, ntsc, fps30, { num: 60000, den: 1001 }]) {
      for (const format of ['srt', 'vtt', 'ass'] as const) {
        const file = exportSubtitles(format, cues, { fps, style: DEFAULT_SUBTITLE_STYLE, width: 1080, height: 1920 });
        expect(importSubtitles(file, { fps }).cues).toEqual(sorted);
      }
    }
  });

  it('conversions keep the styling each target can carry (VTT markup -> SRT tags -> ASS overrides)', () => {
    const vtt = 'WEBVTT\n\n00:01.000 --> 00:02.000 line:0\n<i>it</i> <b>bold</b> <u>u</u> <c.yellow>yellow</c>\n';
    const srt = convertSubtitles(vtt, 'srt').text;
    expect(srt).toBe('1\n00:00:01,000 --> 00:00:02,000\n{\\an8}<i>it</i> <b>bold</b> <u>u</u> <font color="#FFFF00">yellow</font>\n');
    const ass = convertSubtitles(srt, 'ass', { style: { ...DEFAULT_SUBTITLE_STYLE, bold: false }, width: 1080, height: 1920 }).text;
    expect(ass).toContain('Dialogue: 0,0:00:01.00,0:00:02.00,Default,,0,0,0,,{\\an8}{\\i1}it{\\i0} {\\b1}bold{\\b0} {\\u1}u{\\u0} {\\c&H00FFFF&}yellow');
    const back = parseSubtitleFile(ass, { outputHeight: 1920 });
    expect(back.cues[0]!.runs).toEqual([{ text: 'it', italic: true }, { text: ' ' }, { text: 'bold', bold: true }, { text: ' ' }, { text: 'u', underline: true }, { text: ' ' }, { text: 'yellow', color: '#FFFF00' }]);
    expect(back.cues[0]!.position).toBe('top');
    expect(convertSubtitles(srt, 'vtt').text).toBe('WEBVTT\n\n00:00:01.000 --> 00:00:02.000 line:0\n<i>it</i> <b>bold</b> <u>u</u> <c.yellow>yellow</c>\n');
  });
});

describe('ASS', () => {
  it('escapes user text so no override tag, escape or line break can form', () => {
    expect(escapeAssText('{\\pos(0,0)}hi\\N\nthere')).toBe('\\{\\\u2060pos(0,0)\\}hi\\\u2060N\\Nthere');
    expect(escapeAssText('a\u0000b\u0007c\td\r\ne\u2028f')).toBe('abc d\\Ne\\Nf');
    expect(escapeAssText("[a];b:c,'d' % 😀 مرحبا")).toBe("[a];b:c,'d' % 😀 مرحبا");
  });

  it('converts #RRGGBB[AA] to &HAABBGGRR (opacity -> transparency)', () => {
    expect(assColor('#FF8000')).toBe('&H000080FF');
    expect(assColor('#00000099')).toBe('&H66000000');
    expect(assColor('#12345600')).toBe('&HFF563412');
  });

  it('places every frame boundary at the centisecond nearest the midpoint before that frame', () => {
    expect(assTime(0, fps30)).toBe('0:00:00.00');
    expect(assTime(1, fps30)).toBe('0:00:00.02'); // frame 1 is at 33.3 ms, frame 0 at 0
    expect(assTime(45, fps30)).toBe('0:00:01.48'); // frame 45 at 1.5 s
    expect(assTime(108000, fps30)).toBe('0:59:59.98');
    expect(assTime(1, ntsc)).toBe('0:00:00.02');
    expect(assTime(30, ntsc)).toBe('0:00:00.98'); // frame 30 at 1001 ms
  });

  it('shows a cue [s, e) on frames s..e-1 only, with 3 ms to spare, up to 60 fps', () => {
    const ms = (t: string) => {
      const [h, m, s] = t.split(':') as [string, string, string];
      return (Number(h) * 3600 + Number(m) * 60) * 1000 + Math.round(Number(s) * 1000);
    };
    for (const fps of [{ num: 24, den: 1 }, { num: 25, den: 1 }, ntsc, fps30, { num: 50, den: 1 }, { num: 60000, den: 1001 }, { num: 60, den: 1 }]) {
      for (let f = 1; f < 5000; f++) {
        const boundary = ms(assTime(f, fps));
        const frameMs = (n: number) => (n * 1000 * fps.den) / fps.num;
        expect(boundary).toBeGreaterThan(frameMs(f - 1) + 3);
        expect(boundary).toBeLessThan(frameMs(f) - 3);
      }
    }
  });

  it('writes one style and one event per cue, in output pixels (text clips have their own scripts)', () => {
    const spec = RenderSpec.parse({
      version: 2,
      output: { width: 1080, height: 1920, fps: fps30, durationFrames: 90, video: { codec: 'h264', crf: 20, preset: 'veryfast' }, audio: { codec: 'aac', bitrateKbps: 192, sampleRate: 48000, loudness: null }, gop: 60 },
      sources: [],
      tracks: [{ id: 'v1', kind: 'video', name: '', muted: false, solo: false, hidden: false, locked: false, ducking: null }],
      clips: [],
      subtitles: {
        style: { ...DEFAULT_SUBTITLE_STYLE, box: true, position: 'top', marginV: 100, bold: false },
        cues: [
          { id: 'a', start: 0, end: 30, text: 'Hello\n{world}' },
          { id: 'b', start: 30, end: 45, text: '   ' },
        ],
      },
    });
    expect(buildAss(spec)).toBe(
      [
        '[Script Info]',
        '; Generated by ClipMaker',
        'ScriptType: v4.00+',
        'PlayResX: 1080',
        'PlayResY: 1920',
        'WrapStyle: 0',
        'ScaledBorderAndShadow: yes',
        'YCbCr Matrix: TV.709',
        '',
        '[V4+ Styles]',
        'Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding',
        'Style: Cue,DejaVu Sans,64,&H00FFFFFF,&H00FFFFFF,&H66000000,&H66000000,0,0,0,0,100,100,0,0,3,4,0,8,40,40,100,1',
        '',
        '[Events]',
        'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
        'Dialogue: 0,0:00:00.00,0:00:00.98,Cue,,0,0,0,,Hello\\N\\{world\\}',
        '',
      ].join('\n'),
    );
  });
});

describe('text layer scripts', () => {
  const clip = {
    kind: 'text' as const,
    id: 't',
    trackId: 'v2',
    start: 0,
    duration: 10,
    transition: null,
    text: 'Hi {\\pos(0,0)} there',
    style: { ...DEFAULT_TEXT_STYLE, fontFamily: 'Cairo', align: 'right' as const, verticalAlign: 'bottom' as const, strokeWidth: 3, shadowDepth: 2, boxColor: '#112233CC', boxPadding: 10 },
    box: { width: 0.5, height: 0.2 },
    transform: [],
    animIn: { kind: 'typewriter' as const, duration: 4, direction: 'left' as const },
    animOut: { kind: 'none' as const, duration: 4, direction: 'left' as const },
  };

  it('box size as PlayRes, greedy wrapping, alignment, stroke + shadow + background box at once, escaped text', () => {
    const ass = buildTextLayerAss(clip, { w: 540, h: 384 }, fps30, 10, () => null);
    expect(ass).toContain('PlayResX: 540\nPlayResY: 384\nWrapStyle: 1');
    expect(ass).toContain('Style: Text,Cairo,72,&H00FFFFFF,&H00FFFFFF,&H00000000,&H7F000000,-1,0,0,0,100,100,0,0,1,3,2,3,0,0,0,1');
    expect(ass).toContain('Style: Box,Cairo,72,&HFF000000,&HFF000000,&H33332211,&H33332211,-1,0,0,0,100,100,0,0,3,10,0,3,0,0,0,1');
    expect(ass).toContain('Dialogue: 1,0:00:00.00,0:00:00.32,Text,,0,0,0,,Hi \\{\\\u2060pos(0,0)\\} there');
  });

  it('typewriter: one event per frame while typing, the untyped rest invisible so the layout never moves', () => {
    const ass = buildTextLayerAss(clip, { w: 540, h: 384 }, fps30, 10, (u) => (u < 4 ? [5, 10, 15, 18][u]! : null));
    const text = ass.split('\n').filter((l) => l.startsWith('Dialogue: 1'));
    expect(text).toHaveLength(5);
    expect(text[0]).toBe('Dialogue: 1,0:00:00.00,0:00:00.02,Text,,0,0,0,,Hi \\{\\\u2060{\\alpha&HFF&}pos(0,0)\\} there');
  });
});
