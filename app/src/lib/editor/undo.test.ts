/** Per-user undo: remote edits (any origin but LOCAL_ORIGIN) never enter my undo stack. */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addCue, initTimeline, readTimeline, updateCue } from '@clipmaker/shared/timeline';
import { LOCAL_ORIGIN, createUndoManager } from './undo.ts';

/** Two peers wired like y-websocket: updates relayed with the provider as origin. */
function pair() {
  const a = new Y.Doc();
  const b = new Y.Doc();
  const providerA = { provider: 'a' };
  const providerB = { provider: 'b' };
  a.on('update', (u: Uint8Array, origin: unknown) => origin !== providerB && Y.applyUpdate(b, u, providerB));
  b.on('update', (u: Uint8Array, origin: unknown) => origin !== providerA && Y.applyUpdate(a, u, providerA));
  initTimeline(a, { fps: { num: 30, den: 1 }, aspect: '9:16' });
  return { a, b };
}

const texts = (d: Y.Doc) => readTimeline(d).cues.map((c) => c.text).sort();

describe('createUndoManager', () => {
  it('a remote edit never enters my undo stack; undo reverts only my edit', () => {
    const { a, b } = pair();
    const undo = createUndoManager(a);
    addCue(a, { start: 0, end: 30, text: 'mine' }, LOCAL_ORIGIN);
    undo.stopCapturing();
    const theirs = addCue(b, { start: 60, end: 90, text: 'theirs' }, LOCAL_ORIGIN); // local to b, remote to a
    expect(texts(a)).toEqual(['mine', 'theirs']);
    expect(undo.undoStack).toHaveLength(1);

    undo.undo();
    expect(texts(a)).toEqual(['theirs']);
    expect(texts(b)).toEqual(['theirs']);
    expect(undo.canUndo()).toBe(false);

    // A remote change to a field I never touched, then redo: mine returns, theirs is intact.
    updateCue(b, theirs, { text: 'theirs, edited' }, LOCAL_ORIGIN);
    expect(undo.undoStack).toHaveLength(0);
    undo.redo();
    expect(texts(a)).toEqual(['mine', 'theirs, edited']);
    expect(texts(b)).toEqual(['mine', 'theirs, edited']);
  });

  it('edits with no origin or another origin (IndexedDB, server load) are not undoable', () => {
    const doc = new Y.Doc();
    const undo = createUndoManager(doc);
    initTimeline(doc, { fps: { num: 30, den: 1 }, aspect: '9:16' });
    addCue(doc, { start: 0, end: 30, text: 'loaded' }, { persistence: 'idb' });
    expect(undo.canUndo()).toBe(false);
  });
});
