/**
 * Cross-process fan-out through Redis pub/sub (the approach of @hocuspocus/extension-redis: every
 * process that has a document loaded subscribes to that document's channel; Postgres stays the
 * durable log). No cluster protocol of our own: Redis is the only thing the processes share.
 *
 *  - Document updates are published only AFTER they are stored in Postgres (store-before-broadcast
 *    holds across processes: anything a client anywhere can see is in the database).
 *  - A room subscribes BEFORE it reads Postgres and buffers what arrives meanwhile, so an update is
 *    either in what it read or in what it received (Yjs updates are idempotent: both is fine).
 *  - Pub/sub drops messages while a subscriber is disconnected: after every Redis reconnect each
 *    loaded room re-reads Postgres and merges the difference (`onResubscribed`).
 *  - Access changes (shared/collab/access-events.ts) arrive on the same subscriber connection.
 *
 * Frame on the wire (binary): [version=1][kind][16-byte sender id][float64 sent-at ms][payload].
 * A process ignores its own frames (the sender id), and measures fan-out lag from sent-at.
 */
import { randomBytes } from 'node:crypto';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import { accessChannel, parseAccessChange, type AccessChange } from '@clipmaker/shared/collab/access-events';

export type FanoutKind = 'update' | 'awareness';
const KIND_CODE: Record<FanoutKind, number> = { update: 1, awareness: 2 };
const CODE_KIND = new Map<number, FanoutKind>([
  [1, 'update'],
  [2, 'awareness'],
]);
const HEADER = 1 + 1 + 16 + 8;

export type FanoutHandler = (kind: FanoutKind, payload: Uint8Array, lagMs: number) => void;

/** What the engine needs for fan-out; `null` fan-out means a single process. */
export interface Fanout {
  /** Subscribes this room's handler; resolves once Redis confirmed the subscription. */
  join(projectId: string, handler: FanoutHandler): Promise<void>;
  /** Unsubscribes, if `handler` is still the one registered for the project. */
  leave(projectId: string, handler: FanoutHandler): void;
  /** Fire-and-forget publish to the other processes. */
  publish(projectId: string, kind: FanoutKind, payload: Uint8Array): void;
}

export interface RedisFanoutOptions {
  url: string;
  /** Key prefix of the deployment (the app's QUEUE_PREFIX), so several deployments can share a Redis. */
  prefix: string;
  logger: Logger;
  onAccessChange?: (change: AccessChange) => void;
  /** Called after Redis came back: messages may have been missed meanwhile. */
  onResubscribed?: () => void;
  onLag?: (ms: number) => void;
}

export class RedisFanout implements Fanout {
  readonly senderId = randomBytes(16);
  private readonly pub: Redis;
  private readonly sub: Redis;
  private readonly handlers = new Map<string, FanoutHandler>();
  private readonly accessCh: string;
  private everReady = false;
  private closed = false;
  published = 0;
  received = 0;

  constructor(private readonly opts: RedisFanoutOptions) {
    const base: RedisOptions = {
      maxRetriesPerRequest: null,
      retryStrategy: (n) => Math.min(50 * n, 500),
      connectTimeout: 2_000,
    };
    this.pub = new Redis(opts.url, { ...base, enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    this.sub = new Redis(opts.url, { ...base, autoResubscribe: true });
    this.pub.on('error', (err) => opts.logger.debug({ err }, 'fan-out publisher error'));
    this.sub.on('error', (err) => opts.logger.debug({ err }, 'fan-out subscriber error'));
    this.accessCh = accessChannel(opts.prefix);
    this.sub.on('messageBuffer', (channel: Buffer, message: Buffer) => this.onMessage(channel.toString(), message));
    this.sub.on('ready', () => {
      if (this.everReady && !this.closed) {
        opts.logger.warn('fan-out subscriber reconnected; re-reading loaded documents');
        // autoResubscribe re-sends SUBSCRIBE right after 'ready'; give it a moment before re-reading.
        setTimeout(() => opts.onResubscribed?.(), 50).unref();
      }
      this.everReady = true;
    });
  }

  /** Subscribes to the access-change channel; resolves when Redis confirmed it. */
  async start(): Promise<void> {
    await this.sub.subscribe(this.accessCh);
  }

  channel(projectId: string): string {
    return `${this.opts.prefix}:collab:doc:${projectId}`;
  }

  async join(projectId: string, handler: FanoutHandler): Promise<void> {
    this.handlers.set(projectId, handler);
    await this.sub.subscribe(this.channel(projectId));
  }

  leave(projectId: string, handler: FanoutHandler): void {
    if (this.handlers.get(projectId) !== handler) return;
    this.handlers.delete(projectId);
    if (this.closed) return;
    this.sub.unsubscribe(this.channel(projectId)).catch((err: unknown) => this.opts.logger.debug({ err }, 'unsubscribe failed'));
  }

  publish(projectId: string, kind: FanoutKind, payload: Uint8Array): void {
    if (this.closed) return;
    const frame = Buffer.allocUnsafe(HEADER + payload.byteLength);
    frame[0] = 1;
    frame[1] = KIND_CODE[kind];
    this.senderId.copy(frame, 2);
    frame.writeDoubleLE(Date.now(), 18);
    frame.set(payload, HEADER);
    this.published++;
    this.pub.publish(this.channel(projectId), frame).catch((err: unknown) => {
      // The update is stored: other processes get it when they (re)load or resync; their clients
      // also get it from their own sync. Logged, never fatal.
      this.opts.logger.warn({ err, projectId, kind }, 'fan-out publish failed');
    });
  }

  private onMessage(channel: string, message: Buffer): void {
    if (channel === this.accessCh) {
      const change = parseAccessChange(message.toString());
      if (change) this.opts.onAccessChange?.(change);
      else this.opts.logger.warn({ channel }, 'malformed access change ignored');
      return;
    }
    if (message.length < HEADER || message[0] !== 1) return;
    if (message.subarray(2, 18).equals(this.senderId)) return;
    const kind = CODE_KIND.get(message[1]!);
    const prefix = `${this.opts.prefix}:collab:doc:`;
    if (!kind || !channel.startsWith(prefix)) return;
    const handler = this.handlers.get(channel.slice(prefix.length));
    if (!handler) return;
    this.received++;
    const lag = Date.now() - message.readDoubleLE(18);
    this.opts.onLag?.(Math.max(0, lag));
    // Own the bytes (ioredis may reuse nothing, but the payload must outlive this call).
    handler(kind, new Uint8Array(message.subarray(HEADER)), lag);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.handlers.clear();
    this.pub.disconnect();
    this.sub.disconnect();
  }
}
