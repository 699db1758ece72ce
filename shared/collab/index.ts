/**
 * Short-lived collab tokens minted by the app and verified by the collab-server at the WebSocket
 * upgrade. HMAC-SHA256 over a JSON payload, WebCrypto only (works in Node 20 and browsers).
 * Format: base64url(payloadJson) + "." + base64url(hmac).
 */
import { z } from 'zod';

export const CollabRole = z.enum(['owner', 'editor', 'reviewer', 'viewer']);
export type CollabRole = z.infer<typeof CollabRole>;

/** Roles whose document updates the server accepts. Everyone may send awareness (presence). */
export const WRITE_ROLES: ReadonlySet<CollabRole> = new Set(['owner', 'editor']);

export const CollabTokenPayload = z.object({
  /** user id, or "anon:<id>" for share-link reviewers */
  sub: z.string().min(1).max(100),
  name: z.string().max(100),
  projectId: z.string().uuid(),
  role: CollabRole,
  /** Expiry, seconds since epoch. */
  exp: z.number().int(),
});
export type CollabTokenPayload = z.infer<typeof CollabTokenPayload>;

export const COLLAB_TOKEN_TTL_SECONDS = 5 * 60;

const enc = new TextEncoder();

function b64url(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromB64url(s: string): Uint8Array {
  const b = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) out[i] = b.charCodeAt(i);
  return out;
}

async function hmacKey(secret: string): Promise<CryptoKey> {
  if (secret.length < 16) throw new Error('COLLAB_SECRET must be at least 16 characters');
  return crypto.subtle.importKey('raw', enc.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
}

export async function signCollabToken(payload: CollabTokenPayload, secret: string): Promise<string> {
  const body = b64url(enc.encode(JSON.stringify(CollabTokenPayload.parse(payload))));
  const sig = new Uint8Array(await crypto.subtle.sign('HMAC', await hmacKey(secret), enc.encode(body)));
  return `${body}.${b64url(sig)}`;
}

export type VerifyResult = { ok: true; payload: CollabTokenPayload } | { ok: false; reason: 'malformed' | 'bad-signature' | 'expired' };

/** Constant-time signature check (crypto.subtle.verify), then expiry. */
export async function verifyCollabToken(token: string, secret: string, nowSeconds = Math.floor(Date.now() / 1000)): Promise<VerifyResult> {
  const parts = token.split('.');
  if (parts.length !== 2 || !parts[0] || !parts[1] || token.length > 4096) return { ok: false, reason: 'malformed' };
  let sig: Uint8Array;
  try {
    sig = fromB64url(parts[1]);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const valid = await crypto.subtle.verify('HMAC', await hmacKey(secret), sig as BufferSource, enc.encode(parts[0]));
  if (!valid) return { ok: false, reason: 'bad-signature' };
  let payload: CollabTokenPayload;
  try {
    payload = CollabTokenPayload.parse(JSON.parse(new TextDecoder().decode(fromB64url(parts[0]))));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (payload.exp <= nowSeconds) return { ok: false, reason: 'expired' };
  return { ok: true, payload };
}

/** Room name used on the wire: y-websocket puts it in the URL path. */
export function roomForProject(projectId: string): string {
  return `project:${projectId}`;
}
