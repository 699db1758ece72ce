/**
 * Offline edits: the project's Y.Doc is mirrored into IndexedDB (y-indexeddb), keyed by project AND
 * user, so edits made while disconnected survive a reload or a closed tab and merge into the server
 * document when the provider reconnects (Yjs updates commute; sync step 2 sends what the server
 * lacks). Another user on the same browser never sees these pending edits.
 */
import type * as Y from 'yjs';
import { IndexeddbPersistence } from 'y-indexeddb';

export function offlineStoreName(projectId: string, userId: string): string {
  return `clipmaker:doc:${projectId}:${userId}`;
}

/** Null where IndexedDB is unavailable (private mode in some browsers, SSR): the editor still works online. */
export function openOfflineStore(doc: Y.Doc, projectId: string, userId: string): IndexeddbPersistence | null {
  if (typeof indexedDB === 'undefined') return null;
  try {
    return new IndexeddbPersistence(offlineStoreName(projectId, userId), doc);
  } catch {
    return null;
  }
}
