import { describe, expect, it } from 'vitest';
import { DEV_COLLAB_SECRET, loadCollabConfig } from './config.ts';

describe('loadCollabConfig', () => {
  it('has development defaults', () => {
    expect(loadCollabConfig({})).toMatchObject({ port: 1234, host: '127.0.0.1', secret: DEV_COLLAB_SECRET, databaseUrl: undefined, compactEvery: 200 });
  });

  it('reads the environment', () => {
    const c = loadCollabConfig({ COLLAB_PORT: '0', COLLAB_HOST: '0.0.0.0', COLLAB_SECRET: 'x'.repeat(32), DATABASE_URL: 'postgres://h/db' });
    expect(c).toMatchObject({ port: 0, host: '0.0.0.0', secret: 'x'.repeat(32), databaseUrl: 'postgres://h/db' });
  });

  it('requires a real secret in production', () => {
    expect(() => loadCollabConfig({ NODE_ENV: 'production' })).toThrow(/COLLAB_SECRET/);
    expect(() => loadCollabConfig({ NODE_ENV: 'production', COLLAB_SECRET: DEV_COLLAB_SECRET })).toThrow(/development default/);
    expect(() => loadCollabConfig({ COLLAB_SECRET: 'short' })).toThrow(/16/);
    expect(loadCollabConfig({ NODE_ENV: 'production', COLLAB_SECRET: 's'.repeat(40) }).secret).toBe('s'.repeat(40));
  });
});
