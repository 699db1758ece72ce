import { describe, expect, it } from 'vitest';
import {
  SESSION_COOKIE_NAME,
  blankSessionCookie,
  generateSessionToken,
  hashSessionSecret,
  parseSessionToken,
  sessionCookie,
  sessionCookieHeader,
} from './session.ts';

describe('session tokens', () => {
  it('are id.secret in lowercase base32 with 120-bit id and 160-bit secret', () => {
    const { token, id, secretHash } = generateSessionToken();
    expect(token).toMatch(/^[a-z2-7]{24}\.[a-z2-7]{32}$/);
    const parsed = parseSessionToken(token)!;
    expect(parsed.id).toBe(id);
    expect(Array.from(hashSessionSecret(parsed.secret))).toEqual(Array.from(secretHash));
    expect(secretHash).toHaveLength(32);
  });

  it('are unique', () => {
    const seen = new Set(Array.from({ length: 1000 }, () => generateSessionToken().token));
    expect(seen.size).toBe(1000);
  });

  it('parse rejects anything else', () => {
    const { token } = generateSessionToken();
    for (const bad of ['', '.', token.toUpperCase(), token.replace('.', ''), `${token}.x`, `${token}a`, ` ${token}`, token.replace(/.$/, '1')]) {
      expect(parseSessionToken(bad)).toBeNull();
    }
  });
});

describe('session cookies', () => {
  it('describe an httpOnly lax cookie on / with the expiry', () => {
    const expires = new Date('2030-01-01T00:00:00Z');
    expect(sessionCookie('tok', expires, { secure: true })).toEqual({
      name: SESSION_COOKIE_NAME,
      value: 'tok',
      options: { path: '/', httpOnly: true, sameSite: 'lax', secure: true, expires },
    });
    expect(SESSION_COOKIE_NAME).toBe('cm_session');
  });

  it('blank cookie expires immediately', () => {
    const c = blankSessionCookie({ secure: false });
    expect(c.value).toBe('');
    expect(c.options.maxAge).toBe(0);
    expect(c.options.secure).toBe(false);
  });

  it('serialise to the Set-Cookie value SvelteKit writes (for tRPC answers that skip its resolve)', () => {
    const expires = new Date('2030-01-01T00:00:00Z');
    expect(sessionCookieHeader(sessionCookie('abc.def', expires, { secure: true }))).toBe(
      'cm_session=abc.def; Path=/; Expires=Tue, 01 Jan 2030 00:00:00 GMT; HttpOnly; Secure; SameSite=Lax',
    );
    expect(sessionCookieHeader(blankSessionCookie({ secure: false }))).toBe('cm_session=; Max-Age=0; Path=/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Lax');
  });
});
