/**
 * The launcher on a terminal (a pseudo-terminal from util-linux `script`): pino-pretty lines instead
 * of JSON, one "open URL (data in DIR)" line, and Ctrl-C (the byte the terminal turns into SIGINT)
 * stops everything gracefully with exit 0 and the port closed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDb, type TestDb } from '../support/db.ts';
import { freePort } from '../support/app-server.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../support/redis.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const strip = (s: string) => s.replace(/\x1b\[[0-9;]*m/g, '').replace(/\r/g, '');

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}

describe('pnpm start on a terminal', () => {
  let db: TestDb;
  let dataDir: string;
  let child: ChildProcess;
  let out = '';
  let port: number;

  beforeAll(async () => {
    db = await createTestDb();
    dataDir = mkdtempSync(path.join(tmpdir(), 'cm-tty-'));
    port = await freePort();
    const env = {
      ...process.env,
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: uniquePrefix('tty'),
      DATA_DIR: dataDir,
      PORT: String(port),
      COLLAB_PORT: String(await freePort()),
      LOG_LEVEL: 'info',
      SHELL: '/bin/sh', // script(1) runs its command through $SHELL -c; see below
    };
    delete (env as Record<string, string | undefined>).LOG_FORMAT;
    // `script -qfec CMD /dev/null`: CMD on a new pseudo-terminal; our stdin is typed into it. script
    // runs CMD through $SHELL -c; `exec` makes the launcher the terminal's foreground process itself,
    // as it is under a login shell. (Without it dash, CI's /bin/sh, stays in between, takes the Ctrl-C
    // too and exits 130 on its own once the launcher has stopped with 0.)
    child = spawn('script', ['-qfec', `exec ${process.execPath} --import tsx scripts/start.ts`, '/dev/null'], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const deadline = Date.now() + 120_000;
    while (!strip(out).includes('ClipMaker is running') && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 200));
  }, 130_000);

  afterAll(async () => {
    if (child?.exitCode === null) child.kill('SIGKILL');
    await db?.dispose();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('prints readable lines and one line with the URL to open, then stops on Ctrl-C', async () => {
    const text = strip(out);
    expect(text, text.slice(-2000)).toContain(`ClipMaker is running: open http://localhost:${port}  (data in ${dataDir})`);
    expect(text).toMatch(/^\[\d\d:\d\d:\d\d\] INFO \(clipmaker\): database ready/m);
    expect(text).not.toMatch(/^\{"level":/m);
    expect(await listening(port)).toBe(true);

    child.stdin!.write('\x03'); // Ctrl-C
    const code = await new Promise<number | null>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.once('exit', (c) => resolve(c))));
    const after = strip(out);
    expect(code, after.slice(-2000)).toBe(0);
    expect(after).toContain(`INFO (clipmaker): shutting down {"signal":"SIGINT"}`);
    expect(after).toContain('collab server closed');
    expect(await listening(port)).toBe(false);
  }, 60_000);
});
