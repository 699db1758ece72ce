/**
 * The render queue producer (bee-queue over Redis). bee-queue has no priorities, so there is one queue
 * per priority; workers poll them in order. Job events from every worker arrive through bee-queue's
 * pub/sub (getEvents) and are handed to the render service, which persists them and fans them out.
 */
import BeeQueue from 'bee-queue';
import type { z } from 'zod';
import { cancelChannel, cancelledKey, RENDER_QUEUES, QUEUE_PREFIX, RenderJobData, RenderProgress, RenderResult, type RenderPriority } from '@clipmaker/shared/jobs';

/** The node-redis v3 calls cancel() makes on bee-queue's client. */
interface RedisV3 {
  set(key: string, value: string, ex: 'EX', seconds: number, cb: (err: Error | null) => void): unknown;
  publish(channel: string, message: string, cb: (err: Error | null) => void): unknown;
  lrem(key: string, count: number, value: string, cb: (err: Error | null, removed: number) => void): unknown;
}
const call = <T>(fn: (cb: (err: Error | null, v: T) => void) => unknown) => new Promise<T>((resolve, reject) => fn((err, v) => (err ? reject(err) : resolve(v))));

export interface QueueEvents {
  onProgress(p: RenderProgress): void;
  onSucceeded(r: RenderResult): void;
  onFailed(renderId: string, message: string): void;
  onRetrying(renderId: string, message: string): void;
}

export class RenderQueueProducer {
  private readonly queues = new Map<RenderPriority, BeeQueue<RenderJobData>>();

  constructor(redisUrl: string, private readonly prefix = QUEUE_PREFIX, private readonly events?: QueueEvents) {
    for (const [priority, name] of Object.entries(RENDER_QUEUES) as [RenderPriority, string][]) {
      const q = new BeeQueue<RenderJobData>(name, {
        prefix,
        redis: { url: redisUrl },
        isWorker: false,
        getEvents: true,
        sendEvents: false,
        removeOnSuccess: false,
        removeOnFailure: false,
      });
      q.on('error', () => {}); // connection errors surface through health checks; never crash the app
      q.on('job progress', (_jobId, progress) => {
        const p = RenderProgress.safeParse(progress);
        if (p.success) this.events?.onProgress(p.data);
      });
      q.on('job succeeded', (_jobId, result) => {
        const r = RenderResult.safeParse(result);
        if (r.success) this.events?.onSucceeded(r.data);
      });
      q.on('job failed', (jobId, err) => this.events?.onFailed(jobId, errorMessage(err)));
      q.on('job retrying', (jobId, err) => this.events?.onRetrying(jobId, errorMessage(err)));
      this.queues.set(priority, q);
    }
  }

  async ready(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.ready()));
  }

  /** Job id = render id, so a repeated submit cannot create a second job. */
  async enqueue(data: z.input<typeof RenderJobData>, priority: RenderPriority = 'normal'): Promise<void> {
    const q = this.queues.get(priority)!;
    await q
      .createJob(RenderJobData.parse(data))
      .setId(data.renderId)
      .retries(3)
      .backoff('exponential', 2000)
      .timeout(60 * 60 * 1000)
      .save();
  }

  async jobState(renderId: string): Promise<{ priority: RenderPriority; status: string } | null> {
    for (const [priority, q] of this.queues) {
      const job = await q.getJob(renderId);
      if (job) return { priority, status: job.status };
    }
    return null;
  }

  /**
   * Cancel on the farm side: a flag (so chunk jobs not yet started are skipped), a pub/sub message
   * (the worker running it aborts ffmpeg at once), and a waiting job leaves its queue. A job that is
   * already running is not removed here: its worker fails it with CANCELLED_MESSAGE.
   */
  async cancel(renderId: string): Promise<void> {
    const client = (this.queues.get('normal') as unknown as { client: RedisV3 }).client;
    await call<void>((cb) => client.set(cancelledKey(this.prefix, renderId), '1', 'EX', 7 * 86_400, cb));
    await call<void>((cb) => client.publish(cancelChannel(this.prefix), renderId, cb));
    for (const q of this.queues.values()) {
      const waiting = (q as unknown as { toKey(k: string): string }).toKey('waiting');
      const removed = await call<number>((cb) => client.lrem(waiting, 0, renderId, cb));
      if (removed > 0) await q.removeJob(renderId).catch(() => {});
    }
  }

  async remove(renderId: string): Promise<void> {
    for (const q of this.queues.values()) await q.removeJob(renderId).catch(() => {});
  }

  async ping(): Promise<boolean> {
    try {
      const q = this.queues.get('normal')!;
      await q.checkHealth();
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close(3000).catch(() => {})));
  }
}

function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : 'unknown error';
}
