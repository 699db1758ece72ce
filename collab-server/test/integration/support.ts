/** Shared helpers for the collab-server integration tests (real Postgres, real y-websocket clients). */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import WebSocket from 'ws';
import * as Y from 'yjs';
import { WebsocketProvider } from 'y-websocket';
import { roomForProject, signCollabToken, type CollabRole } from '@clipmaker/shared/collab';
import type { Db } from '@clipmaker/db';
import { orgs, projects } from '@clipmaker/db/schema';
import { loadDocumentState } from '@clipmaker/db/documents';

export const SECRET = 'collab-integration-test-secret-0123456789';

// Every WebsocketProvider adds a process 'exit' listener.
process.setMaxListeners(200);

export async function newProject(db: Db): Promise<string> {
  const [org] = await db.insert(orgs).values({ name: 'Acme' }).returning();
  const [project] = await db.insert(projects).values({ orgId: org!.id, name: 'P' }).returning();
  return project!.id;
}

export function token(
  projectId: string,
  role: CollabRole,
  opts: { sub?: string; name?: string; exp?: number; secret?: string } = {},
): Promise<string> {
  return signCollabToken(
    {
      sub: opts.sub ?? `00000000-0000-4000-8000-${String(Math.floor(Math.random() * 1e12)).padStart(12, '0')}`,
      name: opts.name ?? role,
      projectId,
      role,
      exp: opts.exp ?? Math.floor(Date.now() / 1000) + 300,
    },
    opts.secret ?? SECRET,
  );
}

/** A JSON log sink the tests can inspect. */
export function captureLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

export interface Client {
  doc: Y.Doc;
  provider: WebsocketProvider;
  /** Items of the shared array 't'. */
  items(): string[];
  push(...items: string[]): void;
  destroy(): void;
}

export function connectClient(url: string, projectId: string, tok: string, opts: { maxBackoffTime?: number } = {}): Client {
  const doc = new Y.Doc();
  const provider = new WebsocketProvider(url, roomForProject(projectId), doc, {
    params: { token: tok },
    WebSocketPolyfill: WebSocket as never,
    disableBc: true,
    maxBackoffTime: opts.maxBackoffTime ?? 500,
  });
  return {
    doc,
    provider,
    items: () => doc.getArray<string>('t').toArray(),
    push: (...items) => doc.getArray<string>('t').push(items),
    destroy: () => {
      provider.destroy();
      doc.destroy();
    },
  };
}

export function synced(c: Client, timeoutMs = 10_000): Promise<void> {
  if (c.provider.synced) return Promise.resolve();
  return waitFor(() => c.provider.synced, timeoutMs, 'client sync');
}

export async function waitFor(cond: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The saved document's array 't' (sorted). */
export async function savedItems(db: Db, projectId: string): Promise<string[]> {
  const { state } = await loadDocumentState(db, projectId);
  const d = new Y.Doc();
  Y.applyUpdate(d, state);
  const out = d.getArray<string>('t').toArray().sort();
  d.destroy();
  return out;
}

export const sorted = (xs: string[]) => [...xs].sort();

/** A raw `ws` socket to a room, for frames a real client never sends. */
export function rawSocket(url: string, projectId: string, tok: string | null, room = roomForProject(projectId)): WebSocket {
  return new WebSocket(`${url}/${room}${tok === null ? '' : `?token=${encodeURIComponent(tok)}`}`);
}

export function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

export function closed(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

/** Resolves with the HTTP status of a refused upgrade (rejects if the upgrade succeeds). */
export function refusedStatus(ws: WebSocket): Promise<number> {
  return new Promise((resolve, reject) => {
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
      ws.terminate();
    });
    ws.once('open', () => reject(new Error('upgrade was accepted')));
    ws.once('error', () => {});
  });
}
