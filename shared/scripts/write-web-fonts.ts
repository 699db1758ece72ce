/**
 * `pnpm fonts:web`: writes the WOFF2 subsets of DejaVu Sans that the browser (UI and PixiJS) loads,
 * into shared/assets/fonts/web/, with a manifest of each file's exact unicode-range.
 *
 * libass (farm and ffmpeg.wasm) keeps the whole TTFs; the browser gets the same outlines split the
 * way @fontsource splits its families (latin, latin-ext, and here everything else DejaVu covers), so
 * a Latin subtitle costs one ~30 KB file instead of a 760 KB TTF. Each code point the font covers is
 * in exactly one file; the ranges come from the font's own cmap (harfbuzz), not from a guess.
 * Run it again when the DejaVu files change; fonts.test.ts checks the manifest against the TTFs.
 */
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as hb from 'harfbuzzjs';
import subsetFont from 'subset-font';
import { BUNDLED_FONT, DEJAVU_WEB_SUBSETS, FONTS_DIR_FROM_SHARED, parseUnicodeRange, toUnicodeRange, type WebFontFile } from '../fonts.ts';

const sharedRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(sharedRoot, 'package.json'));
const ranges = JSON.parse(readFileSync(require.resolve('@fontsource/inter/unicode.json'), 'utf8')) as Record<string, string>;
const outDir = path.join(sharedRoot, FONTS_DIR_FROM_SHARED, 'web');
mkdirSync(outDir, { recursive: true });

const manifest: WebFontFile[] = [];
for (const [weight, file] of [[400, BUNDLED_FONT.regular], [700, BUNDLED_FONT.bold]] as const) {
  const ttf = readFileSync(path.join(sharedRoot, FONTS_DIR_FROM_SHARED, file));
  const covered = new Set(new hb.Face(new hb.Blob(ttf)).collectUnicodes());
  const taken = new Set<number>();
  for (const subset of DEJAVU_WEB_SUBSETS) {
    const wanted = subset === 'rest' ? [...covered] : parseUnicodeRange(ranges[subset]!).filter((c) => covered.has(c));
    const mine = wanted.filter((c) => !taken.has(c)).sort((a, b) => a - b);
    mine.forEach((c) => taken.add(c));
    const name = `${path.basename(file, '.ttf')}-${subset}.woff2`;
    const woff2 = await subsetFont(ttf, String.fromCodePoint(...mine), { targetFormat: 'woff2' });
    writeFileSync(path.join(outDir, name), woff2);
    manifest.push({ family: BUNDLED_FONT.family, weight, subset, name, unicodeRange: toUnicodeRange(mine) });
    process.stdout.write(`${name}: ${mine.length} code points, ${woff2.length} bytes\n`);
  }
}
writeFileSync(path.join(outDir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
