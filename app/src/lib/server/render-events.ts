/** In-process fan-out of render, transcript and edit-proxy updates to subscribed pages (tRPC SSE subscriptions). */
import { EventEmitter, on } from 'node:events';
import type { TranscriptView } from './services/transcripts.ts';

export interface RenderUpdate {
  renderId: string;
  status: 'queued' | 'rendering' | 'succeeded' | 'failed' | 'cancelled';
  stage: string;
  percent: number;
  fps: number | null;
  etaSeconds: number | null;
  error: string | null;
}

/**
 * In-process fan-out of one kind of update, keyed by the id of the thing it is about (a render, a
 * transcript); tRPC SSE subscriptions listen to one id.
 */
export class IdEventBus<T> {
  private readonly emitter = new EventEmitter();
  constructor(private readonly idOf: (update: T) => string) {
    this.emitter.setMaxListeners(0);
  }
  publish(update: T): void {
    this.emitter.emit(this.idOf(update), update);
  }
  /**
   * Listens from the moment of the call (not from the first next()), so a caller can subscribe, then
   * read the current state, and miss nothing in between. Ends quietly when the signal aborts.
   */
  subscribe(id: string, signal?: AbortSignal): AsyncGenerator<T> {
    const events = on(this.emitter, id, signal ? { signal } : {});
    return (async function* () {
      try {
        for await (const [update] of events) yield update as T;
      } catch (err) {
        if (!(err instanceof Error && err.name === 'AbortError')) throw err;
      }
    })();
  }
}

export class RenderEventBus extends IdEventBus<RenderUpdate> {
  constructor() {
    super((u) => u.renderId);
  }
}

/** A transcript's row as the editor sees it (services/transcripts.ts transcriptView), after every change. */
export class TranscriptEventBus extends IdEventBus<TranscriptView> {
  constructor() {
    super((t) => t.id);
  }
}

/** An asset's edit proxy (services/edit-proxies.ts), as the media bin shows it. */
export interface ProxyUpdate {
  assetId: string;
  status: 'queued' | 'encoding' | 'ready' | 'failed';
  percent: number;
}

/** Edit-proxy progress per asset id (the media bin's live badge). */
export class ProxyEventBus extends IdEventBus<ProxyUpdate> {
  constructor() {
    super((u) => u.assetId);
  }
}
