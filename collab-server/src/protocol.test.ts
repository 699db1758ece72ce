import { describe, expect, it } from 'vitest';
import * as encoding from 'lib0/encoding';
import * as Y from 'yjs';
import {
  MalformedMessage,
  decodeAwarenessUpdate,
  decodeClientMessage,
  encodeAwarenessUpdate,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  inspectUpdate,
  onlyKnownDeletions,
} from './protocol.ts';

const bytes = (...xs: number[]) => new Uint8Array(xs);

describe('decodeClientMessage', () => {
  it('round-trips the sync messages', () => {
    const d = new Y.Doc();
    d.getArray('t').push(['x']);
    const sv = Y.encodeStateVector(d);
    const u = Y.encodeStateAsUpdate(d);
    expect(decodeClientMessage(encodeSyncStep1(sv))).toEqual({ type: 'sync-step1', stateVector: sv });
    expect(decodeClientMessage(encodeSyncStep2(u))).toEqual({ type: 'sync-step2', update: u });
    expect(decodeClientMessage(encodeSyncUpdate(u))).toEqual({ type: 'sync-update', update: u });
  });

  it('parses awareness, auth and query-awareness', () => {
    expect(decodeClientMessage(bytes(1, 2, 9, 9))).toEqual({ type: 'awareness', update: bytes(9, 9) });
    expect(decodeClientMessage(bytes(2, 0))).toEqual({ type: 'auth' });
    expect(decodeClientMessage(bytes(3))).toEqual({ type: 'query-awareness' });
  });

  it.each([
    ['empty', bytes()],
    ['unknown type', bytes(7)],
    ['unknown sync type', bytes(0, 5, 0)],
    ['sync without payload', bytes(0, 2)],
    ['length past the end', bytes(0, 2, 10, 1, 2)],
    ['unterminated varUint', bytes(0xff, 0xff)],
    ['awareness past the end', bytes(1, 3, 1)],
  ])('rejects %s', (_name, frame) => {
    expect(() => decodeClientMessage(frame)).toThrow(MalformedMessage);
  });
});

describe('awareness updates', () => {
  it('round-trips entries and validates JSON', () => {
    const entries = [
      { clientId: 1, clock: 3, state: '{"user":{"name":"Ann"}}' },
      { clientId: 99999, clock: 0, state: 'null' },
    ];
    expect(decodeAwarenessUpdate(encodeAwarenessUpdate(entries))).toEqual(entries);
    expect(() => decodeAwarenessUpdate(encodeAwarenessUpdate([{ clientId: 1, clock: 1, state: '{' }]))).toThrow(MalformedMessage);
  });

  it('rejects an absurd entry count and invalid utf-8', () => {
    const e = encoding.createEncoder();
    encoding.writeVarUint(e, 1_000_000);
    expect(() => decodeAwarenessUpdate(encoding.toUint8Array(e))).toThrow(MalformedMessage);
    expect(() => decodeAwarenessUpdate(bytes(1, 1, 1, 2, 0xc3, 0x28))).toThrow(MalformedMessage);
  });
});

describe('inspectUpdate / onlyKnownDeletions', () => {
  it('tells empty updates apart and rejects garbage', () => {
    expect(inspectUpdate(Y.encodeStateAsUpdate(new Y.Doc())).empty).toBe(true);
    const d = new Y.Doc();
    d.getText('x').insert(0, 'hi');
    expect(inspectUpdate(Y.encodeStateAsUpdate(d))).toMatchObject({ empty: false, structs: 1 });
    expect(() => inspectUpdate(bytes(5, 200, 1, 2, 3))).toThrow(MalformedMessage);
  });

  it('recognises a delete set the document already has, and a new one', () => {
    const server = new Y.Doc();
    const client = new Y.Doc();
    client.getArray('t').push(['a', 'b', 'c']);
    client.getArray('t').delete(1, 1);
    Y.applyUpdate(server, Y.encodeStateAsUpdate(client));
    const reconnectStep2 = Y.encodeStateAsUpdate(client, Y.encodeStateVector(server));
    expect(onlyKnownDeletions(server, inspectUpdate(reconnectStep2))).toBe(true);
    client.getArray('t').delete(0, 1);
    const withNewDeletion = Y.encodeStateAsUpdate(client, Y.encodeStateVector(server));
    expect(onlyKnownDeletions(server, inspectUpdate(withNewDeletion))).toBe(false);
    client.getArray('t').push(['d']);
    expect(onlyKnownDeletions(server, inspectUpdate(Y.encodeStateAsUpdate(client, Y.encodeStateVector(server))))).toBe(false);
  });
});
