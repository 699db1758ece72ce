import { describe, expect, it } from 'vitest';
import { signedFileUrl, verifySignedFile } from './signing.ts';

describe('signed file urls', () => {
  const secret = 'x'.repeat(32);
  const now = 1_000_000_000_000;
  const params = (url: string) => new URL(url, 'http://h').searchParams;

  it('verifies its own signature until expiry', () => {
    const p = params(signedFileUrl(secret, 'renders/a/output.mp4', { ttlSeconds: 60, now }));
    expect(verifySignedFile(secret, p, now)).toEqual({ ok: true, claims: { key: 'renders/a/output.mp4', linkId: null, download: null } });
    expect(verifySignedFile(secret, p, now + 61_000)).toEqual({ ok: false, reason: 'expired' });
    expect(verifySignedFile('y'.repeat(32), p, now)).toEqual({ ok: false, reason: 'bad-signature' });
  });

  it('signs the key, the expiry, the link and the download name: none can be changed or added', () => {
    const base = signedFileUrl(secret, 'renders/a/output.mp4', { now, linkId: 'link-1' });
    for (const [k, v] of [['key', 'renders/b/output.mp4'], ['exp', String(now / 1000 + 99_999)], ['l', 'link-2'], ['download', 'x.mp4']] as const) {
      const p = params(base);
      p.set(k, v);
      expect(verifySignedFile(secret, p, now), k).toEqual({ ok: false, reason: 'bad-signature' });
    }
    const dropped = params(base);
    dropped.delete('l');
    expect(verifySignedFile(secret, dropped, now).ok).toBe(false);
    const dl = params(signedFileUrl(secret, 'renders/a/output.mp4', { now, linkId: 'link-1', download: 'v1.mp4' }));
    expect(verifySignedFile(secret, dl, now)).toEqual({ ok: true, claims: { key: 'renders/a/output.mp4', linkId: 'link-1', download: 'v1.mp4' } });
  });
});
