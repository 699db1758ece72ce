/**
 * tRPC is answered by hooks.server.ts before SvelteKit's route resolution (a per-request CPU cut, see
 * docs/BENCHMARKS.md). Attack that shortcut as a client would: no cookie, a forged cookie, an
 * expired session, a cross-site POST, and a method the route does not serve; and check what the
 * shortcut has to do by hand: the slid session's cookie and the security headers are still on the
 * answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import postgres from 'postgres';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { createProject, signUpUser, trpc } from './support.ts';

describe('tRPC answered before routing', () => {
  let app: RunningApp;
  let sql: postgres.Sql;
  let cookie: string;
  let projectId: string;

  beforeAll(async () => {
    app = await startApp({ LOG_LEVEL: 'error' });
    sql = postgres(app.db.url, { max: 1, onnotice: () => {} });
    cookie = await signUpUser(app.url, 'fast@example.com');
    ({ projectId } = await createProject(app.url, cookie));
  });
  afterAll(async () => {
    await sql?.end();
    await app?.stop();
  });

  it('serves a logged-in read with the security headers and no cookie when nothing slid', async () => {
    const res = await trpc(app.url, cookie, 'versions.list', { projectId }, 'query');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin');
    expect(res.headers.get('set-cookie')).toBeNull();
  });

  it('refuses no cookie, a forged cookie and an expired session, and clears a bad cookie', async () => {
    expect((await trpc(app.url, '', 'versions.list', { projectId }, 'query')).status).toBe(401);
    const [id] = cookie.replace('cm_session=', '').split('.');
    const forged = await trpc(app.url, `cm_session=${id}.${'a'.repeat(32)}`, 'versions.list', { projectId }, 'query');
    expect(forged.status).toBe(401);
    expect(forged.headers.get('set-cookie')).toMatch(/^cm_session=; Max-Age=0; Path=\/;.*HttpOnly; SameSite=Lax$/);

    const other = await signUpUser(app.url, 'expired@example.com');
    const otherId = other.replace('cm_session=', '').split('.')[0]!;
    await sql`update sessions set expires_at = now() - interval '1 minute' where id = ${otherId}`;
    const expired = await trpc(app.url, other, 'projects.list', undefined, 'query');
    expect(expired.status).toBe(401);
    expect(expired.headers.get('set-cookie')).toMatch(/^cm_session=;/);
  });

  it('sends the renewed cookie when the session slid forward on a tRPC call', async () => {
    // A session not used yet: one the app has used is in its session cache for a couple of seconds
    // (auth/session-cache.ts), and this test moves the expiry behind the app's back.
    const fresh = await signUpUser(app.url, 'renew@example.com');
    const id = fresh.replace('cm_session=', '').split('.')[0]!;
    await sql`update sessions set expires_at = now() + interval '2 days' where id = ${id}`;
    const res = await trpc(app.url, fresh, 'projects.list', undefined, 'query');
    expect(res.status).toBe(200);
    const set = res.headers.get('set-cookie') ?? '';
    expect(set.startsWith(`${fresh};`)).toBe(true);
    const expires = Date.parse(/Expires=([^;]+)/.exec(set)![1]!);
    expect(expires - Date.now()).toBeGreaterThan(29 * 24 * 3600 * 1000);
    const [row] = await sql`select expires_at from sessions where id = ${id}`;
    expect(Math.abs(new Date(row!.expires_at as string).getTime() - expires)).toBeLessThan(2000);
  });

  it('still refuses a cross-site mutation and a method the route does not serve', async () => {
    const res = await fetch(`${app.url}/api/trpc/notifications.markRead`, { method: 'POST', body: JSON.stringify({ ids: 'all' }), headers: { cookie, 'content-type': 'application/json', origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } });
    expect(res.status).toBe(403);
    const put = await fetch(`${app.url}/api/trpc/notifications.markRead`, { method: 'PUT', body: '{}', headers: { cookie, origin: app.url, 'sec-fetch-site': 'same-origin' } });
    expect(put.status).toBe(405);
  });
});
