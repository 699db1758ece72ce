import { describe, expect, it } from 'vitest';
import { dummyPasswordHash, hashPassword, passwordNeedsRehash, passwordSchema, verifyPassword } from './password.ts';

describe('password hashing', () => {
  it('hashes with argon2id at the OWASP minimum and verifies', async () => {
    const h = await hashPassword('correct horse battery');
    expect(h).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
    expect(await verifyPassword(h, 'correct horse battery')).toBe(true);
    expect(await verifyPassword(h, 'correct horse batterY')).toBe(false);
    expect(passwordNeedsRehash(h)).toBe(false);
  });

  it('salts every hash', async () => {
    expect(await hashPassword('same password')).not.toBe(await hashPassword('same password'));
  });

  it('treats a malformed hash as a failed verification', async () => {
    expect(await verifyPassword('not-a-hash', 'whatever1')).toBe(false);
    expect(passwordNeedsRehash('not-a-hash')).toBe(true);
  });

  it('flags hashes made with other parameters for rehash', async () => {
    const { hash } = await import('@node-rs/argon2');
    expect(passwordNeedsRehash(await hash('x', { memoryCost: 8192, timeCost: 1, parallelism: 1 }))).toBe(true);
  });

  it('keeps one dummy hash that no ordinary password matches', async () => {
    const a = await dummyPasswordHash();
    expect(await dummyPasswordHash()).toBe(a);
    expect(await verifyPassword(a, 'password123')).toBe(false);
  });
});

describe('password policy', () => {
  it('accepts 8..256 characters', () => {
    expect(passwordSchema.safeParse('1234567').success).toBe(false);
    expect(passwordSchema.safeParse('12345678').success).toBe(true);
    expect(passwordSchema.safeParse('x'.repeat(256)).success).toBe(true);
    expect(passwordSchema.safeParse('x'.repeat(257)).success).toBe(false);
  });
});
