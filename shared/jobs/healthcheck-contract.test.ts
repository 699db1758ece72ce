import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { healthcheckContractModule } from './healthcheck-contract.ts';
import { HEALTHCHECK_FRESH_INTERVALS, HEARTBEAT_INTERVAL_MS, QUEUE_PREFIX, workerKey } from './index.ts';

describe('contract.generated.mjs (docker/healthcheck.mjs)', () => {
  it('is committed and up to date (run `pnpm jobs:contract`)', () => {
    expect(readFileSync(path.join(import.meta.dirname, 'contract.generated.mjs'), 'utf8')).toBe(healthcheckContractModule());
  });
  it('spells the heartbeat key and constants exactly as shared/jobs does', async () => {
    const gen = (await import('./contract.generated.mjs' as string)) as { QUEUE_PREFIX: string; HEARTBEAT_INTERVAL_MS: number; HEALTHCHECK_FRESH_INTERVALS: number; workerKey(p: string, w: string): string };
    expect([gen.QUEUE_PREFIX, gen.HEARTBEAT_INTERVAL_MS, gen.HEALTHCHECK_FRESH_INTERVALS]).toEqual([QUEUE_PREFIX, HEARTBEAT_INTERVAL_MS, HEALTHCHECK_FRESH_INTERVALS]);
    for (const [p, w] of [['clipmaker', 'gpu-01'], ['a:b', 'w`${x}\\'], ['', '']]) expect(gen.workerKey(p!, w!)).toBe(workerKey(p!, w!));
  });
  it('docker/healthcheck.mjs imports it instead of spelling the key', () => {
    const hc = readFileSync(path.join(import.meta.dirname, '..', '..', 'docker', 'healthcheck.mjs'), 'utf8');
    expect(hc).toContain("from '../shared/jobs/contract.generated.mjs'");
    expect(hc).not.toMatch(/:workers:/);
  });
});
