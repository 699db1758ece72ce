/**
 * Concurrency slots shared by the high, normal and low queues of one worker. bee-queue has no
 * priorities, so the worker consumes one queue per priority; a job taken from any of them waits
 * here for a slot, and a freed slot goes to the highest-priority waiter first (FIFO within one).
 */

export class GateClosedError extends Error {
  override name = 'GateClosedError';
  constructor() {
    super('worker is stopping: the job was not started');
  }
}

interface Waiter {
  resolve: (release: () => void) => void;
  reject: (err: Error) => void;
}

export class PriorityGate<P extends string> {
  private free: number;
  private readonly waiting: Map<P, Waiter[]>;
  private closed = false;

  /** `priorities` best first. */
  constructor(
    slots: number,
    private readonly priorities: readonly P[],
  ) {
    if (!Number.isInteger(slots) || slots < 1) throw new Error('a gate needs at least one slot');
    this.free = slots;
    this.waiting = new Map(priorities.map((p) => [p, []]));
  }

  private activeCount = 0;

  get running(): number {
    return this.activeCount;
  }

  get queued(): number {
    let n = 0;
    for (const list of this.waiting.values()) n += list.length;
    return n;
  }

  /** Resolves with a release function once a slot is free; rejects with GateClosedError after close(). */
  acquire(priority: P): Promise<() => void> {
    if (this.closed) return Promise.reject(new GateClosedError());
    const list = this.waiting.get(priority);
    if (!list) return Promise.reject(new Error(`unknown priority ${priority}`));
    return new Promise((resolve, reject) => {
      list.push({ resolve, reject });
      this.dispatch();
    });
  }

  /** Refuses new and waiting acquisitions; running holders keep their slots until they release. */
  close(): void {
    this.closed = true;
    for (const list of this.waiting.values()) for (const w of list.splice(0)) w.reject(new GateClosedError());
  }

  private dispatch(): void {
    while (this.free > 0) {
      const next = this.priorities.map((p) => this.waiting.get(p)!).find((l) => l.length > 0)?.shift();
      if (!next) return;
      this.free -= 1;
      this.activeCount += 1;
      let released = false;
      next.resolve(() => {
        if (released) return;
        released = true;
        this.free += 1;
        this.activeCount -= 1;
        this.dispatch();
      });
    }
  }
}
