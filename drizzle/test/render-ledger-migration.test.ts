/**
 * Migration 0008 (render_ledger) on real Postgres with data in it: each org's old counter becomes an
 * opening grant and each standing render charge its debit, so balances are unchanged and a render that
 * was in flight across the upgrade is still refunded when it fails.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { sql } from 'drizzle-orm';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { migrate as migratePg } from 'drizzle-orm/postgres-js/migrator';
import { createTestDb, type TestDb } from '../../tests/support/db.ts';
import { MIGRATIONS_DIR } from '../migrate.ts';

let t: TestDb;
let before: string;

beforeAll(async () => {
  // createTestDb migrates to the newest schema; this test wants the one before 0008 first.
  t = await createTestDb();
  await t.handle.db.execute(sql`drop schema public cascade`);
  await t.handle.db.execute(sql`drop schema if exists drizzle cascade`);
  await t.handle.db.execute(sql`create schema public`);
  before = mkdtempSync(path.join(tmpdir(), 'cm-mig-'));
  cpSync(MIGRATIONS_DIR, before, { recursive: true });
  const journalPath = path.join(before, 'meta', '_journal.json');
  const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: Array<{ tag: string }> };
  const at = journal.entries.findIndex((e) => e.tag === '0008_render_ledger');
  expect(at).toBeGreaterThan(0);
  journal.entries = journal.entries.slice(0, at);
  writeFileSync(journalPath, JSON.stringify(journal));
});

afterAll(async () => {
  await t?.dispose();
  if (before) rmSync(before, { recursive: true, force: true });
});

it('carries the counters over: balance = the old counter, standing charges become refundable debits', async () => {
  const db = t.handle.db;
  await migratePg(db as never, { migrationsFolder: before });
  const rows = async <T>(q: ReturnType<typeof sql>) => (await db.execute(q)) as unknown as T[];
  const [acme] = await rows<{ id: string }>(sql`insert into orgs (name, render_minutes_quota) values ('Acme', 42) returning id`);
  const [empty] = await rows<{ id: string }>(sql`insert into orgs (name, render_minutes_quota) values ('Spent', 0) returning id`);
  const [p] = await rows<{ id: string }>(sql`insert into projects (org_id, name) values (${acme!.id}, 'P') returning id`);
  const render = (version: number, status: string, charged: number) =>
    rows<{ id: string }>(sql`insert into renders (project_id, org_id, version, status, spec_key, output_prefix, duration_frames, charged_minutes)
      values (${p!.id}, ${acme!.id}, ${version}, ${status}::render_status, 'k', 'o', 60, ${charged}) returning id`);
  const [live] = await render(1, 'rendering', 3);
  const [done] = await render(2, 'succeeded', 1);
  await render(3, 'failed', 0);

  await migratePg(db as never, { migrationsFolder: MIGRATIONS_DIR });
  const balance = async (orgId: string) => Number((await rows<{ b: string }>(sql`select coalesce(sum(minutes), 0) as b from render_minute_ledger where org_id = ${orgId}`))[0]!.b);
  // The opening grant is 42 left + every standing charge (3 live, 1 succeeded), each charge its debit.
  expect(await balance(acme!.id)).toBe(42);
  expect(await balance(empty!.id)).toBe(0);
  const entries = await rows<{ kind: string; minutes: number; render_id: string | null }>(sql`select kind, minutes, render_id from render_minute_ledger where org_id = ${acme!.id} order by id`);
  expect(entries).toEqual([
    { kind: 'grant', minutes: 46, render_id: null },
    { kind: 'debit', minutes: -3, render_id: live!.id },
    { kind: 'debit', minutes: -1, render_id: done!.id },
  ]);
  const columns = await rows<{ column_name: string }>(sql`select column_name from information_schema.columns where table_name in ('orgs', 'renders') and column_name in ('render_minutes_quota', 'charged_minutes')`);
  expect(columns).toEqual([]);
});
