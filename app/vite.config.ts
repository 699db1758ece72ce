import { sveltekit } from '@sveltejs/kit/vite';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [sveltekit()],
  // Workspace packages ship TypeScript sources: bundle them into the server build.
  ssr: {
    noExternal: ['@clipmaker/shared', '@clipmaker/db'],
    // Native or wasm-loading packages stay real node_modules imports.
    external: ['@electric-sql/pglite', 'postgres', 'sharp', '@node-rs/argon2', 'bee-queue'],
  },
  optimizeDeps: { exclude: ['@ffmpeg/ffmpeg', '@ffmpeg/util'] },
  server: { fs: { allow: ['..'] } },
});
