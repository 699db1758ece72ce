/**
 * Prometheus metrics for the app process (prom-client): render queue depth per priority (read from
 * Redis at scrape time), render job durations and failures (fed from the render event bus), and
 * collab connections when the embedded collab-server publishes a count on globalThis.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { eq } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import type { AppContext } from './context.ts';
import type { RenderUpdate } from './render-events.ts';
import { queueDepths } from './services/admin.ts';
import { logger } from './logger.ts';

export interface AppMetrics {
  registry: Registry;
  renderDuration: Histogram<'status'>;
  renderFailures: Counter<'status'>;
}

const KEY = Symbol.for('clipmaker.app.metrics');
type G = typeof globalThis & { [KEY]?: AppMetrics; __clipmakerCollabConnections?: () => number };

/** Idempotent per process: the first call registers collectors and taps the render event bus. */
export function installMetrics(ctx: AppContext): AppMetrics {
  const g = globalThis as G;
  if (g[KEY]) return g[KEY];
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'clipmaker_app_' });
  new Gauge({
    name: 'clipmaker_render_queue_depth',
    help: 'Render jobs per priority queue and state (waiting, active, delayed, failed).',
    labelNames: ['priority', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        for (const d of await queueDepths(ctx)) {
          for (const state of ['waiting', 'active', 'delayed', 'failed'] as const) this.set({ priority: d.priority, state }, d[state]);
        }
      } catch (err) {
        logger.warn({ err }, 'queue depth scrape failed');
      }
    },
  });
  new Gauge({
    name: 'clipmaker_collab_connections',
    help: 'Open collab WebSocket connections in this process (embedded collab-server).',
    registers: [registry],
    collect() {
      const count = g.__clipmakerCollabConnections?.();
      this.set(typeof count === 'number' ? count : 0);
    },
  });
  const renderDuration = new Histogram({
    name: 'clipmaker_render_job_duration_seconds',
    help: 'Wall time of finished render jobs, from start (or submit) to finish.',
    labelNames: ['status'] as const,
    buckets: [5, 15, 30, 60, 120, 300, 600, 1200, 3600],
    registers: [registry],
  });
  const renderFailures = new Counter({
    name: 'clipmaker_render_failures_total',
    help: 'Render jobs that ended failed or cancelled.',
    labelNames: ['status'] as const,
    registers: [registry],
  });
  const metrics = { registry, renderDuration, renderFailures };
  g[KEY] = metrics;

  // Tap the bus: every terminal update is observed once per process that applied it.
  const bus = ctx.renderEvents;
  const publish = bus.publish.bind(bus);
  bus.publish = (u: RenderUpdate) => {
    publish(u);
    if (u.status === 'succeeded' || u.status === 'failed' || u.status === 'cancelled') void observeFinished(ctx, metrics, u).catch(() => {});
  };
  return metrics;
}

async function observeFinished(ctx: AppContext, m: AppMetrics, u: RenderUpdate): Promise<void> {
  if (u.status !== 'succeeded') m.renderFailures.inc({ status: u.status });
  const [row] = await ctx.db.db.select().from(schema.renders).where(eq(schema.renders.id, u.renderId));
  if (!row?.finishedAt) return;
  const from = row.startedAt ?? row.createdAt;
  m.renderDuration.observe({ status: u.status }, Math.max(0, (row.finishedAt.getTime() - from.getTime()) / 1000));
}
