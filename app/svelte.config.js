import nodeAdapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';
import { addNodeHook } from './node-hook.js';
import { precompress } from './precompress.js';

/**
 * adapter-node with Brotli + gzip precompressed at build (served by Accept-Encoding); its compress
 * step is ours (precompress.js: fonts too, a faster Brotli level for the 32 MB wasm cores).
 * Its server (`node app/build`) also gets the app's Node-level hook (node-hook.js) in front of
 * SvelteKit's handler.
 */
function adapter(options) {
  const inner = nodeAdapter({ ...options, precompress: true });
  return {
    ...inner,
    adapt: async (builder) => {
      await inner.adapt({ ...builder, compress: precompress });
      addNodeHook(fileURLToPath(new URL(`./${options.out}/index.js`, import.meta.url)));
      builder.log.minor('Added the Node-level hook to the server');
    },
  };
}

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    adapter: adapter({ out: 'build' }),
    // Form actions and endpoints check Origin (CSRF); hooks.server.ts also refuses cross-site
    // tRPC/upload requests (Sec-Fetch-Site / Origin).
    csrf: { trustedOrigins: [] },
    // Content-Security-Policy. 'auto': Kit hashes/nonces its own inline bootstrap script.
    //  - 'wasm-unsafe-eval': ffmpeg.wasm and PixiJS compile WebAssembly (no general eval).
    //  - worker-src blob:: ffmpeg.wasm / Vite workers may start from blob URLs.
    //  - connect-src ws: wss: is narrowed at run time to COLLAB_PUBLIC_URL's origin (hooks.server.ts),
    //    since the collab-server's address is not known at build time.
    //  - style-src 'unsafe-inline': Svelte `style:` attributes and transitions write inline styles.
    csp: {
      mode: 'auto',
      directives: {
        'default-src': ['self'],
        'script-src': ['self', 'wasm-unsafe-eval'],
        'worker-src': ['self', 'blob:'],
        'connect-src': ['self', 'blob:', 'data:', 'ws:', 'wss:'],
        'img-src': ['self', 'data:', 'blob:'],
        'media-src': ['self', 'blob:'],
        'style-src': ['self', 'unsafe-inline'],
        'font-src': ['self', 'data:', 'blob:'],
        'frame-ancestors': ['none'],
        'frame-src': ['none'],
        'object-src': ['none'],
        'base-uri': ['self'],
        'form-action': ['self'],
      },
    },
  },
};

export default config;
