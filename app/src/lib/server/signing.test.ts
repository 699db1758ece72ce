import { describe, expect, it } from 'vitest';
import { signedFileUrl, verifySignedKey } from './signing.ts';

describe('signed file urls', () => {
  const secret = 'x'.repeat(32);
  it('verifies its own signature until expiry', () => {
    const url = new URL(signedFileUrl(secret, 'renders/a/output.mp4', 60, 1_000_000_000_000), 'http://h');
    const [key, exp, sig] = ['key', 'exp', 'sig'].map((k) => url.searchParams.get(k)!);
    expect(verifySignedKey(secret, key!, exp!, sig!, 1_000_000_000_000)).toBe('ok');
    expect(verifySignedKey(secret, key!, exp!, sig!, 1_000_000_061_000)).toBe('expired');
    expect(verifySignedKey(secret, 'renders/b/output.mp4', exp!, sig!, 1_000_000_000_000)).toBe('bad-signature');
    expect(verifySignedKey('y'.repeat(32), key!, exp!, sig!, 1_000_000_000_000)).toBe('bad-signature');
    expect(verifySignedKey(secret, key!, String(Number(exp) + 1), sig!, 1_000_000_000_000)).toBe('bad-signature');
  });
});
