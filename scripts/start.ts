/**
 * `pnpm start`: the whole product in one process on embedded defaults.
 *  - Postgres: DATABASE_URL, or embedded PGlite under .data/pglite (one process owns it, so the app,
 *    the collab engine and the worker share this process's handle).
 *  - Redis: REDIS_URL, or a redis-server found on PATH, started with its data under .data/redis.
 *  - ffmpeg: FFMPEG_PATH or PATH.
 * Production runs the three packages as separate processes (see docker/compose.yaml).
 *
 * `pnpm start` passes --build-if-changed: the app is rebuilt only when its sources are newer than
 * app/build (scripts/build-if-changed.ts). On a terminal (stdout a TTY, LOG_FORMAT not `json`) this
 * process supervises a copy of itself in its own process group and pipes that copy's pino JSON
 * through pino-pretty; Ctrl-C (SIGINT) or SIGTERM is forwarded once: a graceful stop, and a second
 * Ctrl-C forces the exit. Anywhere else (CI, docker, tests) it runs in-process and logs JSON.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import pino from 'pino';
import { createDb, setDb } from '../drizzle/index.ts';
import { migrate } from '../drizzle/migrate.ts';
import { resolveSecrets } from '../app/src/lib/server/secrets.ts';
import type { NodeHook } from '../app/src/lib/server/trpc/node.ts';
import { buildIfChanged } from './build-if-changed.ts';

const log = pino({ name: 'clipmaker' });
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SUPERVISED = '--supervised';
const dataDir = path.resolve(process.env.DATA_DIR ?? path.join(root, '.data'));
process.env.DATA_DIR = dataDir;
process.env.STORAGE_DIR ??= path.join(dataDir, 'storage');
mkdirSync(process.env.STORAGE_DIR, { recursive: true });

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

function onPath(bin: string): boolean {
  return spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0;
}

async function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => sock.write('PING\r\n'));
    sock.once('data', (d) => {
      sock.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    sock.once('error', () => resolve(false));
  });
}

async function startEmbeddedRedis(): Promise<{ url: string; child: ChildProcess }> {
  if (!onPath('redis-server')) {
    throw new Error('Redis is required: set REDIS_URL, or install redis-server (e.g. `apt-get install redis-server`) so it can be started with data under .data/redis');
  }
  const dir = path.join(dataDir, 'redis');
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  // Its own process group: a terminal's Ctrl-C must not stop Redis before the worker and the app
  // have drained; the launcher stops it last (and on any exit).
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--appendonly', 'yes', '--save', '60 1'], { stdio: ['ignore', 'ignore', 'inherit'], detached: true });
  process.once('exit', () => child.kill('SIGTERM'));
  for (let i = 0; i < 100; i++) {
    if (await redisPing(port)) return { url: `redis://127.0.0.1:${port}`, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error('redis-server did not start');
}

async function main() {
  // Unset secrets are generated once (CSPRNG) and kept under $DATA_DIR/secrets (0600); production
  // refuses missing or short ones. The app and the embedded collab engine read them from the env.
  Object.assign(process.env, resolveSecrets(process.env, dataDir));
  const ffmpeg = process.env.FFMPEG_PATH ?? 'ffmpeg';
  if (spawnSync(ffmpeg, ['-hide_banner', '-version'], { stdio: 'ignore' }).status !== 0) {
    throw new Error(`ffmpeg not found (${ffmpeg}): install it (e.g. \`apt-get install ffmpeg\`) or set FFMPEG_PATH`);
  }

  let redisChild: ChildProcess | null = null;
  if (!process.env.REDIS_URL) {
    const redis = await startEmbeddedRedis();
    redisChild = redis.child;
    process.env.REDIS_URL = redis.url;
    log.info({ url: redis.url, dir: path.join(dataDir, 'redis') }, 'started embedded redis-server');
  }

  const db = await createDb();
  await migrate(db);
  setDb(db);
  log.info({ kind: db.kind }, 'database ready');

  const { startCollabServer } = await import('../collab-server/src/index.ts');
  const collab = await startCollabServer({
    db,
    secret: process.env.COLLAB_SECRET!,
    port: Number(process.env.COLLAB_PORT ?? 1234),
    host: process.env.COLLAB_HOST ?? '127.0.0.1',
    // Access changes from the app (live revocation) and fan-out to any other collab process.
    redis: { url: process.env.REDIS_URL!, prefix: process.env.QUEUE_PREFIX || 'clipmaker' },
    metricsToken: process.env.METRICS_TOKEN || undefined,
  });
  process.env.COLLAB_PUBLIC_URL ??= `ws://localhost:${collab.port}`;
  // The app's /metrics reads the embedded engine's live connection count through this hook.
  (globalThis as { __clipmakerCollabConnections?: () => number }).__clipmakerCollabConnections = () => collab.engine.connectionCount();
  log.info({ port: collab.port }, 'collab-server listening');

  const { startWorker, LocalDiskStorage, S3Storage, s3OptionsFromEnv } = await import('../render-farm/src/index.ts');
  const s3 = s3OptionsFromEnv(); // S3_BUCKET set: the app and the embedded worker both use the bucket
  const worker = await startWorker({
    redisUrl: process.env.REDIS_URL,
    storage: s3 ? new S3Storage(s3) : new LocalDiskStorage(process.env.STORAGE_DIR),
    concurrency: Number(process.env.WORKER_CONCURRENCY ?? 1),
    workerId: process.env.WORKER_ID ?? `${os.hostname()}-${process.pid}`,
    ...(process.env.QUEUE_PREFIX ? { prefix: process.env.QUEUE_PREFIX } : {}),
  });
  log.info('render worker started');

  const port = Number(process.env.PORT ?? 3000);
  const host = process.env.HOST ?? '127.0.0.1';
  process.env.ORIGIN ??= `http://localhost:${port}`;
  // adapter-node caps every request body (512 KB by default); uploads stream under their own limit
  // (MAX_UPLOAD_BYTES, enforced while streaming), so the global cap must let them through.
  process.env.BODY_SIZE_LIMIT ??= String(Number(process.env.MAX_UPLOAD_BYTES ?? 2 * 1024 ** 3) + 1024 ** 2);
  // APP_BUILD_DIR: another build of the app (benchmarks compare two builds side by side in one run).
  const buildDir = path.resolve(root, process.env.APP_BUILD_DIR ?? 'app/build');
  const { handler } = (await import(pathToFileURL(path.join(buildDir, 'handler.js')).href)) as { handler: http.RequestListener };
  // The app's Node-level hook (tRPC answered without a Fetch Request: app/src/lib/server/trpc/node.ts),
  // registered when the handler loaded the app's hooks; what it does not take goes to SvelteKit.
  const hook = (globalThis as Record<symbol, unknown>)[Symbol.for('clipmaker.app.nodeHook')] as NodeHook | undefined;
  const server = http.createServer(hook ? (req, res) => hook(req, res, () => handler(req, res)) : handler);
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  log.info({ url: process.env.ORIGIN, dataDir }, `ClipMaker is running: open ${process.env.ORIGIN}  (data in ${dataDir})`);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      if (signal === 'SIGINT') {
        log.warn('second Ctrl-C: exiting without waiting for in-flight work');
        process.exit(130);
      }
      return;
    }
    stopping = true;
    log.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 30_000).unref();
    // Stop accepting, let in-flight requests finish, then cut long-lived ones (SSE) after a grace period.
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const grace = setTimeout(() => server.closeAllConnections(), 5_000);
    await closed;
    clearTimeout(grace);
    await worker.stop().catch((err: unknown) => log.error({ err }, 'worker stop failed'));
    await collab.close().catch((err: unknown) => log.error({ err }, 'collab close failed'));
    await db.close();
    redisChild?.kill('SIGTERM');
    clearTimeout(force);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

/**
 * On a terminal: run the launcher as a child in its own process group (so a Ctrl-C reaches it once,
 * through here) with its JSON logs made readable by pino-pretty.
 */
