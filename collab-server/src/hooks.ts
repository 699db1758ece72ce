/**
 * Typed engine events (hocuspocus-style hooks, observe-only): metrics and logs subscribe here. A
 * throwing listener is logged and ignored; it can never break the engine.
 */
import type { Logger } from 'pino';
import type { CollabRole } from '@clipmaker/shared/collab';

export type RejectReason = 'malformed' | 'too-large' | 'text-frame';

export interface EngineEvents {
  connectionOpened: { projectId: string; userId: string; role: CollabRole; connections: number };
  connectionClosed: { projectId: string; userId: string; role: CollabRole; connections: number };
  roomLoaded: { projectId: string; ms: number; bytes: number; updates: number };
  roomUnloaded: { projectId: string };
  /** The room's document is now kept only encoded (idle); `bytes` is the encoded size. */
  roomDehydrated: { projectId: string; bytes: number };
  /** A stored update relayed by another process was applied and sent to local clients. */
  remoteUpdate: { projectId: string; bytes: number };
  /** The room's document was decoded again (an update arrived). */
  roomHydrated: { projectId: string };
  /** Updates durably stored (one event per group commit). */
  updatesStored: { projectId: string; count: number; bytes: number; ms: number };
  /** A document update from a role that may not write: not stored, not applied, not broadcast. */
  updateRefused: { projectId: string; userId: string; role: CollabRole; bytes: number };
  /** A frame that closed its connection. */
  messageRejected: { projectId: string; userId: string; reason: RejectReason; bytes: number };
  persistFailed: { projectId: string; count: number; error: unknown };
  compacted: { projectId: string; foldedUpdates: number; bytes: number; ms: number };
  compactionFailed: { projectId: string; error: unknown };
}

export type EngineEventName = keyof EngineEvents;
type Listener<K extends EngineEventName> = (payload: EngineEvents[K]) => void;

export class EngineHooks {
  private readonly listeners = new Map<EngineEventName, Set<Listener<never>>>();

  constructor(private readonly log: Logger) {}

  /** Subscribes; returns the unsubscribe function. */
  on<K extends EngineEventName>(event: K, listener: Listener<K>): () => void {
    let set = this.listeners.get(event);
    if (!set) this.listeners.set(event, (set = new Set()));
    set.add(listener as Listener<never>);
    return () => set.delete(listener as Listener<never>);
  }

  emit<K extends EngineEventName>(event: K, payload: EngineEvents[K]): void {
    const set = this.listeners.get(event);
    if (!set) return;
    for (const l of set) {
      try {
        (l as Listener<K>)(payload);
      } catch (err) {
        this.log.error({ err, event }, 'engine event listener threw');
      }
    }
  }
}
