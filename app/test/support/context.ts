/**
 * The AppContext of an integration test: its config, database and storage plus every in-process
 * event bus; a test adds the queue, Redis or health monitor where it needs them.
 */
import type { AppContext } from '../../src/lib/server/context.ts';
import { ProxyEventBus, RenderEventBus, TranscriptEventBus } from '../../src/lib/server/render-events.ts';

export function testContext(parts: Pick<AppContext, 'config' | 'db' | 'storage'>): AppContext {
  return { ...parts, renderEvents: new RenderEventBus(), transcriptEvents: new TranscriptEventBus(), proxyEvents: new ProxyEventBus() } as Partial<AppContext> as AppContext;
}
