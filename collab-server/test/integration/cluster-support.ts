/** Collab-server processes (src/main.ts) sharing Postgres and Redis, and a TCP round-robin "load balancer". */
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { SECRET, waitFor } from './support.ts';
import { freePort } from '../../../tests/support/app-server.ts';
import { TEST_REDIS_URL } from '../../../tests/support/redis.ts';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const MAIN = path.join(repoRoot, 'collab-server/src/main.ts');

export function getJson(port: number, p: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve) => {
    http
      .get({ host: '127.0.0.1', port, path: p, headers }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
      .on('error', () => resolve({ status: 0, body: '' }));
  });
}

export interface CollabProcess {
  port: number;
  child: ChildProcess;
  stderr: () => string;
  killHard(): Promise<void>;
  stop(): Promise<void>;
}

export async function startCollabProcess(databaseUrl: string, prefix: string, env: Record<string, string> = {}): Promise<CollabProcess> {
  const port = await freePort();
  let stderr = '';
  // `node --import tsx` (not the tsx CLI, which would put a wrapper process between us and the server).
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN], {
    cwd: repoRoot,
    env: {
      ...process.env,
      NODE_ENV: 'test',
      DATABASE_URL: databaseUrl,
      COLLAB_PORT: String(port),
      COLLAB_HOST: '127.0.0.1',
      COLLAB_SECRET: SECRET,
      REDIS_URL: TEST_REDIS_URL,
      QUEUE_PREFIX: prefix,
      LOG_LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitFor(async () => (await getJson(port, '/health')).status === 200, 90_000, `collab process to listen (stderr: ${stderr})`);
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const kill = (sig: NodeJS.Signals) =>
    new Promise<void>((resolve) => {
      if (exited()) return resolve();
      child.once('exit', () => resolve());
      child.kill(sig);
    });
  return { port, child, stderr: () => stderr, killHard: () => kill('SIGKILL'), stop: () => kill('SIGTERM') };
}

/**
 * A plain TCP load balancer: each new connection goes to the next backend in turn, skipping any that
 * refuse (a dead process). No stickiness of any kind.
 */
export async function startBalancer(backends: () => number[]): Promise<{ port: number; close(): Promise<void> }> {
  let next = 0;
  const open = new Set<net.Socket>();
  const server = net.createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => {});
    client.pause();
    const ports = backends();
    const attempt = (tries: number) => {
      if (tries >= ports.length) return client.destroy();
      const port = ports[next++ % ports.length]!;
      const up = net.connect(port, '127.0.0.1');
      up.once('connect', () => {
        open.add(up);
        up.on('close', () => {
          open.delete(up);
          client.destroy();
        });
        client.on('close', () => up.destroy());
        client.pipe(up);
        up.pipe(client);
        client.resume();
      });
      up.once('error', () => {
        if (up.connecting || !open.has(up)) attempt(tries + 1);
        else client.destroy();
      });
    };
    attempt(0);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of open) s.destroy();
        server.close(() => resolve());
      }),
  };
}
