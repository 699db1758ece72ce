/**
 * One open project in the browser: the Y.Doc, its y-websocket connection to the collab-server, an
 * IndexedDB mirror for offline edits, presence (awareness), the user's own undo stack (remote edits
 * never enter it), named-version restore, and a reactive plain snapshot for the UI.
 */
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import type { IndexeddbPersistence } from 'y-indexeddb';
import {
  addAsset,
  addClip,
  addCue,
  addMarker,
  addTextClip,
  addTrack,
  migrateTimeline,
  moveClip,
  readTimeline,
  removeClip,
  removeCropKeyframe,
  removeCue,
  removeMarker,
  repairTimeline,
  setAspect,
  setCropKeyframe,
  setLoudnessTarget,
  setSubtitleStyle,
  setTrack,
  setTrackDucking,
  setTransform,
  setTransition,
  splitClip,
  trimClip,
  updateCue,
  updateMarker,
  type AspectPreset,
  type AssetInfo,
  type CueSnapshot,
  type TimelineSnapshot,
  type TrackSnapshot,
  setCaptionCues,
  editCaptionWord,
  confirmCaptionWords,
  rippleDeleteRanges,
  removeFillersAndPauses,
  setWordStyle,
} from '@clipmaker/shared/timeline';
import type { CropRect, Ducking, Loudness, SubtitleStyle, Transform, Transition, WordStyle } from '@clipmaker/shared/render-spec';
import { applyDrag, deleteClips, dropAsset, pasteClips, type DragCommit } from './timeline-edits.ts';
import { LOCAL_ORIGIN, UNDO_CAPTURE_MS, createUndoManager } from './undo.ts';
import { initialPresence, readPeers, type Peer, type PresenceState } from './presence.ts';
import { openOfflineStore } from './offline.ts';
import { restoreSnapshot } from './versions.ts';
import { ACCESS_CLOSE_CODES, ACCESS_MESSAGE_TYPE, decodeAccessNotice, type AccessNotice } from '@clipmaker/shared/collab/access-message';
import { WRITE_ROLES, type CollabRole } from '@clipmaker/shared/collab';

export { LOCAL_ORIGIN } from './undo.ts';

/** Origin of schema migrations written by this client (not undoable: nobody's edit). */
export const MIGRATION_ORIGIN = { migration: true } as const;

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected';

/** The payload of a collab token (not verified here: the server does), for its role and expiry. */
export function readTokenClaims(token: string): { role: CollabRole; exp: number } | null {
  try {
    const b64 = token.split('.')[0]!.replace(/-/g, '+').replace(/_/g, '/');
    const json = JSON.parse(atob(b64.padEnd(Math.ceil(b64.length / 4) * 4, '='))) as { role?: unknown; exp?: unknown };
    if (typeof json.exp !== 'number' || typeof json.role !== 'string') return null;
    return { role: json.role as CollabRole, exp: json.exp };
  } catch {
    return null;
  }
}

