/** `pnpm start` on a fresh machine's defaults: PGlite and a redis-server started under the data dir. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { startApp, type RunningApp } from '../support/app-server.ts';

describe('launcher on embedded defaults', () => {
  let app: RunningApp;
  beforeAll(async () => {
    app = await startApp({}, { embedded: true });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('serves health with PGlite and the embedded Redis, data under the data dir', async () => {
    const res = await fetch(`${app.url}/api/health`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ ok: true, db: { kind: 'pglite', ok: true }, redis: { ok: true }, ffmpeg: { ok: true } });
    expect(existsSync(path.join(app.dataDir, 'pglite'))).toBe(true);
    expect(existsSync(path.join(app.dataDir, 'redis'))).toBe(true);
    expect(app.logs()).toContain('started embedded redis-server');
  });

  it('signs a user up through the real form action', async () => {
    const body = new URLSearchParams({ name: 'Pat', email: 'pat@example.com', password: 'long enough pw' });
    const res = await fetch(`${app.url}/signup`, { method: 'POST', body, headers: { origin: app.url, accept: 'text/html' }, redirect: 'manual' });
    expect(res.status, await res.clone().text().then((t) => t.slice(0, 500))).toBe(303);
    expect(res.headers.get('set-cookie')).toMatch(/cm_session=[a-z0-9]+\.[a-z0-9]+;.*HttpOnly/i);
  });
});
