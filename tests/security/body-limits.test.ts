/**
 * Attack: a 300 MB body to the log-in form (no session needed) and to a tRPC mutation, declared and
 * chunked. The app must answer 413 after reading at most its 1 MiB cap, and the server process's
 * resident memory (from /proc, sampled while the attack runs) must grow by less than 50 MB.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type RunningApp } from '../support/app-server.ts';
import { rssBytes, signUpUser, streamBody } from './support.ts';

const ATTACK_BYTES = 300 * 1024 * 1024;
const MB = 1024 * 1024;

describe('request body caps', () => {
  let app: RunningApp;
  let cookie: string;

  beforeAll(async () => {
    app = await startApp();
    cookie = await signUpUser(app.url, 'bodies@example.com');
  });
  afterAll(async () => {
    await app?.stop();
  });

  /** Runs the attack while sampling the server's RSS; returns the result and the peak growth. */
  async function attack(path: string, headers: Record<string, string>, declareLength: boolean) {
    const before = rssBytes(app.pid);
    let peak = before;
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(app.pid))), 25);
    try {
      const res = await streamBody(`${app.url}${path}`, ATTACK_BYTES, { origin: app.url, ...headers }, { declareLength });
      await new Promise((r) => setTimeout(r, 300)); // whatever the server still buffers shows now
      peak = Math.max(peak, rssBytes(app.pid));
      return { ...res, growth: peak - before };
    } finally {
      clearInterval(sampler);
    }
  }

  for (const declareLength of [false, true]) {
    const how = declareLength ? 'declared' : 'chunked';

    it(`300 MB (${how}) to /login: 413 after at most a few MB, RSS grows < 50 MB`, async () => {
      const r = await attack('/login', { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, declareLength);
      expect(r.status, r.body).toBe(413);
      expect(r.sentBytes).toBeLessThan(64 * MB); // what the kernel buffers + the 1 MiB cap, not 300 MB
      expect(r.growth, `RSS grew ${(r.growth / MB).toFixed(1)} MB`).toBeLessThan(50 * MB);
      expect(JSON.parse(r.body)).toMatchObject({ code: 'payload-too-large' });
    });

    it(`300 MB (${how}) to a tRPC mutation: 413, RSS grows < 50 MB`, async () => {
      const r = await attack('/api/trpc/projects.create', { 'content-type': 'application/json', cookie, 'sec-fetch-site': 'same-origin' }, declareLength);
      expect(r.status, r.body).toBe(413);
      expect(r.sentBytes).toBeLessThan(64 * MB);
      expect(r.growth, `RSS grew ${(r.growth / MB).toFixed(1)} MB`).toBeLessThan(50 * MB);
    });
  }

  it('a body just under the cap is still parsed, and the server is fine afterwards', async () => {
    const name = 'n'.repeat(100);
    const res = await fetch(`${app.url}/api/trpc/projects.create`, {
      method: 'POST',
      body: JSON.stringify({ name, padding: 'p'.repeat(900 * 1024) }),
      headers: { cookie, origin: app.url, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' },
    });
    expect(res.status, await res.clone().text()).toBe(200);
    const over = await fetch(`${app.url}/api/trpc/projects.create`, {
      method: 'POST',
      body: JSON.stringify({ name, padding: 'p'.repeat(1100 * 1024) }),
      headers: { cookie, origin: app.url, 'sec-fetch-site': 'same-origin', 'content-type': 'application/json' },
    });
    expect(over.status).toBe(413);
  });
});
