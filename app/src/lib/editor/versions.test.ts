/** Restoring a named version: one local transaction that makes the live timeline equal the snapshot. */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addAsset, addClip, addCue, initTimeline, readTimeline, removeCue, setAspect, trimClip, updateCue } from '@clipmaker/shared/timeline';
import { LOCAL_ORIGIN, createUndoManager } from './undo.ts';
import { base64ToBytes, bytesToBase64, describeTimeline, previewSnapshot, restoreSnapshot } from './versions.ts';

const asset = { id: 'a1', key: 'k/a1.mp4', kind: 'video' as const, name: 'a.mp4', width: 1920, height: 1080, fps: { num: 30, den: 1 }, durationFrames: 300, durationUs: 10_000_000, hasAudio: true, sha256: null };

function setup() {
  const doc = new Y.Doc();
  initTimeline(doc, { fps: { num: 30, den: 1 }, aspect: '9:16' });
  addAsset(doc, asset);
  const clip = addClip(doc, { assetId: 'a1' });
  const cue = addCue(doc, { start: 0, end: 30, text: 'hello' });
  return { doc, clip, cue };
}

describe('versions', () => {
  it('base64 round trip', () => {
    const bytes = new Uint8Array(100_000).map((_, i) => (i * 7) % 256);
    expect(base64ToBytes(bytesToBase64(bytes))).toEqual(bytes);
  });

  it('restore makes the live doc equal the snapshot in one undoable transaction', () => {
    const { doc, clip, cue } = setup();
    const snapshot = Y.encodeStateAsUpdate(doc);
    const before = readTimeline(doc);
    const undo = createUndoManager(doc);

    // Edits after the version: trim, change a cue, remove it, add another, change the aspect.
    trimClip(doc, clip, { sourceOut: 90 }, LOCAL_ORIGIN);
    updateCue(doc, cue, { text: 'changed' }, LOCAL_ORIGIN);
    removeCue(doc, cue, LOCAL_ORIGIN);
    addCue(doc, { start: 40, end: 60, text: 'later' }, LOCAL_ORIGIN);
    setAspect(doc, '1:1', undefined, LOCAL_ORIGIN);
    const edited = readTimeline(doc);
    expect(edited).not.toEqual(before);

    undo.stopCapturing();
    let transactions = 0;
    doc.on('afterTransaction', () => transactions++);
    expect(restoreSnapshot(doc, snapshot, LOCAL_ORIGIN)).toBeGreaterThan(0);
    expect(transactions).toBe(1);
    expect(readTimeline(doc)).toEqual(before);

    undo.undo();
    expect(readTimeline(doc)).toEqual(edited);
    undo.redo();
    expect(readTimeline(doc)).toEqual(before);
    // Restoring again is a no-op.
    expect(restoreSnapshot(doc, snapshot, LOCAL_ORIGIN)).toBe(0);
  });

  it('a restore syncs to another peer like any edit', () => {
    const { doc, clip } = setup();
    const snapshot = Y.encodeStateAsUpdate(doc);
    trimClip(doc, clip, { sourceOut: 60 }, LOCAL_ORIGIN);
    const peer = new Y.Doc();
    Y.applyUpdate(peer, Y.encodeStateAsUpdate(doc));
    const sv = Y.encodeStateVector(peer);
    restoreSnapshot(doc, snapshot, LOCAL_ORIGIN);
    Y.applyUpdate(peer, Y.encodeStateAsUpdate(doc, sv));
    expect(readTimeline(peer)).toEqual(readTimeline(doc));
    expect(readTimeline(peer).clips[0]).toMatchObject({ sourceOut: 300 });
  });

  it('previews a snapshot read-only', () => {
    const { doc } = setup();
    const t = previewSnapshot(Y.encodeStateAsUpdate(doc));
    expect(t.clips).toHaveLength(1);
    expect(t.cues.map((c) => c.text)).toEqual(['hello']);
    expect(describeTimeline(t)).toBe('1 clip, 1 cue, 9:16, ~10.0 s');
  });
});
