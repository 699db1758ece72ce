/**
 * The collaboration engine, independent of any network binding (server.ts binds it to `ws`; a test
 * or another process can drive it with any transport).
 *
 * One room per project: an in-memory Y.Doc loaded from the document repository on first connection,
 * an awareness instance, the connections. Guarantees:
 *  - Persist before visible: a document update is stored (committed by the engine's UpdateWriter)
 *    before anything of it is sent to any client, so anything a client can see is in the database.
 *    Stores are group commits from one FIFO queue per room, so updates are applied in the order they
 *    arrived; the writer also folds what several rooms queue at once into one insert. While the
 *    insert commits, the batch is already applied to the room doc (so after the commit only the
 *    sends remain); meanwhile sync step 1 answers (document content) wait for the commit, and a
 *    failed store then reloads the whole room (its clients reconnect and resend what is missing).
 *  - Read-only roles: sync updates from a role outside WRITE_ROLES are refused (never stored, applied
 *    or broadcast; logged and counted). Nothing is sent back, so the y-websocket client keeps
 *    working; awareness (presence) still flows.
 *  - Bad input closes that connection only: a frame over maxMessageBytes (4413), a frame that does
 *    not parse or an update that does not decode (4400). Close codes 4400-4499 tell y-websocket not
 *    to reconnect; every other code it treats as transient.
 *  - A connection cannot overwrite or remove another connection's awareness entries.
 *  - A failed store closes the connections whose updates were in it (1011), or every connection of
 *    the room when the batch was already applied to its doc: their clients reconnect and resend
 *    everything the server lacks in sync step 2. An update that is stored and then throws
 *    while being applied (decodes, but is crafted) is deleted again, and the room is reloaded.
 *  - Compaction every `compactEvery` stored updates (in the background) and when the room unloads;
 *    idle rooms unload `unloadDelayMs` after their last connection left. close() flushes everything.
 *  - Memory: a room whose document has not changed for `dehydrateAfterMs` keeps it only as one
 *    encoded update plus its state vector (a Y.Doc costs ~15x its encoded size in V8 objects). Sync
 *    step 1 is answered from the encoded state (Y.diffUpdate); the first non-empty update hydrates
 *    the doc again, synchronously, before anything else touches it. Presence lives on its own small
 *    doc, so awareness never hydrates anything.
 */
import * as Y from 'yjs';
import * as awarenessProtocol from 'y-protocols/awareness';
import { pino, type Logger } from 'pino';
import { WRITE_ROLES, type CollabRole } from '@clipmaker/shared/collab';
import { ACCESS_CLOSE_CODES, encodeAccessNotice, lowerRole, type AccessNotice } from '@clipmaker/shared/collab/access-message';
import type { Fanout, FanoutHandler, FanoutKind } from './fanout.ts';
import type { DbHandle } from '@clipmaker/db';
import { compact, createUpdateWriter, deleteUpdates, loadDocumentParts, type UpdateWriter } from '@clipmaker/db/documents';
import { EngineHooks, type EngineEventName, type EngineEvents, type RejectReason } from './hooks.ts';
import {
  MalformedMessage,
  decodeAwarenessUpdate,
  decodeClientMessage,
  encodeAwarenessMessage,
  encodeAwarenessUpdate,
  encodeSyncStep1,
  encodeSyncStep2,
  encodeSyncUpdate,
  inspectUpdate,
  onlyKnownDeletions,
} from './protocol.ts';

export const CLOSE_CODES = {
  /** Server shutting down: reconnect (to another instance). */
  goingAway: 1001,
  /** Could not load or save: reconnect and resync. */
  internalError: 1011,
  /** The client reads too slowly: reconnect later. */
  tryAgainLater: 1013,
  /** Malformed frame: y-websocket does not reconnect on 4400-4499. */
  malformed: 4400,
  tooLarge: 4413,
} as const;

export interface CollabEngineOptions {
  db: DbHandle;
  logger?: Logger;
  /** Compact after this many stored updates per room. Default 200. */
  compactEvery?: number;
  /** Unload a room this long after its last connection left. Default 2000 ms. */
  unloadDelayMs?: number;
  /** Largest accepted frame, in bytes. Default 10 MiB. */
  maxMessageBytes?: number;
  /** Most updates stored in one group commit. Default 256. */
  maxBatch?: number;
  /** Keep a room's document only encoded after this long without changes. Default 10 000 ms; 0 disables. */
  dehydrateAfterMs?: number;
  /** Cross-process fan-out (Redis); absent: this process alone serves its documents. */
  fanout?: Fanout | null;
  /**
   * A y-websocket client that has received nothing for 30 s (its messageReconnectTimeout; pings do
   * not count) drops the socket and reconnects. A lone client in an idle room hears from nobody, so
   * its own presence renewal (every 15 s) is echoed back when nothing was sent to it for this long:
   * without it every idle client reconnected (and re-synced the document) every 30 s. Default 10 000 ms.
   */
  keepaliveAfterMs?: number;
  /** After a token expired (socket read-only, client told), close the socket this much later. Default 5000 ms. */
  expiredGraceMs?: number;
  /**
   * The update writer's session `synchronous_commit` (see UpdateWriterOptions in
   * @clipmaker/db/documents). Default true: a broadcast edit is on disk.
   */
  synchronousCommit?: boolean;
}