async function supervise(): Promise<never> {
  const { default: pretty } = await import('pino-pretty');
  const args = [...process.execArgv, fileURLToPath(import.meta.url), SUPERVISED];
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], detached: true });
  child.stdout!.pipe(pretty({ colorize: true, singleLine: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' }));
  const forward = (signal: NodeJS.Signals) => () => {
    if (child.exitCode === null) child.kill(signal);
  };
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  process.on('SIGHUP', forward('SIGTERM'));
  process.once('exit', () => child.exitCode === null && child.kill('SIGTERM'));
  const code = await new Promise<number>((resolve) => child.once('exit', (c, sig) => resolve(c ?? (sig === 'SIGINT' ? 130 : 1))));
  process.exit(code);
}

async function launch() {
  const supervised = process.argv.includes(SUPERVISED);
  if (process.argv.includes('--build-if-changed') && !supervised) {
    mkdirSync(dataDir, { recursive: true });
    await buildIfChanged(root, path.join(dataDir, 'build.log'), (msg) => log.info(msg));
  }
  if (!supervised && process.stdout.isTTY && process.env.LOG_FORMAT !== 'json') return supervise();
  return main();
}

launch().catch((err: unknown) => {
  log.fatal({ err: err instanceof Error ? err.message : err }, 'ClipMaker failed to start');
  process.exit(1);
});
