/**
 * Three collab-server processes behind a plain round-robin TCP balancer (no stickiness), sharing
 * Postgres and Redis; 30 real y-websocket clients (BroadcastChannel off) spread over them.
 * Concurrent edits converge across processes; one process is killed with SIGKILL mid-session, its
 * clients reconnect to the others, and no acknowledged edit (one another client received) is lost.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { uniquePrefix } from '../../../tests/support/redis.ts';
import { connectClient, newProject, savedItems, sorted, synced, token, waitFor, type Client } from './support.ts';
import { getJson, startBalancer, startCollabProcess, type CollabProcess } from './cluster-support.ts';

describe('collab cluster: 3 processes, any process serves any document', () => {
  let t: TestDb;
  let procs: CollabProcess[] = [];
  let lb: Awaited<ReturnType<typeof startBalancer>>;
  const clients: Client[] = [];
  const alive = new Set<CollabProcess>();

  beforeAll(async () => {
    t = await createTestDb();
    const prefix = uniquePrefix('cluster');
    procs = await Promise.all([0, 1, 2].map(() => startCollabProcess(t.url, prefix)));
    for (const p of procs) alive.add(p);
    lb = await startBalancer(() => procs.filter((p) => alive.has(p)).map((p) => p.port));
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await lb?.close();
    await Promise.all(procs.map((p) => p.killHard()));
    await t?.dispose();
  });

  it('30 clients on 3 processes converge; SIGKILL of one loses no acknowledged edit', async () => {
    const project = await newProject(t.handle.db);
    const url = `ws://127.0.0.1:${lb.port}`;
    // "Acknowledged": some client other than its author has received it.
    const acknowledged = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const c = connectClient(url, project, await token(project, 'editor'), { maxBackoffTime: 300 });
      const me = `c${i}-`;
      c.doc.getArray<string>('t').observe((e) => {
        for (const item of e.changes.added) for (const v of item.content.getContent() as string[]) if (!v.startsWith(me)) acknowledged.add(v);
      });
      clients.push(c);
    }
    await Promise.all(clients.map((c) => synced(c, 20_000)));
    // Spread: every process serves 10 of them.
    const counts = await Promise.all(procs.map(async (p) => (JSON.parse((await getJson(p.port, '/health')).body) as { connections: number }).connections));
    expect(counts).toEqual([10, 10, 10]);

    // Round 1: everyone edits at once.
    clients.forEach((c, i) => {
      for (let k = 0; k < 5; k++) c.push(`c${i}-r1-${k}`);
    });
    await waitFor(() => clients.every((c) => c.items().length === 150), 20_000, 'round 1 converges on all 30 clients');
    const first = sorted(clients[0]!.items());
    for (const c of clients) expect(sorted(c.items())).toEqual(first);

    // Round 2: edits keep flowing while process 0 dies.
    let n = 0;
    const typing = setInterval(() => {
      clients.forEach((c, i) => c.push(`c${i}-r2-${n}`));
      n++;
    }, 50);
    await new Promise((r) => setTimeout(r, 400));
    alive.delete(procs[0]!);
    await procs[0]!.killHard();
    await new Promise((r) => setTimeout(r, 600));
    clearInterval(typing);
    const total = 150 + 30 * n;

    // Every client ends with every edit (its own unacknowledged ones resent after reconnecting).
    await waitFor(() => clients.every((c) => c.items().length === total), 30_000, `convergence after the kill (${total} items)`);
    const final = sorted(clients[0]!.items());
    for (const c of clients) expect(sorted(c.items())).toEqual(final);
    const after = await Promise.all(procs.slice(1).map(async (p) => (JSON.parse((await getJson(p.port, '/health')).body) as { connections: number }).connections));
    expect(after[0]! + after[1]!).toBe(30);

    // Nothing acknowledged is missing from the database, and the database holds everything.
    const saved = await savedItems(t.handle.db, project);
    expect(acknowledged.size).toBeGreaterThan(150);
    for (const v of acknowledged) expect(saved).toContain(v);
    await waitFor(async () => (await savedItems(t.handle.db, project)).length === total, 10_000, 'everything stored');

    // A process started late serves the whole document from Postgres.
    const late = await startCollabProcess(t.url, 'unused-prefix-is-fine');
    procs.push(late);
    const fresh = connectClient(`ws://127.0.0.1:${late.port}`, project, await token(project, 'viewer'));
    clients.push(fresh);
    await synced(fresh);
    expect(sorted(fresh.items())).toEqual(final);
  });
});
