/**
 * The app's queue producer against a redis-server of this test's own: bee-queue's scripts lost
 * (SCRIPT FLUSH, as a restarted Redis has them), Redis stopped and started again. The readiness
 * check answers what an enqueue would do at each point, and enqueue never hangs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QueueUnavailableError, queueReadiness, RenderQueueProducer } from '../../src/lib/server/queue.ts';
import { startRedisServer, type RedisServer } from '../support/farm.ts';

let dir: string;
let redis: RedisServer;
let producer: RenderQueueProducer;
let reconnects = 0;

const job = (renderId: string) => ({ renderId, specKey: `renders/${renderId}/spec.json`, outputPrefix: `renders/${renderId}` });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const within = <T>(p: Promise<T>, ms: number) => Promise.race([p, sleep(ms).then(() => 'still waiting' as const)]);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cm-queue-restart-'));
  redis = await startRedisServer(join(dir, 'redis'));
  producer = new RenderQueueProducer(redis.url, 'cmq', {
    onProgress() {},
    onSucceeded() {},
    onFailed() {},
    onRetrying() {},
    onReconnected: () => void (reconnects += 1),
  });
  await producer.ready();
});

afterAll(async () => {
  await producer?.close();
  await redis?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('queue producer across Redis restarts', () => {
  it('scripts lost without a reconnect: readiness reloads them, enqueue recovers from NOSCRIPT', async () => {
    expect(await queueReadiness(producer)).toMatchObject({ ok: true, redis: 'connected', scripts: 'loaded', writable: true });
    expect(redis.cli('SCRIPT', 'FLUSH')).toBe('OK');
    expect(await producer.readiness()).toMatchObject({ ok: true, scripts: 'reloaded' });
    expect(redis.cli('SCRIPT', 'FLUSH')).toBe('OK');
    const id = crypto.randomUUID();
    await producer.enqueue(job(id));
    expect(await producer.jobRecord(id)).toMatchObject({ priority: 'normal', status: 'created' });
  });

  it('Redis down: not ready, enqueue refused at once and cancel does not hang; back: ready and enqueuing again', async () => {
    await redis.stop();
    expect(await producer.readiness()).toMatchObject({ ok: false, redis: 'disconnected' });
    expect(producer.connected).toBe(false);
    const refused = await within(producer.enqueue(job(crypto.randomUUID())).catch((e: unknown) => e), 2000);
    expect(refused).toBeInstanceOf(QueueUnavailableError);
    expect(await within(producer.cancel(crypto.randomUUID()), 2000)).toBeUndefined();

    await redis.start();
    const upAt = Date.now();
    let ready = await producer.readiness();
    while (!ready.ok && Date.now() - upAt < 10_000) {
      await sleep(50);
      ready = await producer.readiness();
    }
    expect(ready).toMatchObject({ ok: true, writable: true });
    expect(Date.now() - upAt).toBeLessThan(5000);
    const id = crypto.randomUUID();
    await producer.enqueue(job(id), 'high');
    expect(await producer.jobRecord(id)).toMatchObject({ priority: 'high', status: 'created' });
    // The job enqueued before the restart survived it (AOF).
    expect(Number(redis.cli('HLEN', 'cmq:render-normal:jobs'))).toBe(1);
    for (let i = 0; i < 50 && reconnects === 0; i++) await sleep(100);
    expect(reconnects).toBeGreaterThanOrEqual(1);
  });
});
