/**
 * The real process (src/main.ts under tsx) killed with SIGKILL mid-session: nothing a client could
 * have seen acknowledged is lost, and clients reconnect to the restarted process and converge.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { SECRET, connectClient, newProject, savedItems, sorted, synced, token, waitFor, type Client } from './support.ts';
import { freePort } from '../../../tests/support/app-server.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MAIN = path.join(repoRoot, 'collab-server/src/main.ts');


function healthy(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    http
      .get(`http://127.0.0.1:${port}/health`, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      })
      .on('error', () => resolve(false));
  });
}

describe('collab-server process killed with SIGKILL', () => {
  let t: TestDb;
  let port: number;
  let child: ChildProcess | null = null;
  const clients: Client[] = [];
  let stderr = '';

  async function startChild(): Promise<ChildProcess> {
    // `node --import tsx` (not the tsx CLI, which would put a wrapper process between us and the server).
    const c = spawn(process.execPath, ['--import', 'tsx', MAIN], {
      cwd: repoRoot,
      env: {
        ...process.env,
        NODE_ENV: 'test',
        DATABASE_URL: t.url,
        COLLAB_PORT: String(port),
        COLLAB_HOST: '127.0.0.1',
        COLLAB_SECRET: SECRET,
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    c.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(() => healthy(port), 20_000, `collab child to listen (stderr: ${stderr})`);
    return c;
  }

  function killHard(c: ChildProcess): Promise<void> {
    return new Promise((resolve) => {
      c.once('exit', () => resolve());
      c.kill('SIGKILL');
    });
  }

  beforeAll(async () => {
    t = await createTestDb();
    port = await freePort();
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    if (child && child.exitCode === null) await killHard(child);
    await t.dispose();
  });

  it('keeps every acknowledged edit; clients reconnect after the restart and converge', async () => {
    const p = await newProject(t.handle.db);
    child = await startChild();
    const url = `ws://127.0.0.1:${port}`;
    const a = connectClient(url, p, await token(p, 'editor'), { maxBackoffTime: 200 });
    const b = connectClient(url, p, await token(p, 'editor'), { maxBackoffTime: 200 });
    clients.push(a, b);
    await Promise.all([synced(a), synced(b)]);

    for (let i = 0; i < 10; i++) {
      a.push(`a${i}`);
      b.push(`b${i}`);
    }
    // "Acknowledged": the other client has it, which the server only allows after storing it.
    await waitFor(() => a.items().length === 20 && b.items().length === 20, 10_000, 'first round');
    const acknowledged = sorted(a.items());

    // A burst in flight at the moment of the kill: not acknowledged, but its client still has it.
    for (let i = 0; i < 5; i++) a.push(`inflight${i}`);
    await killHard(child);
    const savedAtCrash = await savedItems(t.handle.db, p);
    for (const item of acknowledged) expect(savedAtCrash).toContain(item);

    // Edits made while the server is down stay local until the reconnect.
    b.push('offline-b');
    await waitFor(() => !a.provider.wsconnected && !b.provider.wsconnected, 5_000, 'clients notice');

    child = await startChild();
    const expected = sorted([...acknowledged, ...Array.from({ length: 5 }, (_, i) => `inflight${i}`), 'offline-b']);
    await waitFor(() => sorted(a.items()).join() === expected.join() && sorted(b.items()).join() === expected.join(), 20_000, 'convergence after restart');
    expect(a.items()).toEqual(b.items());
    await waitFor(async () => (await savedItems(t.handle.db, p)).join() === expected.join(), 10_000, 'everything stored');

    // A newcomer loads the whole document from the restarted process.
    const fresh = connectClient(url, p, await token(p, 'viewer'));
    clients.push(fresh);
    await synced(fresh);
    expect(sorted(fresh.items())).toEqual(expected);

    // SIGTERM: graceful stop, exit 0, document compacted.
    const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(await savedItems(t.handle.db, p)).toEqual(expected);
  });
});
