import { describe, expect, it } from 'vitest';
import { importSubtitles } from '@clipmaker/shared/subtitles';
import { encodingCorpus, encodeSingleByte, ENCODING_TEXTS } from '../../../../tests/support/subtitle-corpus.ts';
import { decodeSubtitleBytes, detectEncoding, replacementCount, SUBTITLE_ENCODINGS } from './subtitle-decoding.ts';

describe('subtitle file encodings', () => {
  for (const c of encodingCorpus(decodeSubtitleBytes)) {
    it(`${c.name}: detected and decoded, every cue imports`, async () => {
      const detected = await detectEncoding(c.bytes);
      expect(detected.encoding).toBe(c.encoding);
      const text = decodeSubtitleBytes(c.bytes, detected.encoding);
      expect(text).toBe(c.text);
      const imported = importSubtitles(text, { fps: { num: 25, den: 1 }, fileName: 'x.srt' });
      expect(imported.warnings).toEqual([]);
      expect(imported.cues.length).toBe(c.text.split('-->').length - 1);
    });
  }

  it('the wrong choice shows as mojibake or U+FFFD, the right one reads back (what the dialog lets the user fix)', () => {
    const bytes = encodeSingleByte(ENCODING_TEXTS.russian, 'windows-1251', decodeSubtitleBytes);
    expect(replacementCount(decodeSubtitleBytes(bytes, 'utf-8'))).toBeGreaterThan(50);
    expect(decodeSubtitleBytes(bytes, 'windows-1252')).not.toContain('Привет');
    expect(decodeSubtitleBytes(bytes, 'windows-1251')).toContain('Привет! Как дела?');
  });

  it('Windows-1252 bytes 0x80-0x9F decode to the WHATWG characters (Node 20 decodes them as C1 controls)', () => {
    expect(decodeSubtitleBytes(new Uint8Array([0x80, 0x85, 0x92, 0x9c, 0x81, 0xe9]), 'windows-1252')).toBe('€…’œ\u0081é');
  });

  it('every encoding the dialog offers decodes', () => {
    for (const e of SUBTITLE_ENCODINGS) expect(() => decodeSubtitleBytes(new Uint8Array([0x41, 0x42, 0x43, 0x44]), e.value)).not.toThrow();
  });

  it('a truncated UTF-32 file ends in U+FFFD instead of failing', () => {
    expect(decodeSubtitleBytes(new Uint8Array([0xff, 0xfe, 0, 0, 0x41, 0, 0, 0, 0x42]), 'utf-32le')).toBe('A\uFFFD');
  });
});
