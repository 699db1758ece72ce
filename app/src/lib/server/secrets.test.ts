import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadOrCreateSecret, resolveSecrets, secretFile } from './secrets.ts';

const dirs: string[] = [];
const fresh = () => {
  const d = mkdtempSync(path.join(tmpdir(), 'cm-secrets-'));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('secrets', () => {
  it('generates a different secret per data dir, keeps it (0600) and returns it again', () => {
    const a = fresh();
    const b = fresh();
    const sa = resolveSecrets({}, a);
    const sb = resolveSecrets({}, b);
    expect(sa.COLLAB_SECRET).not.toBe(sb.COLLAB_SECRET);
    expect(sa.SIGNING_SECRET).not.toBe(sb.SIGNING_SECRET);
    expect(sa.COLLAB_SECRET).not.toBe(sa.SIGNING_SECRET);
    expect(sa.COLLAB_SECRET.length).toBeGreaterThanOrEqual(32);
    expect(statSync(secretFile(a, 'COLLAB_SECRET')).mode & 0o777).toBe(0o600);
    expect(statSync(path.dirname(secretFile(a, 'COLLAB_SECRET'))).mode & 0o777).toBe(0o700);
    expect(readFileSync(secretFile(a, 'SIGNING_SECRET'), 'utf8')).toBe(sa.SIGNING_SECRET);
    expect(resolveSecrets({}, a)).toEqual(sa);
    expect(loadOrCreateSecret(a, 'COLLAB_SECRET')).toBe(sa.COLLAB_SECRET);
  });

  it('uses configured secrets; production refuses missing or short ones and never writes files', () => {
    const d = fresh();
    expect(resolveSecrets({ COLLAB_SECRET: 'c'.repeat(20), SIGNING_SECRET: 's'.repeat(20) }, d)).toEqual({ COLLAB_SECRET: 'c'.repeat(20), SIGNING_SECRET: 's'.repeat(20) });
    expect(() => resolveSecrets({ COLLAB_SECRET: 'short' }, d)).toThrow(/COLLAB_SECRET must be at least 16/);
    expect(() => resolveSecrets({ NODE_ENV: 'production' }, d)).toThrow(/COLLAB_SECRET must be set/);
    expect(() => resolveSecrets({ NODE_ENV: 'production', COLLAB_SECRET: 'c'.repeat(40) }, d)).toThrow(/SIGNING_SECRET must be set/);
    expect(() => resolveSecrets({ NODE_ENV: 'production', COLLAB_SECRET: 'c'.repeat(31), SIGNING_SECRET: 's'.repeat(40) }, d)).toThrow(/at least 32/);
    expect(() => statSync(secretFile(d, 'COLLAB_SECRET'))).toThrow();
  });
});
