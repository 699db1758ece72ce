import { describe, expect, it } from 'vitest';
import { SessionCache } from './session-cache.ts';

const row = (userId: string) =>
  ({
    session: { id: 's', userId, secretHash: new Uint8Array(32), createdAt: new Date(0), lastVerifiedAt: new Date(0), expiresAt: new Date(0), userAgent: null },
    user: { id: userId, email: 'a@b.c', name: 'A', isFarmAdmin: false, isInstanceAdmin: false },
  }) as never;

describe('SessionCache', () => {
  it('keeps an entry for its lifetime only', () => {
    const c = new SessionCache(2_000);
    c.fill('s1', row('u1'), c.generation(), 1_000);
    expect(c.get('s1', 2_999)).not.toBeNull();
    expect(c.get('s1', 3_000)).toBeNull();
  });

  it('forgets every session of a user', () => {
    const c = new SessionCache();
    c.fill('s1', row('u1'), c.generation(), 0);
    c.fill('s2', row('u1'), c.generation(), 0);
    c.fill('s3', row('u2'), c.generation(), 0);
    c.forgetUser('u1');
    expect(c.get('s1', 1)).toBeNull();
    expect(c.get('s2', 1)).toBeNull();
    expect(c.get('s3', 1)).not.toBeNull();
  });

  it('never caches a read that started before the user was forgotten (a request racing a log-out)', () => {
    const c = new SessionCache();
    const readAt = c.generation();
    c.forgetUser('u1'); // the log-out commits while the read is in flight
    c.fill('s1', row('u1'), readAt, 0);
    expect(c.get('s1', 1)).toBeNull();
    // Reads that start afterwards are cached again, and other users' reads were never affected.
    c.fill('s1', row('u1'), c.generation(), 0);
    expect(c.get('s1', 1)).not.toBeNull();
    c.fill('s2', row('u2'), readAt, 0);
    expect(c.get('s2', 1)).not.toBeNull();
  });
});
