/** Signed, expiring download links: HMAC-SHA256 over key and expiry, compared in constant time. */
import { createHmac, timingSafeEqual } from 'node:crypto';

export function signKey(secret: string, key: string, expiresAtSeconds: number): string {
  return createHmac('sha256', secret).update(`${key}\n${expiresAtSeconds}`).digest('base64url');
}

export function signedFileUrl(secret: string, key: string, ttlSeconds = 3600, now = Date.now(), download?: string): string {
  const exp = Math.floor(now / 1000) + ttlSeconds;
  const params = new URLSearchParams({ key, exp: String(exp), sig: signKey(secret, key, exp) });
  if (download) params.set('download', download);
  return `/api/files?${params.toString()}`;
}

export function verifySignedKey(secret: string, key: string, exp: string, sig: string, now = Date.now()): 'ok' | 'expired' | 'bad-signature' {
  const expNum = Number(exp);
  if (!Number.isInteger(expNum)) return 'bad-signature';
  const expected = Buffer.from(signKey(secret, key, expNum));
  const given = Buffer.from(sig);
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'bad-signature';
  if (expNum * 1000 < now) return 'expired';
  return 'ok';
}
