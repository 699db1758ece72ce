/**
 * The app's side of the access-change channel (shared/collab/access-events.ts): one Redis subscriber
 * per AppContext, fanned out in-process to the open live feeds (a member's review page). As on the
 * collab server, a message is only a hint: each feed re-checks its user's role in Postgres; a timer
 * re-checks too, so a lost message (Redis down) costs at most RECHECK_MS of stale access.
 */
import type { Redis } from 'ioredis';
import { QUEUE_PREFIX } from '@clipmaker/shared/jobs';
import { accessChannel, parseAccessChange, type AccessChange } from '@clipmaker/shared/collab/access-events';
import type { AppContext } from './context.ts';
import { logger } from './logger.ts';

export const RECHECK_MS = 30_000;

type Listener = (change: AccessChange) => void;

class AccessWatch {
  private sub: Redis | null = null;
  private started: Promise<void> | null = null;
  readonly listeners = new Set<Listener>();

  constructor(
    private readonly redis: Redis,
    private readonly channel: string,
  ) {}

  /** Resolves once subscribed (or failed: then only the timer re-checks). */
  start(): Promise<void> {
    this.started ??= (async () => {
      const sub = this.redis.duplicate({ enableOfflineQueue: true, maxRetriesPerRequest: null, commandTimeout: undefined });
      sub.on('error', () => {}); // reconnects and re-subscribes on its own
      sub.on('message', (channel: string, message: string) => {
        if (channel !== this.channel) return;
        const change = parseAccessChange(message);
        if (change) for (const l of this.listeners) l(change);
      });
      this.sub = sub;
      await sub.subscribe(this.channel).catch((err: unknown) => logger.warn({ err }, 'access-change subscriber not ready; live feeds fall back to periodic re-checks'));
    })();
    return this.started;
  }

  close(): void {
    this.sub?.disconnect();
    this.sub = null;
    this.started = null;
  }
}

const watches = new WeakMap<AppContext, AccessWatch>();

function watchOf(ctx: AppContext): AccessWatch {
  let w = watches.get(ctx);
  if (!w) watches.set(ctx, (w = new AccessWatch(ctx.redis, accessChannel(ctx.config.QUEUE_PREFIX ?? QUEUE_PREFIX))));
  return w;
}

/** Calls `listener` with every access change for as long as the context lives; resolves once subscribed (or failed). */
export function onAccessChange(ctx: AppContext, listener: Listener): Promise<void> {
  const w = watchOf(ctx);
  w.listeners.add(listener);
  return w.start();
}

/**
 * The context's session cache (auth/session-cache.ts) forgets a user whose sessions or flags another
 * process changed, when the message arrives; resolves once subscribed.
 */
export function forgetSessionsOnAccessChange(ctx: AppContext): Promise<void> {
  return onAccessChange(ctx, (c) => {
    if (c.kind === 'user-sessions' || c.kind === 'user-account') ctx.sessions?.forgetUser(c.userId);
  });
}

/** Stops the context's subscriber (shutdown). */
export function closeAccessWatch(ctx: AppContext): void {
  watches.get(ctx)?.close();
  watches.delete(ctx);
}

/**
 * Ticks whenever an access change that `concerns` passes arrives, and every RECHECK_MS, until
 * `signal` aborts or the caller stops iterating. Listening starts before this resolves, so nothing
 * published after the caller's first check is missed.
 */
export async function accessTicks(ctx: AppContext, concerns: (c: AccessChange) => boolean, signal?: AbortSignal): Promise<AsyncGenerator<void, void, void>> {
  const w = watchOf(ctx);
  let pending = 0;
  let wake: (() => void) | null = null;
  const poke = () => {
    pending += 1;
    wake?.();
  };
  const listener: Listener = (c) => {
    if (concerns(c)) poke();
  };
  w.listeners.add(listener);
  const timer = setInterval(poke, RECHECK_MS);
  const stop = () => {
    clearInterval(timer);
    w.listeners.delete(listener);
    wake?.();
  };
  signal?.addEventListener('abort', stop, { once: true });
  await w.start();
  return (async function* () {
    try {
      while (!signal?.aborted) {
        if (pending === 0) await new Promise<void>((r) => (wake = r));
        wake = null;
        if (signal?.aborted) return;
        if (pending > 0) {
          pending = 0;
          yield;
        }
      }
    } finally {
      stop();
    }
  })();
}
