/**
 * The bundled fonts: the same files are handed to libass (farm: a fonts folder; ffmpeg.wasm: its
 * /fonts) and registered with the browser for PixiJS (FontFace with each subset's unicode-range),
 * so text looks the same everywhere. Families come from @fontsource packages (SIL OFL 1.1) plus
 * DejaVu Sans (subtitles' default, v1 text overlays). Licences: docs/FONTS.md.
 *
 * libass sizes a font so that usWinAscent + usWinDescent spans the ASS font size (the line height);
 * CSS sizes the em. The metrics below (from each family's OS/2 and head tables, checked against the
 * files by fonts.test.ts) convert between the two.
 */

export interface FontFamily {
  family: string;
  kind: 'sans' | 'serif' | 'display' | 'arabic';
  /** npm package the files come from; null: shared/assets/fonts. */
  package: string | null;
  licence: string;
  unitsPerEm: number;
  winAscent: number;
  winDescent: number;
  /** fontsource subsets bundled (unicode-range per subset in the package's unicode.json). */
  subsets: string[];
  /** Weights with their own files; other weights are synthesised (libass and browsers alike). */
  weights: (400 | 700)[];
}

export const FONT_FAMILIES: readonly FontFamily[] = [
  { family: 'Inter', kind: 'sans', package: '@fontsource/inter', licence: 'OFL-1.1', unitsPerEm: 2048, winAscent: 2269, winDescent: 660, subsets: ['latin', 'latin-ext'], weights: [400, 700] },
  { family: 'Lora', kind: 'serif', package: '@fontsource/lora', licence: 'OFL-1.1', unitsPerEm: 1000, winAscent: 1206, winDescent: 294, subsets: ['latin', 'latin-ext'], weights: [400, 700] },
  { family: 'Bebas Neue', kind: 'display', package: '@fontsource/bebas-neue', licence: 'OFL-1.1', unitsPerEm: 1000, winAscent: 950, winDescent: 350, subsets: ['latin', 'latin-ext'], weights: [400] },
  { family: 'Cairo', kind: 'arabic', package: '@fontsource/cairo', licence: 'OFL-1.1', unitsPerEm: 1000, winAscent: 1312, winDescent: 571, subsets: ['arabic', 'latin', 'latin-ext'], weights: [400, 700] },
  { family: 'DejaVu Sans', kind: 'sans', package: null, licence: 'Bitstream Vera / DejaVu (free)', unitsPerEm: 2048, winAscent: 1901, winDescent: 483, subsets: ['all'], weights: [400, 700] },
];

export const DEFAULT_TEXT_FAMILY = 'Inter';

/** The one subtitle font (kept from v1) used by PixiJS, ffmpeg.wasm and the farm. */
export const BUNDLED_FONT = {
  family: 'DejaVu Sans',
  regular: 'DejaVuSans.ttf',
  bold: 'DejaVuSans-Bold.ttf',
} as const;

/** Path of the DejaVu fonts folder relative to the shared package root. */
export const FONTS_DIR_FROM_SHARED = 'assets/fonts';

export interface FontFile {
  family: string;
  weight: 400 | 700;
  subset: string;
  /** File name in a fonts folder (unique across families). */
  name: string;
  /** Module specifier relative to the shared package (`@fontsource/...` or `./assets/fonts/...`). */
  specifier: string;
}

/** Every file of every bundled family. */
export function fontFiles(): FontFile[] {
  const out: FontFile[] = [];
  for (const f of FONT_FAMILIES) {
    for (const weight of f.weights) {
      if (!f.package) {
        const name = weight === 700 ? BUNDLED_FONT.bold : BUNDLED_FONT.regular;
        out.push({ family: f.family, weight, subset: 'all', name, specifier: `./${FONTS_DIR_FROM_SHARED}/${name}` });
        continue;
      }
      const slug = f.package.slice('@fontsource/'.length);
      for (const subset of f.subsets) {
        const name = `${slug}-${subset}-${weight}-normal.woff`;
        out.push({ family: f.family, weight, subset, name, specifier: `${f.package}/files/${name}` });
      }
    }
  }
  return out;
}

export function fontFamily(family: string): FontFamily {
  return FONT_FAMILIES.find((f) => f.family === family) ?? FONT_FAMILIES.find((f) => f.family === DEFAULT_TEXT_FAMILY)!;
}

export function isBundledFamily(family: string): boolean {
  return FONT_FAMILIES.some((f) => f.family === family);
}

/** CSS pixel size drawing the same glyphs as an ASS font size (the line height) in `family`. */
export function cssFontSize(family: string, assSize: number): number {
  const f = fontFamily(family);
  return (assSize * f.unitsPerEm) / (f.winAscent + f.winDescent);
}

/** Baseline position inside an ASS line, as a fraction of the line height from its top. */
export function ascentOfLine(family: string): number {
  const f = fontFamily(family);
  return f.winAscent / (f.winAscent + f.winDescent);
}

/**
 * The browser's copies (UI and PixiJS): WOFF2 subsets with a unicode-range each, loaded only for
 * the characters a page draws. fontsource families use the package's own .woff2 of every bundled
 * subset; DejaVu Sans is split by `pnpm fonts:web` (shared/scripts/write-web-fonts.ts) into these
 * subsets under assets/fonts/web/ (manifest.json: file, weight and exact range). libass keeps
 * fontFiles() above.
 */
export const DEJAVU_WEB_SUBSETS = ['latin', 'latin-ext', 'rest'] as const;

export interface WebFontFile {
  family: string;
  weight: 400 | 700;
  subset: string;
  name: string;
  /** CSS unicode-range of the code points in this file. */
  unicodeRange: string;
}

/** Code points of a CSS unicode-range ("U+0000-00FF,U+0131,U+4??" ). */
export function parseUnicodeRange(range: string): number[] {
  const out: number[] = [];
  for (const part of range.split(',').map((p) => p.trim().replace(/^U\+/i, ''))) {
    if (!part) continue;
    const [lo, hi] = part.includes('?') ? [part.replace(/\?/g, '0'), part.replace(/\?/g, 'F')] : part.split('-');
    const a = parseInt(lo!, 16);
    const b = hi === undefined ? a : parseInt(hi, 16);
    for (let c = a; c <= b; c++) out.push(c);
  }
  return out;
}

/** The shortest CSS unicode-range of sorted, distinct code points. */
export function toUnicodeRange(sorted: readonly number[]): string {
  const parts: string[] = [];
  const hex = (c: number) => c.toString(16).toUpperCase().padStart(4, '0');
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(i === j ? `U+${hex(sorted[i]!)}` : `U+${hex(sorted[i]!)}-${hex(sorted[j]!)}`);
    i = j + 1;
  }
  return parts.join(',');
}
