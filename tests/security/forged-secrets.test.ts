/**
 * Attack: mint a collab token or a signed media URL with a secret read from the public repository.
 * `pnpm start` with no secrets configured must have generated its own (CSPRNG, under DATA_DIR, 0600),
 * so every literal of the repository is refused, while the real secret (read from the data dir, as
 * only the machine's owner can) is accepted: the control that shows the check would catch a hit.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { COLLAB_TOKEN_TTL_SECONDS, roomForProject, signCollabToken } from '../../shared/collab/index.ts';
import { signedFileUrl } from '../../app/src/lib/server/signing.ts';
import { resolveSecrets } from '../../app/src/lib/server/secrets.ts';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { mapLimit, repositoryLiterals, upgradeStatus } from './support.ts';

const PROBE_KEY = 'probe/forged-secrets.txt';

describe('forged secrets', () => {
  let app: RunningApp;
  let literals: string[];
  const projectId = crypto.randomUUID();

  const fileStatus = async (secret: string) => (await fetch(`${app.url}${signedFileUrl(secret, PROBE_KEY, { ttlSeconds: 600 })}`)).status;
  const collabStatus = async (secret: string) => {
    const token = await signCollabToken({ sub: crypto.randomUUID(), name: 'Mallory', projectId, role: 'owner', exp: Math.floor(Date.now() / 1000) + COLLAB_TOKEN_TTL_SECONDS }, secret);
    return upgradeStatus(`${app.collabUrl}/${roomForProject(projectId)}?token=${encodeURIComponent(token)}`);
  };

  beforeAll(async () => {
    literals = repositoryLiterals();
    // Nothing configured: the launcher must come up on secrets of its own.
    app = await startApp({ COLLAB_SECRET: '', SIGNING_SECRET: '' });
    mkdirSync(path.join(app.dataDir, 'storage', 'probe'), { recursive: true });
    writeFileSync(path.join(app.dataDir, 'storage', PROBE_KEY), 'the probe file');
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('pnpm start generated both secrets under DATA_DIR with mode 0600, unlike another data dir', () => {
    const own = Object.fromEntries(['COLLAB_SECRET', 'SIGNING_SECRET'].map((n) => [n, readFileSync(path.join(app.dataDir, 'secrets', n), 'utf8')]));
    for (const n of ['COLLAB_SECRET', 'SIGNING_SECRET']) {
      expect(statSync(path.join(app.dataDir, 'secrets', n)).mode & 0o777, n).toBe(0o600);
      expect(own[n]!.length, n).toBeGreaterThanOrEqual(32);
    }
    const other = mkdtempSync(path.join(tmpdir(), 'cm-other-data-'));
    try {
      const theirs = resolveSecrets({}, other);
      expect(theirs.COLLAB_SECRET).not.toBe(own.COLLAB_SECRET);
      expect(theirs.SIGNING_SECRET).not.toBe(own.SIGNING_SECRET);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('the real secrets work (control)', async () => {
    const real = (n: string) => readFileSync(path.join(app.dataDir, 'secrets', n), 'utf8');
    const res = await fetch(`${app.url}${signedFileUrl(real('SIGNING_SECRET'), PROBE_KEY, { ttlSeconds: 600 })}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('the probe file');
    expect(await collabStatus(real('COLLAB_SECRET'))).toBe(101);
  });

  it('a media URL signed with any string literal of the repository is refused', async () => {
    expect(literals.length).toBeGreaterThan(1000);
    const statuses = await mapLimit(literals, 8, fileStatus);
    const accepted = literals.filter((_, i) => statuses[i] !== 403);
    expect(accepted, `accepted: ${accepted.slice(0, 5).join(' | ')}`).toEqual([]);
  });

  it('a collab token signed with any string literal of the repository is refused', async () => {
    // A secret under 16 characters cannot be configured at all (refused at start), nor signed with.
    const candidates = literals.filter((l) => l.length >= 16);
    expect(candidates.length).toBeGreaterThan(500);
    const statuses = await mapLimit(candidates, 8, collabStatus);
    const accepted = candidates.filter((_, i) => statuses[i] !== 401);
    expect(accepted, `accepted: ${accepted.slice(0, 5).join(' | ')}`).toEqual([]);
  });
});
