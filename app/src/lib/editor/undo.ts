/**
 * This user's undo stack. Only transactions with LOCAL_ORIGIN are tracked, so edits arriving from
 * the collab-server (origin: the provider), from IndexedDB (origin: the persistence) or from any
 * other peer never enter it: Ctrl+Z undoes my edits and leaves everybody else's alone.
 */
import * as Y from 'yjs';

/** Origin of this user's own edits, tracked by the UndoManager. */
export const LOCAL_ORIGIN = { local: true } as const;

/**
 * The timeline's top-level maps (shared/timeline/model.ts) whose edits are undoable. `assets` is
 * left out on purpose: asset entries are immutable references to uploaded files, adding one is not
 * an edit a user expects to undo, and a clip must never be left pointing at an undone asset.
 */
export const UNDO_ROOTS = ['meta', 'tracks', 'clips', 'cues', 'subtitleStyle', 'markers', 'overlays', 'music'] as const;

/** Edits within this many ms merge into one undo step (unless a command stops capturing). */
export const UNDO_CAPTURE_MS = 400;

export function createUndoManager(doc: Y.Doc): Y.UndoManager {
  return new Y.UndoManager(
    UNDO_ROOTS.map((name) => doc.getMap(name)),
    { trackedOrigins: new Set([LOCAL_ORIGIN]), captureTimeout: UNDO_CAPTURE_MS },
  );
}
