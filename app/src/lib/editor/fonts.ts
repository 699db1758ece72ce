/**
 * The bundled fonts (shared/fonts.ts), served by Vite as hashed same-origin assets, in two forms:
 *
 *  - for the browser (PixiJS text, subtitles): WOFF2 subsets (fontsource's own files per subset;
 *    DejaVu Sans split by `pnpm fonts:web`), each registered as a FontFace with its unicode-range
 *    but NOT loaded: nothing is fetched when the editor opens. A frame that draws text first asks
 *    `fontsReady` / `loadFonts` for its family, weight and characters, and the browser fetches only
 *    the subsets those characters fall in; PixiJS draws the text once they are loaded (never a
 *    frame in a fallback font).
 *  - for libass in ffmpeg.wasm (FONT_FILES): the very files the farm hands libass (fontsource WOFF,
 *    DejaVu TTF), fetched only when ffmpeg.wasm renders a preview (ffmpeg-wasm.ts ensureFonts).
 */
import { fontFiles, fontFamily, FONT_FAMILIES, type WebFontFile } from '@clipmaker/shared/fonts';
import dejavuRegular from '../../../../shared/assets/fonts/DejaVuSans.ttf?url';
import dejavuBold from '../../../../shared/assets/fonts/DejaVuSans-Bold.ttf?url';
import dejavuWebManifest from '../../../../shared/assets/fonts/web/manifest.json';

const woff = import.meta.glob('../../../../shared/node_modules/@fontsource/*/files/*-{latin,latin-ext,arabic}-{400,700}-normal.woff', { query: '?url', import: 'default', eager: true }) as Record<string, string>;
const woff2 = import.meta.glob('../../../../shared/node_modules/@fontsource/*/files/*-{latin,latin-ext,arabic}-{400,700}-normal.woff2', { query: '?url', import: 'default', eager: true }) as Record<string, string>;
const dejavuWeb = import.meta.glob('../../../../shared/assets/fonts/web/*.woff2', { query: '?url', import: 'default', eager: true }) as Record<string, string>;
const ranges = import.meta.glob('../../../../shared/node_modules/@fontsource/*/unicode.json', { import: 'default', eager: true }) as Record<string, Record<string, string>>;

const byName = (files: Record<string, string>, name: string) => Object.entries(files).find(([path]) => path.endsWith(`/${name}`))?.[1] ?? null;

function urlOf(name: string): string | null {
  if (name === 'DejaVuSans.ttf') return dejavuRegular;
  if (name === 'DejaVuSans-Bold.ttf') return dejavuBold;
  return byName(woff, name);
}

function unicodeRange(pkg: string, subset: string): string | undefined {
  const hit = Object.entries(ranges).find(([path]) => path.includes(`/${pkg}/unicode.json`));
  return hit?.[1][subset];
}

/** Every file libass reads, with its URL (ffmpeg.wasm writes them all into its fonts folder). */
export const FONT_FILES = fontFiles().flatMap((f) => {
  const url = urlOf(f.name);
  return url ? [{ ...f, url }] : [];
});

/** The browser's WOFF2 subsets: family, weight, unicode-range and URL. */
export const WEB_FONT_FILES: (WebFontFile & { url: string })[] = [
  ...FONT_FAMILIES.flatMap((f) => {
    if (!f.package) return [];
    const pkg = f.package;
    const slug = pkg.slice('@fontsource/'.length);
    return f.weights.flatMap((weight) =>
      f.subsets.flatMap((subset) => {
        const name = `${slug}-${subset}-${weight}-normal.woff2`;
        const url = byName(woff2, name);
        const range = unicodeRange(pkg, subset);
        return url && range ? [{ family: f.family, weight, subset, name, unicodeRange: range, url }] : [];
      }),
    );
  }),
  ...(dejavuWebManifest as WebFontFile[]).flatMap((f) => {
    const url = byName(dejavuWeb, f.name);
    return url ? [{ ...f, url }] : [];
  }),
];

let registered = false;

/** Adds every subset to document.fonts as an unloaded FontFace (no request until a glyph is needed). */
export function registerWebFonts(): void {
  if (registered || typeof document === 'undefined' || typeof FontFace === 'undefined') return;
  registered = true;
  for (const f of WEB_FONT_FILES) document.fonts.add(new FontFace(f.family, `url(${f.url}) format('woff2')`, { weight: String(f.weight), unicodeRange: f.unicodeRange, display: 'block' }));
}

/** Text drawn in one family and weight. */
export interface FontUse {
  family: string;
  bold: boolean;
  text: string;
}

/**
 * Characters PixiJS measures a font's ascent and descent with (CanvasTextMetrics.METRICS_STRING and
 * its baseline symbol): always loaded with the text, or the cached metrics come from a fallback.
 */
const METRIC_CHARS = '|ÉqÅM';

function cssFont(u: FontUse): string {
  // An unbundled family falls back to the default as compile() does.
  return `${u.bold ? 700 : 400} 16px "${fontFamily(u.family).family}"`;
}

const failed = new Set<string>();

/** True when every subset the text needs in its family and weight is loaded (or failed to load). */
export function fontsReady(uses: readonly FontUse[]): boolean {
  if (typeof document === 'undefined' || !registered) return true;
  return uses.every((u) => failed.has(cssFont(u)) || document.fonts.check(cssFont(u), u.text + METRIC_CHARS));
}

/** Loads the subsets the text needs (only those its characters fall in). Never rejects. */
export async function loadFonts(uses: readonly FontUse[]): Promise<void> {
  registerWebFonts();
  await Promise.all(
    uses.map((u) =>
      document.fonts.load(cssFont(u), u.text + METRIC_CHARS).then(
        () => undefined,
        // A subset that cannot be fetched: draw with what the browser has rather than never.
        () => void failed.add(cssFont(u)),
      ),
    ),
  );
}
