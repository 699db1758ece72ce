import { describe, expect, it } from 'vitest';
import { parseSrt, parseVtt, serializeSrt, serializeVtt, SubtitleParseError } from './formats.ts';
import { assColor, assTime, escapeAssText } from './ass.ts';

const fps30 = { num: 30, den: 1 };
const ntsc = { num: 30000, den: 1001 };

describe('SRT', () => {
  it('parses with BOM, CRLF, missing blank line and dot milliseconds', () => {
    const srt = '\uFEFF1\r\n00:00:01,000 --> 00:00:02,500\r\nHello\r\n<i>world</i>\r\n2\r\n00:00:03.000 --> 00:00:04,000\r\nNext\r\n';
    expect(parseSrt(srt, fps30)).toEqual([
      { start: 30, end: 75, text: 'Hello\nworld' },
      { start: 90, end: 120, text: 'Next' },
    ]);
  });
  it('reports errors with line numbers', () => {
    expect(() => parseSrt('1\n00:00:01,000 --> nope\nx\n', fps30)).toThrow(/line 2/);
    expect(() => parseSrt('hello\nworld\n', fps30)).toThrow(SubtitleParseError);
    expect(() => parseSrt('1\n00:00:02,000 --> 00:00:01,000\nx\n', fps30)).toThrow(/line 2: the cue ends before it starts/);
  });
  it('round-trips frames exactly, also at 29.97', () => {
    const cues = [
      { start: 1, end: 2, text: 'a' },
      { start: 299, end: 1000, text: 'b\nc' },
    ];
    for (const fps of [fps30, ntsc]) {
      expect(parseSrt(serializeSrt(cues, fps), fps)).toEqual(cues);
      expect(parseVtt(serializeVtt(cues, fps), fps)).toEqual(cues);
    }
  });
});

describe('WebVTT', () => {
  it('parses optional hours, identifiers, settings, NOTE blocks and entities', () => {
    const vtt = 'WEBVTT - title\n\nNOTE a comment\nspanning lines\n\nintro\n00:01.000 --> 00:02.000 align:start line:0\n<v Bob>Tom &amp; Jerry &lt;3</v>\n';
    expect(parseVtt(vtt, fps30)).toEqual([{ start: 30, end: 60, text: 'Tom & Jerry <3' }]);
  });
  it('requires the header', () => {
    expect(() => parseVtt('00:01.000 --> 00:02.000\nx', fps30)).toThrow(/line 1: a WebVTT file starts with "WEBVTT"/);
  });
});

describe('ASS', () => {
  it('escapes user text so no override tag or escape can form', () => {
    expect(escapeAssText('{\\pos(0,0)}hi\\N\nthere')).toBe('\\{\\\u2060pos(0,0)\\}hi\\\u2060N\\Nthere');
    expect(escapeAssText('a\u0000b\u0007c')).toBe('abc');
  });
  it('converts colours and times (floored to centiseconds)', () => {
    expect(assColor('#FF8000')).toBe('&H000080FF');
    expect(assColor('#00000099')).toBe('&H66000000');
    expect(assTime(1, fps30)).toBe('0:00:00.03');
    expect(assTime(45, fps30)).toBe('0:00:01.50');
    expect(assTime(108000, fps30)).toBe('1:00:00.00');
  });
});
