/**
 * A short-lived, per-process cache of session rows (with their user) so that a burst of requests on
 * one session costs one database read per SESSION_CACHE_MS instead of one per request
 * (docs/BENCHMARKS.md, issue 24). What is cached is the row as the database had it: every request
 * still compares its secret's hash to the row's in constant time and checks the expiry
 * (auth/session.ts validateSessionToken); only the lookup is skipped.
 *
 * Staleness is bounded and, for what matters, zero:
 *  - a session ended or a user's flags changed by THIS process: `forgetUser` runs before the change
 *    is announced (access-events.ts publishAccessChange), so the next request reads the database;
 *  - by ANOTHER process (another app replica, the admin shell): the `user-sessions` / `user-account`
 *    message on the access-change channel (shared/collab/access-events.ts) makes every app process
 *    forget that user's sessions when it arrives (access-watch.ts);
 *  - a read that started before a forget never fills the cache afterwards (the generation check), so
 *    a request racing a log-out cannot re-cache the deleted row;
 *  - anything else (a lost Redis message, a hand edit in SQL) is seen within SESSION_CACHE_MS.
 */
import type { PublicUser } from '../repositories/accounts.ts';
import type { SessionRow } from '../repositories/sessions.ts';

/** How long a cached row is used before the database is asked again. */
export const SESSION_CACHE_MS = 2_000;
/** Entries kept at most (the oldest go first); users with a recent change remembered at most. */
const MAX_ENTRIES = 10_000;

export interface CachedSession {
  session: SessionRow;
  user: PublicUser;
}

export class SessionCache {
  private readonly entries = new Map<string, CachedSession & { until: number }>();
  /** userId -> the generation of the last forget for that user. */
  private readonly forgotten = new Map<string, number>();
  /** Reads older than this are never cached (set when `forgotten` is cleared to keep it bounded). */
  private floor = 0;
  private gen = 0;

  constructor(private readonly ttlMs = SESSION_CACHE_MS) {}

  /** Take this before reading the database; pass it to `fill`. */
  generation(): number {
    return this.gen;
  }

  get(sessionId: string, now: number): CachedSession | null {
    const e = this.entries.get(sessionId);
    if (!e) return null;
    if (e.until > now) return e;
    this.entries.delete(sessionId);
    return null;
  }

  /** Caches a row read at generation `readAt`, unless its user was forgotten since. */
  fill(sessionId: string, value: CachedSession, readAt: number, now: number): void {
    if (readAt < this.floor || (this.forgotten.get(value.user.id) ?? -1) > readAt) return;
    if (this.entries.size >= MAX_ENTRIES) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(sessionId, { ...value, until: now + this.ttlMs });
  }

  /** Every cached session of the user, and any read of them in flight. */
  forgetUser(userId: string): void {
    this.gen += 1;
    if (this.forgotten.size >= MAX_ENTRIES) {
      // Forgetting everyone is always safe; it keeps this map bounded.
      this.forgotten.clear();
      this.entries.clear();
      this.floor = this.gen;
    }
    this.forgotten.set(userId, this.gen);
    for (const [id, e] of this.entries) if (e.user.id === userId) this.entries.delete(id);
  }
}
