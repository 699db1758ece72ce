/**
 * Starts the real product (`tsx scripts/start.ts`, the same launcher as `pnpm start`) as a child
 * process against real Postgres (a fresh database) and real Redis (a unique queue prefix), on free
 * ports, with its own data folder. Requires the app to be built (`pnpm test` builds first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { publishAccessChange, standalonePublisher } from '../../app/src/lib/server/access-events.ts';
import { createTestDb, type TestDb } from './db.ts';
import { TEST_REDIS_URL, uniquePrefix } from './redis.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export interface RunningApp {
  url: string;
  /** The launcher process (it serves the app, the collab engine and the worker itself). */
  pid: number;
  collabUrl: string;
  dataDir: string;
  db: TestDb;
  logs: () => string;
  /**
   * After a test changed users behind the app's back (SQL): tell the app, as every process that
   * changes a user does, so its session cache (auth/session-cache.ts) forgets them now.
   */
  announceUserChanges(userIds: string[]): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `embedded: true` runs the defaults a new user gets: no DATABASE_URL (PGlite under the data dir) and
 * no REDIS_URL (redis-server from PATH, data under the data dir).
 */
export interface StartOptions {
  embedded?: boolean;
  /** Share a database (left to its owner to dispose). */
  db?: TestDb;
  /** Run the launcher under this command (e.g. strace …); `pid` is then the wrapper's. */
  wrap?: string[];
  /** Extra flags for the launcher's node (e.g. --cpu-prof, which NODE_OPTIONS refuses). */
  nodeArgs?: string[];
}

export async function startApp(extraEnv: Record<string, string> = {}, opts: StartOptions = {}): Promise<RunningApp> {
  const db = opts.db ?? (await createTestDb());
  const dataDir = mkdtempSync(path.join(tmpdir(), 'cm-app-'));
  const port = await freePort();
  const collabPort = await freePort();
  let output = '';
  const env: NodeJS.ProcessEnv = {
      ...process.env,
      NODE_ENV: 'test',
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: uniquePrefix('app'),
      DATA_DIR: dataDir,
      PORT: String(port),
      COLLAB_PORT: String(collabPort),
      ORIGIN: `http://127.0.0.1:${port}`,
      COLLAB_PUBLIC_URL: `ws://127.0.0.1:${collabPort}`,
      ...extraEnv,
  };
  if (opts.embedded) {
    delete env.DATABASE_URL;
    delete env.REDIS_URL;
  }
  const argv = [process.execPath, ...(opts.nodeArgs ?? []), '--import', 'tsx', 'scripts/start.ts'];
  const [cmd, ...args] = [...(opts.wrap ?? []), ...argv];
  const child: ChildProcess = spawn(cmd!, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`app exited early (${child.exitCode}):\n${output}`);
    try {
      const res = await fetch(`${url}/api/health`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`app did not become healthy:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return {
    url,
    pid: child.pid!,
    collabUrl: String(env.COLLAB_PUBLIC_URL),
    dataDir,
    db,
    logs: () => output,
    async announceUserChanges(userIds) {
      const pub = standalonePublisher(String(env.REDIS_URL), String(env.QUEUE_PREFIX));
      try {
        for (const userId of userIds) await publishAccessChange(pub.publisher, { kind: 'user-account', userId });
      } finally {
        pub.close();
      }
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            child.kill('SIGKILL');
            resolve();
          }, 15_000);
          child.once('exit', () => {
            clearTimeout(t);
            resolve();
          });
        });
      }
      if (!opts.db) await db.dispose();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
