import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTestDb, type TestDb } from '../../tests/support/db.ts';
import { createDb } from '../index.ts';
import { migrate } from '../migrate.ts';
import { documentUpdates, orgs, projects } from '../schema.ts';

describe('client factory on real Postgres', () => {
  let t: TestDb;
  beforeAll(async () => {
    t = await createTestDb();
  });
  afterAll(async () => {
    await t.dispose();
  });

  it('migrates and round-trips bytea as Uint8Array', async () => {
    const db = t.handle.db;
    const [org] = await db.insert(orgs).values({ name: 'Acme' }).returning();
    const [project] = await db.insert(projects).values({ orgId: org!.id, name: 'P' }).returning();
    const update = new Uint8Array([0, 1, 2, 254, 255]);
    await db.insert(documentUpdates).values({ projectId: project!.id, update });
    const rows = await db.select().from(documentUpdates).where(eq(documentUpdates.projectId, project!.id));
    expect(rows[0]!.update).toBeInstanceOf(Uint8Array);
    expect(Array.from(rows[0]!.update)).toEqual([0, 1, 2, 254, 255]);
    expect(t.handle.kind).toBe('postgres');
    expect(await t.handle.ping()).toBe(true);
  });
});

describe('client factory on embedded PGlite', () => {
  it('uses PGlite when no url is given, persists across reopen', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'cm-pglite-'));
    try {
      const a = await createDb({ url: '', dataDir: dir });
      expect(a.kind).toBe('pglite');
      await migrate(a);
      await a.db.insert(orgs).values({ name: 'Persisted' });
      await a.close();
      const b = await createDb({ url: '', dataDir: dir });
      const rows = await b.db.select().from(orgs);
      expect(rows.map((r) => r.name)).toEqual(['Persisted']);
      await b.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
