/**
 * Throttles, shared by every app process: counters in Redis through rate-limiter-flexible (fixed
 * windows, one atomic Lua INCR+EXPIRE per attempt), so N replicas do not give an attacker N budgets
 * and a restart forgets nothing. While Redis is unreachable each process falls back to an in-memory
 * limiter with the same rule (insurance): never fail open, never lock everyone out.
 *
 * Use (everything goes through `ctx.throttles`):
 *
 *   await ctx.throttles.hit('login', email, clientAddress(event));   // throws ServiceError('rate-limited')
 *   await ctx.throttles.reset('login', email, clientAddress(event)); // e.g. after a correct password
 *
 * A rule counts attempts per key (the parts after the name, joined and hashed, so no email is stored
 * in Redis in clear). To throttle something new, add a rule to THROTTLE_RULES: its budget, window and
 * the message the user sees. Client addresses come from `clientAddress()` (http.ts), which honours the
 * trusted-proxy setting (ADDRESS_HEADER / XFF_DEPTH), so one proxy's address cannot lock everyone out.
 *
 * Redis keys: `${QUEUE_PREFIX}:throttle:<rule>:<sha256(key parts)>`, expiring with their window.
 */
import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from 'rate-limiter-flexible';
import { ServiceError } from './services/errors.ts';

export interface ThrottleRule {
  /** Attempts allowed per window and key. */
  points: number;
  windowSeconds: number;
  /** Shown to the user when the budget is spent. */
  message: string;
}

export const THROTTLE_RULES = {
  /** Per (email, client address): a password-guessing budget that never locks out other users. */
  login: { points: 10, windowSeconds: 15 * 60, message: 'Too many log-in attempts. Try again later.' },
  /** Per client address. */
  signup: { points: 10, windowSeconds: 60 * 60, message: 'Too many sign-ups from your network. Try again later.' },
  /** Per (share link, client address). */
  sharePassword: { points: 10, windowSeconds: 15 * 60, message: 'Too many attempts. Try again later.' },
  /** Approval codes mailed, per (share link, email) and per (share link, client address). */
  reviewCode: { points: 5, windowSeconds: 60 * 60, message: 'Too many codes asked for. Try again in an hour.' },
  /** Per user. */
  upload: { points: 200, windowSeconds: 60 * 60, message: 'Too many uploads. Try again later.' },
  /** Per author (user id, or share link + client address for guests). */
  comment: { points: 30, windowSeconds: 60, message: 'You are commenting too fast. Wait a moment.' },
} as const satisfies Record<string, ThrottleRule>;

export type ThrottleName = keyof typeof THROTTLE_RULES;

function keyOf(parts: readonly string[]): string {
  return createHash('sha256').update(parts.map((p) => p.trim().toLowerCase()).join('\u0000')).digest('base64url');
}

export class Throttles {
  private readonly limiters = new Map<ThrottleName, RateLimiterRedis>();

  constructor(
    redis: Redis,
    prefix: string,
    private readonly rules: Record<ThrottleName, ThrottleRule> = THROTTLE_RULES,
  ) {
    for (const name of Object.keys(rules) as ThrottleName[]) {
      const { points, windowSeconds } = rules[name];
      this.limiters.set(
        name,
        new RateLimiterRedis({
          storeClient: redis,
          keyPrefix: `${prefix}:throttle:${name}`,
          points,
          duration: windowSeconds,
          rejectIfRedisNotReady: true,
          insuranceLimiter: new RateLimiterMemory({ points, duration: windowSeconds }),
        }),
      );
    }
  }

  /** Counts one attempt; throws ServiceError('rate-limited', rule message, { retryAfterSeconds }) when spent. */
  async hit(name: ThrottleName, ...keyParts: string[]): Promise<void> {
    try {
      await this.limiters.get(name)!.consume(keyOf(keyParts));
    } catch (res) {
      if (res instanceof RateLimiterRes) {
        throw new ServiceError('rate-limited', this.rules[name].message, { retryAfterSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)) });
      }
      throw res;
    }
  }

  /** Attempts left in the current window (for tests and admin views). */
  async remaining(name: ThrottleName, ...keyParts: string[]): Promise<number> {
    const res = await this.limiters.get(name)!.get(keyOf(keyParts));
    return res ? Math.max(0, this.rules[name].points - res.consumedPoints) : this.rules[name].points;
  }

  /** Forgets the key's attempts (after a successful log-in). */
  async reset(name: ThrottleName, ...keyParts: string[]): Promise<void> {
    await this.limiters.get(name)!.delete(keyOf(keyParts));
  }
}