export interface ConnectionInfo {
  projectId: string;
  /** Token subject: a user id, or "anon:<id>" for share links. */
  userId: string;
  userName: string;
  role: CollabRole;
  /** Token expiry, seconds since epoch: the socket stops writing then. Absent: never. */
  exp?: number;
}

/** What the engine needs from a socket. */
export interface Transport {
  send(frame: Uint8Array): void;
  close(code: number, reason: string): void;
}

export interface EngineStats {
  rooms: number;
  connections: number;
  pendingUpdates: number;
}

const MAX_AWARENESS_CLIENTS_PER_CONNECTION = 16;
const LOAD_ORIGIN = Symbol('load');
/** Origin of what another process stored (documents) or relayed (presence). */
const REMOTE_ORIGIN = Symbol('remote');
/**
 * What each room's Awareness gets as its doc. Awareness reads only `clientID` (the server's own,
 * never given a state) and subscribes to the doc's 'destroy'; a real Y.Doc per room (its maps, sets,
 * promises and observers) would be most of an idle room's heap besides the document itself.
 */
const PRESENCE_DOC = (() => {
  const d = new Y.Doc();
  const clientID = d.clientID;
  d.destroy();
  return { clientID, on() {}, off() {} } as unknown as Y.Doc;
})();

let nextConnectionId = 1;

export class CollabConnection {
  readonly id = nextConnectionId++;
  /** Whether document updates are accepted now (role, token expiry). */
  canWrite: boolean;
  /** The role enforced now: the token's, or lower after a live downgrade. */
  role: CollabRole;
  private expiryTimer: NodeJS.Timeout | null = null;
  /** Awareness client ids this connection controls (removed when it leaves). */
  readonly awarenessClients = new Set<number>();
  refusedUpdates = 0;
  /** performance.now() of the last frame sent to this client (keep-alive, see keepaliveAfterMs). */
  lastSentAt = performance.now();
  private closedFlag = false;
  private childLog: Logger | null = null;

  constructor(
    readonly info: ConnectionInfo,
    private readonly transport: Transport,
    private readonly room: Room | null,
    private readonly parentLog: Logger,
  ) {
    this.role = info.role;
    this.canWrite = WRITE_ROLES.has(info.role);
    if (info.exp !== undefined && room) this.armExpiry(info.exp, room.expiredGraceMs);
  }

  /** This connection's logger, made on first use (an idle connection never logs: no child per socket). */
  get log(): Logger {
    this.childLog ??= this.parentLog.child({ projectId: this.info.projectId, conn: this.id, userId: this.info.userId, role: this.info.role });
    return this.childLog;
  }

  private armExpiry(exp: number, graceMs: number): void {
    const ms = exp * 1000 - Date.now();
    if (ms <= 0) {
      this.expire(graceMs);
      return;
    }
    // setTimeout caps at 2^31-1 ms; tokens are minutes long, re-arm if ever longer.
    this.expiryTimer = setTimeout(() => this.armExpiry(exp, graceMs), Math.min(ms, 2 ** 31 - 1));
    this.expiryTimer.unref();
  }

  /** The token ran out: no more writes, tell the client (it refreshes and reconnects), close later. */
  private expire(graceMs: number): void {
    if (this.closedFlag) return;
    this.canWrite = false;
    this.log.info('token expired: socket read-only until the client reconnects with a fresh token');
    this.notify({ role: this.role, canWrite: false, reason: 'token-expired' });
    this.expiryTimer = setTimeout(() => this.close(ACCESS_CLOSE_CODES.tokenExpired, 'token expired'), graceMs);
    this.expiryTimer.unref();
  }

  /**
   * Applies a live role change (never above the token's role: a higher one needs a new token).
   * Returns whether anything changed.
   */
  setRole(role: CollabRole): boolean {
    if (this.closedFlag) return false;
    const rank = lowerRole(role, this.info.role);
    const expired = this.info.exp !== undefined && this.info.exp * 1000 <= Date.now();
    const canWrite = WRITE_ROLES.has(rank) && !expired;
    if (rank === this.role && canWrite === this.canWrite) return false;
    this.role = rank;
    this.canWrite = canWrite;
    this.log.info({ newRole: rank, canWrite }, 'role changed on an open socket');
    this.notify({ role: rank, canWrite, reason: 'role-changed' });
    return true;
  }

  private notify(notice: AccessNotice): void {
    this.send(encodeAccessNotice(notice));
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** A frame from the client. `string` means a text frame, which the protocol does not use. */
  receive(frame: Uint8Array | string): void {
    if (this.closedFlag || !this.room) return;
    this.room.receive(this, frame);
  }

  /** The transport went away (client left, network died). */
  disconnect(): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.room?.leave(this);
  }

  send(frame: Uint8Array): void {
    if (this.closedFlag) return;
    this.lastSentAt = performance.now();
    try {
      this.transport.send(frame);
    } catch (err) {
      this.log.debug({ err }, 'send failed');
      this.close(CLOSE_CODES.internalError, 'send failed');
    }
  }

  /** Closes the connection from the server side. */
  close(code: number, reason: string): void {
    if (this.closedFlag) return;
    this.closedFlag = true;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    try {
      this.transport.close(code, reason);
    } catch (err) {
      this.log.debug({ err }, 'transport close failed');
    }
    this.room?.leave(this);
  }
}

