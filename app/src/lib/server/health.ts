/**
 * Liveness and readiness that cannot be used to take the app down:
 *  - liveness (/livez): the process answers; no I/O at all.
 *  - readiness (/readyz, /api/health): the database and Redis pinged and the render queue checked,
 *    each with a short timeout; ffmpeg/ffprobe were probed once when the context was created and
 *    the result is reused. The report is cached for CACHE_MS and concurrent requests share one check
 *    in flight, so a flood of health requests costs one check per CACHE_MS and never a process.
 */
import { spawn } from 'node:child_process';
import type { AppContext } from './context.ts';

export const CACHE_MS = 1_500;
export const CHECK_TIMEOUT_MS = 1_000;

export interface BinaryProbe {
  ok: boolean;
  version: string | null;
}

export interface Readiness {
  ok: boolean;
  checkedAt: string;
  db: { ok: boolean; kind: string; ms: number };
  redis: { ok: boolean; ms: number };
  /** The render queue accepts jobs (bee-queue's Redis answers its health check). */
  queue: { ok: boolean; ms: number };
  ffmpeg: BinaryProbe;
  ffprobe: BinaryProbe;
}

/** `bin -version` once: the first line's version, or not ok. Bounded (5 s, 64 KiB of output). */
export function probeBinary(bin: string, name: 'ffmpeg' | 'ffprobe'): Promise<BinaryProbe> {
  return new Promise((resolve) => {
    let out = '';
    let child;
    try {
      child = spawn(bin, ['-hide_banner', '-version'], { stdio: ['ignore', 'pipe', 'ignore'], timeout: 5_000 });
    } catch {
      return resolve({ ok: false, version: null });
    }
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      if (out.length < 65_536) out += d;
    });
    child.on('error', () => resolve({ ok: false, version: null }));
    child.on('close', (code) => resolve(code === 0 ? { ok: true, version: new RegExp(`${name} version (\\S+)`).exec(out)?.[1] ?? 'unknown' } : { ok: false, version: null }));
  });
}

async function timed(check: () => Promise<boolean>): Promise<{ ok: boolean; ms: number }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS)));
  try {
    const ok = await Promise.race([check().catch(() => false), timeout]);
    return { ok, ms: Math.round(performance.now() - started) };
  } finally {
    clearTimeout(timer);
  }
}

export class HealthMonitor {
  private readonly binaries: Promise<{ ffmpeg: BinaryProbe; ffprobe: BinaryProbe }>;
  private cached: { at: number; report: Readiness } | null = null;
  private inFlight: Promise<Readiness> | null = null;

  constructor(
    private readonly ctx: Pick<AppContext, 'db' | 'redis' | 'queue' | 'config'>,
    private readonly now: () => number = Date.now,
  ) {
    // Probed once, at start; a missing binary stays reported until the process restarts.
    this.binaries = Promise.all([probeBinary(ctx.config.FFMPEG_PATH, 'ffmpeg'), probeBinary(ctx.config.FFPROBE_PATH, 'ffprobe')]).then(([ffmpeg, ffprobe]) => ({ ffmpeg, ffprobe }));
  }

  /** The readiness report, at most CACHE_MS old; one check in flight at a time. */
  async readiness(): Promise<Readiness> {
    if (this.cached && this.now() - this.cached.at < CACHE_MS) return this.cached.report;
    this.inFlight ??= this.check().finally(() => (this.inFlight = null));
    return this.inFlight;
  }

  private async check(): Promise<Readiness> {
    const { db, redis, queue } = this.ctx;
    const [dbCheck, redisCheck, queueCheck, bins] = await Promise.all([
      timed(() => db.ping()),
      timed(async () => (await redis.ping()) === 'PONG'),
      timed(() => queue.ping()),
      this.binaries,
    ]);
    const report: Readiness = {
      ok: dbCheck.ok && redisCheck.ok && queueCheck.ok && bins.ffmpeg.ok && bins.ffprobe.ok,
      checkedAt: new Date(this.now()).toISOString(),
      db: { ...dbCheck, kind: db.kind },
      redis: redisCheck,
      queue: queueCheck,
      ...bins,
    };
    this.cached = { at: this.now(), report };
    return report;
  }
}

/** The JSON answer of /readyz and /api/health: 200 when ready, 503 otherwise. */
export async function readinessResponse(ctx: AppContext): Promise<Response> {
  const report = await ctx.health.readiness();
  return new Response(JSON.stringify(report), { status: report.ok ? 200 : 503, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });
}
