/** In-process fan-out of render and edit-proxy updates to subscribed pages (tRPC SSE subscriptions). */
import { EventEmitter, on } from 'node:events';

export interface RenderUpdate {
  renderId: string;
  status: 'queued' | 'rendering' | 'succeeded' | 'failed' | 'cancelled';
  stage: string;
  percent: number;
  fps: number | null;
  etaSeconds: number | null;
  error: string | null;
}

/** Updates fanned out by key (a render id, an asset id) to the subscriptions listening in this process. */
export class KeyedEventBus<T> {
  private readonly emitter = new EventEmitter();
  constructor() {
    this.emitter.setMaxListeners(0);
  }
  emit(key: string, update: T): void {
    this.emitter.emit(key, update);
  }
  /**
   * Listens from the moment of the call (not from the first next()), so a caller can subscribe, then
   * read the current state, and miss nothing in between. Ends quietly when the signal aborts.
   */
  subscribe(key: string, signal?: AbortSignal): AsyncGenerator<T> {
    const events = on(this.emitter, key, signal ? { signal } : {});
    return (async function* () {
      try {
        for await (const [update] of events) yield update as T;
      } catch (err) {
        if (!(err instanceof Error && err.name === 'AbortError')) throw err;
      }
    })();
  }
}

export class RenderEventBus extends KeyedEventBus<RenderUpdate> {
  publish(update: RenderUpdate): void {
    this.emit(update.renderId, update);
  }
}

/** An asset's edit proxy (services/edit-proxies.ts), as the media bin shows it. */
export interface ProxyUpdate {
  assetId: string;
  status: 'queued' | 'encoding' | 'ready' | 'failed';
  percent: number;
}
