/** Prometheus metrics fed by the engine's events (own registry, so several servers can coexist). */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { CollabEngine } from './engine.ts';

export interface CollabMetrics {
  registry: Registry;
  /** Records one fan-out frame's lag (publish in another process -> received here). */
  observeFanoutLag(ms: number): void;
  /** Detaches the engine listeners. */
  dispose(): void;
}

export function createCollabMetrics(engine: CollabEngine, opts: { defaultMetrics?: boolean } = {}): CollabMetrics {
  const registry = new Registry();
  if (opts.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'collab_' });

  new Gauge({
    name: 'collab_connections',
    help: 'Open collaboration connections',
    registers: [registry],
    collect() {
      this.set(engine.stats().connections);
    },
  });
  new Gauge({
    name: 'collab_rooms',
    help: 'Documents loaded in memory',
    registers: [registry],
    collect() {
      this.set(engine.stats().rooms);
    },
  });
  new Gauge({
    name: 'collab_pending_updates',
    help: 'Updates received and not yet stored',
    registers: [registry],
    collect() {
      this.set(engine.stats().pendingUpdates);
    },
  });
  // Updates stored per second over the last 10 s (a scraper can also take rate() of the counter).
  const window: { at: number; count: number }[] = [];
  const recordStored = (count: number) => {
    const now = Date.now();
    window.push({ at: now, count });
    while (window.length > 0 && window[0]!.at < now - 10_000) window.shift();
  };
  new Gauge({
    name: 'collab_updates_per_second',
    help: 'Document updates stored per second, averaged over the last 10 s',
    registers: [registry],
    collect() {
      const now = Date.now();
      while (window.length > 0 && window[0]!.at < now - 10_000) window.shift();
      this.set(window.reduce((n, w) => n + w.count, 0) / 10);
    },
  });
  const remoteUpdates = new Counter({ name: 'collab_remote_updates_total', help: 'Stored updates relayed from other processes and applied here', registers: [registry] });
  const fanoutLag = new Histogram({
    name: 'collab_fanout_lag_seconds',
    help: 'Publish (another process) to receipt (here) of a fan-out frame through Redis',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const connectionsTotal = new Counter({ name: 'collab_connections_total', help: 'Connections accepted', labelNames: ['role'], registers: [registry] });
  const stored = new Counter({ name: 'collab_updates_stored_total', help: 'Document updates stored', registers: [registry] });
  const storedBytes = new Counter({ name: 'collab_update_bytes_stored_total', help: 'Bytes of document updates stored', registers: [registry] });
  const storeSeconds = new Histogram({
    name: 'collab_store_seconds',
    help: 'Time to store one group commit of updates',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const refused = new Counter({ name: 'collab_updates_refused_total', help: 'Document updates refused (role may not write)', labelNames: ['role'], registers: [registry] });
  const rejected = new Counter({ name: 'collab_messages_rejected_total', help: 'Frames that closed their connection', labelNames: ['reason'], registers: [registry] });
  const persistFailed = new Counter({ name: 'collab_persist_failures_total', help: 'Group commits that failed to store', registers: [registry] });
  const compactions = new Counter({ name: 'collab_compactions_total', help: 'Compactions done', registers: [registry] });
  const compactionFailures = new Counter({ name: 'collab_compaction_failures_total', help: 'Compactions failed', registers: [registry] });
  const loadSeconds = new Histogram({
    name: 'collab_room_load_seconds',
    help: 'Time to load a document into memory',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });

  const off = [
    engine.on('connectionOpened', (e) => connectionsTotal.inc({ role: e.role })),
    engine.on('updatesStored', (e) => {
      stored.inc(e.count);
      recordStored(e.count);
      storedBytes.inc(e.bytes);
      storeSeconds.observe(e.ms / 1000);
    }),
    engine.on('updateRefused', (e) => refused.inc({ role: e.role })),
    engine.on('messageRejected', (e) => rejected.inc({ reason: e.reason })),
    engine.on('persistFailed', () => persistFailed.inc()),
    engine.on('compacted', () => compactions.inc()),
    engine.on('compactionFailed', () => compactionFailures.inc()),
    engine.on('roomLoaded', (e) => loadSeconds.observe(e.ms / 1000)),
    engine.on('remoteUpdate', () => remoteUpdates.inc()),
  ];
  return { registry, observeFanoutLag: (ms) => fanoutLag.observe(ms / 1000), dispose: () => off.forEach((f) => f()) };
}
