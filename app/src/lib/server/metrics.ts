/**
 * Prometheus metrics for the app process (prom-client): HTTP request durations by route and status
 * and server-error counts (observed by hooks.server.ts), render queue depth per priority (read from
 * Redis at scrape time), render job durations and failures (from the renders table at scrape time),
 * worker heartbeats (age per worker, from Redis), how soon after ffmpeg's exit a render row became
 * succeeded (observed where the success was applied), the storage disk's usage (statfs on STORAGE_DIR
 * when storage is local), and collab connections when the embedded collab-server publishes a count.
 * Alert rules over these: docker/monitoring/prometheus/alerts.yml.
 */
import { statfs } from 'node:fs/promises';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { and, inArray, isNotNull, sql, type SQL } from 'drizzle-orm';
import { schema } from '@clipmaker/db';
import type { AppContext } from './context.ts';
import { workerHealth } from '@clipmaker/shared/jobs';
import { queueDepths } from './services/admin.ts';
import { logger } from './logger.ts';
import { LocalStorage } from './storage.ts';

export interface AppMetrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status'>;
  httpErrors: Counter<'method' | 'route' | 'status'>;
  renderDuration: Histogram<'status'>;
  renderFailures: Counter<'status'>;
  renderReady: Histogram<never>;
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
  const httpDuration = new Histogram({
    name: 'clipmaker_http_request_duration_seconds',
    help: 'HTTP request duration by SvelteKit route id (unmatched for no route), method and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const httpErrors = new Counter({
    name: 'clipmaker_http_errors_total',
    help: 'HTTP responses with a 5xx status (server errors), by route, method and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  new Gauge({
    name: 'clipmaker_worker_heartbeat_age_seconds',
    help: 'Seconds since each registered render worker last beat (Redis heartbeat).',
    labelNames: ['worker', 'host'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const now = Date.now();
        for (const b of await ctx.queue.workerBeats()) this.set({ worker: b.workerId, host: b.host }, Math.max(0, (now - Number(b.lastSeen)) / 1000));
      } catch (err) {
        logger.warn({ err }, 'worker heartbeat scrape failed');
      }
    },
  });
  new Gauge({
    name: 'clipmaker_workers',
    help: 'Registered render workers by health (ok: beating; lost: missed 1.5 beats) and control state.',
    labelNames: ['health', 'control'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      try {
        const now = Date.now();
        for (const b of await ctx.queue.workerBeats()) this.inc({ health: workerHealth(Number(b.lastSeen), Number(b.intervalMs), now), control: b.control ?? 'none' });
      } catch (err) {
        logger.warn({ err }, 'worker count scrape failed');
      }
    },
  });
  new Gauge({
    name: 'clipmaker_storage_disk_bytes',
    help: 'The local storage disk (STORAGE_DIR) in bytes: size, available, used. Absent with S3 storage.',
    labelNames: ['kind'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      if (!(ctx.storage instanceof LocalStorage)) return;
      try {
        const fs = await statfs(ctx.storage.root);
        const size = fs.blocks * fs.bsize;
        const avail = fs.bavail * fs.bsize;
        this.set({ kind: 'size' }, size);
        this.set({ kind: 'available' }, avail);
        this.set({ kind: 'used' }, size - fs.bfree * fs.bsize);
      } catch (err) {
        logger.warn({ err }, 'storage disk scrape failed');
      }
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
  const renderReady = new Histogram({
    name: 'clipmaker_render_ready_after_ffmpeg_seconds',
    help: "Encoding ffmpeg's exit to the render row set succeeded with its outputs (issue 14 target: 2 s), as this instance applied it.",
    buckets: [0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
    registers: [registry],
  });
  const metrics = { registry, httpDuration, httpErrors, renderDuration, renderFailures, renderReady };
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

/** Records how long after ffmpeg exited a render row became succeeded (services/renders.ts); a no-op until installed. */
export function observeRenderReady(seconds: number): void {
  (globalThis as G)[KEY]?.renderReady.observe(seconds);
}

/** Records one finished HTTP request (hooks.server.ts); a no-op until the metrics are installed. */
export function observeRequest(method: string, route: string | null, status: number, seconds: number): void {
  const m = (globalThis as G)[KEY];
  if (!m) return;
  const labels = { method, route: route ?? 'unmatched', status: String(status) };
  m.httpDuration.observe(labels, seconds);
  if (status >= 500) m.httpErrors.inc(labels);
}
