import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { HEARTBEAT_INTERVAL_MS, workerHealth } from './index.ts';
import { isNoScriptError, isRedisConnectionError, keepScriptsLoaded, REDIS_RECONNECT_MAX_DELAY_MS, redisClientOptions } from './redis.ts';

describe('redisClientOptions', () => {
  it('reconnects forever, never more than REDIS_RECONNECT_MAX_DELAY_MS apart, with no total budget', () => {
    const o = redisClientOptions('redis://127.0.0.1:6379');
    const delays = [1, 2, 3, 5, 10, 100, 10_000].map((attempt) => o.retry_strategy({ attempt }));
    expect(delays.every((d) => typeof d === 'number' && d > 0 && d <= REDIS_RECONNECT_MAX_DELAY_MS)).toBe(true);
    expect(delays.at(-1)).toBe(REDIS_RECONNECT_MAX_DELAY_MS);
    expect(o.connect_timeout).toBeGreaterThan(24 * 3600_000);
  });
});

describe('error classification', () => {
  it('tells a lost connection from a wrong command', () => {
    expect(isRedisConnectionError(Object.assign(new Error('Redis connection lost and command aborted.'), { code: 'UNCERTAIN_STATE' }))).toBe(true);
    expect(isRedisConnectionError(Object.assign(new Error('x'), { name: 'AbortError' }))).toBe(true);
    expect(isRedisConnectionError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED' }))).toBe(true);
    expect(isRedisConnectionError(new Error('LOADING Redis is loading the dataset in memory'))).toBe(true);
    expect(isRedisConnectionError(new Error('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe(false);
    expect(isRedisConnectionError(null)).toBe(false);
    expect(isNoScriptError(Object.assign(new Error('NOSCRIPT No matching script. Please use EVAL.'), { code: 'NOSCRIPT' }))).toBe(true);
    expect(isNoScriptError(new Error('ERR syntax error'))).toBe(false);
  });
});

describe('workerHealth', () => {
  it('is lost once the last beat is older than 1.5 of the worker\'s own intervals', () => {
    expect(workerHealth(10_000, 1000, 11_500)).toBe('ok');
    expect(workerHealth(10_000, 1000, 11_501)).toBe('lost');
    // A beat just before a kill -9: lost within two beats of the kill.
    expect(workerHealth(10_000, 5000, 10_000 + 2 * 5000)).toBe('lost');
    expect(workerHealth(10_000, 0, 10_000 + HEARTBEAT_INTERVAL_MS)).toBe('ok');
  });
});

/** A bee-queue-shaped fake: a script call fails with NOSCRIPT until the cache is (re)built. */
function fakeQueue() {
  const client = new EventEmitter();
  let loaded = true;
  const calls: string[] = [];
  const queue = {
    client,
    settings: { activateDelayedJobs: true },
    activations: 0,
    _evalScript: async (name: string) => {
      calls.push(name);
      if (!loaded) throw Object.assign(new Error('NOSCRIPT No matching script. Please use EVAL.'), { code: 'NOSCRIPT' });
      return `ran ${name}`;
    },
    _activateDelayed() {
      queue.activations += 1;
    },
  };
  const scripts = {
    builds: 0,
    async buildCache(c: unknown) {
      expect(c).toBe(client);
      scripts.builds += 1;
      loaded = true;
    },
  };
  return { queue, client, scripts, calls, lose: () => (loaded = false) };
}

describe('keepScriptsLoaded', () => {
  it('reloads the scripts on NOSCRIPT and retries the call once', async () => {
    const f = fakeQueue();
    keepScriptsLoaded(f.queue, f.scripts, { onError: () => {} });
    f.lose();
    await expect(f.queue._evalScript('addJob')).resolves.toBe('ran addJob');
    expect(f.calls).toEqual(['addJob', 'addJob']);
    expect(f.scripts.builds).toBe(1);
  });

  it('concurrent NOSCRIPT failures share one reload', async () => {
    const f = fakeQueue();
    keepScriptsLoaded(f.queue, f.scripts, { onError: () => {} });
    f.lose();
    await Promise.all([f.queue._evalScript('a'), f.queue._evalScript('b'), f.queue._evalScript('c')]);
    expect(f.scripts.builds).toBe(1);
  });

  it('after a reconnect: reloads, re-activates delayed jobs, reports it', async () => {
    const f = fakeQueue();
    let reconnected = 0;
    const keeper = keepScriptsLoaded(f.queue, f.scripts, { onError: () => {}, onReconnect: () => (reconnected += 1) });
    f.lose();
    f.client.emit('ready');
    await new Promise((r) => setTimeout(r, 10));
    expect(f.scripts.builds).toBe(1);
    expect(f.queue.activations).toBe(1);
    expect(reconnected).toBe(1);
    expect(keeper.reconnects).toBe(1);
  });

  it('passes other errors through untouched', async () => {
    const f = fakeQueue();
    f.queue._evalScript = async () => {
      throw new Error('ERR wrong number of arguments');
    };
    keepScriptsLoaded(f.queue, f.scripts, { onError: () => {} });
    await expect(f.queue._evalScript('x')).rejects.toThrow('wrong number of arguments');
    expect(f.scripts.builds).toBe(0);
  });
});