interface PendingUpdate {
  conn: CollabConnection;
  update: Uint8Array;
  /** Applied to the room doc while its insert was committing (not visible before the commit). */
  applied?: boolean;
  /** Applying it threw (it decoded, but is crafted): handled once it is stored. */
  applyError?: unknown;
}

type RoomState = 'loading' | 'ready' | 'unloading' | 'unloaded';

/** A room's document while it is kept only encoded. */
interface EncodedDoc {
  state: Uint8Array;
  stateVector: Uint8Array;
}

class Room {
  /** The live document, or null while dehydrated (then `encoded` holds it). */
  private live: Y.Doc | null = new Y.Doc();
  private encoded: EncodedDoc | null = null;
  private dehydrateTimer: NodeJS.Timeout | null = null;
  private lastChange = 0;
  /** Presence only, on the engine's stand-in doc, so awareness traffic never needs the document. */
  readonly awareness = new awarenessProtocol.Awareness(PRESENCE_DOC);
  readonly conns = new Set<CollabConnection>();
  private childLog: Logger | null = null;
  state: RoomState = 'loading';
  /** Frames that arrived while the room was loading, in arrival order. */
  private early: { conn: CollabConnection; frame: Uint8Array | string }[] = [];
  private pending: PendingUpdate[] = [];
  private writer: Promise<void> | null = null;
  private compacting: Promise<void> | null = null;
  /** Update rows stored (or found at load) and not yet folded by a compaction. */
  private uncompacted = 0;
  /** A stored update failed to apply: the in-memory doc is no longer trusted. */
  private broken = false;
  /**
   * Updates applied to the doc ahead of their commit (while Postgres commits them). While any is,
   * nothing that shows document content (sync step 2 answers) leaves the room: those wait in
   * `afterCommit` until the batch is committed.
   */
  private ahead = 0;
  private afterCommit: (() => void)[] = [];
  private unloadTimer: NodeJS.Timeout | null = null;
  private unloadPromise: Promise<void> | null = null;
  private readonly loaded: Promise<void>;
  private readonly awarenessOwner = new Map<number, CollabConnection>();
  /** Awareness client ids that live on other processes (no local connection may take them over). */
  private readonly remoteAwareness = new Set<number>();
  /** Fan-out frames that arrived while the room was loading. */
  private remoteEarly: { kind: FanoutKind; payload: Uint8Array }[] = [];
  private readonly onRemote: FanoutHandler = (kind, payload) => {
    if (this.state === 'loading') this.remoteEarly.push({ kind, payload });
    else if (this.state === 'ready' || this.state === 'unloading') this.applyRemote(kind, payload);
  };

  constructor(
    private readonly engine: CollabEngine,
    readonly projectId: string,
    after: Promise<void> | undefined,
  ) {
    // One engine-wide timer times presence out for every room (sweepAwareness), not one per room.
    clearInterval((this.awareness as unknown as { _checkInterval: NodeJS.Timeout })._checkInterval);
    this.awareness.setLocalState(null);
    this.awareness.on('update', this.onAwarenessUpdate);
    this.loaded = (after ?? Promise.resolve()).then(() => this.load());
  }

  /** The room's logger, made on first use (an idle room never logs). */
  get log(): Logger {
    this.childLog ??= this.engine.log.child({ projectId: this.projectId });
    return this.childLog;
  }

  /** Removes presence of clients not renewed for `outdatedTimeout` (what Awareness' own interval did). */
  sweepAwareness(now: number): void {
    if (this.state !== 'ready' && this.state !== 'unloading') return;
    const remove: number[] = [];
    for (const [id, meta] of this.awareness.meta) {
      if (id !== this.awareness.clientID && awarenessProtocol.outdatedTimeout <= now - meta.lastUpdated && this.awareness.states.has(id)) remove.push(id);
    }
    if (remove.length > 0) awarenessProtocol.removeAwarenessStates(this.awareness, remove, 'timeout');
  }

  get expiredGraceMs(): number {
    return this.engine.expiredGraceMs;
  }

  get pendingCount(): number {
    return this.pending.length;
  }

  /** The live document, hydrated from its encoded form if needed (synchronous, so nothing interleaves). */
  get doc(): Y.Doc {
    if (!this.live) {
      const doc = new Y.Doc();
      if (this.encoded) Y.applyUpdate(doc, this.encoded.state, LOAD_ORIGIN);
      this.live = doc;
      this.encoded = null;
      this.engine.hooks.emit('roomHydrated', { projectId: this.projectId });
    }
    return this.live;
  }

  get hydrated(): boolean {
    return this.live !== null;
  }

  private stateVector(): Uint8Array {
    return this.encoded ? this.encoded.stateVector : Y.encodeStateVector(this.doc);
  }

  /** What a client with `sv` lacks, from the live doc or straight from the encoded state. */
  private diff(sv: Uint8Array): Uint8Array {
    return this.encoded ? Y.diffUpdate(this.encoded.state, sv) : Y.encodeStateAsUpdate(this.doc, sv);
  }

  /**
   * Notes a change and arms the idle timer if it is not armed. The timer is not reset on every
   * update (no timer churn on the hot path): when it fires early it re-arms for the remainder.
   */
  private scheduleDehydrate(): void {
    const ms = this.engine.dehydrateAfterMs;
    if (ms <= 0 || !this.live) return;
    this.lastChange = performance.now();
    if (this.dehydrateTimer) return;
    const arm = (delay: number) => {
      this.dehydrateTimer = setTimeout(() => {
        this.dehydrateTimer = null;
        const idle = performance.now() - this.lastChange;
        if (idle < ms) arm(ms - idle);
        else this.dehydrate();
      }, delay);
      this.dehydrateTimer.unref();
    };
    arm(ms);
  }

