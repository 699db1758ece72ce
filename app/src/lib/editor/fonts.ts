/**
 * The bundled fonts (shared/fonts.ts: @fontsource families + DejaVu Sans), served by Vite as hashed
 * same-origin assets. PixiJS draws with them through FontFace (each fontsource subset registered
 * with its unicode-range, so the browser picks the file per character as libass does); ffmpeg.wasm
 * gets the same bytes in its FS (fontsdir).
 */
import { fontFiles, FONT_FAMILIES } from '@clipmaker/shared/fonts';
import dejavuRegular from '../../../../shared/assets/fonts/DejaVuSans.ttf?url';
import dejavuBold from '../../../../shared/assets/fonts/DejaVuSans-Bold.ttf?url';

const woff = import.meta.glob('../../../../shared/node_modules/@fontsource/*/files/*-{latin,latin-ext,arabic}-{400,700}-normal.woff', { query: '?url', import: 'default', eager: true }) as Record<string, string>;
const ranges = import.meta.glob('../../../../shared/node_modules/@fontsource/*/unicode.json', { import: 'default', eager: true }) as Record<string, Record<string, string>>;

function urlOf(name: string): string | null {
  if (name === 'DejaVuSans.ttf') return dejavuRegular;
  if (name === 'DejaVuSans-Bold.ttf') return dejavuBold;
  const hit = Object.entries(woff).find(([path]) => path.endsWith(`/${name}`));
  return hit ? hit[1] : null;
}

function unicodeRange(pkg: string | null, subset: string): string | undefined {
  if (!pkg) return undefined;
  const hit = Object.entries(ranges).find(([path]) => path.includes(`/${pkg}/unicode.json`));
  return hit?.[1][subset];
}

/** Every bundled file with its URL (ffmpeg.wasm writes them all into its fonts folder). */
export const FONT_FILES = fontFiles().flatMap((f) => {
  const url = urlOf(f.name);
  const family = FONT_FAMILIES.find((x) => x.family === f.family)!;
  return url ? [{ ...f, url, unicodeRange: unicodeRange(family.package, f.subset) }] : [];
});

let loading: Promise<void> | null = null;

/** Registers every bundled font with the document (idempotent). */
export function loadBundledFont(): Promise<void> {
  loading ??= Promise.all(
    FONT_FILES.map(async (f) => {
      const face = new FontFace(f.family, `url(${f.url})`, { weight: String(f.weight), ...(f.unicodeRange ? { unicodeRange: f.unicodeRange } : {}) });
      await face.load();
      document.fonts.add(face);
    }),
  ).then(() => undefined);
  return loading;
}
