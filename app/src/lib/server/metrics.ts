/**
 * Prometheus metrics for the app process (prom-client): render queue depth per priority (read from
 * Redis at scrape time), render job durations and failures (from the renders table at scrape time), and
 * collab connections when the embedded collab-server publishes a count on globalThis.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { and, inArray, isNotNull, sql, type SQL } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import type { AppContext } from './context.ts';
import { queueDepths } from './services/admin.ts';
import { logger } from './logger.ts';

export interface AppMetrics {
  registry: Registry;
  renderDuration: Histogram<'status'>;
  renderFailures: Counter<'status'>;
}

const KEY = Symbol.for('clipmaker.app.metrics');
type G = typeof globalThis & { [KEY]?: AppMetrics; __clipmakerCollabConnections?: () => number };

/** Idempotent per process. */
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
    help: 'Wall time of finished render jobs (start, or submit when never started, to finish), from the database.',
    labelNames: ['status'] as const,
    buckets: DURATION_BUCKETS,
    registers: [registry],
  });
  // Computed from the renders table at scrape time, so every app instance reports the same totals
  // (the queue events are applied by whichever instance gets them first).
  const computed = renderDuration as unknown as { get: () => Promise<unknown>; getForPromString: () => Promise<unknown> };
  computed.get = computed.getForPromString = () => durationHistogram(ctx);
  const renderFailures = new Counter({
    name: 'clipmaker_render_failures_total',
    help: 'Render jobs that ended failed or cancelled (all time, from the database).',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const rows = await ctx.db.db
        .select({ status: schema.renders.status, n: sql<number>`count(*)` })
        .from(schema.renders)
        .where(inArray(schema.renders.status, ['failed', 'cancelled']))
        .groupBy(schema.renders.status);
      this.reset();
      for (const r of rows) this.inc({ status: r.status }, Number(r.n));
    },
  });
  const metrics = { registry, renderDuration, renderFailures };
  g[KEY] = metrics;
  return metrics;
}

const DURATION_BUCKETS = [5, 15, 30, 60, 120, 300, 600, 1200, 3600];

async function durationHistogram(ctx: AppContext) {
  const r = schema.renders;
  const secs = sql`extract(epoch from (${r.finishedAt} - coalesce(${r.startedAt}, ${r.createdAt})))`;
  const cols: Record<string, SQL<number>> = { n: sql<number>`count(*)`, sum: sql<number>`coalesce(sum(${secs}), 0)` };
  DURATION_BUCKETS.forEach((b, i) => (cols[`b${i}`] = sql<number>`count(*) filter (where ${secs} <= ${b})`));
  const rows = (await ctx.db.db
    .select({ status: r.status, ...cols })
    .from(r)
    .where(and(isNotNull(r.finishedAt), inArray(r.status, ['succeeded', 'failed', 'cancelled'])))
    .groupBy(r.status)) as Array<Record<string, unknown> & { status: string }>;
  const name = 'clipmaker_render_job_duration_seconds';
  const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
  for (const row of rows) {
    DURATION_BUCKETS.forEach((b, i) => values.push({ labels: { le: b, status: row.status }, value: Number(row[`b${i}`]), metricName: `${name}_bucket` }));
    values.push({ labels: { le: '+Inf', status: row.status }, value: Number(row.n), metricName: `${name}_bucket` });
    values.push({ labels: { status: row.status }, value: Number(row.sum), metricName: `${name}_sum` });
    values.push({ labels: { status: row.status }, value: Number(row.n), metricName: `${name}_count` });
  }
  return { name, help: 'Wall time of finished render jobs (start, or submit when never started, to finish), from the database.', type: 'histogram', aggregator: 'sum', values };
}
