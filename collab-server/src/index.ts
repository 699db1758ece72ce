/** @clipmaker/collab-server: the engine (embeddable) and its WebSocket binding. */
export { startCollabServer, type CollabServer, type CollabServerOptions } from './server.ts';
export {
  CollabEngine,
  CollabConnection,
  CLOSE_CODES,
  type CollabEngineOptions,
  type ConnectionInfo,
  type EngineStats,
  type Transport,
} from './engine.ts';
export type { EngineEvents, EngineEventName, RejectReason } from './hooks.ts';
export { createCollabMetrics, type CollabMetrics } from './metrics.ts';
export { loadCollabConfig, PRODUCTION_SECRET_MIN_LENGTH, type CollabConfig } from './config.ts';
