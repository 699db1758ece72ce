/**
 * Real y-websocket clients against a real server on real Postgres: convergence, persist-before-
 * broadcast, read-only roles, restart.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import postgres from 'postgres';
import { documentSnapshots, documentUpdates } from '@clipmaker/db/schema';
import { createTestDb, type TestDb } from '../../../tests/support/db.ts';
import { startCollabServer, type CollabServer } from '../../src/index.ts';
import { SECRET, captureLogger, connectClient, newProject, savedItems, sorted, synced, token, waitFor, type Client } from './support.ts';

describe('collab sync with y-websocket clients', () => {
  let t: TestDb;
  let server: CollabServer;
  let url: string;
  const log = captureLogger();
  const clients: Client[] = [];
  const client = (projectId: string, tok: string) => {
    const c = connectClient(url, projectId, tok);
    clients.push(c);
    return c;
  };

  beforeAll(async () => {
    t = await createTestDb();
    server = await startCollabServer({ db: t.handle, secret: SECRET, port: 0, logger: log.logger, unloadDelayMs: 200 });
    url = `ws://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    for (const c of clients) c.destroy();
    await server.close();
    await t.dispose();
  });

  it('two editors converge', async () => {
    const p = await newProject(t.handle.db);
    const a = client(p, await token(p, 'editor'));
    const b = client(p, await token(p, 'owner'));
    await Promise.all([synced(a), synced(b)]);
    a.push('a1');
    b.push('b1');
    a.push('a2');
    await waitFor(() => a.items().length === 3 && b.items().length === 3, 10_000, 'convergence');
    expect(a.items()).toEqual(b.items());
    expect(sorted(a.items())).toEqual(['a1', 'a2', 'b1']);
    await server.engine.flush();
    expect(await savedItems(t.handle.db, p)).toEqual(['a1', 'a2', 'b1']);
  });

  it('an update is in the database by the time another client sees it', async () => {
    const p = await newProject(t.handle.db);
    // Every insert now takes 300 ms: a broadcast that did not wait for the store would reach B first.
    const admin = postgres(t.url, { max: 1, onnotice: () => {} });
    await admin.unsafe(`
      create or replace function cm_slow_insert() returns trigger language plpgsql as $$
      begin perform pg_sleep(0.3); return new; end $$;
      create trigger cm_slow before insert on document_updates for each row execute function cm_slow_insert();`);
    try {
      const a = client(p, await token(p, 'editor'));
      const b = client(p, await token(p, 'editor'));
      await Promise.all([synced(a), synced(b)]);
      // At the moment B sees something, read the database: it must already hold all of it.
      const checks: Promise<{ visible: string[]; saved: string[] }>[] = [];
      b.doc.on('update', (_u: Uint8Array, origin: unknown) => {
        if (origin !== b.provider) return;
        const visible = sorted(b.items());
        checks.push(savedItems(t.handle.db, p).then((saved) => ({ visible, saved })));
      });
      a.push('durable-1');
      await waitFor(() => b.items().includes('durable-1'), 10_000, 'B to see the edit');
      a.push('durable-2');
      await waitFor(() => b.items().includes('durable-2'), 10_000, 'B to see the second edit');
      const seen = await Promise.all(checks);
      expect(seen.length).toBeGreaterThanOrEqual(2);
      for (const { visible, saved } of seen) for (const item of visible) expect(saved).toContain(item);
    } finally {
      await admin.unsafe('drop trigger cm_slow on document_updates; drop function cm_slow_insert();');
      await admin.end();
    }
  });

  it.each(['viewer', 'reviewer'] as const)('refuses a %s’s edits server side; its presence still flows', async (role) => {
    const p = await newProject(t.handle.db);
    const editor = client(p, await token(p, 'editor'));
    const other = client(p, await token(p, 'owner'));
    const ro = client(p, await token(p, role, { name: `the ${role}` }));
    await Promise.all([synced(editor), synced(other), synced(ro)]);
    editor.push('before');
    await waitFor(() => ro.items().includes('before'), 10_000, `${role} to receive`);

    const refusedBefore = log.lines.filter((l) => l.msg === 'document update refused: role may not write').length;
    ro.push(`${role}-edit`);
    // Sent after the edit on the same socket: once it arrives, the edit was processed (and refused).
    ro.provider.awareness.setLocalStateField('user', { name: `the ${role}` });
    await waitFor(
      () => [...editor.provider.awareness.getStates().values()].some((s) => (s.user as { name?: string } | undefined)?.name === `the ${role}`),
      10_000,
      'presence of the read-only client',
    );
    editor.push('after');
    await waitFor(() => other.items().includes('after') && ro.items().includes('after'), 10_000, 'later edits');
    await server.engine.flush();

    expect(other.items()).not.toContain(`${role}-edit`);
    expect(editor.items()).not.toContain(`${role}-edit`);
    expect(await savedItems(t.handle.db, p)).toEqual(['after', 'before']);
    // the read-only client still follows the document (its local edit stays local)
    expect(sorted(ro.items())).toEqual(sorted(['before', 'after', `${role}-edit`]));
    expect(ro.provider.wsconnected).toBe(true);
    const refused = log.lines.filter((l) => l.msg === 'document update refused: role may not write');
    expect(refused.length).toBeGreaterThan(refusedBefore);
    expect(refused.at(-1)).toMatchObject({ role, projectId: p, level: 40 });
    const metrics = await server.metrics.getSingleMetricAsString('collab_updates_refused_total');
    expect(metrics).toMatch(new RegExp(`collab_updates_refused_total\\{role="${role}"\\} [1-9]`));
  });

  it('restart: close flushes and compacts, a new instance on the same database serves the full document', async () => {
    const p = await newProject(t.handle.db);
    const a = client(p, await token(p, 'editor'));
    await synced(a);
    for (let i = 0; i < 50; i++) a.push(`item-${i}`);
    a.doc.getMap('meta').set('title', 'Restarted');
    await waitFor(async () => (await savedItems(t.handle.db, p)).length === 50, 10_000, 'store');
    await server.close();
    a.destroy();
    // the close compacted the room: one snapshot, no loose rows
    expect(await t.handle.db.select().from(documentUpdates).where(eq(documentUpdates.projectId, p))).toHaveLength(0);
    const snaps = await t.handle.db.select().from(documentSnapshots).where(eq(documentSnapshots.projectId, p));
    expect(snaps.map((s) => s.kind)).toEqual(['compaction']);

    server = await startCollabServer({ db: t.handle, secret: SECRET, port: 0, logger: log.logger, unloadDelayMs: 200 });
    url = `ws://127.0.0.1:${server.port}`;
    const fresh = client(p, await token(p, 'viewer'));
    await synced(fresh);
    expect(fresh.items()).toEqual(a.items());
    expect(fresh.items()).toHaveLength(50);
    expect(fresh.doc.getMap('meta').get('title')).toBe('Restarted');
  });

  it('unloads an idle room after its last client leaves, compacting it', async () => {
    const p = await newProject(t.handle.db);
    const a = client(p, await token(p, 'editor'));
    await synced(a);
    a.push('x', 'y');
    await waitFor(async () => (await savedItems(t.handle.db, p)).length === 2, 5_000, 'store');
    expect(server.engine.openProjects()).toContain(p);
    a.destroy();
    await waitFor(() => !server.engine.openProjects().includes(p), 5_000, 'unload');
    await waitFor(async () => (await t.handle.db.select().from(documentUpdates).where(eq(documentUpdates.projectId, p))).length === 0, 5_000, 'compaction');
    expect(await savedItems(t.handle.db, p)).toEqual(['x', 'y']);
    // and it loads again on the next connection
    const b = client(p, await token(p, 'editor'));
    await synced(b);
    expect(sorted(b.items())).toEqual(['x', 'y']);
  });
});
