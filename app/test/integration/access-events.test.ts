/** publishAccessChange against real Redis: subscribers on the channel get the parsed change; a dead Redis never throws. */
import { afterAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { accessChannel, parseAccessChange, type AccessChange } from '@clipmaker/shared/collab/access-events';
import { publishAccessChange } from '../../src/lib/server/access-events.ts';
import { TEST_REDIS_URL, uniquePrefix } from '../../../tests/support/redis.ts';

describe('publishAccessChange', () => {
  const pub = new Redis(TEST_REDIS_URL);
  const sub = new Redis(TEST_REDIS_URL);
  afterAll(() => {
    pub.disconnect();
    sub.disconnect();
  });

  it('publishes a validated AccessChange on the prefix channel', async () => {
    const prefix = uniquePrefix('access');
    const got: (AccessChange | null)[] = [];
    await sub.subscribe(accessChannel(prefix));
    sub.on('message', (_ch, msg) => got.push(parseAccessChange(msg)));
    const change: AccessChange = { kind: 'project-member', projectId: 'p1', userId: 'u1', newRole: 'viewer' };
    expect(await publishAccessChange({ redis: pub, config: { QUEUE_PREFIX: prefix } }, change)).toBe(1);
    await expect.poll(() => got.length).toBe(1);
    expect(got[0]).toEqual(change);
    await expect(publishAccessChange(pub, { kind: 'org-member', orgId: '', userId: 'u', newRole: null } as AccessChange, prefix)).rejects.toThrow();
  });

  it('answers 0 instead of throwing when Redis is unreachable', async () => {
    const dead = new Redis('redis://127.0.0.1:1', { enableOfflineQueue: false, maxRetriesPerRequest: 0, lazyConnect: true, retryStrategy: () => null });
    dead.on('error', () => {});
    expect(await publishAccessChange(dead, { kind: 'user-sessions', userId: 'u1' }, 'x')).toBe(0);
    dead.disconnect();
  });
});
