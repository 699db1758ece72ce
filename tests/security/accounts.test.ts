/**
 * Attacks on the account forms: find out which emails have accounts (sign-up and log-in answers and
 * timing), sign up in bulk, bounce a victim through `next=` to another site, dodge the throttle with
 * a forged X-Forwarded-For, and (behind a proxy set up as documented) lock everyone out from the
 * proxy's address. Also: HSTS when ORIGIN is https.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { postForm, signUpUser } from './support.ts';

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

/** The visible part of an answer: status, where it sends you, whether it logs you in, the message. */
async function answer(res: Response) {
  const html = await res.text();
  return { status: res.status, location: res.headers.get('location'), session: /cm_session=[^;]+/.test(res.headers.get('set-cookie') ?? ''), text: html.match(/role="alert">([^<]*)</)?.[1] ?? html.match(/"message":"([^"]*)"/)?.[1] ?? null };
}

describe('account forms', () => {
  let app: RunningApp;

  beforeAll(async () => {
    app = await startApp();
    await signUpUser(app.url, 'victim@example.com', 'victim password 1', 'Victim', { 'x-forwarded-for': '10.0.0.1' });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('sign-up never says an email is taken, and takes as long for a taken one', async () => {
    const taken: number[] = [];
    const fresh: number[] = [];
    let takenAnswer: Awaited<ReturnType<typeof answer>> | null = null;
    for (let i = 0; i < 4; i++) {
      const [a, ta] = await timed(async () => answer(await postForm(app.url, '/signup', { name: 'Mallory', email: 'victim@example.com', password: `guess number ${i}` })));
      const [b, tb] = await timed(async () => answer(await postForm(app.url, '/signup', { name: 'New', email: `new${i}@example.com`, password: 'a good password' })));
      takenAnswer = a;
      expect(b.status).toBe(303);
      taken.push(ta);
      fresh.push(tb);
    }
    expect(takenAnswer!.session).toBe(false);
    expect(takenAnswer!.text ?? '').not.toMatch(/exist|taken|already|registered|in use/i);
    // One argon2 operation on both paths: the medians stay within a factor of 3 even on a busy box.
    const ratio = median(taken) / median(fresh);
    expect(ratio, `taken ${median(taken).toFixed(0)} ms vs new ${median(fresh).toFixed(0)} ms`).toBeGreaterThan(1 / 3);
    expect(ratio).toBeLessThan(3);
    // The owner signing up again with their own password is simply logged in.
    const again = await answer(await postForm(app.url, '/signup', { name: 'Victim', email: 'victim@example.com', password: 'victim password 1' }));
    expect(again).toMatchObject({ status: 303, location: '/projects', session: true });
  });

  it('log-in answers a wrong password and an unknown email the same way', async () => {
    const a = await answer(await postForm(app.url, '/login', { email: 'victim@example.com', password: 'wrong password' }));
    const b = await answer(await postForm(app.url, '/login', { email: 'nobody-here@example.com', password: 'wrong password' }));
    expect(a).toEqual(b);
    expect(a.status).toBe(401);
  });

  it('sign-up is throttled per client address (a forged X-Forwarded-For does not help without a trusted proxy)', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await postForm(app.url, '/signup', { name: 'Bulk', email: `bulk${i}@example.com`, password: 'a good password' }, { 'x-forwarded-for': `203.0.113.${i}` });
      statuses.push(res.status);
    }
    // 10 per hour per address (the first test used up some of this address's budget already).
    expect(statuses.at(-1)).toBe(429);
    expect(statuses.filter((s) => s === 303).length).toBeLessThanOrEqual(10);
  });

  it('next= only takes same-origin paths', async () => {
    await signUpUser(app.url, 'nexter@example.com', 'next password 1', 'Nexter', { 'x-forwarded-for': '10.9.9.9' }).catch(() => {});
    const where = async (next: string) => {
      const res = await postForm(app.url, `/login?next=${encodeURIComponent(next)}`, { email: 'victim@example.com', password: 'victim password 1' });
      expect(res.status, next).toBe(303);
      return res.headers.get('location');
    };
    for (const evil of ['//evil.example', '/\\evil.example', '\\\\evil.example', 'https://evil.example/', 'javascript:alert(1)', '/%2F%2Fevil.example', '/%5Cevil.example', '%2F%2Fevil.example', '/%252F%252Fevil.example', '/\t/evil.example', ' //evil.example', 'http:evil.example']) {
      expect(await where(evil), evil).toBe('/projects');
    }
    expect(await where('/projects/abc?tab=renders#x')).toBe('/projects/abc?tab=renders#x');
  });
});

describe('behind a reverse proxy (ADDRESS_HEADER=X-Forwarded-For, XFF_DEPTH=1, ORIGIN https)', () => {
  let app: RunningApp;
  const origin = 'https://clips.example.test';

  beforeAll(async () => {
    app = await startApp({ ADDRESS_HEADER: 'X-Forwarded-For', XFF_DEPTH: '1', ORIGIN: origin });
  });
  afterAll(async () => {
    await app?.stop();
  });

  const signUpVia = (clientXff: string, i: number) =>
    fetch(`${app.url}/signup`, { method: 'POST', body: new URLSearchParams({ name: 'P', email: `p${clientXff.replace(/\W/g, '')}${i}@example.com`, password: 'a good password' }), headers: { origin, accept: 'text/html', 'x-forwarded-for': clientXff }, redirect: 'manual' });

  it('sends HSTS', async () => {
    const res = await fetch(`${app.url}/login`);
    expect(res.headers.get('strict-transport-security')).toMatch(/max-age=\d{7,}/);
  });

  it('throttles each client apart (the proxy appends the real address; a forged left part is ignored)', async () => {
    const a: number[] = [];
    for (let i = 0; i < 11; i++) a.push((await signUpVia(`6.6.6.${i}, 198.51.100.1`, i)).status);
    expect(a.slice(0, 10).every((s) => s === 303)).toBe(true);
    expect(a[10]).toBe(429);
    // Another client behind the same proxy is not locked out.
    expect((await signUpVia('198.51.100.2', 0)).status).toBe(303);
  });
});