  /** Keeps the document only encoded, unless something is in flight (then later). */
  dehydrate(): void {
    if (!this.live || this.state !== 'ready' || this.broken) return;
    if (this.writer || this.pending.length > 0) {
      this.scheduleDehydrate();
      return;
    }
    const doc = this.live;
    this.encoded = { state: Y.encodeStateAsUpdate(doc), stateVector: Y.encodeStateVector(doc) };
    this.live = null;
    doc.destroy();
    this.engine.hooks.emit('roomDehydrated', { projectId: this.projectId, bytes: this.encoded.state.byteLength });
  }

  private async load(): Promise<void> {
    const t0 = performance.now();
    try {
      // Subscribe first: whatever another process stores after this point reaches us, whatever it
      // stored before is in what we read next.
      if (this.engine.fanout) await this.engine.fanout.join(this.projectId, this.onRemote);
      const parts = await loadDocumentParts(this.engine.db.db, this.projectId);
      const pieces = parts.snapshot ? [parts.snapshot, ...parts.updates.map((u) => u.update)] : parts.updates.map((u) => u.update);
      let bytes = 0;
      for (const piece of pieces) bytes += piece.byteLength;
      // Memory: a room opened for reading never builds a Y.Doc. The stored pieces are merged as
      // bytes (the first non-empty update hydrates); if they do not merge, the doc path below skips
      // whatever does not apply.
      let encoded: EncodedDoc | null = null;
      if (this.engine.dehydrateAfterMs > 0) {
        try {
          const state = pieces.length === 1 ? pieces[0]! : Y.mergeUpdates(pieces);
          encoded = { state, stateVector: Y.encodeStateVectorFromUpdate(state) };
        } catch {
          encoded = null;
        }
      }
      if (encoded) {
        this.live?.destroy();
        this.live = null;
        this.encoded = encoded;
      } else {
        this.doc.transact(() => {
          for (const piece of pieces) {
            try {
              Y.applyUpdate(this.doc, piece, LOAD_ORIGIN);
            } catch (err) {
              // Never stored by this engine (it validates first); keep the rest of the document usable.
              this.log.error({ err }, 'a stored piece of this document does not apply; skipped');
            }
          }
        }, LOAD_ORIGIN);
      }
      this.uncompacted = parts.updates.length;
      const ms = performance.now() - t0;
      this.engine.hooks.emit('roomLoaded', { projectId: this.projectId, ms, bytes, updates: parts.updates.length });
      // Checked first: the room's child logger is made on first use, and most rooms never log.
      if (this.engine.log.isLevelEnabled('debug')) this.log.debug({ ms: Math.round(ms), bytes, updates: parts.updates.length }, 'room loaded');
    } catch (err) {
      this.log.error({ err }, 'room failed to load');
      this.early = [];
      this.engine.forget(this);
      if (this.state === 'loading') this.state = 'unloading';
      for (const conn of [...this.conns]) conn.close(CLOSE_CODES.internalError, 'document failed to load');
      this.destroy();
      return;
    }
    if (this.state === 'loading') {
      this.state = 'ready';
      for (const conn of this.conns) this.greet(conn);
      this.scheduleDehydrate();
    }
    // Also when an unload started meanwhile: updates already received must still be stored.
    const remote = this.remoteEarly;
    this.remoteEarly = [];
    for (const { kind, payload } of remote) this.applyRemote(kind, payload);
    const early = this.early;
    this.early = [];
    for (const { conn, frame } of early) this.handle(conn, frame);
    if (this.conns.size === 0) this.scheduleUnload();
  }

  join(conn: CollabConnection): void {
    if (this.unloadTimer) {
      clearTimeout(this.unloadTimer);
      this.unloadTimer = null;
    }
    this.conns.add(conn);
    this.engine.hooks.emit('connectionOpened', { ...this.who(conn), connections: this.engine.connectionCount() });
    if (this.state === 'ready') this.greet(conn);
  }

  leave(conn: CollabConnection): void {
    if (!this.conns.delete(conn)) return;
    const ids = [...conn.awarenessClients].filter((id) => this.awarenessOwner.get(id) === conn);
    for (const id of ids) this.awarenessOwner.delete(id);
    if (ids.length > 0 && this.state === 'ready') awarenessProtocol.removeAwarenessStates(this.awareness, ids, null);
    this.engine.hooks.emit('connectionClosed', { ...this.who(conn), connections: this.engine.connectionCount() });
    if (this.conns.size === 0 && this.state === 'ready') this.scheduleUnload();
  }

  private who(conn: CollabConnection) {
    return { projectId: this.projectId, userId: conn.info.userId, role: conn.info.role };
  }

  /** Server's sync step 1 (so the client sends what we lack) and current presence. */
  private greet(conn: CollabConnection): void {
    conn.send(encodeSyncStep1(this.stateVector()));
    const states = this.awareness.getStates();
    if (states.size > 0) conn.send(encodeAwarenessMessage(awarenessProtocol.encodeAwarenessUpdate(this.awareness, [...states.keys()])));
  }

  receive(conn: CollabConnection, frame: Uint8Array | string): void {
    if (this.state === 'loading') this.early.push({ conn, frame });
    else if (this.state === 'ready') this.handle(conn, frame);
  }

