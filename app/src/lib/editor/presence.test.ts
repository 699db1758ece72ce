import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { colorForUser, initialPresence, parsePresence, readPeers } from './presence.ts';

describe('presence', () => {
  it('derives a stable colour per user id', () => {
    expect(colorForUser('u-1')).toBe(colorForUser('u-1'));
    expect(colorForUser('u-1')).not.toBe(colorForUser('u-2'));
    expect(colorForUser('u-1')).toMatch(/^hsl\(\d+ 70% 60%\)$/);
  });

  it('drops invalid states and clamps values from peers', () => {
    expect(parsePresence(null)).toBeNull();
    expect(parsePresence({ user: { name: 'x' } })).toBeNull();
    const p = parsePresence({ user: { id: 'u', name: 'Uma', color: 'url(javascript:1)' }, playhead: -5, cursor: { x: 7, y: 3 }, selectedClipId: 5, selection: ['clip:c1', 7, 'cue:q'] });
    expect(p).toEqual({ user: { id: 'u', name: 'Uma', color: colorForUser('u') }, playhead: 0, selectedClipId: null, cursor: { x: 1, y: 3 }, selection: ['clip:c1', 'cue:q'] });
  });

  it('reads other clients only, and a removed client disappears', () => {
    const mine = new Awareness(new Y.Doc());
    const theirs = new Awareness(new Y.Doc());
    mine.setLocalState(initialPresence({ id: 'me', name: 'Me' }));
    theirs.setLocalState({ ...initialPresence({ id: 'them', name: 'Them' }), playhead: 42, selectedClipId: 'c1' });
    applyAwarenessUpdate(mine, encodeAwarenessUpdate(theirs, [theirs.clientID]), 'remote');
    const peers = readPeers(mine);
    expect(peers.map((p) => [p.user.name, p.playhead, p.selectedClipId])).toEqual([['Them', 42, 'c1']]);
    theirs.setLocalState(null);
    applyAwarenessUpdate(mine, encodeAwarenessUpdate(theirs, [theirs.clientID]), 'remote');
    expect(readPeers(mine)).toEqual([]);
    mine.destroy();
    theirs.destroy();
  });
});
