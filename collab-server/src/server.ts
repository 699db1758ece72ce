/**
 * The network binding: HTTP upgrade -> token check -> `ws` socket -> engine connection.
 *
 * Standalone it owns an http.Server with GET /health and GET /metrics. Embedded (`server` given) it
 * only listens to that server's 'upgrade' events for its own paths and leaves everything else alone.
 *
 * The y-websocket client connects to `${url}/${roomname}?token=...`, roomname = roomForProject(id).
 * A missing, malformed, forged or expired token is answered 401, a valid token for another room 403,
 * both before the upgrade (no WebSocket is ever opened).
 */
import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { pino, type Logger } from 'pino';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { Registry } from 'prom-client';
import { COLLAB_TOKEN_TTL_SECONDS, roomForProject, verifyCollabToken, type CollabRole } from '@clipmaker/shared/collab';
import type { DbHandle } from '@clipmaker/db';
import { CLOSE_CODES, CollabEngine, type CollabConnection, type CollabEngineOptions, type ConnectionInfo, type Transport } from './engine.ts';
import { createCollabMetrics } from './metrics.ts';
import { RedisFanout } from './fanout.ts';
import { lowerRole } from '@clipmaker/shared/collab/access-message';
import { applyAccessChange, dbRoleResolver, type RoleResolver } from './access.ts';

export interface CollabServerOptions extends Omit<CollabEngineOptions, 'db' | 'logger'> {
  db: DbHandle;
  /** HMAC secret shared with the app (at least 16 characters). */
  secret: string;
  /** Standalone only. 0 picks a free port. Default 1234. */
  port?: number;
  /** Standalone only. Default 127.0.0.1. */
  host?: string;
  logger?: Logger;
  /** Embed: handle WebSocket upgrades of this existing server instead of listening. */
  server?: http.Server;
  /** Path prefix of the rooms, e.g. '/collab' when embedded. Default ''. */
  pathPrefix?: string;
  /** Ping every open socket this often; one without a pong by the next round is dropped. Default 30 s. */
  pingIntervalMs?: number;
  /**
   * Redis for cross-process fan-out and access changes: any number of processes serve the same
   * documents. Absent: this process alone (no access-change subscription either).
   */
  redis?: { url: string; prefix: string } | null;
  /** How live revocation reads a user's current role (default: org membership in the database). */
  roleResolver?: RoleResolver;
  /** Standalone: GET /metrics needs `Authorization: Bearer <token>` when set (as the app's METRICS_TOKEN). */
  metricsToken?: string;
}

export interface CollabServer {
  /** The port actually listened on (the embedding server's port when embedded). */
  port: number;
  engine: CollabEngine;
  metrics: Registry;
  /** Stops accepting, closes sockets (1001), stores everything received, compacts. Leaves the db open. */
  close(): Promise<void>;
}

const ROOM_RE = /^project:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A client this far behind on reading is disconnected (it resyncs on reconnect). */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

type Authorization = { ok: true; info: ConnectionInfo } | { ok: false; status: number; error: string };