  private reject(conn: CollabConnection, reason: RejectReason, bytes: number, detail?: string): void {
    conn.log.warn({ reason, bytes, detail }, 'frame rejected; closing this connection');
    this.engine.hooks.emit('messageRejected', { projectId: this.projectId, userId: conn.info.userId, reason, bytes });
    if (reason === 'too-large') conn.close(CLOSE_CODES.tooLarge, 'message too large');
    else conn.close(CLOSE_CODES.malformed, reason === 'text-frame' ? 'binary frames only' : 'malformed message');
  }

  private handle(conn: CollabConnection, frame: Uint8Array | string): void {
    // Frames of a connection that closed while the room loaded: only its updates still matter.
    const live = !conn.closed;
    if (typeof frame === 'string') {
      if (live) this.reject(conn, 'text-frame', frame.length);
      return;
    }
    if (frame.byteLength > this.engine.maxMessageBytes) {
      if (live) this.reject(conn, 'too-large', frame.byteLength);
      return;
    }
    try {
      const msg = decodeClientMessage(frame);
      switch (msg.type) {
        case 'sync-step1': {
          if (!live) return;
          if (this.ahead > 0) {
            // The doc holds updates still committing: answer from it once they are stored.
            const sv = msg.stateVector.slice();
            this.afterCommit.push(() => this.answerStep1(conn, sv));
            return;
          }
          this.answerStep1(conn, msg.stateVector);
          return;
        }
        case 'sync-step2':
        case 'sync-update':
          this.receiveUpdate(conn, msg.update, msg.type === 'sync-step2');
          return;
        case 'awareness':
          if (live) this.receiveAwareness(conn, msg.update);
          return;
        case 'query-awareness': {
          const states = this.awareness.getStates();
          if (live && states.size > 0) conn.send(encodeAwarenessMessage(awarenessProtocol.encodeAwarenessUpdate(this.awareness, [...states.keys()])));
          return;
        }
        case 'auth':
          return;
      }
    } catch (err) {
      if (!(err instanceof MalformedMessage)) conn.log.error({ err }, 'unexpected error handling a frame');
      if (live) this.reject(conn, 'malformed', frame.byteLength, err instanceof Error ? err.message : String(err));
    }
  }

  /** Sync step 2: what a client with state vector `sv` lacks. A bad state vector closes it (4400). */
  private answerStep1(conn: CollabConnection, sv: Uint8Array): void {
    if (conn.closed || this.broken || this.state === 'unloaded') return;
    let diff: Uint8Array;
    try {
      diff = this.diff(sv);
    } catch {
      this.reject(conn, 'malformed', sv.byteLength, 'bad state vector');
      return;
    }
    conn.send(encodeSyncStep2(diff));
  }

  /**
   * Runs while the batch's insert is committing (the writer's `onSent`): applies it to the doc so
   * that, once committed, only the sends remain. Nothing is sent from here.
   */
  private applyAhead(batch: PendingUpdate[]): void {
    for (const p of batch) {
      if (this.broken || this.state === 'unloaded') return;
      try {
        Y.applyUpdate(this.doc, p.update, p.conn);
      } catch (err) {
        // The doc may be half-changed: nothing reads it any more; handled once stored (apply()).
        this.broken = true;
        p.applyError = err;
        return;
      }
      p.applied = true;
      this.ahead++;
    }
  }

  /** The batch is committed (or given up): what waited for it may read the doc again. */
  private committed(batch: PendingUpdate[]): void {
    for (const p of batch) if (p.applied) this.ahead--;
    if (this.ahead > 0) return;
    const waiting = this.afterCommit;
    this.afterCommit = [];
    for (const f of waiting) f();
  }

  private receiveUpdate(conn: CollabConnection, update: Uint8Array, isStep2: boolean): void {
    const inspected = inspectUpdate(update); // throws MalformedMessage
    if (inspected.empty) return;
    if (isStep2 && onlyKnownDeletions(this.doc, inspected)) return;
    if (!conn.canWrite) {
      conn.refusedUpdates++;
      const level = conn.refusedUpdates === 1 ? 'warn' : 'debug';
      conn.log[level]({ bytes: update.byteLength, refused: conn.refusedUpdates }, 'document update refused: role may not write');
      this.engine.hooks.emit('updateRefused', { ...this.who(conn), bytes: update.byteLength });
      return;
    }
    // Own the bytes: the frame's buffer may be larger than the update.
    this.pending.push({ conn, update: update.slice() });
    this.writer ??= this.drain().finally(() => {
      this.writer = null;
    });
  }

