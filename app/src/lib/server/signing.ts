/**
 * Signed, expiring media URLs: HMAC-SHA256 (SIGNING_SECRET) over everything the URL grants, compared
 * in constant time. What is signed: the storage key, the expiry, the share link the URL was minted for
 * (if any) and the download file name (if any), so none can be changed or added by the holder:
 *  - `l` (link id): a guest's URL; /api/files also checks that link is still live (not revoked, not
 *    expired) on every request, so revoking a share link stops its URLs at once;
 *  - `download`: an attachment URL; for a guest's URL the link must allow downloads.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface SignedFileOptions {
  /** Default 3600. */
  ttlSeconds?: number;
  /** ms since epoch (tests). */
  now?: number;
  /** Attachment file name: the URL downloads instead of streaming. */
  download?: string;
  /** The share link a guest's URL belongs to. */
  linkId?: string;
}

export interface SignedFileClaims {
  key: string;
  linkId: string | null;
  download: string | null;
}

function sign(secret: string, key: string, exp: number, linkId: string, download: string): string {
  return createHmac('sha256', secret).update(['file:v2', key, exp, linkId, download].join('\n')).digest('base64url');
}

export function signedFileUrl(secret: string, key: string, opts: SignedFileOptions = {}): string {
  const exp = Math.floor((opts.now ?? Date.now()) / 1000) + (opts.ttlSeconds ?? 3600);
  const params = new URLSearchParams({ key, exp: String(exp) });
  if (opts.linkId) params.set('l', opts.linkId);
  if (opts.download) params.set('download', opts.download);
  params.set('sig', sign(secret, key, exp, opts.linkId ?? '', opts.download ?? ''));
  return `/api/files?${params.toString()}`;
}

export type SignedFileVerdict = { ok: true; claims: SignedFileClaims } | { ok: false; reason: 'expired' | 'bad-signature' };

export function verifySignedFile(secret: string, params: URLSearchParams, now = Date.now()): SignedFileVerdict {
  const key = params.get('key') ?? '';
  const exp = Number(params.get('exp') ?? NaN);
  const linkId = params.get('l') ?? '';
  const download = params.get('download') ?? '';
  if (!key || !Number.isInteger(exp)) return { ok: false, reason: 'bad-signature' };
  const expected = Buffer.from(sign(secret, key, exp, linkId, download));
  const given = Buffer.from(params.get('sig') ?? '');
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) return { ok: false, reason: 'bad-signature' };
  if (exp * 1000 < now) return { ok: false, reason: 'expired' };
  return { ok: true, claims: { key, linkId: linkId || null, download: download || null } };
}
