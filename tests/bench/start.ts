/**
 * `pnpm bench:start`: time from `pnpm start` to a usable page (GET /login answers 200) on embedded
 * defaults (PGlite, redis-server from PATH) in a fresh data directory, twice: the first start
 * creates the database and secrets, the second is what a returning developer waits for. Both run
 * with the build already current (nothing changed since `pnpm build`); `buildIfChanged` says whether
 * a build happened. Each start is stopped with SIGTERM to pnpm, which forwards it (stop time and
 * pnpm's exit code or signal reported).
 * Prints one JSON object.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort } from '../support/app-server.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dataDir = mkdtempSync(path.join(os.tmpdir(), 'cm-bench-start-'));

async function once(label: string) {
  const port = await freePort();
  const collabPort = await freePort();
  const started = performance.now();
  const env: NodeJS.ProcessEnv = { ...process.env, DATA_DIR: dataDir, PORT: String(port), COLLAB_PORT: String(collabPort), LOG_LEVEL: 'info' };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const child = spawn('pnpm', ['start'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  let usableMs = -1;
  for (const deadline = Date.now() + 180_000; Date.now() < deadline && child.exitCode === null; ) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/login`);
      if (res.status === 200) {
        usableMs = Math.round(performance.now() - started);
        break;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  // pnpm forwards SIGTERM to the script (a SIGINT reaches it only from a terminal's Ctrl-C).
  const stopAt = performance.now();
  child.kill('SIGTERM');
  const exit = await new Promise<string>((r) => (child.exitCode !== null ? r(String(child.exitCode)) : child.once('exit', (c, sig) => r(String(c ?? sig)))));
  if (usableMs < 0) throw new Error(`${label}: no usable page:\n${out.slice(-3000)}`);
  return { start: label, usableMs, builtApp: out.includes('building the app'), stopMs: Math.round(performance.now() - stopAt), pnpmExit: exit, launcherSaidRunning: out.includes('ClipMaker is running: open ') };
}

try {
  const first = await once('first');
  const second = await once('second');
  process.stdout.write(`${JSON.stringify({ bench: 'start', machine: { cpus: os.cpus().length, loadavg: os.loadavg().map((l) => Math.round(l * 100) / 100) }, results: [first, second] }, null, 2)}\n`);
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
