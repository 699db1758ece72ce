/** The one bundled font used by PixiJS, ffmpeg.wasm and the farm (libass), so subtitles match everywhere. */
export const BUNDLED_FONT = {
  family: 'DejaVu Sans',
  regular: 'DejaVuSans.ttf',
  bold: 'DejaVuSans-Bold.ttf',
} as const;

/** Path of the fonts folder relative to the shared package root. */
export const FONTS_DIR_FROM_SHARED = 'assets/fonts';
