import { cpSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig, type Plugin } from 'vite';

/**
 * Self-hosts ffmpeg.wasm's core files (no CDN; CSP allows only 'self'): copies
 * @ffmpeg/core and @ffmpeg/core-mt dist/esm into static/ffmpeg/{st,mt}/ (gitignored) before dev or build.
 */
function selfHostFfmpegCore(): Plugin {
  const copy = () => {
    for (const [pkg, dir] of [['@ffmpeg/core', 'st'], ['@ffmpeg/core-mt', 'mt']] as const) {
      const from = path.resolve(import.meta.dirname, 'node_modules', pkg, 'dist', 'esm');
      const to = path.resolve(import.meta.dirname, 'static', 'ffmpeg', dir);
      if (!existsSync(from)) throw new Error(`${pkg} has no dist/esm folder at ${from}`);
      mkdirSync(to, { recursive: true });
      cpSync(from, to, { recursive: true });
    }
  };
  return { name: 'clipmaker-self-host-ffmpeg-core', enforce: 'pre', config: copy };
}

export default defineConfig({
  plugins: [selfHostFfmpegCore(), sveltekit()],
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
