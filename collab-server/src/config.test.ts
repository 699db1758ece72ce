import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadCollabConfig } from './config.ts';

describe('loadCollabConfig', () => {
  it('has development defaults, with the secret `pnpm start` keeps under DATA_DIR', () => {
    const dataDir = mkdtempSync(path.join(tmpdir(), 'cm-collab-config-'));
    try {
      expect(() => loadCollabConfig({ DATA_DIR: dataDir })).toThrow(/COLLAB_SECRET is not set/);
      mkdirSync(path.join(dataDir, 'secrets'));
      writeFileSync(path.join(dataDir, 'secrets', 'COLLAB_SECRET'), 'g'.repeat(43) + '\n');
      expect(loadCollabConfig({ DATA_DIR: dataDir })).toMatchObject({ port: 1234, host: '127.0.0.1', secret: 'g'.repeat(43), databaseUrl: undefined, compactEvery: 200 });
      // Production never reads a file: the secret must be configured.
      expect(() => loadCollabConfig({ DATA_DIR: dataDir, NODE_ENV: 'production' })).toThrow(/COLLAB_SECRET is required/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('reads the environment', () => {
    const c = loadCollabConfig({ COLLAB_PORT: '0', COLLAB_HOST: '0.0.0.0', COLLAB_SECRET: 'x'.repeat(32), DATABASE_URL: 'postgres://h/db' });
    expect(c).toMatchObject({ port: 0, host: '0.0.0.0', secret: 'x'.repeat(32), databaseUrl: 'postgres://h/db', synchronousCommit: true });
    expect(loadCollabConfig({ COLLAB_SECRET: 'x'.repeat(32), COLLAB_SYNCHRONOUS_COMMIT: 'off' }).synchronousCommit).toBe(false);
    expect(() => loadCollabConfig({ COLLAB_SECRET: 'x'.repeat(32), COLLAB_SYNCHRONOUS_COMMIT: 'false' })).toThrow();
  });

  it('requires a real secret in production', () => {
    expect(() => loadCollabConfig({ NODE_ENV: 'production' })).toThrow(/COLLAB_SECRET/);
    expect(() => loadCollabConfig({ NODE_ENV: 'production', COLLAB_SECRET: 's'.repeat(31) })).toThrow(/32/);
    expect(() => loadCollabConfig({ COLLAB_SECRET: 'short' })).toThrow(/16/);
    expect(loadCollabConfig({ NODE_ENV: 'production', COLLAB_SECRET: 's'.repeat(40) }).secret).toBe('s'.repeat(40));
  });
});
