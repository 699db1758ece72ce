/**
 * Tells every collab-server process (and any other subscriber) that someone's access changed, on the
 * Redis pub/sub channel of shared/collab/access-events.ts. Call it AFTER the change is committed in
 * Postgres: subscribers re-check the affected sockets against the database, so the message is a hint
 * and never the authority. A Redis outage never fails the caller's request: it is logged, and short
 * collab token lifetimes (checked on open sockets) bound how long a stale socket keeps its access.
 */
import { Redis } from 'ioredis';
import { QUEUE_PREFIX } from '@clipmaker/shared/jobs';
import { AccessChange, accessChannel } from '@clipmaker/shared/collab/access-events';
import type { SessionCache } from './auth/session-cache.ts';
import { logger } from './logger.ts';

/** What publishAccessChange needs: an AppContext, or just a Redis client (plus prefix). */
export type AccessPublisher = { redis: Pick<Redis, 'publish'>; config?: { QUEUE_PREFIX?: string | undefined }; sessions?: Pick<SessionCache, 'forgetUser'> | undefined } | Pick<Redis, 'publish'>;

/** Publishes one AccessChange; resolves to the number of subscribers that got it (0 when Redis failed). */
export async function publishAccessChange(target: AccessPublisher, change: AccessChange, prefix?: string): Promise<number> {
  const parsed = AccessChange.parse(change); // a programming error, not user input: throw
  // This process's session cache forgets at once, whatever becomes of the message.
  if ((parsed.kind === 'user-sessions' || parsed.kind === 'user-account') && 'sessions' in target) target.sessions?.forgetUser(parsed.userId);
  const redis = 'redis' in target ? target.redis : target;
  const keyPrefix = prefix ?? ('redis' in target ? target.config?.QUEUE_PREFIX : undefined) ?? QUEUE_PREFIX;
  try {
    return await redis.publish(accessChannel(keyPrefix), JSON.stringify(parsed));
  } catch (err) {
    logger.warn({ err, change: parsed }, 'could not publish an access change; open sockets keep their access until their token expires');
    return 0;
  }
}

/**
 * A publisher for a process without an AppContext (the `pnpm admin` shell, tests that change users
 * behind the app's back): its own Redis connection, closed by `close()`.
 */
export function standalonePublisher(url: string, prefix: string | undefined): { publisher: AccessPublisher; close(): void } {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, connectTimeout: 2_000 });
  redis.on('error', () => {}); // a failed publish is logged by publishAccessChange
  return { publisher: { redis, config: { QUEUE_PREFIX: prefix } }, close: () => redis.disconnect() };
}
