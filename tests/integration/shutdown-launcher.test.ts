/**
 * Graceful shutdown of the real processes on SIGTERM (what `docker stop` and Kubernetes send):
 *  - the launcher (`scripts/start.ts`: app + collab + worker in one process): an upload that is still
 *    streaming when SIGTERM arrives completes with 201, new connections are refused meanwhile, an edit
 *    the collab-server has received is flushed to Postgres, and the process exits 0;
 *  - the standalone collab-server (`collab-server/src/main.ts`, the docker image's command): flushes
 *    the received edit and exits 0.
 * The worker's own stop (finish the running render within the bound, else re-queue it) is covered by
 * render-farm/test/integration/worker-stop.test.ts; the collab engine's close() by
 * collab-server/test/integration/engine.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import postgres from 'postgres';
import { createTestDb, type TestDb } from '../support/db.ts';
import { freePort } from '../support/app-server.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../support/redis.ts';
import { ffmpeg } from '../support/media.ts';
import { SECRET, connectClient, newProject, savedItems, synced, token, waitFor, type Client } from '../../collab-server/test/integration/support.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once('exit', (code) => r(code)));
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.once('connect', () => {
      sock.destroy();
      resolve(false);
    });
    sock.once('error', () => resolve(true));
  });
}

/** A raw POST whose body is written slowly, chunk by chunk, by the caller. */
function slowPost(url: string, headers: Record<string, string>, length: number) {
  const u = new URL(url);
  const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', headers: { ...headers, 'content-length': String(length) } });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.once('response', (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.once('error', reject);
  });
  return { req, response };
}

describe('graceful shutdown on SIGTERM', () => {
  let t: TestDb;
  let work: string;
  const clients: Client[] = [];

  beforeAll(async () => {
    t = await createTestDb();
    work = mkdtempSync(path.join(tmpdir(), 'cm-shutdown-'));
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=30:duration=2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', path.join(work, 'clip.mp4')]);
  });

  afterAll(async () => {
    for (const c of clients) c.destroy();
    await t?.dispose();
    rmSync(work, { recursive: true, force: true });
  });

  it('the launcher drains an in-flight upload, refuses new connections, flushes collab, exits 0', async () => {
    const port = await freePort();
    const collabPort = await freePort();
    const dataDir = mkdtempSync(path.join(tmpdir(), 'cm-shutdown-data-'));
    let logs = '';
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start.ts'], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: t.url, REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: uniquePrefix('shutdown'), DATA_DIR: dataDir, PORT: String(port), COLLAB_PORT: String(collabPort), ORIGIN: `http://127.0.0.1:${port}`, COLLAB_PUBLIC_URL: `ws://127.0.0.1:${collabPort}`, COLLAB_SECRET: SECRET },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
    const url = `http://127.0.0.1:${port}`;
    try {
      await waitFor(async () => (await fetch(`${url}/api/health`).catch(() => null))?.status === 200, 90_000, 'app health');

      // A user with a project (through the real form action and tRPC).
      const signup = await fetch(`${url}/signup`, { method: 'POST', body: new URLSearchParams({ name: 'Sam', email: 'sam@example.com', password: 'long enough pw' }), headers: { origin: url, accept: 'text/html' }, redirect: 'manual' });
      expect(signup.status).toBe(303);
      const cookie = /cm_session=[^;]*/.exec(signup.headers.get('set-cookie') ?? '')![0];
      const created = await fetch(`${url}/api/trpc/projects.create`, { method: 'POST', body: JSON.stringify({ name: 'Drain' }), headers: { cookie, 'content-type': 'application/json', origin: url } });
      const projectId = ((await created.json()) as { result: { data: { id: string } } }).result.data.id;

      // Two collab editors; b sees a's edit, so the server has received it (not necessarily stored).
      const collabUrl = `ws://127.0.0.1:${collabPort}`;
      const a = connectClient(collabUrl, projectId, await token(projectId, 'editor'), { maxBackoffTime: 60_000 });
      const b = connectClient(collabUrl, projectId, await token(projectId, 'editor'), { maxBackoffTime: 60_000 });
      clients.push(a, b);
      await Promise.all([synced(a), synced(b)]);

      // The slow upload: half now, SIGTERM, the rest over ~1.5 s.
      const video = readFileSync(path.join(work, 'clip.mp4'));
      const upload = slowPost(`${url}/api/projects/${projectId}/assets`, { cookie, 'x-file-name': 'clip.mp4', 'content-type': 'application/octet-stream' }, video.length);
      const half = Math.floor(video.length / 2);
      upload.req.write(video.subarray(0, half));
      await new Promise((r) => setTimeout(r, 300));

      a.push('edit-before-sigterm');
      await waitFor(() => b.items().includes('edit-before-sigterm'), 10_000, 'edit relayed');
      const exit = exited(child);
      child.kill('SIGTERM');
      await waitFor(() => logs.includes('shutting down'), 5_000, 'shutdown started');

      // Draining: the listener is closed, so new connections are refused...
      expect(await refused(port)).toBe(true);
      // ...while the in-flight upload goes on and completes.
      const rest = video.subarray(half);
      const step = Math.ceil(rest.length / 5);
      for (let i = 0; i < rest.length; i += step) {
        upload.req.write(rest.subarray(i, i + step));
        await new Promise((r) => setTimeout(r, 300));
      }
      upload.req.end();
      const res = await upload.response;
      expect(res.status, res.body).toBe(201);
      expect(JSON.parse(res.body)).toMatchObject({ kind: 'video', name: 'clip.mp4' });

      expect(await exit, logs.slice(-3000)).toBe(0);
      const sql = postgres(t.url, { max: 1, onnotice: () => {} });
      try {
        expect(Number((await sql`select count(*)::int as n from assets where project_id = ${projectId}`)[0]!.n)).toBe(1);
      } finally {
        await sql.end();
      }
      expect(await savedItems(t.handle.db, projectId)).toContain('edit-before-sigterm');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('the standalone collab-server flushes what it received and exits 0', async () => {
    const port = await freePort();
    let logs = '';
    const child = spawn(process.execPath, ['--import', 'tsx', 'collab-server/src/main.ts'], {
      cwd: ROOT,
      env: { ...process.env, NODE_ENV: 'test', DATABASE_URL: t.url, COLLAB_PORT: String(port), COLLAB_SECRET: SECRET, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', (d: Buffer) => (logs += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (logs += d.toString()));
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/health`).catch(() => null))?.ok === true, 30_000, 'collab health');
      const p = await newProject(t.handle.db);
      const a = connectClient(`ws://127.0.0.1:${port}`, p, await token(p, 'editor'), { maxBackoffTime: 60_000 });
      const b = connectClient(`ws://127.0.0.1:${port}`, p, await token(p, 'editor'), { maxBackoffTime: 60_000 });
      clients.push(a, b);
      await Promise.all([synced(a), synced(b)]);
      for (let i = 0; i < 50; i++) a.push(`e${i}`);
      await waitFor(() => b.items().length === 50, 10_000, 'edits relayed');
      const exit = exited(child);
      child.kill('SIGTERM');
      expect(await exit, logs.slice(-3000)).toBe(0);
      expect((await savedItems(t.handle.db, p)).length).toBe(50);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
