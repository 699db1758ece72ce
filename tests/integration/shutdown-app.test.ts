/**
 * The production app process (`node app/build`, the docker image's command) on SIGTERM: adapter-node
 * stops accepting, the in-flight slow upload completes (201), new connections are refused, and the
 * process exits 0 on its own soon after (the database pool and Redis clients are closed on
 * 'sveltekit:shutdown', see hooks.server.ts) instead of hanging until SIGKILL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDb, type TestDb } from '../support/db.ts';
import { freePort } from '../support/app-server.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../support/redis.ts';
import { ffmpeg } from '../support/media.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe('node app/build on SIGTERM', () => {
  let t: TestDb;
  let work: string;

  beforeAll(async () => {
    t = await createTestDb();
    work = mkdtempSync(path.join(tmpdir(), 'cm-app-stop-'));
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=30:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', path.join(work, 'clip.mp4')]);
  });

  afterAll(async () => {
    await t?.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  it('drains the in-flight upload, refuses new connections and exits 0 by itself', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let logs = '';
    const child = spawn(process.execPath, ['app/build'], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'production', DATABASE_URL: t.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: uniquePrefix('appstop'), DATA_DIR: work, HOST: '127.0.0.1', PORT: String(port), ORIGIN: url, BODY_SIZE_LIMIT: '10M', SHUTDOWN_TIMEOUT: '20', COLLAB_SECRET: 'app-stop-collab-secret-0123456789', SIGNING_SECRET: 'app-stop-signing-secret-0123456789', COLLAB_PUBLIC_URL: 'ws://127.0.0.1:1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
    const exit = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      const deadline = Date.now() + 60_000;
      while ((await fetch(`${url}/api/health`).catch(() => null))?.status !== 200) {
        if (Date.now() > deadline || child.exitCode !== null) throw new Error(`app did not start:\n${logs}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      const signup = await fetch(`${url}/signup`, { method: 'POST', body: new URLSearchParams({ name: 'Pat', email: 'pat@example.com', password: 'long enough pw' }), headers: { origin: url, accept: 'text/html' }, redirect: 'manual' });
      expect(signup.status, logs).toBe(303);
      const cookie = /cm_session=[^;]*/.exec(signup.headers.get('set-cookie') ?? '')![0];
      const created = await fetch(`${url}/api/trpc/projects.create`, { method: 'POST', body: JSON.stringify({ name: 'Stop' }), headers: { cookie, 'content-type': 'application/json', origin: url } });
      const projectId = ((await created.json()) as { result: { data: { id: string } } }).result.data.id;
      // Answered by the app's Node-level hook (trpc/node.ts, mounted by app/node-hook.js): a
      // Content-Length, where SvelteKit's handler streams its answers chunked.
      expect(created.headers.get('content-length'), 'tRPC under node app/build went through SvelteKit, not the Node-level hook').not.toBeNull();

      const video = readFileSync(path.join(work, 'clip.mp4'));
      const req = http.request({ host: '127.0.0.1', port, path: `/api/projects/${projectId}/assets`, method: 'POST', headers: { cookie, 'x-file-name': 'clip.mp4', 'content-type': 'application/octet-stream', 'content-length': String(video.length) } });
      const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
        req.once('response', (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (d: string) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        req.once('error', reject);
      });
      const half = Math.floor(video.length / 2);
      req.write(video.subarray(0, half));
      await new Promise((r) => setTimeout(r, 300));
      const stoppedAt = Date.now();
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 300));
      const refused = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1');
        s.once('connect', () => (s.destroy(), resolve(false)));
        s.once('error', () => resolve(true));
      });
      expect(refused).toBe(true);
      req.end(video.subarray(half));
      const res = await response;
      expect(res.status, res.body).toBe(201);
      expect(await exit, logs.slice(-3000)).toBe(0);
      // It exits on its own well before SHUTDOWN_TIMEOUT (20 s) would cut connections.
      expect(Date.now() - stoppedAt).toBeLessThan(10_000);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
