import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { Awareness, applyAwarenessUpdate, encodeAwarenessUpdate } from 'y-protocols/awareness';
import { colorForUser, hslToRgb, PRESENCE_MIN_LUMINANCE, relativeLuminance, initialPresence, parsePresence, peerPlayheads, peerPointers, peerSelections, readPeers, type Peer } from './presence.ts';

describe('presence', () => {
  it('derives a stable colour per user id', () => {
    expect(colorForUser('u-1')).toBe(colorForUser('u-1'));
    expect(colorForUser('u-1')).not.toBe(colorForUser('u-2'));
    expect(colorForUser('u-1')).toMatch(/^hsl\(\d+ 70% \d+%\)$/);
  });

  it('every user colour keeps dark names on it readable (WCAG AA, with the playhead label at 0.9 opacity over the timeline)', () => {
    const rgb = (hsl: string) => {
      const [, hue, sat, light] = /^hsl\((\d+) (\d+)% (\d+)%\)$/.exec(hsl)!.map(Number) as [number, number, number, number];
      return hslToRgb(hue, sat / 100, light / 100);
    };
    const lum = (c: number[]) => relativeLuminance(c as [number, number, number]);
    const text = [0x11 / 255, 0x11 / 255, 0x11 / 255];
    const timeline = [0x15 / 255, 0x18 / 255, 0x1d / 255];
    const worst: { id: string; ratio: number }[] = [];
    for (let i = 0; i < 3000; i++) {
      const id = `${i.toString(36)}-${(i * 7919).toString(16)}-user`;
      const bg = rgb(colorForUser(id)).map((v, j) => 0.9 * v + 0.1 * timeline[j]!);
      const fg = text.map((v, j) => 0.9 * v + 0.1 * timeline[j]!);
      const ratio = (lum(bg) + 0.05) / (lum(fg) + 0.05);
      if (ratio < 4.5) worst.push({ id, ratio });
    }
    expect(worst).toEqual([]);
    // The old palette (lightness 60 % for every hue) failed for blues: hue 240 gives about 3.3:1.
    expect(PRESENCE_MIN_LUMINANCE).toBeGreaterThan(0.2);
  });

  it('drops invalid states and clamps values from peers', () => {
    expect(parsePresence(null)).toBeNull();
    expect(parsePresence({ user: { name: 'x' } })).toBeNull();
    const p = parsePresence({ user: { id: 'u', name: 'Uma', color: 'url(javascript:1)' }, playhead: -5, cursor: { x: 7, y: 3 }, selectedClipId: 5, selection: ['clip:c1', 7, 'cue:q'] });
    expect(p).toEqual({ user: { id: 'u', name: 'Uma', color: colorForUser('u') }, playhead: 0, selectedClipId: null, cursor: { x: 1, y: 3 }, selection: ['clip:c1', 'cue:q'], pointer: null });
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

  it('keeps pointers in document terms and drops malformed ones', () => {
    const base = { user: { id: 'u', name: 'Uma' } };
    expect(parsePresence({ ...base, pointer: { area: 'timeline', frame: 12.4, trackId: 'v1' } })?.pointer).toEqual({ area: 'timeline', frame: 12, trackId: 'v1' });
    expect(parsePresence({ ...base, pointer: { area: 'timeline', frame: 3, trackId: 9 } })?.pointer).toEqual({ area: 'timeline', frame: 3, trackId: null });
    expect(parsePresence({ ...base, pointer: { area: 'preview', x: -1, y: 2 } })?.pointer).toEqual({ area: 'preview', x: 0, y: 1 });
    expect(parsePresence({ ...base, pointer: { area: 'timeline', frame: -4 } })?.pointer).toBeNull();
    expect(parsePresence({ ...base, pointer: { area: 'elsewhere', x: 0, y: 0 } })?.pointer).toBeNull();
    expect(parsePresence({ ...base, pointer: { area: 'preview', x: 'a', y: 0 } })?.pointer).toBeNull();
  });

  it('maps peers to what the overlays draw: selections by clip, playheads, pointers by area', () => {
    const peer = (clientId: number, id: string, patch: Partial<Peer>): Peer => ({ ...initialPresence({ id, name: id.toUpperCase() }), clientId, ...patch });
    const peers = [
      peer(1, 'a', { playhead: 10, selection: ['clip:c1', 'cue:q1', 'clip:c2'], pointer: { area: 'preview', x: 0.5, y: 0.25 } }),
      peer(2, 'b', { playhead: 20, selection: ['clip:c1'], pointer: { area: 'timeline', frame: 7, trackId: 'v1' } }),
    ];
    const sel = peerSelections(peers);
    expect([...sel.keys()].sort()).toEqual(['c1', 'c2']);
    expect(sel.get('c1')!.map((m) => m.userId)).toEqual(['a', 'b']);
    expect(peerPlayheads(peers).map((p) => [p.name, p.frame])).toEqual([['A', 10], ['B', 20]]);
    expect(peerPointers(peers, 'timeline').map((p) => [p.userId, p.at.frame, p.at.trackId])).toEqual([['b', 7, 'v1']]);
    expect(peerPointers(peers, 'preview').map((p) => [p.userId, p.at.x, p.at.y])).toEqual([['a', 0.5, 0.25]]);
  });
});
