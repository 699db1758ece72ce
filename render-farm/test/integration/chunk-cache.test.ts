/**
 * The chunk cache bound on real files: pieces a render used recently (a chunk job's cache hit, through
 * runChunkJob) outlive older ones; a sweep deletes least recently used files first and leaves the
 * total under the cap; a worker started with a cap sweeps on its own.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { planChunks } from '@clipmaker/shared/render-spec';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';
import { sweepChunkCache } from '../../src/chunk-cache.ts';
import { runChunkJob } from '../../src/chunked.ts';
import { LocalDiskStorage } from '../../src/storage/index.ts';
import { startWorker } from '../../src/worker.ts';
import { frameIndexSpec } from '../support/spec.ts';

let dir: string;
let storage: LocalDiskStorage;
const logger = pino({ level: 'silent' });
const KB = 1024;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cm-chunk-cache-'));
  storage = new LocalDiskStorage(join(dir, 'storage'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A cached piece of `kb` KiB whose last use was `minutesAgo` minutes ago. */
async function piece(key: string, kb: number, minutesAgo: number) {
  const src = join(dir, `src-${randomUUID()}`);
  await writeFile(src, Buffer.alloc(kb * KB, 7));
  await storage.put(key, src);
  const t = new Date(Date.now() - minutesAgo * 60_000);
  await utimes(join(storage.root, key), t, t);
}

async function cached(): Promise<string[]> {
  return (await readdir(join(storage.root, 'chunks'))).sort();
}

it('evicts the least recently used chunk files first (a cache hit counts as a use) and keeps the total under the cap', async () => {
  // A real chunked spec: its chunk 0 is "in the cache" and oldest of all, until a chunk job hits it.
  const spec = frameIndexSpec({ key: 'media/src.mp4', sourceFrames: 90, clips: [{ sourceIn: 0, sourceOut: 90 }], width: 64, height: 36, hasAudio: false });
  const plan = planChunks(spec, { chunkFrames: 30 });
  const chunk0 = plan.chunks[0]!;
  const specSrc = join(dir, 'spec.json');
  await writeFile(specSrc, JSON.stringify(spec));
  await storage.put('renders/r1/spec.json', specSrc);
  const hitKey = plan.chunkKey(chunk0);
  await piece(hitKey, 40, 120);
  await piece('chunks/' + 'a'.repeat(64) + '.mp4', 40, 100);
  await piece('chunks/' + 'b'.repeat(64) + '.mp4', 40, 90);
  await piece('chunks/' + 'c'.repeat(64) + '.m4a', 10, 80);
  await piece('chunks/' + 'd'.repeat(64) + '.mp4', 40, 70);
  const before = (await stat(join(storage.root, hitKey))).mtimeMs;

  const hit = await runChunkJob(
    { renderId: randomUUID(), specKey: 'renders/r1/spec.json', priority: 'normal', kind: 'video', chunk: { index: 0, count: chunk0.count, start: chunk0.start, end: chunk0.end, hash: chunk0.hash }, chunkFrames: 30 },
    { storage, capabilities: {} as never, workerId: 'w', logger },
  );
  expect(hit).toMatchObject({ key: hitKey, cached: true });
  expect((await stat(join(storage.root, hitKey))).mtimeMs).toBeGreaterThan(before + 60 * 60_000);

  // 170 KiB cached, cap 100 KiB: the two least recently used go (a, then b), the hit piece (oldest
  // until it was used) stays.
  const report = await sweepChunkCache(storage, { maxBytes: 100 * KB, graceMs: 0 }, { logger });
  expect(report.evict.map((o) => o.key)).toEqual([`chunks/${'a'.repeat(64)}.mp4`, `chunks/${'b'.repeat(64)}.mp4`]);
  expect(report).toMatchObject({ objects: 5, totalBytes: 170 * KB, keptBytes: 90 * KB });
  expect(await cached()).toEqual([hitKey.slice('chunks/'.length), `${'c'.repeat(64)}.m4a`, `${'d'.repeat(64)}.mp4`].sort());
  const onDisk = (await storage.listObjects('chunks')).reduce((sum, o) => sum + o.size, 0);
  expect(onDisk).toBeLessThanOrEqual(100 * KB);
  // Under the cap: a second sweep deletes nothing.
  expect((await sweepChunkCache(storage, { maxBytes: 100 * KB, graceMs: 0 })).evict).toEqual([]);
  // Outputs and specs beside the cache are never touched by it.
  expect(await storage.exists('renders/r1/spec.json')).toBe(true);
});

it('keeps pieces used within the grace period even over the cap', async () => {
  await storage.deletePrefix('chunks');
  await piece('chunks/' + 'e'.repeat(64) + '.mp4', 50, 30);
  await piece('chunks/' + 'f'.repeat(64) + '.mp4', 50, 1);
  const report = await sweepChunkCache(storage, { maxBytes: 10 * KB, graceMs: 10 * 60_000 });
  expect(report.evict.map((o) => o.key)).toEqual([`chunks/${'e'.repeat(64)}.mp4`]);
  expect(await cached()).toEqual([`${'f'.repeat(64)}.mp4`]);
});

it('a worker with a cap sweeps the cache on its own', async () => {
  await storage.deletePrefix('chunks');
  await piece('chunks/' + '1'.repeat(64) + '.mp4', 30, 50);
  await piece('chunks/' + '2'.repeat(64) + '.mp4', 30, 40);
  const worker = await startWorker({ redisUrl: TEST_REDIS_URL, prefix: uniquePrefix('chunk-cache'), storage, workerId: 'cache-sweeper', logger, capabilities: { cudaDevice: false } as never, engines: [], workRoot: join(dir, 'work'), chunkCache: { maxBytes: 40 * KB, graceMs: 0, sweepIntervalMs: 60_000 } });
  try {
    for (let i = 0; i < 100 && (await cached()).length > 1; i++) await new Promise((r) => setTimeout(r, 50));
    expect(await cached()).toEqual([`${'2'.repeat(64)}.mp4`]);
  } finally {
    await worker.stop();
  }
});