  /** Group commit: store everything queued, then apply and broadcast it in arrival order. */
  private async drain(): Promise<void> {
    while (this.pending.length > 0) {
      const batch = this.pending.splice(0, this.engine.maxBatch);
      const t0 = performance.now();
      let ids: number[];
      try {
        ids = await this.engine.writer.append(
          this.projectId,
          batch.map((p) => ({ update: p.update, userId: p.conn.info.userId })),
          () => this.applyAhead(batch),
        );
      } catch (err) {
        this.log.error({ err, count: batch.length }, 'storing updates failed; closing their connections so they resync');
        this.engine.hooks.emit('persistFailed', { projectId: this.projectId, count: batch.length, error: err });
        if (batch.some((p) => p.applied || p.applyError !== undefined)) {
          // The doc already holds what was not stored: reload the room; every client reconnects
          // (1011) and resends in sync step 2 whatever the database lacks.
          this.broken = true;
          this.pending = [];
          this.committed(batch);
          for (const conn of [...this.conns]) conn.close(CLOSE_CODES.internalError, 'could not save your changes');
          void this.engine.unload(this);
          return;
        }
        const failed = new Set(batch.map((p) => p.conn));
        // Their later updates depend on the lost ones; the clients resend all of it after reconnecting.
        this.pending = this.pending.filter((p) => !failed.has(p.conn));
        for (const conn of failed) conn.close(CLOSE_CODES.internalError, 'could not save your changes');
        continue;
      }
      const bytes = batch.reduce((n, p) => n + p.update.byteLength, 0);
      this.engine.hooks.emit('updatesStored', { projectId: this.projectId, count: batch.length, bytes, ms: performance.now() - t0 });
      this.uncompacted += batch.length;
      for (let i = 0; i < batch.length; i++) await this.apply(batch[i]!, ids[i]!);
      this.committed(batch);
      if (this.uncompacted >= this.engine.compactEvery && !this.broken) this.startCompaction();
    }
  }

  /** A stored update: applied (unless applyAhead did), then sent to the room's other clients. */
  private async apply(p: PendingUpdate, id: number): Promise<void> {
    if (p.applyError === undefined && (this.broken || this.state === 'unloaded')) return;
    try {
      if (p.applyError !== undefined) throw p.applyError;
      if (!p.applied) Y.applyUpdate(this.doc, p.update, p.conn);
    } catch (err) {
      this.broken = true;
      p.conn.log.error({ err, updateId: id }, 'a stored update does not apply; deleting it and reloading the room');
      this.engine.hooks.emit('messageRejected', { projectId: this.projectId, userId: p.conn.info.userId, reason: 'malformed', bytes: p.update.byteLength });
      try {
        await deleteUpdates(this.engine.db.db, this.projectId, [id]);
      } catch (delErr) {
        this.log.error({ err: delErr, updateId: id }, 'could not delete the update that does not apply');
      }
      p.conn.close(CLOSE_CODES.malformed, 'invalid update');
      for (const conn of [...this.conns]) conn.close(CLOSE_CODES.internalError, 'document reloading');
      // Now, not after the idle delay: reconnecting clients must get a freshly loaded room.
      void this.engine.unload(this);
      return;
    }
    const frame = encodeSyncUpdate(p.update);
    for (const conn of this.conns) if (conn !== p.conn) conn.send(frame);
    // Stored, so other processes may show it too.
    this.engine.fanout?.publish(this.projectId, 'update', p.update);
    this.scheduleDehydrate();
  }

  /** A frame from another process: a stored update, or presence of its clients. */
  private applyRemote(kind: FanoutKind, payload: Uint8Array): void {
    if (this.broken || this.state === 'unloaded') return;
    if (kind === 'awareness') {
      try {
        const entries = decodeAwarenessUpdate(payload);
        for (const e of entries) {
          if (this.awarenessOwner.has(e.clientId)) continue; // never let a remote frame take over a local client
          if (e.state === null) this.remoteAwareness.delete(e.clientId);
          else this.remoteAwareness.add(e.clientId);
        }
        awarenessProtocol.applyAwarenessUpdate(this.awareness, payload, REMOTE_ORIGIN);
      } catch (err) {
        this.log.warn({ err }, 'malformed presence from another process ignored');
      }
      return;
    }
    try {
      Y.applyUpdate(this.doc, payload, REMOTE_ORIGIN);
    } catch (err) {
      this.log.error({ err }, 'an update from another process does not apply; reloading from the database');
      void this.resync();
      return;
    }
    this.engine.hooks.emit('remoteUpdate', { projectId: this.projectId, bytes: payload.byteLength });
    const frame = encodeSyncUpdate(payload);
    for (const conn of this.conns) conn.send(frame);
    this.scheduleDehydrate();
  }

  /** Re-reads the stored document and sends local clients what they missed (fan-out gap). */
  async resync(): Promise<void> {
    if (this.state !== 'ready' || this.broken) return;
    let parts;
    try {
      parts = await loadDocumentParts(this.engine.db.db, this.projectId);
    } catch (err) {
      this.log.error({ err }, 'resync read failed');
      return;
    }
    // What is sent below carries the doc's whole delete set: not while a batch is still committing.
    if (this.ahead > 0) await new Promise<void>((resolve) => this.afterCommit.push(resolve));
    if (this.state !== 'ready' || this.broken) return;
    const before = Y.encodeStateVector(this.doc);
    const pieces = parts.snapshot ? [parts.snapshot, ...parts.updates.map((u) => u.update)] : parts.updates.map((u) => u.update);
    this.doc.transact(() => {
      for (const piece of pieces) {
        try {
          Y.applyUpdate(this.doc, piece, REMOTE_ORIGIN);
        } catch (err) {
          this.log.error({ err }, 'a stored piece of this document does not apply; skipped');
        }
      }
    }, REMOTE_ORIGIN);
    const missed = Y.encodeStateAsUpdate(this.doc, before);
    if (inspectUpdate(missed).empty) return;
    const frame = encodeSyncUpdate(missed);
    for (const conn of this.conns) conn.send(frame);
    this.scheduleDehydrate();
  }

