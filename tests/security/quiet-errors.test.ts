/**
 * Attack: learn about the server from its errors. No response may carry a stack trace or a server
 * path (the app runs with NODE_ENV=test here, not production); a bug answers "Internal error (<id>)"
 * and the id is in the log; an id that exists in another team answers exactly like one that does not;
 * the renders.onUpdate subscription refuses an outsider with NOT_FOUND, not a 500; a client that
 * aborts mid-request is one debug line with the route, never an error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import net from 'node:net';
import postgres from 'postgres';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { createProject, seedRender, signUpUser, trpc } from './support.ts';

/** Stack frames, absolute paths, source file names: nothing a client should see. */
const LEAK = /\bat [\w.<>]+ \(|\/(work|home|usr|tmp|app|src)\/|node_modules|\.ts:\d+|\.js:\d+|"stack"/;

describe('quiet errors', () => {
  let app: RunningApp;
  let sql: postgres.Sql;
  let owner: string;
  let outsider: string;
  let project: { projectId: string; orgId: string };
  let renderId: string;
  let assetId: string;

  beforeAll(async () => {
    // debug: the aborted-request test reads the debug line (the app is silent under vitest otherwise).
    app = await startApp({ LOG_LEVEL: 'debug' });
    sql = postgres(app.db.url, { max: 1, onnotice: () => {} });
    owner = await signUpUser(app.url, 'team@example.com');
    outsider = await signUpUser(app.url, 'outsider@example.com');
    project = await createProject(app.url, owner);
    ({ renderId } = await seedRender(sql, app.dataDir, project));
    assetId = crypto.randomUUID();
    await sql`insert into assets (id, org_id, project_id, kind, name, storage_key, bytes, sha256) values (${assetId}, ${project.orgId}, ${project.projectId}, 'video', 'a.mp4', 'orgs/x/a.mp4', 1, 'x')`;
  });
  afterAll(async () => {
    await sql?.end();
    await app?.stop();
  });

  it('a bad input answers 400 without a stack or a path', async () => {
    const res = await trpc(app.url, owner, 'renders.get', { renderId: 'not-a-uuid' }, 'query');
    expect(res.status).toBe(400);
    const text = await res.text();
    expect(text).not.toMatch(LEAK);
  });

  it('a server bug answers 500 "Internal error (<id>)" and the log has that id with the details', async () => {
    // A state vector that is not one makes Yjs throw deep inside the render service.
    const res = await trpc(app.url, owner, 'renders.create', { projectId: project.projectId, stateVector: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).toString('base64') }, 'mutation');
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toMatch(LEAK);
    const body = JSON.parse(text) as { error: { message: string } };
    const id = /^Internal error \(([0-9a-f-]{36})\)$/.exec(body.error.message)?.[1];
    expect(id, body.error.message).toBeDefined();
    await expect.poll(() => app.logs().includes(id!)).toBe(true);
  });

  it('tRPC: an id of another team answers exactly like an id that does not exist', async () => {
    for (const [path, existing] of [
      ['renders.get', { renderId }],
      ['projects.open', { projectId: project.projectId }],
      ['review.comments', { renderId }],
    ] as const) {
      const missing = Object.fromEntries(Object.keys(existing).map((k) => [k, crypto.randomUUID()]));
      const a = await trpc(app.url, outsider, path, existing, 'query');
      const b = await trpc(app.url, outsider, path, missing, 'query');
      const [ta, tb] = [await a.text(), await b.text()];
      expect([a.status, ta], path).toEqual([b.status, tb]);
      expect(a.status, path).toBe(404);
      expect(ta).not.toMatch(LEAK);
    }
  });

  it('endpoints: another team\'s asset file answers like a missing one', async () => {
    const a = await fetch(`${app.url}/api/assets/${assetId}/file`, { headers: { cookie: outsider } });
    const b = await fetch(`${app.url}/api/assets/${crypto.randomUUID()}/file`, { headers: { cookie: outsider } });
    const c = await fetch(`${app.url}/api/assets/not-an-id/file`, { headers: { cookie: outsider } });
    const bodies = [await a.text(), await b.text(), await c.text()];
    expect([a.status, b.status, c.status]).toEqual([404, 404, 404]);
    expect(new Set(bodies).size).toBe(1);
  });

  it('pages: another team\'s project page reads like a missing one', async () => {
    const strip = (html: string) => html.replace(/nonce-[^']+'|nonce="[^"]*"|sha256-[^']+'/g, '');
    const a = await fetch(`${app.url}/projects/${project.projectId}`, { headers: { cookie: outsider } });
    const b = await fetch(`${app.url}/projects/${crypto.randomUUID()}`, { headers: { cookie: outsider } });
    expect([a.status, b.status]).toEqual([404, 404]);
    expect(strip(await a.text())).toBe(strip(await b.text()));
  });

  it('a client that aborts mid-request is logged at debug with the route, not as a server error', async () => {
    const lines = () => app.logs().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string; route?: string; method?: string });
    const errorLines = () => lines().filter((l) => l.level >= 50).length;
    const abortedRoutes = () => lines().filter((l) => l.level === 20 && l.msg === 'request aborted by the client').map((l) => `${l.method} ${l.route}`);
    const before = errorLines();
    const abortedBefore = abortedRoutes().length;
    const u = new URL(app.url);
    for (const p of ['/api/trpc/notifications.markRead', '/login']) {
      await new Promise<void>((resolve) => {
        const sock = net.connect(Number(u.port), u.hostname, () => {
          sock.write(`POST ${p} HTTP/1.1\r\nHost: ${u.host}\r\nOrigin: ${app.url}\r\nCookie: ${owner}\r\nContent-Type: application/json\r\nContent-Length: 10000\r\n\r\n{"ids":`);
          setTimeout(() => {
            sock.destroy();
            resolve();
          }, 300);
        });
      });
    }
    await expect.poll(() => abortedRoutes().slice(abortedBefore)).toEqual(['POST /api/trpc/[...trpc]', 'POST /login']);
    expect(errorLines()).toBe(before);
    // The app is fine.
    expect((await trpc(app.url, owner, 'notifications.unread', undefined, 'query')).status).toBe(200);
  });

  it('renders.onUpdate refuses an outsider with NOT_FOUND like a query, not a 500', async () => {
    const ac = new AbortController();
    const res = await fetch(`${app.url}/api/trpc/renders.onUpdate?input=${encodeURIComponent(JSON.stringify({ renderId }))}`, { headers: { cookie: outsider, accept: 'text/event-stream' }, signal: ac.signal });
    const reader = res.body!.getReader();
    let text = '';
    const deadline = Date.now() + 20_000;
    while (!/event: serialized-error\ndata: .*\n/.test(text) && Date.now() < deadline) {
      const { done, value } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    ac.abort();
    const data = /event: serialized-error\ndata: (.*)\n/.exec(text)?.[1];
    expect(data, text).toBeDefined();
    const err = JSON.parse(data!) as { data: { code: string; httpStatus: number }; message: string };
    expect(err.data).toMatchObject({ code: 'NOT_FOUND', httpStatus: 404 });
    expect(data).not.toMatch(LEAK);
    // …and a member gets the render's state.
    const mine = await fetch(`${app.url}/api/trpc/renders.onUpdate?input=${encodeURIComponent(JSON.stringify({ renderId }))}`, { headers: { cookie: owner, accept: 'text/event-stream' } });
    const first = new TextDecoder().decode((await mine.body!.getReader().read()).value);
    expect(first).not.toContain('serialized-error');
  });
});
