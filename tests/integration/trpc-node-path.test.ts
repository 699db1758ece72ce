/**
 * tRPC answered at the Node level (app/src/lib/server/trpc/node.ts) against tRPC answered through
 * SvelteKit's handler (TRPC_FAST_PATH=off), on two real app processes sharing one Postgres: the same
 * requests, raw HTTP, must get the same status, headers and body. Requests that differ by what an
 * attacker or a broken client would send: forged and malformed session cookies, cross-site
 * mutations, declared and streamed oversize bodies, malformed input, wrong methods, batches, a BOM,
 * what the Node path hands on to SvelteKit (HEAD, a body that is not JSON, a jsonl stream). Also:
 * the session renewal's Set-Cookie, the request metrics, a client that leaves mid-body (logged once
 * at debug, not as an error), and that the two processes really answered by different paths (the
 * Node path writes a Content-Length, SvelteKit streams its body chunked).
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { createTestDb, type TestDb } from '../support/db.ts';
import { createProject, signUpUser } from '../security/support.ts';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** One raw HTTP/1.1 request (Node's client: no Fetch rules on headers such as Origin or Content-Length). */
function send(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string, opts: { chunks?: Buffer[] } = {}): Promise<Answer> {
  const u = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: u.hostname, port: u.port, method, path, headers, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (d: string) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    if (opts.chunks) {
      for (const c of opts.chunks) req.write(c);
      req.end();
    } else req.end(body);
  });
}

/** Headers that differ by connection or clock, not by what was answered. */
const TRANSPORT = new Set(['date', 'keep-alive', 'transfer-encoding', 'content-length']);

function comparable(a: Answer) {
  const headers = Object.entries(a.headers)
    .filter(([k]) => !TRANSPORT.has(k))
    .map(([k, v]) => [k, k === 'set-cookie' ? String(v).replace(/Expires=[^;]+/, 'Expires=(date)') : String(v)])
    .sort(([x], [y]) => x!.localeCompare(y!));
  return { status: a.status, headers, body: a.body.replace(/Internal error \([0-9a-f-]{36}\)/g, 'Internal error (id)') };
}

