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
import { RIPPLE_CUT_META, RIPPLE_RESTORE_META, redoRippleCut, rippleRestoresFor, undoRippleCut, type RippleCut, type RippleRestore } from '@clipmaker/shared/timeline';

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

/** Stack item meta of a ripple step. */
const CUT = 'ripple.cut'; // RippleCut[]: undo re-inserts what the cut removed
const RESTORE = 'ripple.restore'; // RippleRestore[]: redo cuts it again
const REMOTE = 'ripple.remote'; // other clients' state vector when the step was made

/**
 * A Y.UndoManager whose ripple-cut steps undo and redo semantically (same API otherwise). When no
 * other client has written anything since the step was made, Yjs' own undo/redo of it is exact and
 * is used (it keeps the links Yjs needs to undo my earlier edits of the same fields); otherwise
 * the step is undone from its record against the document as it is now.
 */
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
      for (const k of [CUT, RESTORE, REMOTE]) item.meta.delete(k);
      item.meta.set('mixed', true);
    } else this.tag(item, { cut, restore });
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

  private tag(item: StackItem, m: { cut?: RippleCut[] | undefined; restore?: RippleRestore[] | undefined }): void {
    if (m.cut) item.meta.set(CUT, m.cut);
    if (m.restore) item.meta.set(RESTORE, m.restore);
    item.meta.set(REMOTE, this.remoteState());
  }

  /** Other clients' state vector, as a comparable string. */
  private remoteState(): string {
    const sv = Y.decodeStateVector(Y.encodeStateVector(this.doc));
    sv.delete(this.doc.clientID);
    return JSON.stringify([...sv.entries()].sort((x, y) => x[0] - y[0]));
  }

  /**
   * One step back (or forward). A ripple step is re-applied here in a transaction of this manager
   * (so Yjs files it on the other stack) unless nobody else wrote since it was made; any other step
   * goes to Yjs with only that step visible, so a step that turns out to change nothing is skipped
   * without Yjs reaching (and item-level undoing) a ripple step below it.
   */
  private pop(kind: 'undo' | 'redo'): StackItem | null {
    const stack = kind === 'undo' ? this.undoStack : this.redoStack;
    while (stack.length > 0) {
      const item = stack.at(-1)!;
      const cut = item.meta.get(CUT) as RippleCut[] | undefined;
      const restore = item.meta.get(RESTORE) as RippleRestore[] | undefined;
      const semantic = kind === 'undo' ? cut : restore;
      const quiet = item.meta.get(REMOTE) === this.remoteState() && (kind === 'undo' || cut !== undefined);
      if (semantic && !quiet) {
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
      // Yjs' undo, exact here; a ripple step keeps its record for the step Yjs files opposite.
      const next = semantic && kind === 'undo' ? { cut, restore: rippleRestoresFor(this.doc, cut!) } : semantic ? { cut } : null;
      const below = stack.splice(0, stack.length - 1);
      let res: StackItem | null;
      try {
        res = kind === 'undo' ? super.undo() : super.redo();
      } finally {
        stack.unshift(...below);
      }
      if (res) {
        const filed = (kind === 'undo' ? this.redoStack : this.undoStack).at(-1);
        if (next && filed) this.tag(filed, next);
        if (next) this.stopCapturing();
        return res;
      }
    }
    return null;
  }
}

export function createUndoManager(doc: Y.Doc): EditorUndoManager {
  return new EditorUndoManager(doc);
}
