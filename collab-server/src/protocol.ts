/**
 * The y-websocket wire protocol, spoken directly (as hocuspocus does) so the engine decides what
 * happens to every document update before it touches the room's Y.Doc.
 *
 * Frame = varUint messageType, then:
 *   0 sync:            varUint syncType (0 step1: varBytes stateVector | 1 step2: varBytes update | 2 update: varBytes update)
 *   1 awareness:       varBytes awarenessUpdate (varUint n, n x {varUint clientID, varUint clock, varString stateJSON})
 *   2 auth:            ignored (server to client only)
 *   3 query-awareness: no payload; answered with every awareness state
 *
 * lib0's decoder silently truncates a length-prefixed read that runs past the end of the frame, so
 * every read here is bounds-checked and a frame that does not parse is a MalformedMessage.
 */
import * as decoding from 'lib0/decoding';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';

export const MESSAGE_SYNC = 0;
export const MESSAGE_AWARENESS = 1;
export const MESSAGE_AUTH = 2;
export const MESSAGE_QUERY_AWARENESS = 3;

export const SYNC_STEP1 = 0;
export const SYNC_STEP2 = 1;
export const SYNC_UPDATE = 2;

export class MalformedMessage extends Error {
  override name = 'MalformedMessage';
}

export type ClientMessage =
  | { type: 'sync-step1'; stateVector: Uint8Array }
  | { type: 'sync-step2'; update: Uint8Array }
  | { type: 'sync-update'; update: Uint8Array }
  | { type: 'awareness'; update: Uint8Array }
  | { type: 'auth' }
  | { type: 'query-awareness' };

function readVarUint(d: decoding.Decoder): number {
  if (d.pos >= d.arr.length) throw new MalformedMessage('unexpected end of frame');
  try {
    return decoding.readVarUint(d);
  } catch {
    throw new MalformedMessage('bad varUint');
  }
}

function readVarBytes(d: decoding.Decoder): Uint8Array {
  const len = readVarUint(d);
  if (len > d.arr.length - d.pos) throw new MalformedMessage('length prefix past end of frame');
  const out = d.arr.subarray(d.pos, d.pos + len);
  d.pos += len;
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function readVarString(d: decoding.Decoder): string {
  try {
    return utf8.decode(readVarBytes(d));
  } catch (err) {
    if (err instanceof MalformedMessage) throw err;
    throw new MalformedMessage('invalid utf-8');
  }
}

/** Parses one client frame. Throws MalformedMessage for anything that is not a valid message. */
export function decodeClientMessage(frame: Uint8Array): ClientMessage {
  const d = decoding.createDecoder(frame);
  const type = readVarUint(d);
  switch (type) {
    case MESSAGE_SYNC: {
      const syncType = readVarUint(d);
      const payload = readVarBytes(d);
      if (syncType === SYNC_STEP1) return { type: 'sync-step1', stateVector: payload };
      if (syncType === SYNC_STEP2) return { type: 'sync-step2', update: payload };
      if (syncType === SYNC_UPDATE) return { type: 'sync-update', update: payload };
      throw new MalformedMessage(`unknown sync message type ${syncType}`);
    }
    case MESSAGE_AWARENESS:
      return { type: 'awareness', update: readVarBytes(d) };
    case MESSAGE_AUTH:
      return { type: 'auth' };
    case MESSAGE_QUERY_AWARENESS:
      return { type: 'query-awareness' };
    default:
      throw new MalformedMessage(`unknown message type ${type}`);
  }
}

function frame(write: (e: encoding.Encoder) => void): Uint8Array {
  const e = encoding.createEncoder();
  write(e);
  return encoding.toUint8Array(e);
}

export function encodeSyncStep1(stateVector: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MESSAGE_SYNC);
    encoding.writeVarUint(e, SYNC_STEP1);
    encoding.writeVarUint8Array(e, stateVector);
  });
}

export function encodeSyncStep2(update: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MESSAGE_SYNC);
    encoding.writeVarUint(e, SYNC_STEP2);
    encoding.writeVarUint8Array(e, update);
  });
}

export function encodeSyncUpdate(update: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MESSAGE_SYNC);
    encoding.writeVarUint(e, SYNC_UPDATE);
    encoding.writeVarUint8Array(e, update);
  });
}

export function encodeAwarenessMessage(awarenessUpdate: Uint8Array): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, MESSAGE_AWARENESS);
    encoding.writeVarUint8Array(e, awarenessUpdate);
  });
}

export interface AwarenessEntry {
  clientId: number;
  clock: number;
  /** The raw JSON text ("null" when the client left). */
  state: string;
}

/** Parses an awareness update; each state must be valid JSON. */
export function decodeAwarenessUpdate(update: Uint8Array): AwarenessEntry[] {
  const d = decoding.createDecoder(update);
  const n = readVarUint(d);
  // Every entry takes at least 3 bytes: a cheap bound before looping on an attacker's count.
  if (n > update.length) throw new MalformedMessage('awareness entry count past end of frame');
  const entries: AwarenessEntry[] = [];
  for (let i = 0; i < n; i++) {
    const clientId = readVarUint(d);
    const clock = readVarUint(d);
    const state = readVarString(d);
    try {
      JSON.parse(state);
    } catch {
      throw new MalformedMessage('awareness state is not JSON');
    }
    entries.push({ clientId, clock, state });
  }
  return entries;
}

export function encodeAwarenessUpdate(entries: readonly AwarenessEntry[]): Uint8Array {
  return frame((e) => {
    encoding.writeVarUint(e, entries.length);
    for (const x of entries) {
      encoding.writeVarUint(e, x.clientId);
      encoding.writeVarUint(e, x.clock);
      encoding.writeVarString(e, x.state);
    }
  });
}

export interface InspectedUpdate {
  /** No structs and no deletions: nothing to store or apply. */
  empty: boolean;
  structs: number;
  decoded: ReturnType<typeof Y.decodeUpdate>;
}

/**
 * Fully decodes a Yjs (v1) update, contents included. Throws MalformedMessage when it does not
 * decode. Decoding is necessary, not sufficient: a crafted update can decode and still throw while
 * being integrated (the engine handles that case too).
 */
export function inspectUpdate(update: Uint8Array): InspectedUpdate {
  let decoded: ReturnType<typeof Y.decodeUpdate>;
  try {
    decoded = Y.decodeUpdate(update);
  } catch {
    throw new MalformedMessage('update does not decode');
  }
  const structs = decoded.structs.length;
  return { empty: structs === 0 && decoded.ds.clients.size === 0, structs, decoded };
}

/**
 * True when a struct-less update only deletes what `doc` already has deleted. A reconnecting
 * client's sync step 2 always carries its whole delete set; storing it each time would add a row
 * per reconnect for nothing.
 */
export function onlyKnownDeletions(doc: Y.Doc, inspected: InspectedUpdate): boolean {
  if (inspected.structs > 0) return false;
  const known = Y.createDeleteSetFromStructStore(doc.store).clients;
  for (const [client, items] of inspected.decoded.ds.clients) {
    const ranges = known.get(client);
    if (!ranges) return false;
    for (const { clock, len } of items) {
      if (!rangeCovered(ranges, clock, clock + len)) return false;
    }
  }
  return true;
}

/** `ranges` sorted by clock and merged (as createDeleteSetFromStructStore returns them). */
function rangeCovered(ranges: readonly { clock: number; len: number }[], from: number, to: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const r = ranges[mid]!;
    if (r.clock + r.len <= from) lo = mid + 1;
    else if (r.clock > from) hi = mid - 1;
    else return to <= r.clock + r.len;
  }
  return false;
}
