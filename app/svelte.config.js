import adapter from '@sveltejs/adapter-node';
import { vitePreprocess } from '@sveltejs/vite-plugin-svelte';

/** @type {import('@sveltejs/kit').Config} */
const config = {
  preprocess: vitePreprocess(),
  kit: {
    adapter: adapter({ out: 'build', precompress: false }),
    // Form actions and endpoints check Origin (CSRF); see also hooks.server.ts.
    csrf: { trustedOrigins: [] },
  },
};

export default config;
