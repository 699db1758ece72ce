/**
 * The one bundled font (shared/assets/fonts), served by Vite as a hashed same-origin asset. PixiJS
 * draws subtitles with it through FontFace; ffmpeg.wasm gets the same bytes in its FS (fontsdir).
 */
import { BUNDLED_FONT } from '@clipmaker/shared/fonts';
import regularUrl from '../../../../shared/assets/fonts/DejaVuSans.ttf?url';
import boldUrl from '../../../../shared/assets/fonts/DejaVuSans-Bold.ttf?url';

export const FONT_FILES = [
  { name: BUNDLED_FONT.regular, url: regularUrl, weight: 'normal' },
  { name: BUNDLED_FONT.bold, url: boldUrl, weight: 'bold' },
] as const;

let loading: Promise<void> | null = null;

/** Registers the bundled font with the document (idempotent). */
export function loadBundledFont(): Promise<void> {
  loading ??= Promise.all(
    FONT_FILES.map(async (f) => {
      const face = new FontFace(BUNDLED_FONT.family, `url(${f.url})`, { weight: f.weight });
      await face.load();
      document.fonts.add(face);
    }),
  ).then(() => undefined);
  return loading;
}
