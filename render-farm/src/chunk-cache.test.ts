import { describe, expect, it } from 'vitest';
import { chunkCacheSettings, parseBytes, planEviction } from './chunk-cache.ts';

const at = (key: string, size: number, minutesAgo: number, now: number) => ({ key, size, modifiedAt: new Date(now - minutesAgo * 60_000) });

describe('planEviction', () => {
  const now = Date.parse('2026-12-02T04:00:00Z');
  const objects = [at('chunks/c.mp4', 300, 10, now), at('chunks/a.mp4', 300, 50, now), at('chunks/d.m4a', 100, 1, now), at('chunks/b.mp4', 300, 30, now)];

  it('evicts least recently used first until the total fits the cap', () => {
    const plan = planEviction(objects, { maxBytes: 500, graceMs: 0 }, now);
    expect(plan.evict.map((o) => o.key)).toEqual(['chunks/a.mp4', 'chunks/b.mp4']);
    expect(plan).toMatchObject({ totalBytes: 1000, keptBytes: 400 });
  });

  it('evicts nothing under the cap', () => {
    expect(planEviction(objects, { maxBytes: 1000, graceMs: 0 }, now).evict).toEqual([]);
  });

  it('never evicts pieces used within the grace period, even over the cap', () => {
    const plan = planEviction(objects, { maxBytes: 0, graceMs: 20 * 60_000 }, now);
    expect(plan.evict.map((o) => o.key)).toEqual(['chunks/a.mp4', 'chunks/b.mp4']);
    expect(plan.keptBytes).toBe(400);
  });
});

describe('chunk cache settings', () => {
  it('reads byte counts with suffixes, defaults to 20 GiB', () => {
    expect(parseBytes('512')).toBe(512);
    expect(parseBytes('500M')).toBe(500 * 1024 ** 2);
    expect(parseBytes('1.5G')).toBe(1.5 * 1024 ** 3);
    expect(parseBytes('2TiB')).toBe(2 * 1024 ** 4);
    expect(chunkCacheSettings({})).toEqual({ maxBytes: 20 * 1024 ** 3, graceMs: 3_600_000, sweepIntervalMs: 600_000 });
    expect(chunkCacheSettings({ RENDER_CHUNK_CACHE_MAX_BYTES: '10M', RENDER_CHUNK_CACHE_GRACE_SECONDS: '0', RENDER_CHUNK_CACHE_SWEEP_SECONDS: '5' })).toEqual({ maxBytes: 10 * 1024 ** 2, graceMs: 0, sweepIntervalMs: 5000 });
  });

  it('refuses what is not a byte count', () => {
    expect(() => chunkCacheSettings({ RENDER_CHUNK_CACHE_MAX_BYTES: 'lots' })).toThrow(/byte count/);
    expect(() => chunkCacheSettings({ RENDER_CHUNK_CACHE_MAX_BYTES: '-5' })).toThrow(/byte count/);
  });
});