  private startCompaction(): void {
    if (this.compacting) return;
    const folded = this.uncompacted;
    this.uncompacted = 0;
    const t0 = performance.now();
    this.compacting = compact(this.engine.db.db, this.projectId)
      .then((r) => {
        if (r) this.engine.hooks.emit('compacted', { projectId: this.projectId, foldedUpdates: r.foldedUpdates, bytes: r.bytes, ms: performance.now() - t0 });
      })
      .catch((err: unknown) => {
        this.uncompacted += folded;
        this.log.error({ err }, 'compaction failed');
        this.engine.hooks.emit('compactionFailed', { projectId: this.projectId, error: err });
      })
      .finally(() => {
        this.compacting = null;
        // Updates stored meanwhile may already call for the next one.
        if (this.uncompacted >= this.engine.compactEvery && !this.broken && this.state === 'ready') this.startCompaction();
      });
  }

  private readonly onAwarenessUpdate = (
    { added, updated, removed }: { added: number[]; updated: number[]; removed: number[] },
    origin: unknown,
  ): void => {
    if (origin instanceof CollabConnection) {
      for (const id of added) {
        this.awarenessOwner.set(id, origin);
        origin.awarenessClients.add(id);
      }
      for (const id of removed) {
        if (this.awarenessOwner.get(id) === origin) this.awarenessOwner.delete(id);
        origin.awarenessClients.delete(id);
      }
    } else {
      for (const id of removed) {
        const owner = this.awarenessOwner.get(id);
        owner?.awarenessClients.delete(id);
        this.awarenessOwner.delete(id);
      }
    }
    const changed = [...added, ...updated, ...removed];
    if (changed.length === 0) return;
    const update = awarenessProtocol.encodeAwarenessUpdate(this.awareness, changed);
    const frame = encodeAwarenessMessage(update);
    const now = performance.now();
    // The sender gets its own presence back only as a keep-alive (harmless: same clock, no change).
    for (const conn of this.conns) if (conn !== origin || now - conn.lastSentAt >= this.engine.keepaliveAfterMs) conn.send(frame);
    // Local presence (a client's frame, or a leaving connection's states removed) goes to the other
    // processes; relayed or timed-out states do not (every process times them out itself).
    if (this.engine.fanout && (origin instanceof CollabConnection || origin === null)) {
      const local = changed.filter((id) => !this.remoteAwareness.has(id));
      if (local.length > 0) this.engine.fanout.publish(this.projectId, 'awareness', local.length === changed.length ? update : awarenessProtocol.encodeAwarenessUpdate(this.awareness, local));
    }
    if (origin === REMOTE_ORIGIN || origin === 'timeout') for (const id of removed) this.remoteAwareness.delete(id);
  };

  private receiveAwareness(conn: CollabConnection, update: Uint8Array): void {
    const entries = decodeAwarenessUpdate(update); // throws MalformedMessage
    const allowed = entries.filter((e) => {
      if (e.clientId === this.awareness.clientID) return false;
      if (this.remoteAwareness.has(e.clientId)) return false;
      const owner = this.awarenessOwner.get(e.clientId);
      if (owner) return owner === conn;
      return conn.awarenessClients.size < MAX_AWARENESS_CLIENTS_PER_CONNECTION;
    });
    if (allowed.length === 0) return;
    awarenessProtocol.applyAwarenessUpdate(this.awareness, encodeAwarenessUpdate(allowed), conn);
  }

  private scheduleUnload(): void {
    if (this.unloadTimer || this.state !== 'ready') return;
    this.unloadTimer = setTimeout(() => {
      this.unloadTimer = null;
      if (this.conns.size === 0 && this.state === 'ready') void this.engine.unload(this);
    }, this.engine.unloadDelayMs);
    this.unloadTimer.unref();
  }

  /** Waits until everything received so far (also while loading) is stored and applied. */
  async flush(): Promise<void> {
    await this.loaded;
    while (this.writer) await this.writer;
  }

  /** Flushes, compacts (unless broken) and frees the room. Idempotent. */
  unload(): Promise<void> {
    this.unloadPromise ??= (async () => {
      if (this.unloadTimer) clearTimeout(this.unloadTimer);
      this.unloadTimer = null;
      if (this.state !== 'unloaded') this.state = 'unloading';
      await this.loaded;
      await this.flush();
      if (this.compacting) await this.compacting;
      if (!this.broken && this.state !== 'unloaded' && this.uncompacted > 0) {
        this.startCompaction();
        await this.compacting;
      }
      this.destroy();
      this.engine.hooks.emit('roomUnloaded', { projectId: this.projectId });
      this.log.debug('room unloaded');
    })();
    return this.unloadPromise;
  }

  private destroy(): void {
    if (this.state === 'unloaded') return;
    this.state = 'unloaded';
    this.engine.fanout?.leave(this.projectId, this.onRemote);
    this.remoteEarly = [];
    if (this.dehydrateTimer) clearTimeout(this.dehydrateTimer);
    this.dehydrateTimer = null;
    this.awareness.off('update', this.onAwarenessUpdate);
    this.awareness.destroy();
    this.live?.destroy();
    this.live = null;
    this.encoded = null;
  }
}

