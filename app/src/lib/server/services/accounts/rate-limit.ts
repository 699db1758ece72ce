/**
 * In-memory log-in throttle per (email, IP): at most `maxAttempts` attempts per window, counted from the
 * first attempt; a successful log-in clears the key. One process only: with several app processes
 * each keeps its own counts (move to Redis then).
 */

export interface RateLimitDecision {
  allowed: boolean;
  /** Attempts left in this window after this one. */
  remaining: number;
  /** 0 when allowed; otherwise how long until the window resets. */
  retryAfterMs: number;
}

export interface LoginRateLimiterOptions {
  maxAttempts?: number;
  windowMs?: number;
  /** Injectable clock (ms since epoch). */
  now?: () => number;
  /** Bound on tracked keys; the oldest windows are dropped first when exceeded. */
  maxKeys?: number;
}

interface Window {
  startedAt: number;
  attempts: number;
}

export class LoginRateLimiter {
  readonly maxAttempts: number;
  readonly windowMs: number;
  private readonly now: () => number;
  private readonly maxKeys: number;
  /** Insertion order = window start order, which lets pruning stop at the first live window. */
  private readonly windows = new Map<string, Window>();

  constructor(opts: LoginRateLimiterOptions = {}) {
    this.maxAttempts = opts.maxAttempts ?? 10;
    this.windowMs = opts.windowMs ?? 15 * 60 * 1000;
    this.now = opts.now ?? Date.now;
    this.maxKeys = opts.maxKeys ?? 100_000;
  }

  static key(email: string, ip: string): string {
    return `${email.trim().toLowerCase()}\u0000${ip}`;
  }

  /** Counts one attempt and says whether it may proceed. */
  hit(key: string): RateLimitDecision {
    const now = this.now();
    this.prune(now);
    let w = this.windows.get(key);
    if (!w) {
      w = { startedAt: now, attempts: 0 };
      this.windows.set(key, w);
      while (this.windows.size > this.maxKeys) this.windows.delete(this.windows.keys().next().value!);
    }
    if (w.attempts >= this.maxAttempts) {
      return { allowed: false, remaining: 0, retryAfterMs: w.startedAt + this.windowMs - now };
    }
    w.attempts += 1;
    return { allowed: true, remaining: this.maxAttempts - w.attempts, retryAfterMs: 0 };
  }

  /** After a successful log-in. */
  reset(key: string): void {
    this.windows.delete(key);
  }

  get size(): number {
    return this.windows.size;
  }

  private prune(now: number): void {
    for (const [key, w] of this.windows) {
      if (now - w.startedAt < this.windowMs) break;
      this.windows.delete(key);
    }
  }
}
