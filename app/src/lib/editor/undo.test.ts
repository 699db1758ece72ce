/** Per-user undo: remote edits (any origin but LOCAL_ORIGIN) never enter my undo stack. */
import { describe, expect, it } from 'vitest';
import * as Y from 'yjs';
import { addAsset, addClip, addCue, initTimeline, readTimeline, removeFillersAndPauses, rippleDeleteRanges, setCaptionCues, updateCue } from '@clipmaker/shared/timeline';
import { transcriptToCues } from '@clipmaker/shared/captions';
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

  // Was a known bug (item-level undo of the split): ripple cuts now undo semantically (undo.ts).
  it('undoing my ripple cut after the other user undid a later cut over the same clip restores the media', () => {
    const { a, b } = pair();
    addAsset(a, { id: 'a1', key: 'k/original.mp4', kind: 'video', name: 'v.mp4', width: 1920, height: 1080, fps: { num: 30, den: 1 }, durationFrames: 120, durationUs: 4_000_000, hasAudio: true, sha256: null });
    const ua = createUndoManager(a);
    const ub = createUndoManager(b);
    addClip(a, { assetId: 'a1' }, LOCAL_ORIGIN);
    const words = [['Hello', 100, 450], ['um', 500, 700], ['world', 750, 1100], ['this', 2000, 2250], ['is', 2300, 2450], ['live', 2500, 2900]] as const;
    // "um" and "is" were recognised with low confidence: both undos must bring them back flagged.
    const unsure = new Set(['um', 'is']);
    setCaptionCues(a, transcriptToCues(words.map(([text, start, end]) => ({ text, start, end, confidence: unsure.has(text) ? 0.2 : 1 })), { fps: { num: 30, den: 1 }, rules: 'three-words', mediaEndMs: 4000 }), LOCAL_ORIGIN);
    ua.stopCapturing();
    const flagged = (d: Y.Doc) => readTimeline(d).cues.flatMap((c) => c.text.split(/\s+/u).filter((_, i) => c.words?.[i]?.low === true));
    expect(flagged(b)).toEqual(['um', 'is']);
    const frames = (d: Y.Doc) => readTimeline(d).clips.reduce((n, c) => n + (c.kind === 'video' ? c.sourceOut - c.sourceIn : 0), 0);
    rippleDeleteRanges(b, [[60, 74]], LOCAL_ORIGIN); // B cuts "this is"
    ub.stopCapturing();
    removeFillersAndPauses(a, { maxPauseFrames: 9 }, LOCAL_ORIGIN); // A removes "um" and the pause
    ua.stopCapturing();
    ua.undo();
    expect(frames(a)).toBe(120 - 14);
    ub.undo();
    expect(readTimeline(a).cues.map((c) => c.text).sort()).toEqual(['Hello um world', 'this is live']);
    expect(frames(a)).toBe(120);
    expect(readTimeline(a).clips).toHaveLength(1); // the pieces merged back into one clip
    expect(readTimeline(b)).toEqual(readTimeline(a));
    expect(flagged(a).sort()).toEqual(['is', 'um']);
  });
});
