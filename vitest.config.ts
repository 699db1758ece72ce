import { defineConfig } from 'vitest/config';

/**
 * One `pnpm test` runs every project:
 *  - unit: pure code beside the code it tests (*.test.ts), no services.
 *  - integration: real Postgres, Redis, ffmpeg (each package test/integration folder, tests/integration).
 *  - browser: real Chromium through playwright-core against the built app (tests/browser/**).
 */
export default defineConfig({
  test: {
    reporters: ['default', './tests/support/plain-summary-reporter.ts'],
    projects: [
      {
        test: {
          name: 'unit',
          include: ['shared/**/*.test.ts', 'render-farm/src/**/*.test.ts', 'collab-server/src/**/*.test.ts', 'app/src/**/*.test.ts', 'scripts/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          environment: 'node',
        },
      },
      {
        test: {
          name: 'integration',
          include: ['render-farm/test/integration/**/*.test.ts', 'collab-server/test/integration/**/*.test.ts', 'app/test/integration/**/*.test.ts', 'drizzle/test/**/*.test.ts', 'tests/integration/**/*.test.ts', 'tests/security/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'browser',
          include: ['tests/browser/**/*.test.ts'],
          exclude: ['**/node_modules/**'],
          environment: 'node',
          testTimeout: 300_000,
          hookTimeout: 300_000,
          fileParallelism: false,
          // expect.poll waits for what a user would wait for (an upload's server-side probe, a render);
          // vitest's 1 s default failed uploads on a loaded machine while the page was still working.
          // A test that needs a real bound (revocation within 2 s) states its own.
          expect: { poll: { timeout: 15_000 } },
        },
      },
    ],
  },
});