function refuseUpgrade(socket: Duplex, status: number, error: string): void {
  if (socket.destroyed) return;
  const body = JSON.stringify({ error });
  socket.once('finish', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status] ?? ''}\r\n` +
      'Connection: close\r\nContent-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/**
 * One open socket: the engine's transport, and the state the socket's listeners need. Listeners are
 * shared functions (`this` is the socket) and methods live on the prototype, so an open idle
 * connection costs this object, not a set of closures and their contexts.
 */
class SocketTransport implements Transport {
  conn: CollabConnection | null = null;
  /** Answered the last ping. */
  alive = true;

  constructor(
    readonly ws: WebSocket,
    private readonly onSent: (err?: Error) => void,
  ) {}

  send(frame: Uint8Array): void {
    const ws = this.ws;
    if (ws.readyState !== ws.OPEN) return;
    if (ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.conn?.log.warn({ buffered: ws.bufferedAmount }, 'client reads too slowly; disconnecting');
      ws.close(CLOSE_CODES.tryAgainLater, 'reading too slowly');
      return;
    }
    ws.send(frame, this.onSent);
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
    // A client that never answers the closing handshake is cut off.
    setTimeout(terminate, 5_000, this.ws).unref();
  }
}

function terminate(ws: WebSocket): void {
  ws.terminate();
}

function toBytes(data: RawData): Uint8Array {
  if (Array.isArray(data)) return new Uint8Array(Buffer.concat(data));
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

export async function startCollabServer(opts: CollabServerOptions): Promise<CollabServer> {
  if (opts.secret.length < 16) throw new Error('the collab secret must be at least 16 characters');
  const log = opts.logger ?? pino({ name: 'collab-server', level: process.env.LOG_LEVEL ?? 'info' });
  const prefix = (opts.pathPrefix ?? '').replace(/\/+$/, '');
  const embedded = opts.server !== undefined;
  /**
   * Users whose access changed within a token lifetime: a token minted before the change still
   * carries the old role, so their upgrades are re-checked against the database (and, after
   * user-sessions, refused) until every such token has expired. Every process gets the message.
   */
  const changedAccess = new Map<string, { at: number; signedOut: boolean }>();
  function noteChanged(userId: string, signedOut: boolean): void {
    const now = Date.now();
    const prev = changedAccess.get(userId);
    changedAccess.set(userId, { at: now, signedOut: signedOut || (prev?.signedOut === true && now - prev.at < COLLAB_TOKEN_TTL_SECONDS * 1000) });
    for (const [k, v] of changedAccess) if (now - v.at > COLLAB_TOKEN_TTL_SECONDS * 1000 + 60_000) changedAccess.delete(k);
  }
  let onLag: ((ms: number) => void) | undefined;
  let engineRef: CollabEngine | null = null;
  const resolveRole = opts.roleResolver ?? dbRoleResolver(opts.db.db);
  const fanout = opts.redis
    ? new RedisFanout({
        url: opts.redis.url,
        prefix: opts.redis.prefix,
        logger: log,
        onLag: (ms) => onLag?.(ms),
        onResubscribed: () => void engineRef?.resyncAll(),
        onAccessChange: (change) => {
          if (change.kind === 'user-account') return; // the app's session caches only: no document access changed
          // A closed project is noted under its own key: tokens minted before it are re-checked too.
          if (change.kind === 'project-closed') noteChanged(`project:${change.projectId}`, false);
          else noteChanged(change.userId, change.kind === 'user-sessions');
          if (engineRef) applyAccessChange(engineRef, resolveRole, change, log).catch((err: unknown) => log.error({ err }, 'access change failed'));
        },
      })
    : null;
  if (fanout) await fanout.start();
  const engine = new CollabEngine({ ...opts, logger: log, fanout });
  engineRef = engine;
  const metrics = createCollabMetrics(engine, { defaultMetrics: !embedded });
  onLag = metrics.observeFanoutLag;
  const maxMessageBytes = engine.maxMessageBytes;
  // Hard cap on what `ws` buffers; frames between maxMessageBytes and this are closed by the engine
  // with 4413 (permanent), bigger ones by `ws` with 1009.
  const wss = new WebSocketServer({ noServer: true, maxPayload: maxMessageBytes * 2 + 1024, perMessageDeflate: false });
  const sockets = new Map<WebSocket, SocketTransport>();
  const onSent = (err?: Error) => {
    if (err) log.debug({ err }, 'send failed');
  };
  let closing: Promise<void> | null = null;

  /** The project room named by the path, or null when the path is not one of ours. */
  function roomOf(url: URL): string | null {
    if (!url.pathname.startsWith(`${prefix}/`)) return null;
    let room: string;
    try {
      room = decodeURIComponent(url.pathname.slice(prefix.length + 1));
    } catch {
      return null;
    }
    return ROOM_RE.test(room) ? room : null;
  }

  async function authorize(url: URL, room: string): Promise<Authorization> {
    if (closing) return { ok: false, status: 503, error: 'shutting down' };
    const token = url.searchParams.get('token');
    if (!token) return { ok: false, status: 401, error: 'missing token' };
    const verified = await verifyCollabToken(token, opts.secret);
    if (!verified.ok) return { ok: false, status: 401, error: `invalid token (${verified.reason})` };
    const p = verified.payload;
    if (roomForProject(p.projectId) !== room) return { ok: false, status: 403, error: 'token is for another room' };
    let role: CollabRole = p.role;
    // Minted (exp - TTL) before a change of this user's access or of the project: the role in it may be stale.
    const predates = (c: { at: number } | undefined) => c !== undefined && (p.exp - COLLAB_TOKEN_TTL_SECONDS) * 1000 <= c.at + 1_000;
    const changed = changedAccess.get(p.sub);
    if (predates(changed) || predates(changedAccess.get(`project:${p.projectId}`))) {
      if (predates(changed) && changed!.signedOut) return { ok: false, status: 401, error: 'token predates a sign-out' };
      const current = await resolveRole(p.sub, p.projectId);
      if (current === null) return { ok: false, status: 403, error: 'no longer a member' };
      role = lowerRole(current, role);
    }
    return { ok: true, info: { projectId: p.projectId, userId: p.sub, userName: p.name, role, exp: p.exp } };
  }

  function onMessage(this: WebSocket, data: RawData, isBinary: boolean): void {
    sockets.get(this)?.conn?.receive(isBinary ? toBytes(data) : toBytes(data).toString());
  }
  function onPong(this: WebSocket): void {
    const t = sockets.get(this);
    if (t) t.alive = true;
  }
  function onError(this: WebSocket, err: Error & { code?: string }): void {
    const conn = sockets.get(this)?.conn;
    if (!conn) return;
    if (err.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      conn.log.warn({ reason: 'too-large' }, 'frame over the hard size cap; ws closed the connection (1009)');
      engine.hooks.emit('messageRejected', { projectId: conn.info.projectId, userId: conn.info.userId, reason: 'too-large', bytes: maxMessageBytes * 2 });
    } else {
      conn.log.debug({ err }, 'socket error');
    }
  }
  function onClose(this: WebSocket): void {
    const t = sockets.get(this);
    sockets.delete(this);
    t?.conn?.disconnect();
  }

  function attach(ws: WebSocket, info: ConnectionInfo): void {
    const transport = new SocketTransport(ws, onSent);
    sockets.set(ws, transport);
    transport.conn = engine.connect(info, transport);
    ws.on('message', onMessage);
    ws.on('pong', onPong);
    ws.on('error', onError);
    ws.on('close', onClose);
  }

  const onUpgradeSocketError = (err: Error) => log.debug({ err }, 'upgrade socket error');
  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      if (!embedded) refuseUpgrade(socket, 400, 'bad url');
      return;
    }
    const room = roomOf(url);
    if (room === null) {
      // Embedded: another handler's socket (e.g. the dev server's HMR), not ours to answer.
      if (!embedded) refuseUpgrade(socket, 404, 'unknown room');
      return;
    }
    // A shared listener: a closure here would keep this request (headers, URL, token) alive with the socket.
    socket.on('error', onUpgradeSocketError);
    authorize(url, room).then(
      (auth) => {
        if (socket.destroyed) return;
        if (!auth.ok) {
          log.info({ status: auth.status, error: auth.error, path: url.pathname }, 'upgrade refused');
          refuseUpgrade(socket, auth.status, auth.error);
          return;
        }
        wss.handleUpgrade(req, socket, head, (ws) => attach(ws, auth.info));
      },
      (err: unknown) => {
        log.error({ err }, 'upgrade failed');
        refuseUpgrade(socket, 500, 'internal error');
      },
    );
  };

  const pingTimer = setInterval(() => {
    for (const [ws, t] of sockets) {
      if (!t.alive) {
        ws.terminate();
        continue;
      }
      t.alive = false;
      ws.ping();
    }
  }, opts.pingIntervalMs ?? 30_000);
  pingTimer.unref();

  function metricsAuthorized(header: string | undefined): boolean {
    if (!opts.metricsToken) return true;
    const a = Buffer.from(`Bearer ${opts.metricsToken}`);
    const b = Buffer.from(header ?? '');
    return a.length === b.length && timingSafeEqual(a, b);
  }

  async function health(res: http.ServerResponse): Promise<void> {
    const db = await opts.db.ping();
    const ok = db && !closing;
    res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify({ ok, db, closing: closing !== null, ...engine.stats(), uptimeSeconds: Math.round(process.uptime()) }));
  }

  const server =
    opts.server ??
    http.createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method === 'GET' && path === '/health') {
        health(res).catch((err: unknown) => {
          log.error({ err }, 'health failed');
          if (!res.headersSent) res.writeHead(500);
          res.end();
        });
      } else if (req.method === 'GET' && path === '/metrics') {
        if (!metricsAuthorized(req.headers.authorization)) {
          res.writeHead(401, { 'content-type': 'text/plain' });
          res.end('unauthorized\n');
          return;
        }
        metrics.registry.metrics().then(
          (text) => {
            res.writeHead(200, { 'content-type': metrics.registry.contentType });
            res.end(text);
          },
          (err: unknown) => {
            log.error({ err }, 'metrics failed');
            res.writeHead(500);
            res.end();
          },
        );
      } else {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'not found' }));
      }
    });
  server.on('upgrade', onUpgrade);

  if (!embedded) {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port ?? 1234, opts.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  }
  const address = server.address() as AddressInfo | null;
  const port = address?.port ?? 0;
  log.info({ port, embedded, prefix }, 'collab server ready');

  return {
    port,
    engine,
    metrics: metrics.registry,
    close() {
      closing ??= (async () => {
        server.off('upgrade', onUpgrade);
        clearInterval(pingTimer);
        // Closes every connection (1001), then stores and applies everything received, compacts.
        await engine.close();
        const grace = Date.now() + 1_000;
        while (sockets.size > 0 && Date.now() < grace) await new Promise((r) => setTimeout(r, 20));
        for (const ws of sockets.keys()) ws.terminate();
        wss.close();
        await fanout?.close();
        metrics.dispose();
        if (!embedded) {
          await new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeAllConnections();
          });
        }
        log.info('collab server closed');
      })();
      return closing;
    },
  };
}
