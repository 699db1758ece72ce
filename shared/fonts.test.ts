import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';
import * as hb from 'harfbuzzjs';
import { BUNDLED_FONT, FONTS_DIR_FROM_SHARED, fontFiles, FONT_FAMILIES, parseUnicodeRange, toUnicodeRange, type WebFontFile } from './fonts.ts';

const require = createRequire(import.meta.url);

/** head.unitsPerEm and OS/2 usWinAscent/usWinDescent of a WOFF 1 file or a TTF. */
function metrics(buf: Buffer): { unitsPerEm: number; winAscent: number; winDescent: number } {
  const tables: Record<string, Buffer> = {};
  if (buf.readUInt32BE(0) === 0x774f4646) {
    for (let i = 0; i < buf.readUInt16BE(12); i++) {
      const o = 44 + i * 20;
      const [off, comp, orig] = [buf.readUInt32BE(o + 4), buf.readUInt32BE(o + 8), buf.readUInt32BE(o + 12)];
      const data = buf.subarray(off, off + comp);
      tables[buf.toString('latin1', o, o + 4)] = comp < orig ? inflateSync(data) : data;
    }
  } else {
    for (let i = 0; i < buf.readUInt16BE(4); i++) {
      const o = 12 + i * 16;
      tables[buf.toString('latin1', o, o + 4)] = buf.subarray(buf.readUInt32BE(o + 8), buf.readUInt32BE(o + 8) + buf.readUInt32BE(o + 12));
    }
  }
  return { unitsPerEm: tables.head!.readUInt16BE(18), winAscent: tables['OS/2']!.readUInt16BE(74), winDescent: tables['OS/2']!.readUInt16BE(76) };
}

describe('bundled fonts', () => {
  it('ship a sans, a serif, a display and an Arabic-capable family, every file present, metrics as recorded', () => {
    expect(new Set(FONT_FAMILIES.map((f) => f.kind))).toEqual(new Set(['sans', 'serif', 'display', 'arabic']));
    const files = fontFiles();
    expect(files.length).toBeGreaterThanOrEqual(15);
    for (const f of files) {
      const path = f.specifier.startsWith('./') ? join(import.meta.dirname, f.specifier) : require.resolve(f.specifier);
      const family = FONT_FAMILIES.find((x) => x.family === f.family)!;
      expect([f.name, metrics(readFileSync(path))]).toEqual([f.name, { unitsPerEm: family.unitsPerEm, winAscent: family.winAscent, winDescent: family.winDescent }]);
    }
  });

  it('browser subsets of DejaVu Sans: WOFF2 files whose ranges split exactly what each TTF covers, one file per code point', () => {
    const dir = join(import.meta.dirname, FONTS_DIR_FROM_SHARED);
    const manifest = JSON.parse(readFileSync(join(dir, 'web/manifest.json'), 'utf8')) as WebFontFile[];
    for (const [weight, file] of [[400, BUNDLED_FONT.regular], [700, BUNDLED_FONT.bold]] as const) {
      const covered = [...new hb.Face(new hb.Blob(readFileSync(join(dir, file)))).collectUnicodes()].sort((a, b) => a - b);
      const mine = manifest.filter((m) => m.weight === weight && m.family === BUNDLED_FONT.family);
      expect(mine.map((m) => m.subset)).toEqual(['latin', 'latin-ext', 'rest']);
      const all = mine.flatMap((m) => parseUnicodeRange(m.unicodeRange));
      expect(all.length).toBe(new Set(all).size);
      expect(all.sort((a, b) => a - b)).toEqual(covered);
      expect(parseUnicodeRange(mine[0]!.unicodeRange)).toContain('A'.codePointAt(0));
      for (const m of mine) expect(readFileSync(join(dir, 'web', m.name)).toString('latin1', 0, 4)).toBe('wOF2');
    }
  });

  it('unicode-range round trip', () => {
    expect(parseUnicodeRange('U+0041-0043,U+00E9,U+4??')).toHaveLength(3 + 1 + 256);
    expect(toUnicodeRange([0x41, 0x42, 0x43, 0xe9, 0x1f600])).toBe('U+0041-0043,U+00E9,U+1F600');
  });
});
