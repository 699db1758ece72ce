/**
 * The collab-server's in-band access notice (y-websocket message type 100, next to sync 0,
 * awareness 1, auth 2, query-awareness 3): sent on an open socket when what it may do changed, so
 * the editor turns read-only (or refreshes its token) without a reload and without dropping the
 * socket. Frame: varUint(100) varString(JSON of AccessNotice).
 */
import { z } from 'zod';
import { CollabRole } from './index.ts';

export const ACCESS_MESSAGE_TYPE = 100;

/** Roles from least to most: a live change never raises a socket above its token's role. */
export const ROLE_RANK: Readonly<Record<CollabRole, number>> = { viewer: 0, reviewer: 1, editor: 2, owner: 3 };
export const lowerRole = (a: CollabRole, b: CollabRole): CollabRole => (ROLE_RANK[a] <= ROLE_RANK[b] ? a : b);

export const AccessNotice = z.object({
  /** The role the server now enforces on this socket. */
  role: CollabRole,
  canWrite: z.boolean(),
  /**
   * role-changed: a member's role was lowered (or restored up to the token's role);
   * token-expired: the token ran out, the socket is read-only until the client reconnects with a
   * fresh one (the server closes it with 4511 a few seconds later, which y-websocket retries).
   */
  reason: z.enum(['role-changed', 'token-expired']),
});
export type AccessNotice = z.infer<typeof AccessNotice>;

/** Close codes of revocation. 4400-4499 are permanent for y-websocket, 4500-4599 are retried. */
export const ACCESS_CLOSE_CODES = {
  /** Removed from the project/org, or every session of the user ended: do not reconnect. */
  revoked: 4403,
  /** The project was deleted. */
  projectClosed: 4410,
  /** The token expired and was not replaced: reconnect with a fresh token. */
  tokenExpired: 4511,
} as const;

function writeVarUint(out: number[], n: number): void {
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
}

export function encodeAccessNotice(notice: AccessNotice): Uint8Array {
  const body = new TextEncoder().encode(JSON.stringify(AccessNotice.parse(notice)));
  const out: number[] = [];
  writeVarUint(out, ACCESS_MESSAGE_TYPE);
  writeVarUint(out, body.byteLength);
  const head = new Uint8Array(out);
  const frame = new Uint8Array(head.byteLength + body.byteLength);
  frame.set(head);
  frame.set(body, head.byteLength);
  return frame;
}

/**
 * Reads the notice body (after the message type) from `bytes` at `pos`; null when malformed.
 * y-websocket hands its message handlers a lib0 decoder: pass `decoder.arr, decoder.pos`.
 */
export function decodeAccessNotice(bytes: Uint8Array, pos = 0): AccessNotice | null {
  let len = 0;
  let shift = 1;
  for (;;) {
    if (pos >= bytes.length) return null;
    const b = bytes[pos++]!;
    len += (b & 0x7f) * shift;
    if (b < 0x80) break;
    shift *= 128;
    if (shift > 2 ** 35) return null;
  }
  if (pos + len > bytes.length) return null;
  try {
    const r = AccessNotice.safeParse(JSON.parse(new TextDecoder().decode(bytes.subarray(pos, pos + len))));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}
