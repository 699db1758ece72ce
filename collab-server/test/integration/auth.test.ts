/** Authentication at the upgrade, and the standalone HTTP endpoints. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { roomForProject } from '@clipmaker/shared/collab';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { startCollabServer, type CollabServer } from '../../src/index.ts';
import { SECRET, closed, connectClient, newProject, opened, rawSocket, refusedStatus, synced, token } from './support.ts';

describe('auth at upgrade', () => {
  let t: TestDb;
  let server: CollabServer;
  let url: string;
  let p: string;

  beforeAll(async () => {
    t = await createTestDb();
    server = await startCollabServer({ db: t.handle, secret: SECRET, port: 0, logger: pino({ level: 'silent' }) });
    url = `ws://127.0.0.1:${server.port}`;
    p = await newProject(t.handle.db);
  });
  afterAll(async () => {
    await server.close();
    await t.dispose();
  });

  it('accepts a valid token for its room', async () => {
    const ws = rawSocket(url, p, await token(p, 'viewer'));
    await opened(ws);
    ws.close();
    await closed(ws);
  });

  it('refuses a missing token with 401', async () => {
    expect(await refusedStatus(rawSocket(url, p, null))).toBe(401);
  });

  it('refuses an expired token with 401', async () => {
    const tok = await token(p, 'owner', { exp: Math.floor(Date.now() / 1000) - 1 });
    expect(await refusedStatus(rawSocket(url, p, tok))).toBe(401);
  });

  it('refuses a token signed with another secret with 401', async () => {
    const tok = await token(p, 'owner', { secret: 'some-other-secret-of-enough-length' });
    expect(await refusedStatus(rawSocket(url, p, tok))).toBe(401);
  });

  it('refuses a tampered token (role raised, signature kept) with 401', async () => {
    const tok = await token(p, 'viewer');
    const [body, sig] = tok.split('.');
    const payload = JSON.parse(Buffer.from(body!, 'base64url').toString()) as Record<string, unknown>;
    payload.role = 'owner';
    const forged = `${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${sig}`;
    expect(await refusedStatus(rawSocket(url, p, forged))).toBe(401);
    expect(await refusedStatus(rawSocket(url, p, 'garbage'))).toBe(401);
  });

  it('refuses a valid token for another project with 403', async () => {
    const other = await newProject(t.handle.db);
    const tok = await token(other, 'owner');
    expect(await refusedStatus(rawSocket(url, p, tok))).toBe(403);
  });

  it('refuses rooms that are not project rooms with 404', async () => {
    const tok = await token(p, 'owner');
    expect(await refusedStatus(rawSocket(url, p, tok, 'some-room'))).toBe(404);
    expect(await refusedStatus(rawSocket(url, p, tok, `${roomForProject(p)}/x`))).toBe(404);
  });

  it('a refused client never gets a document (y-websocket provider stays unsynced)', async () => {
    const c = connectClient(url, p, await token(p, 'owner', { secret: 'some-other-secret-of-enough-length' }));
    try {
      await expect(synced(c, 800)).rejects.toThrow(/timed out/);
      expect(c.provider.wsconnected).toBe(false);
    } finally {
      c.destroy();
    }
  });

  it('serves /health and /metrics', async () => {
    const get = (path: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        http
          .get(`http://127.0.0.1:${server.port}${path}`, (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          })
          .on('error', reject);
      });
    const c = connectClient(url, p, await token(p, 'editor'));
    await synced(c);
    const health = await get('/health');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.body)).toMatchObject({ ok: true, db: true, rooms: 1, connections: 1 });
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('collab_connections 1');
    expect(metrics.body).toMatch(/collab_connections_total\{role="editor"\} 1/);
    expect((await get('/nope')).status).toBe(404);
    c.destroy();
  });

  it('embeds into an existing http server, leaving other upgrade paths alone', async () => {
    const host = http.createServer((_req, res) => res.end('app'));
    await new Promise<void>((r) => host.listen(0, '127.0.0.1', r));
    const hostPort = (host.address() as AddressInfo).port;
    let otherUpgrades = 0;
    host.on('upgrade', (req, socket) => {
      if (!req.url?.startsWith('/collab/project:')) {
        otherUpgrades++;
        socket.destroy();
      }
    });
    const embedded = await startCollabServer({ db: t.handle, secret: SECRET, server: host, pathPrefix: '/collab', logger: pino({ level: 'silent' }) });
    try {
      expect(embedded.port).toBe(hostPort);
      const c = connectClient(`ws://127.0.0.1:${hostPort}/collab`, p, await token(p, 'editor'));
      await synced(c);
      c.push('embedded');
      await embedded.engine.flush();
      c.destroy();
      const hmr = rawSocket(`ws://127.0.0.1:${hostPort}/hmr`, p, null, 'x');
      hmr.on('error', () => {});
      await closed(hmr);
      const other = rawSocket(`ws://127.0.0.1:${hostPort}/collab`, p, null, 'not-a-project-room');
      other.on('error', () => {});
      await closed(other);
      expect(otherUpgrades).toBe(2);
      expect(await refusedStatus(rawSocket(`ws://127.0.0.1:${hostPort}/collab`, p, null))).toBe(401);
    } finally {
      await embedded.close();
      host.closeAllConnections();
      await new Promise((r) => host.close(r));
    }
    expect(host.listening).toBe(false);
  });
});
