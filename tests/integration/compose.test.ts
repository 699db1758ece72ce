/**
 * docker/: the compose files validate (scripts/check-compose.sh: `docker compose config` or
 * docker-compose 1.29, no engine needed) and have the production shape: migrations once before
 * anything that uses the database, a health check on every long-running service, GPU reservation
 * with the video capability in the override, every interpolated variable documented in .env.example,
 * and Dockerfiles that only copy what exists.
 */
import { describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { pino } from 'pino';
import { LocalDiskStorage, startWorker } from '../../render-farm/src/index.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../support/redis.ts';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

const ROOT = path.resolve(import.meta.dirname, '../..');
const secrets = { POSTGRES_PASSWORD: 'pw-for-test', COLLAB_SECRET: 'collab-secret-for-test', SIGNING_SECRET: 'signing-secret-for-test' };

function composeCli(): string[] | null {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  return null;
}
const cli = composeCli();

interface Service {
  image?: string;
  build?: { dockerfile: string };
  command?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
  profiles?: string[];
  volumes?: unknown[];
  environment?: Record<string, string>;
  deploy?: { resources: { reservations: { devices: Array<{ driver: string; capabilities: string[]; count: unknown }> } } };
}

/** The resolved configuration as JSON (compose prints YAML; python3-yaml comes with docker-compose). */
function resolved(files: string[]): { services: Record<string, Service> } {
  const r = spawnSync(cli![0]!, [...cli!.slice(1), ...files.flatMap((f) => ['-f', f]), 'config'], { cwd: ROOT, env: { ...process.env, ...secrets }, encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  const j = spawnSync('python3', ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], { input: r.stdout, encoding: 'utf8' });
  expect(j.status, j.stderr).toBe(0);
  return JSON.parse(j.stdout) as { services: Record<string, Service> };
}

describe.skipIf(!cli)('docker compose files', () => {
  it('scripts/check-compose.sh passes (both files valid, missing secrets refused)', () => {
    const r = spawnSync('bash', ['scripts/check-compose.sh'], { cwd: ROOT, encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
  });

  it('runs migrations once before the database users, and health-checks every long-running service', () => {
    const { services } = resolved(['docker/compose.yaml']);
    const core = Object.keys(services).filter((s) => !services[s]!.profiles?.length);
    expect(core.sort()).toEqual(['app', 'collab-lb', 'collab-server', 'collab-server-2', 'migrate', 'postgres', 'redis', 'render-farm']);
    // The `monitoring` profile (only with --profile monitoring): Prometheus, Alertmanager, Grafana and exporters.
    const monitoring = Object.keys(services).filter((s) => services[s]!.profiles?.includes('monitoring'));
    expect(monitoring.sort()).toEqual(['alertmanager', 'grafana', 'node-exporter', 'postgres-exporter', 'prometheus', 'redis-exporter']);
    expect(JSON.stringify(services.prometheus!.volumes)).toContain('/etc/prometheus');
    expect(services.migrate!.command).toEqual(['node', '--import', 'tsx', 'drizzle/migrate.ts']);
    expect(services.migrate!.depends_on?.postgres?.condition).toBe('service_healthy');
    for (const s of ['app', 'collab-server']) expect(services[s]!.depends_on?.migrate?.condition).toBe('service_completed_successfully');
    for (const s of ['postgres', 'redis', 'app', 'collab-server', 'render-farm']) expect(services[s]!.healthcheck?.test.length, s).toBeGreaterThan(0);
    expect(services.postgres!.healthcheck!.test.join(' ')).toContain('pg_isready');
    expect(services.redis!.healthcheck!.test).toContain('ping');
    expect(services.app!.healthcheck!.test.join(' ')).toContain('/readyz');
    expect(services['collab-server']!.healthcheck!.test.join(' ')).toContain('/health');
    expect(services.app!.environment).toMatchObject({ NODE_ENV: 'production', SIGNING_SECRET: secrets.SIGNING_SECRET, COLLAB_SECRET: secrets.COLLAB_SECRET });
    expect(services['render-farm']!.build!.dockerfile).toBe('docker/render-farm.Dockerfile');
    expect(services['render-farm']!.deploy).toBeUndefined();
  });

  it('the GPU override reserves NVIDIA GPUs with the video capability', () => {
    const { services } = resolved(['docker/compose.yaml', 'docker/compose.gpu.yaml']);
    const worker = services['render-farm']!;
    const device = worker.deploy!.resources.reservations.devices[0]!;
    expect(device.driver).toBe('nvidia');
    expect(device.capabilities).toEqual(expect.arrayContaining(['gpu', 'video']));
    expect(worker.environment).toMatchObject({ NVIDIA_DRIVER_CAPABILITIES: 'compute,video,utility', RENDER_TARGET: 'cuda' });
  });
});

describe('docker files', () => {
  it('every variable the compose files interpolate is documented in .env.example', () => {
    const example = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
    const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    for (const f of ['docker/compose.yaml', 'docker/compose.gpu.yaml', 'docker/compose.minio.yaml']) {
      const vars = [...readFileSync(path.join(ROOT, f), 'utf8').matchAll(/\$\{([A-Z][A-Z0-9_]*)/g)].map((m) => m[1]!);
      for (const v of vars) expect(documented.has(v), `${v} (${f}) is not in .env.example`).toBe(true);
    }
  });

  it('the collab-server runs with one V8 young-generation default: image, compose and `pnpm collab`', () => {
    const image = /^ENV NODE_OPTIONS="([^"]*)"$/m.exec(readFileSync(path.join(ROOT, 'docker/collab-server.Dockerfile'), 'utf8'))?.[1];
    expect(image).toMatch(/^--max-semi-space-size=\d+$/);
    const compose = readFileSync(path.join(ROOT, 'docker/compose.yaml'), 'utf8');
    expect(compose).toContain(`NODE_OPTIONS: \${COLLAB_NODE_OPTIONS:-${image}}`);
    const script = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts.collab;
    expect(script).toContain(`NODE_OPTIONS="\${NODE_OPTIONS:-${image}}"`);
  });

  it('every variable the code reads is documented in .env.example', () => {
    const example = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
    const documented = new Set([...example.matchAll(/^#?\s*([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
    const read = new Set<string>();
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        if (name === 'node_modules' || name === 'build' || name.startsWith('.')) continue;
        const full = path.join(dir, name);
        if (statSync(full).isDirectory()) walk(full);
        else if (/\.(ts|js|mjs|svelte)$/.test(name) && !name.endsWith('.test.ts')) {
          const text = readFileSync(full, 'utf8');
          for (const m of text.matchAll(/process\.env\.([A-Z][A-Z0-9_]+)|\benv\.([A-Z][A-Z0-9_]+)|^\s+([A-Z][A-Z0-9_]{2,}): z\./gm)) read.add((m[1] ?? m[2] ?? m[3])!);
        }
      }
    };
    for (const dir of ['app/src', 'collab-server/src', 'render-farm/src', 'drizzle', 'scripts', 'shared', 'tests/support', 'docker']) walk(path.join(ROOT, dir));
    read.delete('VITEST'); // set by vitest itself
    expect(read.size).toBeGreaterThan(20);
    expect([...read].filter((v) => !documented.has(v)).sort()).toEqual([]);
  });

  it('docker/healthcheck.mjs: http mode follows the status, worker mode follows the age of the heartbeat in Redis', async () => {
    const check = (args: string[], env: Record<string, string> = {}) =>
      new Promise<number | null>((resolve) => spawn(process.execPath, [path.join(ROOT, 'docker/healthcheck.mjs'), ...args], { env: { ...process.env, ...env }, stdio: 'ignore' }).once('exit', resolve));
    let status = 200;
    const srv = http.createServer((_req, res) => res.writeHead(status).end());
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as { port: number }).port}/health`;
    expect(await check(['http', url])).toBe(0);
    status = 503;
    expect(await check(['http', url])).toBe(1);
    srv.close();
    expect(await check(['http', url])).toBe(1);

    const prefix = uniquePrefix('health');
    const env = { REDIS_URL: TEST_REDIS_URL, QUEUE_PREFIX: prefix, WORKER_ID: 'health-check-worker' };
    expect(await check(['worker'], env)).toBe(1);
    const dir = mkdtempSync(path.join(tmpdir(), 'cm-health-'));
    const worker = await startWorker({ redisUrl: TEST_REDIS_URL, prefix, workerId: 'health-check-worker', storage: new LocalDiskStorage(dir), logger: pino({ level: 'silent' }), target: 'cpu' });
    try {
      expect(await check(['worker'], env)).toBe(0);
      expect(await check(['worker'], { ...env, WORKER_ID: 'another-worker' })).toBe(1);
    } finally {
      await worker.stop();
      rmSync(dir, { recursive: true, force: true });
    }
    // A stopped worker deletes its heartbeat: unhealthy at once.
    expect(await check(['worker'], env)).toBe(1);
    // A killed one leaves its last beat (kept for the admin's grace period): unhealthy once it is old.
    const key = `${prefix}:workers:health-check-worker`;
    spawnSync('redis-cli', ['-u', TEST_REDIS_URL, 'HSET', key, 'lastSeen', String(Date.now() - 60_000), 'intervalMs', '5000']);
    expect(await check(['worker'], env)).toBe(1);
    spawnSync('redis-cli', ['-u', TEST_REDIS_URL, 'HSET', key, 'lastSeen', String(Date.now())]);
    expect(await check(['worker'], env)).toBe(0);
    spawnSync('redis-cli', ['-u', TEST_REDIS_URL, 'DEL', key]);
  });

  it('Dockerfiles are multi-stage and copy only paths that exist in the build context', () => {
    for (const name of ['app', 'collab-server', 'render-farm']) {
      const text = readFileSync(path.join(ROOT, `docker/${name}.Dockerfile`), 'utf8');
      expect(text.match(/^FROM /gm)!.length, name).toBeGreaterThanOrEqual(2);
      for (const m of text.matchAll(/^COPY (?!--from)(.+)$/gm)) {
        const parts = m[1]!.trim().split(/\s+/);
        for (const src of parts.slice(0, -1)) expect(existsSync(path.join(ROOT, src)), `${name}: COPY ${src}`).toBe(true);
      }
    }
    expect(readFileSync(path.join(ROOT, 'docker/render-farm.Dockerfile'), 'utf8')).toMatch(/FROM \$\{CUDA_IMAGE\}|nvidia\/cuda/);
  });
});