describe('tRPC at the Node level answers exactly as through SvelteKit', () => {
  let db: TestDb;
  let fast: RunningApp;
  let kit: RunningApp;
  let cookie: string;
  let projectId: string;
  let otherProjectId: string;
  let sql: postgres.Sql;

  beforeAll(async () => {
    db = await createTestDb();
    fast = await startApp({ LOG_LEVEL: 'debug', METRICS_TOKEN: 'node-path-metrics-token-0123456789' }, { db });
    kit = await startApp({ TRPC_FAST_PATH: 'off', LOG_LEVEL: 'debug' }, { db });
    cookie = await signUpUser(fast.url, 'node-path@example.com');
    projectId = (await createProject(fast.url, cookie, 'Node path')).projectId;
    const other = await signUpUser(fast.url, 'someone-else@example.com');
    otherProjectId = (await createProject(fast.url, other, 'Not yours')).projectId;
    sql = postgres(db.url, { max: 1, onnotice: () => {} });
  });

  afterAll(async () => {
    await sql?.end();
    await fast?.stop();
    await kit?.stop();
    await db?.dispose();
  });

  const q = (p: string, input?: unknown) => `/api/trpc/${p}${input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(input))}`}`;
  const json = { 'content-type': 'application/json' };

  /** [name, method, path, headers(cookie), body] sent to both processes. */
  const cases: [string, string, () => string, (c: string) => Record<string, string>, (() => Buffer | string)?][] = [
    ['an authed read', 'GET', () => q('versions.list', { projectId }), (c) => ({ cookie: c })],
    ['a read without input', 'GET', () => q('projects.list'), (c) => ({ cookie: c })],
    ['a batch of two reads', 'GET', () => `/api/trpc/versions.list,projects.list?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: { projectId } }))}`, (c) => ({ cookie: c })],
    ['logged out', 'GET', () => q('projects.list'), () => ({})],
    ['a forged session (right shape, wrong secret)', 'GET', () => q('projects.list'), (c) => ({ cookie: c.replace(/.$/, (ch) => (ch === 'a' ? 'b' : 'a')) })],
    ['a malformed session cookie', 'GET', () => q('projects.list'), () => ({ cookie: 'cm_session=%%%; other=1' })],
    ['the session cookie twice (the first wins)', 'GET', () => q('projects.list'), (c) => ({ cookie: `${c}; cm_session=nope` })],
    ['a quoted session cookie', 'GET', () => q('projects.list'), (c) => ({ cookie: c.replace('cm_session=', 'cm_session="') + '"' })],
    ['another team\'s project', 'GET', () => q('versions.list', { projectId: otherProjectId }), (c) => ({ cookie: c })],
    ['invalid input', 'GET', () => q('versions.list', { projectId: 'not-a-uuid' }), (c) => ({ cookie: c })],
    ['malformed JSON input', 'GET', () => '/api/trpc/versions.list?input=%7Bnope', (c) => ({ cookie: c })],
    ['an unknown procedure', 'GET', () => q('nothing.here'), (c) => ({ cookie: c })],
    ['a mutation by GET', 'GET', () => q('notifications.markRead', { ids: 'all' }), (c) => ({ cookie: c })],
    ['a query by POST', 'POST', () => '/api/trpc/projects.list', (c) => ({ cookie: c, ...json }), () => '{}'],
    ['a same-origin mutation', 'POST', () => '/api/trpc/notifications.markRead', (c) => ({ cookie: c, ...json, 'sec-fetch-site': 'same-origin' }), () => JSON.stringify({ ids: 'all' })],
    ['a mutation with a UTF-8 BOM', 'POST', () => '/api/trpc/notifications.markRead', (c) => ({ cookie: c, ...json }), () => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ ids: 'all' }))])],
    ['a mutation with malformed JSON', 'POST', () => '/api/trpc/notifications.markRead', (c) => ({ cookie: c, ...json }), () => '{"ids": '],
    ['a mutation with invalid input', 'POST', () => '/api/trpc/notifications.markRead', (c) => ({ cookie: c, ...json }), () => JSON.stringify({ ids: 42 })],
    ['a cross-site mutation (Sec-Fetch-Site)', 'POST', () => '/api/trpc/notifications.markRead', (c) => ({ cookie: c, ...json, 'sec-fetch-site': 'cross-site' }), () => JSON.stringify({ ids: 'all' })],
    ['a cross-origin mutation (Origin)', 'POST', () => '/api/trpc/notifications.markRead', (c) => ({ cookie: c, ...json, origin: 'http://evil.example' }), () => JSON.stringify({ ids: 'all' })],
    ['a declared body over the cap', 'POST', () => '/api/trpc/notifications.markRead', (c) => ({ cookie: c, ...json, 'content-length': String(2 * 1024 * 1024) }), () => '{}'],
    ['a body over the cap', 'POST', () => '/api/trpc/notifications.markRead', (c) => ({ cookie: c, ...json }), () => Buffer.alloc(1024 * 1024 + 10, 0x20)],
    ['a batch of mutations', 'POST', () => '/api/trpc/notifications.markRead,notifications.markRead?batch=1', (c) => ({ cookie: c, ...json }), () => JSON.stringify({ 0: { ids: 'all' }, 1: { ids: 'all' } })],
    // Handed on to SvelteKit by the Node path: the same answer either way.
    ['HEAD', 'HEAD', () => q('projects.list'), (c) => ({ cookie: c })],
    ['a POST that is not JSON', 'POST', () => '/api/trpc/notifications.markRead', (c) => ({ cookie: c, 'content-type': 'text/plain' }), () => JSON.stringify({ ids: 'all' })],
    ['a jsonl stream', 'GET', () => q('projects.list'), (c) => ({ cookie: c, 'trpc-accept': 'application/jsonl' })],
    ['a path with a bad escape', 'GET', () => '/api/trpc/%E0%A4%A', (c) => ({ cookie: c })],
  ];

  for (const [name, method, path, headers, body] of cases) {
    it(name, async () => {
      const [a, b] = [await send(fast.url, method, path(), headers(cookie), body?.()), await send(kit.url, method, path(), headers(cookie), body?.())];
      if (String(a.headers['content-type']).startsWith('text/html')) {
        // SvelteKit's error page (a malformed path): its CSP nonce, etag and collab address differ per process.
        expect([a.status, a.headers['content-type']]).toEqual([b.status, b.headers['content-type']]);
        return;
      }
      expect(comparable(a), `Node path: ${a.body.slice(0, 300)}\nSvelteKit: ${b.body.slice(0, 300)}`).toEqual(comparable(b));
      if (name === 'an authed read') expect(a.status).toBe(200);
    });
  }

  it('a body over the cap streamed in chunks (no Content-Length): 413 on both, nothing parsed', async () => {
    const chunks = Array.from({ length: 20 }, () => Buffer.alloc(64 * 1024, 0x20));
    const h = { cookie, ...json };
    const [a, b] = [await send(fast.url, 'POST', '/api/trpc/notifications.markRead', h, undefined, { chunks }), await send(kit.url, 'POST', '/api/trpc/notifications.markRead', h, undefined, { chunks })];
    expect(a.status).toBe(413);
    expect(comparable(a)).toEqual(comparable(b));
  });

  it('the two processes answer by different paths (Content-Length from the Node path, chunked from SvelteKit)', async () => {
    const [a, b] = [await send(fast.url, 'GET', q('projects.list'), { cookie }), await send(kit.url, 'GET', q('projects.list'), { cookie })];
    expect(a.headers['content-length']).toBe(String(Buffer.byteLength(a.body)));
    expect(a.headers['transfer-encoding']).toBeUndefined();
    expect(b.headers['transfer-encoding']).toBe('chunked');
  });

  it('a session due for renewal gets the same renewed cookie from both', async () => {
    const answers: Answer[] = [];
    for (const app of [fast, kit]) {
      // Ten days left (renewed below fifteen); the app's session cache is told, as a real change would be.
      const rows = await sql<{ userId: string }[]>`update sessions set expires_at = now() + interval '10 days' where user_id = (select id from users where email = 'node-path@example.com') returning user_id as "userId"`;
      expect(rows.length).toBeGreaterThan(0);
      await app.announceUserChanges([rows[0]!.userId]);
      await new Promise((r) => setTimeout(r, 200));
      answers.push(await send(app.url, 'GET', q('projects.list'), { cookie }));
    }
    expect(String(answers[0]!.headers['set-cookie'])).toMatch(/^cm_session=[^;]+; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Lax$/);
    expect(comparable(answers[0]!)).toEqual(comparable(answers[1]!));
    const expires = answers.map((a) => Date.parse(/Expires=([^;]+)/.exec(String(a.headers['set-cookie']))![1]!));
    expect(expires[0]! - Date.now()).toBeGreaterThan(29 * 24 * 3600 * 1000);
    expect(Math.abs(expires[0]! - expires[1]!)).toBeLessThan(60_000);
  });

  it('counts its requests in the metrics under the tRPC route', async () => {
    const read = async () => {
      const text = (await send(fast.url, 'GET', '/metrics', { authorization: 'Bearer node-path-metrics-token-0123456789' })).body;
      const line = text.split('\n').find((l) => l.startsWith('clipmaker_http_request_duration_seconds_count{') && l.includes('route="/api/trpc/[...trpc]"') && l.includes('method="GET"') && l.includes('status="200"'));
      return Number(line?.split(' ').pop() ?? 0);
    };
    const before = await read();
    for (let i = 0; i < 5; i++) await send(fast.url, 'GET', q('projects.list'), { cookie });
    expect(await read()).toBe(before + 5);
  });

  it('a client that leaves mid-body is logged once, at debug, with the route, not as an error', async () => {
    const abortLines = () => fast.logs().split('\n').filter((l) => l.includes('"route":"/api/trpc/[...trpc]"') && l.includes('"msg":"request aborted by the client"'));
    const before = abortLines().length;
    const u = new URL(fast.url);
    await new Promise<void>((resolve) => {
      const req = http.request({ host: u.hostname, port: u.port, method: 'POST', path: '/api/trpc/notifications.markRead', headers: { cookie, ...json, 'content-length': '1000' }, agent: false });
      req.on('error', () => resolve());
      req.write('{"ids":');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 300);
    });
    await expect.poll(() => abortLines().length, { timeout: 5_000 }).toBe(before + 1);
    await new Promise((r) => setTimeout(r, 300));
    expect(abortLines()).toHaveLength(before + 1); // one line, not one from the body read and one from the socket's close
    expect(abortLines().at(-1)).toMatch(/"level":20/);
    const errors = fast.logs().split('\n').filter((l) => /"level":(50|60)/.test(l) && /abort/i.test(l));
    expect(errors).toEqual([]);
  });
});
