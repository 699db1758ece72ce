/** In-process fan-out of render updates to subscribed pages (tRPC SSE subscriptions). */
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

export class RenderEventBus {
  private readonly emitter = new EventEmitter();
  constructor() {
    this.emitter.setMaxListeners(0);
  }
  publish(update: RenderUpdate): void {
    this.emitter.emit(update.renderId, update);
  }
  /**
   * Listens from the moment of the call (not from the first next()), so a caller can subscribe, then
   * read the current state, and miss nothing in between. Ends quietly when the signal aborts.
   */
  subscribe(renderId: string, signal?: AbortSignal): AsyncGenerator<RenderUpdate> {
    const events = on(this.emitter, renderId, signal ? { signal } : {});
    return (async function* () {
      try {
        for await (const [update] of events) yield update as RenderUpdate;
      } catch (err) {
        if (!(err instanceof Error && err.name === 'AbortError')) throw err;
      }
    })();
  }
}