export class CollabEngine {
  readonly hooks: EngineHooks;
  readonly log: Logger;
  readonly db: DbHandle;
  readonly compactEvery: number;
  readonly unloadDelayMs: number;
  readonly maxMessageBytes: number;
  readonly maxBatch: number;
  readonly dehydrateAfterMs: number;
  readonly expiredGraceMs: number;
  readonly keepaliveAfterMs: number;
  readonly fanout: Fanout | null;
  /** Stores every room's updates (group commit across rooms, its own connection). */
  readonly writer: UpdateWriter;
  private readonly rooms = new Map<string, Room>();
  /** Rooms being unloaded: a new room for the same project loads only after this settles. */
  private readonly unloading = new Map<string, Promise<void>>();
  private closing: Promise<void> | null = null;
  private readonly awarenessSweep: NodeJS.Timeout;

  constructor(opts: CollabEngineOptions) {
    this.db = opts.db;
    this.log = opts.logger ?? pino({ name: 'collab' });
    this.hooks = new EngineHooks(this.log);
    this.compactEvery = Math.max(1, opts.compactEvery ?? 200);
    this.unloadDelayMs = Math.max(0, opts.unloadDelayMs ?? 2000);
    this.maxMessageBytes = opts.maxMessageBytes ?? 10 * 1024 * 1024;
    this.maxBatch = Math.max(1, opts.maxBatch ?? 256);
    this.dehydrateAfterMs = Math.max(0, opts.dehydrateAfterMs ?? 10_000);
    this.expiredGraceMs = Math.max(0, opts.expiredGraceMs ?? 5_000);
    this.keepaliveAfterMs = Math.max(0, opts.keepaliveAfterMs ?? 10_000);
    this.fanout = opts.fanout ?? null;
    this.writer = createUpdateWriter(opts.db, { synchronousCommit: opts.synchronousCommit ?? true });
    // Awareness' own per-instance interval, once for the process (a presence not renewed in 30 s goes).
    this.awarenessSweep = setInterval(() => {
      const now = Date.now();
      for (const room of this.rooms.values()) room.sweepAwareness(now);
    }, awarenessProtocol.outdatedTimeout / 10);
    this.awarenessSweep.unref();
  }

  /** Open connections matching `pred` (live revocation). */
  connections(pred: (info: ConnectionInfo, conn: CollabConnection) => boolean): CollabConnection[] {
    const out: CollabConnection[] = [];
    for (const r of this.rooms.values()) for (const c of r.conns) if (!c.closed && pred(c.info, c)) out.push(c);
    return out;
  }

  /** After a fan-out gap (Redis reconnect): every loaded room re-reads the stored document. */
  async resyncAll(): Promise<void> {
    await Promise.allSettled([...this.rooms.values()].map((r) => r.resync()));
  }

  /** Adds an authenticated connection to its project's room (loading the room if needed). */
  connect(info: ConnectionInfo, transport: Transport): CollabConnection {
    if (this.closing) {
      const dead = new CollabConnection(info, transport, null, this.log);
      dead.close(CLOSE_CODES.goingAway, 'server shutting down');
      return dead;
    }
    let room = this.rooms.get(info.projectId);
    if (!room) {
      room = new Room(this, info.projectId, this.unloading.get(info.projectId));
      this.rooms.set(info.projectId, room);
    }
    const conn = new CollabConnection(info, transport, room, this.log);
    room.join(conn);
    return conn;
  }

  /** Subscribes to an engine event (metrics, logs); returns the unsubscribe function. */
  on<K extends EngineEventName>(event: K, listener: (payload: EngineEvents[K]) => void): () => void {
    return this.hooks.on(event, listener);
  }

  stats(): EngineStats {
    let connections = 0;
    let pendingUpdates = 0;
    for (const r of this.rooms.values()) {
      connections += r.conns.size;
      pendingUpdates += r.pendingCount;
    }
    return { rooms: this.rooms.size, connections, pendingUpdates };
  }

  connectionCount(): number {
    let n = 0;
    for (const r of this.rooms.values()) n += r.conns.size;
    return n;
  }

  /** Projects with a loaded (or loading) room. */
  openProjects(): string[] {
    return [...this.rooms.keys()];
  }

  /** Waits until every update received so far is stored and applied. */
  async flush(): Promise<void> {
    await Promise.all([...this.rooms.values()].map((r) => r.flush()));
  }

  /** @internal a room that failed to load */
  forget(room: Room): void {
    if (this.rooms.get(room.projectId) === room) this.rooms.delete(room.projectId);
  }

  /** @internal */
  unload(room: Room): Promise<void> {
    this.forget(room);
    const p = room.unload().finally(() => {
      if (this.unloading.get(room.projectId) === p) this.unloading.delete(room.projectId);
    });
    this.unloading.set(room.projectId, p);
    return p;
  }

  /**
   * Graceful stop: refuses new connections, closes the open ones (1001, clients reconnect
   * elsewhere), stores and applies everything already received, compacts, frees the rooms.
   * The database handle is the caller's to close afterwards.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.awarenessSweep);
      const rooms = [...this.rooms.values()];
      for (const room of rooms) for (const conn of [...room.conns]) conn.close(CLOSE_CODES.goingAway, 'server shutting down');
      const results = await Promise.allSettled([...rooms.map((r) => this.unload(r)), ...this.unloading.values()]);
      for (const r of results) if (r.status === 'rejected') this.log.error({ err: r.reason }, 'room failed to unload cleanly');
      await this.writer.close().catch((err: unknown) => this.log.error({ err }, 'update writer failed to close'));
    })();
    return this.closing;
  }
}
