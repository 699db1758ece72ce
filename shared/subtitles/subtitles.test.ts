import { describe, expect, it } from 'vitest';
import { parseSrt, parseVtt, serializeSrt, serializeVtt, SubtitleParseError } from './formats.ts';
import { assColor, assTime, buildAss, escapeAssText } from './ass.ts';
import { buildTextLayerAss } from './text-layer.ts';
import { DEFAULT_SUBTITLE_STYLE, DEFAULT_TEXT_STYLE, RenderSpec } from '../render-spec/schema.ts';

const fps30 = { num: 30, den: 1 };
const ntsc = { num: 30000, den: 1001 };

function parseError(fn: () => unknown): SubtitleParseError {
  try {
    fn();
  } catch (err) {
    if (err instanceof SubtitleParseError) return err;
    throw err;
  }
  throw new Error('expected a SubtitleParseError');
}

describe('SRT', () => {
  it('parses with BOM, CRLF, missing blank line, dot milliseconds and missing hours', () => {
    const srt = '\uFEFF1\r\n00:00:01,000 --> 00:00:02,500\r\nHello\r\n<i>world</i>\r\n2\r\n00:03.000 --> 00:00:04,000 X1:10 X2:20\r\nNext\r\n';
    expect(parseSrt(srt, fps30)).toEqual([
      { start: 30, end: 75, text: 'Hello\nworld' },
      { start: 90, end: 120, text: 'Next' },
    ]);
  });

  it('takes the frame that contains each time (ms floor with a 1e-6 tolerance)', () => {
    const srt = '1\n00:00:01,033 --> 00:00:01,034\na\n\n2\n00:00:00,034 --> 00:00:00,067\nb\n';
    expect(parseSrt(srt, fps30)).toEqual([
      { start: 1, end: 2, text: 'b' },
      { start: 30, end: 31, text: 'a' },
    ]);
    // 0.1 s at 30 fps is exactly frame 3, even though 100 * 30 / 1000 is 2.9999999999999996 in floats.
    expect(parseSrt('1\n00:00:00,100 --> 00:00:00,200\nx\n', fps30)).toEqual([{ start: 3, end: 6, text: 'x' }]);
  });

  it('keeps a cue at least one frame long', () => {
    expect(parseSrt('1\n00:00:01,000 --> 00:00:01,010\nflash\n', fps30)).toEqual([{ start: 30, end: 31, text: 'flash' }]);
  });

  it('reports errors with a 1-based line number and a clear message', () => {
    const bad = parseError(() => parseSrt('1\n00:00:01,000 --> nope\nx\n', fps30));
    expect([bad.line, bad.message]).toEqual([2, 'line 2: "nope" is not a time like 00:00:01,500']);
    expect(parseError(() => parseSrt('1\n00:00:01,000 --> 00:00:02,000\nx\n\nhello\nworld\n', fps30)).message).toBe(
      'line 5: expected a cue number followed by a timing line "00:00:01,000 --> 00:00:02,000"',
    );
    expect(parseError(() => parseSrt('1\n00:00:02,000 --> 00:00:01,000\nx\n', fps30)).message).toBe('line 2: the cue ends before it starts');
    expect(parseError(() => parseSrt('1\n00:61:00,000 --> 01:00:00,000\nx\n', fps30)).message).toBe('line 2: "00:61:00,000" has minutes or seconds above 59');
  });

  it('serializes with ms rounded up so that parsing gives the same frames', () => {
    const cues = [
      { start: 1, end: 2, text: 'a' },
      { start: 299, end: 1000, text: 'b\n\n\nc' },
    ];
    expect(serializeSrt(cues, ntsc)).toBe('1\n00:00:00,034 --> 00:00:00,067\na\n\n2\n00:00:09,977 --> 00:00:33,367\nb\nc\n');
  });

  it('round-trips frames exactly at 24, 25, 29.97, 30 and 59.94 fps', () => {
    const cues = Array.from({ length: 200 }, (_, i) => ({ start: i * 7 + 1, end: i * 7 + 4 + (i % 5), text: `cue ${i}` }));
    for (const fps of [{ num: 24, den: 1 }, { num: 25, den: 1 }, ntsc, fps30, { num: 60000, den: 1001 }]) {
      const sorted = [...cues].sort((a, b) => a.start - b.start);
      expect(parseSrt(serializeSrt(cues, fps), fps)).toEqual(sorted);
      expect(parseVtt(serializeVtt(cues, fps), fps)).toEqual(sorted);
    }
  });
});

describe('WebVTT', () => {
  it('parses optional hours, identifiers, settings, NOTE/STYLE blocks, voice and timestamp tags, entities', () => {
    const vtt = [
      'WEBVTT - title',
      'Kind: captions',
      '',
      'NOTE a comment',
      'spanning lines',
      '',
      'STYLE',
      '::cue { color: red }',
      '',
      'intro',
      '00:01.000 --> 00:02.000 align:start line:0',
      '<v Bob>Tom &amp; Jerry &lt;3</v>',
      '1:00:00.000 --> 1:00:01.000',
      'karaoke <00:00:00.500>word',
      '',
    ].join('\r\n');
    expect(parseVtt(vtt, fps30)).toEqual([
      { start: 30, end: 60, text: 'Tom & Jerry <3' },
      { start: 108000, end: 108030, text: 'karaoke word' },
    ]);
  });

  it('requires the header and reports bad timings by line', () => {
    expect(parseError(() => parseVtt('00:01.000 --> 00:02.000\nx', fps30)).message).toBe('line 1: a WebVTT file starts with "WEBVTT"');
    expect(parseError(() => parseVtt('WEBVTT\n\n00:01.000 --> 00:0x.000\nx', fps30)).line).toBe(3);
  });

  it('serializes with entities escaped', () => {
    expect(serializeVtt([{ start: 30, end: 45, text: 'a < b & c --> d' }], fps30)).toBe('WEBVTT\n\n00:00:01.000 --> 00:00:01.500\na &lt; b &amp; c --&gt; d\n');
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
