import { z } from 'zod';

// The CSP allows no eval ('wasm-unsafe-eval' only). Zod would otherwise probe `Function('')` to decide
// whether to compile its object parsers, which the browser blocks and reports as a CSP violation on
// every page; jitless mode skips the probe (same results, interpreted parsers).
z.config({ jitless: true });
