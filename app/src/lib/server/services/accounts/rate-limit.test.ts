import { describe, expect, it } from 'vitest';
import { LoginRateLimiter } from './rate-limit.ts';

function clock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('LoginRateLimiter', () => {
  it('allows 10 attempts per 15 minutes, then says when to retry', () => {
    const c = clock();
    const rl = new LoginRateLimiter({ now: c.now });
    const key = LoginRateLimiter.key('A@x.io ', '1.2.3.4');
    for (let i = 0; i < 10; i++) expect(rl.hit(key)).toEqual({ allowed: true, remaining: 9 - i, retryAfterMs: 0 });
    c.advance(60_000);
    expect(rl.hit(key)).toEqual({ allowed: false, remaining: 0, retryAfterMs: 14 * 60_000 });
    c.advance(14 * 60_000 - 1);
    expect(rl.hit(key).allowed).toBe(false);
    c.advance(1);
    expect(rl.hit(key)).toEqual({ allowed: true, remaining: 9, retryAfterMs: 0 });
  });

  it('resets on success', () => {
    const c = clock();
    const rl = new LoginRateLimiter({ now: c.now, maxAttempts: 3 });
    for (let i = 0; i < 3; i++) rl.hit('k');
    expect(rl.hit('k').allowed).toBe(false);
    rl.reset('k');
    expect(rl.hit('k').allowed).toBe(true);
  });

  it('keys by email and IP separately, email case-insensitively', () => {
    const rl = new LoginRateLimiter({ maxAttempts: 1, now: clock().now });
    expect(LoginRateLimiter.key('A@X.io', 'ip')).toBe(LoginRateLimiter.key(' a@x.io', 'ip'));
    rl.hit(LoginRateLimiter.key('a@x.io', 'ip1'));
    expect(rl.hit(LoginRateLimiter.key('a@x.io', 'ip1')).allowed).toBe(false);
    expect(rl.hit(LoginRateLimiter.key('a@x.io', 'ip2')).allowed).toBe(true);
    expect(rl.hit(LoginRateLimiter.key('b@x.io', 'ip1')).allowed).toBe(true);
  });

  it('forgets expired windows and stays bounded', () => {
    const c = clock();
    const rl = new LoginRateLimiter({ now: c.now, windowMs: 1000, maxKeys: 5 });
    for (let i = 0; i < 8; i++) rl.hit(`k${i}`);
    expect(rl.size).toBe(5);
    c.advance(1000);
    rl.hit('fresh');
    expect(rl.size).toBe(1);
  });
});
