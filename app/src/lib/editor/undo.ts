/**
 * This user's undo stack. Only transactions with LOCAL_ORIGIN are tracked, so edits arriving from
 * the collab-server (origin: the provider), from IndexedDB (origin: the persistence) or from any
 * other peer never enter it: Ctrl+Z undoes my edits and leaves everybody else's alone.
 *
 * Ripple cuts (transcript word deletes, "remove fillers and pauses") are undone semantically:
 * Yjs' item-level undo of a cut loses media once another user has cut over the same clip (see
 * shared/timeline/ripple.ts), so a stack item made by a cut carries what the cut removed and its
 * undo re-inserts exactly that into the document as it is now; its redo cuts that source range
 * again. Every other edit keeps Yjs' undo, which never overwrites another user's later change.
 */
import * as Y from 'yjs';
import { RIPPLE_CUT_META, RIPPLE_RESTORE_META, redoRippleCut, undoRippleCut, type RippleCut, type RippleRestore } from '@clipmaker/shared/timeline';

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

type StackItem = Y.UndoManager['undoStack'][number];

/** A Y.UndoManager whose ripple-cut steps undo and redo semantically (same API otherwise). */
export class EditorUndoManager extends Y.UndoManager {
  /** What the UndoManager did with the transaction being captured (null: it captured nothing). */
  private captured: 'added' | 'updated' | null = null;
  private readonly onBefore = () => (this.captured = null);
  private readonly onAfter = (tr: Y.Transaction) => {
    const cut = tr.meta.get(RIPPLE_CUT_META) as RippleCut[] | undefined;
    const restore = tr.meta.get(RIPPLE_RESTORE_META) as RippleRestore[] | undefined;
    if ((!cut && !restore) || this.captured === null) return;
    const item = (this.undoing ? this.redoStack : this.undoStack).at(-1);
    if (!item) return;
    if (this.captured === 'updated' || item.meta.get('mixed')) {
      // Merged with other edits into one step: that step keeps Yjs' item-level undo.
      item.meta.delete(RIPPLE_CUT_META);
      item.meta.delete(RIPPLE_RESTORE_META);
      item.meta.set('mixed', true);
    } else {
      if (cut) item.meta.set(RIPPLE_CUT_META, cut);
      if (restore) item.meta.set(RIPPLE_RESTORE_META, restore);
    }
    // Nothing later joins a ripple step.
    this.stopCapturing();
  };

  constructor(doc: Y.Doc) {
    super(
      UNDO_ROOTS.map((name) => doc.getMap(name)),
      { trackedOrigins: new Set([LOCAL_ORIGIN]), captureTimeout: UNDO_CAPTURE_MS },
    );
    this.on('stack-item-updated', () => (this.captured = 'updated'));
    this.on('stack-item-added', () => (this.captured = 'added'));
    doc.on('beforeTransaction', this.onBefore);
    // Registered after the UndoManager's own handler: the stack item of this transaction exists.
    doc.on('afterTransaction', this.onAfter);
  }

  override destroy(): void {
    this.doc.off('beforeTransaction', this.onBefore);
    this.doc.off('afterTransaction', this.onAfter);
    super.destroy();
  }

  override undo(): StackItem | null {
    return this.pop('undo');
  }

  override redo(): StackItem | null {
    return this.pop('redo');
  }

  /**
   * One step back (or forward). A semantic step is applied here in a transaction of this manager
   * (so Yjs files it on the other stack); any other step by Yjs with only that step visible, so a
   * step that turns out to change nothing is skipped without Yjs reaching a ripple step below it.
   */
  private pop(kind: 'undo' | 'redo'): StackItem | null {
    const stack = kind === 'undo' ? this.undoStack : this.redoStack;
    while (stack.length > 0) {
      const item = stack.at(-1)!;
      const cut = item.meta.get(RIPPLE_CUT_META) as RippleCut[] | undefined;
      const restore = item.meta.get(RIPPLE_RESTORE_META) as RippleRestore[] | undefined;
      if (kind === 'undo' ? cut : restore) {
        stack.pop();
        this.stopCapturing();
        if (kind === 'undo') this.undoing = true;
        else this.redoing = true;
        try {
          if (kind === 'undo') undoRippleCut(this.doc, cut!, this);
          else redoRippleCut(this.doc, restore!, this);
        } finally {
          this.undoing = false;
          this.redoing = false;
        }
        this.stopCapturing();
        this.emit('stack-item-popped', [{ stackItem: item, type: kind, changedParentTypes: new Map(), origin: this }, this]);
        return item;
      }
      const below = stack.splice(0, stack.length - 1);
      let res: StackItem | null;
      try {
        res = kind === 'undo' ? super.undo() : super.redo();
      } finally {
        stack.unshift(...below);
      }
      if (res) return res;
    }
    return null;
  }
}

export function createUndoManager(doc: Y.Doc): EditorUndoManager {
  return new EditorUndoManager(doc);
}
