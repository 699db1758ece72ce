/**
 * One open project in the browser: the Y.Doc, its y-websocket connection to the collab-server, an
 * IndexedDB mirror for offline edits, presence (awareness), the user's own undo stack (remote edits
 * never enter it), named-version restore, and a reactive plain snapshot for the UI.
 */
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import type { IndexeddbPersistence } from 'y-indexeddb';
import { migrateTimeline, readTimeline, repairTimeline, type TimelineSnapshot } from '@clipmaker/shared/timeline';
import { LOCAL_ORIGIN, createUndoManager } from './undo.ts';
import { initialPresence, readPeers, type Peer, type PresenceState } from './presence.ts';
import { openOfflineStore } from './offline.ts';
import { restoreSnapshot } from './versions.ts';

export { LOCAL_ORIGIN } from './undo.ts';

/** Origin of schema migrations written by this client (not undoable: nobody's edit). */
export const MIGRATION_ORIGIN = { migration: true } as const;

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected';

export interface SessionUser {
  id: string;
  name: string;
}

export class EditorSession {
  readonly doc = new Y.Doc();
  readonly provider: WebsocketProvider;
  readonly undo: Y.UndoManager;
  readonly offline: IndexeddbPersistence | null;
  readonly user: SessionUser | null;
  timeline = $state<TimelineSnapshot>(readTimeline(new Y.Doc()));
  status = $state<ConnectionStatus>('connecting');
  synced = $state(false);
  /** The IndexedDB mirror has been read (edits made offline earlier are in the doc). */
  offlineLoaded = $state(false);
  /** Other clients' presence (never mine), kept current from the awareness. */
  peers = $state<Peer[]>([]);
  canUndo = $state(false);
  canRedo = $state(false);
  private presence: PresenceState | null = null;
  private destroyed = false;
  /**
   * The browser knows first when the network is gone: stop the socket at once (edits keep going to
   * IndexedDB) instead of waiting for y-websocket's 30 s silence timeout, and reconnect when it is back.
   */
  private readonly onOffline = () => this.provider.disconnect();
  private readonly onOnline = () => this.provider.connect();

  /** Editors write schema migrations of older documents once synced (viewers read a migrated copy). */
  private readonly canWrite: boolean;
  /** Set when a migration could not be written (a newer document, a damaged one): shown by the page. */
  migrationError = $state<string | null>(null);

  constructor(opts: { url: string; projectId: string; token: string; refreshToken: () => Promise<string>; user?: SessionUser; canEdit?: boolean }) {
    this.canWrite = opts.canEdit ?? false;
    const room = `project:${opts.projectId}`;
    this.user = opts.user ?? null;
    // The offline mirror first: what was edited while disconnected is in the doc before we sync.
    this.offline = this.user ? openOfflineStore(this.doc, opts.projectId, this.user.id) : null;
    if (this.offline) void this.offline.whenSynced.then(() => (this.offlineLoaded = true));
    else this.offlineLoaded = true;
    this.provider = new WebsocketProvider(opts.url, room, this.doc, { params: { token: opts.token }, maxBackoffTime: 5000 });
    // Reconnects need a fresh short-lived token.
    this.provider.on('connection-close', () => {
      void opts
        .refreshToken()
        .then((token) => (this.provider.params = { token }))
        .catch(() => {});
    });
    this.provider.on('status', ({ status }: { status: ConnectionStatus }) => {
      this.status = status;
      // Presence of others is stale the moment we lose the server (y-websocket clears it on close too).
      if (status !== 'connected') this.refreshPeers();
    });
    this.provider.on('sync', (isSynced: boolean) => {
      this.synced = isSynced;
      if (isSynced) this.migrate();
      this.refresh();
    });
    this.undo = createUndoManager(this.doc);
    const onStack = () => {
      this.canUndo = this.undo.canUndo();
      this.canRedo = this.undo.canRedo();
    };
    for (const ev of ['stack-item-added', 'stack-item-popped', 'stack-cleared'] as const) this.undo.on(ev, onStack);
    this.doc.on('update', () => this.refresh());
    if (typeof window !== 'undefined') {
      window.addEventListener('offline', this.onOffline);
      window.addEventListener('online', this.onOnline);
    }
    this.provider.awareness.on('change', () => this.refreshPeers());
    if (this.user) {
      this.presence = initialPresence(this.user);
      this.provider.awareness.setLocalState(this.presence);
    }
    this.refresh();
  }

  /** Upgrades an older document in place (deterministic, so concurrent editors write the same values). */
  private migrate(): void {
    if (!this.canWrite || this.destroyed) return;
    try {
      migrateTimeline(this.doc, MIGRATION_ORIGIN);
      repairTimeline(this.doc, MIGRATION_ORIGIN);
    } catch (err) {
      this.migrationError = err instanceof Error ? err.message : String(err);
    }
  }

  private refresh(): void {
    if (this.destroyed) return;
    this.timeline = readTimeline(this.doc);
  }

  private refreshPeers(): void {
    if (this.destroyed) return;
    this.peers = readPeers(this.provider.awareness);
  }

  /**
   * Updates my presence (playhead, selected clip, cursor, selection). Unchanged values are not
   * re-sent; the awareness itself renews the state every 15 s so it does not go stale.
   */
  setPresence(patch: Partial<Omit<PresenceState, 'user'>>): void {
    if (!this.presence || this.destroyed) return;
    let changed = false;
    for (const [k, v] of Object.entries(patch) as [keyof PresenceState, unknown][]) {
      if (JSON.stringify(this.presence[k]) !== JSON.stringify(v)) changed = true;
    }
    if (!changed) return;
    this.presence = { ...this.presence, ...patch };
    this.provider.awareness.setLocalState(this.presence);
  }

  /**
   * Restores a named version as ONE undoable edit of mine: Ctrl+Z brings back what was there before.
   * Returns how many parts of the timeline changed (0: already equal).
   */
  restoreVersion(state: Uint8Array): number {
    this.undo.stopCapturing();
    const changed = restoreSnapshot(this.doc, state, LOCAL_ORIGIN);
    // A version saved before the layered timeline comes back in the old layout: upgrade it within the same undo step.
    migrateTimeline(this.doc, LOCAL_ORIGIN);
    this.undo.stopCapturing();
    return changed;
  }

  /** base64 state vector, sent with renders.create so the server renders only what is saved. */
  stateVector(): string {
    const sv = Y.encodeStateVector(this.doc);
    let s = '';
    for (const b of sv) s += String.fromCharCode(b);
    return btoa(s);
  }

  destroy(): void {
    this.destroyed = true;
    if (typeof window !== 'undefined') {
      window.removeEventListener('offline', this.onOffline);
      window.removeEventListener('online', this.onOnline);
    }
    this.undo.destroy();
    // Tell the others now rather than after their 30 s timeout.
    this.provider.awareness.setLocalState(null);
    this.provider.destroy();
    void this.offline?.destroy();
    this.doc.destroy();
  }
}
