import { rmSync } from 'node:fs';
import path from 'node:path';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig, type Plugin } from 'vite';

/**
 * The ffmpeg.wasm cores are Vite assets now (imported with ?url in $lib/editor/ffmpeg-wasm.ts: hashed
 * names under /_app/immutable/, cached for a year). Older builds copied them into static/ffmpeg/:
 * remove that copy so it is not shipped (and compressed) twice.
 */
function dropStaticFfmpegCopy(): Plugin {
  return { name: 'clipmaker-drop-static-ffmpeg', enforce: 'pre', config: () => rmSync(path.resolve(import.meta.dirname, 'static', 'ffmpeg'), { recursive: true, force: true }) };
}

export default defineConfig({
  plugins: [dropStaticFfmpegCopy(), sveltekit()],
  // Workspace packages ship TypeScript sources: bundle them into the server build.
  ssr: {
    noExternal: ['@clipmaker/shared', '@clipmaker/db'],
    // Native or wasm-loading packages stay real node_modules imports.
    external: ['@electric-sql/pglite', 'postgres', 'sharp', '@node-rs/argon2', 'bee-queue'],
  },
  optimizeDeps: { exclude: ['@ffmpeg/ffmpeg', '@ffmpeg/util'] },
  worker: { format: 'es' },
  server: { fs: { allow: ['..'] } },
});