/** Refresh the token this long before it expires (the server stops writes at expiry). */
const REFRESH_BEFORE_EXPIRY_MS = 60_000;

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

  /**
   * Whether this user may edit now. Starts from the page's role; the collab server lowers it live
   * (role changed, token expired) with its type-100 notice, a refreshed token raises it again.
   */
  canWrite = $state(false);
  /** The role the server enforces on this socket now. */
  role = $state<CollabRole | null>(null);
  /** Why editing stopped or the socket was closed for good, for the page to show; null when fine. */
  accessNotice = $state<string | null>(null);
  private refreshTimer: ReturnType<typeof setTimeout> | null = null;
  private refreshing: Promise<void> | null = null;
  private readonly refreshToken: () => Promise<string>;
  /** Set when a migration could not be written (a newer document, a damaged one): shown by the page. */
  migrationError = $state<string | null>(null);

  constructor(opts: { url: string; projectId: string; token: string; refreshToken: () => Promise<string>; user?: SessionUser; canEdit?: boolean }) {
    this.canWrite = opts.canEdit ?? false;
    this.refreshToken = opts.refreshToken;
    this.role = readTokenClaims(opts.token)?.role ?? null;
    const room = `project:${opts.projectId}`;
    this.user = opts.user ?? null;
    // The offline mirror first: what was edited while disconnected is in the doc before we sync.
    this.offline = this.user ? openOfflineStore(this.doc, opts.projectId, this.user.id) : null;
    if (this.offline) void this.offline.whenSynced.then(() => (this.offlineLoaded = true));
    else this.offlineLoaded = true;
    this.provider = new WebsocketProvider(opts.url, room, this.doc, { params: { token: opts.token }, maxBackoffTime: 5000 });
    // Reconnects need a fresh short-lived token.
    this.provider.on('connection-close', () => void this.refresh_token(false));
    this.provider.messageHandlers[ACCESS_MESSAGE_TYPE] = (_encoder, decoder) => {
      const d = decoder as unknown as { arr: Uint8Array; pos: number };
      const notice = decodeAccessNotice(d.arr, d.pos);
      d.pos = d.arr.length;
      if (notice) this.onAccessNotice(notice);
    };
    // 4400-4499: y-websocket stops; the server said we have no access any more.
    this.provider.on('closed', ({ code }: { code: number }) => {
      this.canWrite = false;
      this.accessNotice =
        code === ACCESS_CLOSE_CODES.projectClosed
          ? 'This project was deleted.'
          : code === ACCESS_CLOSE_CODES.revoked
            ? 'You no longer have access to this project.'
            : 'The collaboration server refused this connection.';
    });
    this.scheduleRefresh(opts.token);
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

  private onAccessNotice(notice: AccessNotice): void {
    if (this.destroyed) return;
    this.role = notice.role;
    this.canWrite = notice.canWrite;
    if (notice.reason === 'token-expired') {
      // Read-only until the fresh token is in place; the reconnect resends what the server refused.
      void this.refresh_token(true);
    } else {
      this.accessNotice = notice.canWrite ? null : `Your role is now ${notice.role}: the timeline is read-only.`;
    }
  }

  /** A fresh token before this one expires, so writes never stop. */
  private scheduleRefresh(token: string): void {
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    const claims = readTokenClaims(token);
    if (!claims || this.destroyed) return;
    const ms = Math.max(5_000, claims.exp * 1000 - Date.now() - REFRESH_BEFORE_EXPIRY_MS);
    this.refreshTimer = setTimeout(() => void this.refresh_token(true), ms);
  }

  /**
   * Fetches a fresh token (its role may differ: the app puts the current one in it) and, when
   * `reconnect`, reconnects so the server enforces it; local edits are kept and resynced.
   */
  private refresh_token(reconnect: boolean): Promise<void> {
    this.refreshing ??= this.refreshToken()
      .then((token) => {
        if (this.destroyed) return;
        this.provider.params = { token };
        const claims = readTokenClaims(token);
        if (claims) {
          this.role = claims.role;
          this.canWrite = WRITE_ROLES.has(claims.role);
          this.accessNotice = this.canWrite ? null : claims.role === 'viewer' || claims.role === 'reviewer' ? `Your role is now ${claims.role}: the timeline is read-only.` : null;
        }
        this.scheduleRefresh(token);
        if (reconnect && this.provider.wsconnected) {
          this.provider.disconnect();
          this.provider.connect();
        }
      })
      .catch(() => {
        // Signed out or removed: the server closes the socket; retry on the next close.
      })
      .finally(() => (this.refreshing = null));
    return this.refreshing;
  }

  /**
   * The editor's commands on this document as MY edits (origin LOCAL_ORIGIN, so they enter my undo
   * stack only). Each is its own undo step unless `merge` (a continuing gesture). They throw the
   * document's refusal (TimelineError) for the caller to show next to the thing that failed.
   */
  readonly edit = {
    drag: (c: DragCommit, opts: { magnetic: boolean }) => this.command(() => applyDrag(this.doc, readTimeline(this.doc), c, LOCAL_ORIGIN, opts)),
    dropAsset: (asset: AssetInfo, at: { trackId: string; frame: number }, magnetic: boolean) =>
      this.command(() => {
        let id = '';
        this.doc.transact(() => {
          this.ensureAsset(asset);
          id = dropAsset(this.doc, readTimeline(this.doc), { assetId: asset.id, ...at }, LOCAL_ORIGIN, magnetic);
        }, LOCAL_ORIGIN);
        return id;
      }),
    deleteClips: (ids: readonly string[], opts: { ripple: boolean; magnetic: boolean }) => this.command(() => deleteClips(this.doc, readTimeline(this.doc), ids, opts.ripple, LOCAL_ORIGIN, opts.magnetic)),
    setTransform: (clipId: string, rel: number, patch: Partial<Transform>, merge = false) => this.command(() => setTransform(this.doc, clipId, patch, rel, LOCAL_ORIGIN), merge),
    setTrack: (trackId: string, patch: Partial<Pick<TrackSnapshot, 'name' | 'muted' | 'solo' | 'hidden' | 'locked'>>) => this.command(() => setTrack(this.doc, trackId, patch, LOCAL_ORIGIN)),
    addTrack: (kind: 'video' | 'audio') => this.command(() => addTrack(this.doc, { kind }, LOCAL_ORIGIN)),
    /** Puts media on a track (the asset enters the document first if needed); returns the new clip's id. */
    addClip: (asset: AssetInfo, at: { trackId: string; start?: number }) =>
      this.command(() => {
        let id = '';
        this.doc.transact(() => {
          this.ensureAsset(asset);
          id = addClip(this.doc, { assetId: asset.id, ...at }, LOCAL_ORIGIN);
        }, LOCAL_ORIGIN);
        return id;
      }),
    addAsset: (asset: AssetInfo) => this.command(() => this.ensureAsset(asset)),
    addTextClip: (at: { trackId: string; start: number; text: string }) => this.command(() => addTextClip(this.doc, at, LOCAL_ORIGIN)),
    moveClip: (clipId: string, start: number) => this.command(() => moveClip(this.doc, clipId, start, LOCAL_ORIGIN)),
    trimClip: (clipId: string, points: { sourceIn?: number; sourceOut?: number }) => this.command(() => trimClip(this.doc, clipId, points, LOCAL_ORIGIN)),
    removeClip: (clipId: string, opts: { ripple: boolean }) => this.command(() => removeClip(this.doc, clipId, opts, LOCAL_ORIGIN)),
    splitClip: (clipId: string, atFrame: number) => this.command(() => splitClip(this.doc, clipId, atFrame, LOCAL_ORIGIN)),
    /** A crop keyframe at `rel` frames into the clip; a crop drag merges into one undo step. */
    setCrop: (clipId: string, rel: number, rect: CropRect, merge = false) => this.command(() => setCropKeyframe(this.doc, clipId, { frame: rel, ...rect }, LOCAL_ORIGIN), merge),
    setTransition: (clipId: string, transition: Transition | null) => this.command(() => setTransition(this.doc, clipId, transition, LOCAL_ORIGIN)),
    setAspect: (aspect: AspectPreset, custom?: { width: number; height: number }) => this.command(() => setAspect(this.doc, aspect, custom, LOCAL_ORIGIN)),
    setLoudness: (loudness: Loudness | null) => this.command(() => setLoudnessTarget(this.doc, loudness, LOCAL_ORIGIN)),
    setDucking: (trackId: string, ducking: Ducking | null) => this.command(() => setTrackDucking(this.doc, trackId, ducking, LOCAL_ORIGIN)),
    setSubtitleStyle: (patch: Partial<SubtitleStyle>) => this.command(() => setSubtitleStyle(this.doc, patch, LOCAL_ORIGIN)),
    addCue: (cue: { start: number; end: number; text: string }) => this.command(() => addCue(this.doc, cue, LOCAL_ORIGIN)),
    updateCue: (cueId: string, patch: Partial<Omit<CueSnapshot, 'id'>>) => this.command(() => updateCue(this.doc, cueId, patch, LOCAL_ORIGIN)),
    removeCue: (cueId: string) => this.command(() => removeCue(this.doc, cueId, LOCAL_ORIGIN)),
    /** A subtitle import as ONE undo step: one Ctrl+Z removes all its cues (and the style change). */
    importCues: (cues: readonly { start: number; end: number; text: string }[], opts: { replace: boolean; style?: Partial<SubtitleStyle> | null }) =>
      this.command(() =>
        this.doc.transact(() => {
          if (opts.replace) for (const c of readTimeline(this.doc).cues) removeCue(this.doc, c.id, LOCAL_ORIGIN);
          for (const c of cues) addCue(this.doc, { start: c.start, end: c.end, text: c.text }, LOCAL_ORIGIN);
          if (opts.style) setSubtitleStyle(this.doc, opts.style, LOCAL_ORIGIN);
        }, LOCAL_ORIGIN),
      ),
    /** Copies of clips at a frame (magnetic main track: inserted at the nearest cut); returns their ids. */
    paste: (clipIds: readonly string[], frame: number, magnetic: boolean) => this.command(() => pasteClips(this.doc, readTimeline(this.doc), clipIds, frame, LOCAL_ORIGIN, magnetic)),
    addMarker: (frame: number, label = '') => this.command(() => addMarker(this.doc, { frame, label }, LOCAL_ORIGIN)),
    updateMarker: (markerId: string, patch: { frame?: number; label?: string }) => this.command(() => updateMarker(this.doc, markerId, patch, LOCAL_ORIGIN)),
    /** Auto-captions (docs/CAPTIONS.md): each is one undo step. */
    setCaptionCues: (cues: Parameters<typeof setCaptionCues>[1]) => this.command(() => setCaptionCues(this.doc, cues, LOCAL_ORIGIN)),
    editCaptionWord: (cueId: string, wordIndex: number, text: string) => this.command(() => editCaptionWord(this.doc, cueId, wordIndex, text, LOCAL_ORIGIN)),
    /** Marks low-confidence words as checked (drops their flags). Returns how many were flagged. */
    confirmCaptionWords: (words: readonly { cueId: string; index: number }[]) => this.command(() => confirmCaptionWords(this.doc, words, LOCAL_ORIGIN)),
    /** Deleting transcript words ripple-cuts their time from every track. Returns the words removed. */
    rippleDeleteRanges: (ranges: readonly [number, number][]) => this.command(() => rippleDeleteRanges(this.doc, ranges, LOCAL_ORIGIN)),
    /** Returns the frames removed. */
    removeFillersAndPauses: (opts: { maxPauseFrames: number }) => this.command(() => removeFillersAndPauses(this.doc, opts, LOCAL_ORIGIN)),
    setWordStyle: (style: WordStyle | null) => this.command(() => setWordStyle(this.doc, style, LOCAL_ORIGIN)),
    /**
     * Deletes a timeline selection (`clip:`, `cue:`, `tr:`, `mk:`, `kf:<clip>:<frame>` keys) as one undo
     * step; later clips first, so a ripple of one does not move another selected one under it.
     */
    deleteSelection: (keys: readonly string[], opts: { ripple: boolean; magnetic: boolean }) =>
      this.command(() =>
        this.doc.transact(() => {
          const clipIds = keys.filter((x) => x.startsWith('clip:')).map((x) => x.slice(5));
          deleteClips(this.doc, readTimeline(this.doc), clipIds, opts.ripple, LOCAL_ORIGIN, opts.magnetic);
          for (const x of keys) {
            if (x.startsWith('cue:')) removeCue(this.doc, x.slice(4), LOCAL_ORIGIN);
            else if (x.startsWith('mk:')) removeMarker(this.doc, x.slice(3), LOCAL_ORIGIN);
            else if (x.startsWith('tr:')) setTransition(this.doc, x.slice(3), null, LOCAL_ORIGIN);
            else if (x.startsWith('kf:')) {
              const [, clipId, frame] = x.split(':');
              if (!clipIds.includes(clipId!)) removeCropKeyframe(this.doc, clipId!, Number(frame), LOCAL_ORIGIN);
            }
          }
        }, LOCAL_ORIGIN),
      ),
  };

  private ensureAsset(asset: AssetInfo): void {
    if (!readTimeline(this.doc).assets.some((a) => a.id === asset.id)) addAsset(this.doc, asset, LOCAL_ORIGIN);
  }

  /**
   * A pointer gesture (a crop drag, a handle drag) is one undo step however long the user pauses
   * mid-drag: while held, merged edits join the step even past the UndoManager's capture timeout.
   */
  holdUndoStep(on: boolean): void {
    if (on) this.undo.stopCapturing();
    this.undo.captureTimeout = on ? Number.MAX_SAFE_INTEGER : UNDO_CAPTURE_MS;
  }

  private command<T>(fn: () => T, merge = false): T {
    if (!merge) this.undo.stopCapturing();
    return fn();
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
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
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
