/**
 * scripts/backup.sh + scripts/restore.sh against the real Postgres: a populated ClipMaker database is
 * dumped, restored into a new database with the same row count in every table (and the same
 * migrations applied), old dumps are pruned by the retention, a corrupted dump and a non-empty target
 * are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { createTestDb, TEST_DATABASE_URL, type TestDb } from '../support/db.ts';
import { newProject } from '../../collab-server/test/integration/support.ts';
import { appendUpdate } from '../../drizzle/documents.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const haveTools = ['pg_dump', 'pg_restore', 'psql'].every((b) => spawnSync(b, ['--version'], { stdio: 'ignore' }).status === 0);

function sh(script: string, args: string[], env: Record<string, string> = {}) {
  return spawnSync('bash', [path.join(ROOT, 'scripts', script), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
}

async function rowCounts(url: string): Promise<Record<string, number>> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const tables = await sql<{ s: string; t: string }[]>`select table_schema as s, table_name as t from information_schema.tables where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema') order by 1, 2`;
    const out: Record<string, number> = {};
    for (const { s, t } of tables) out[`${s}.${t}`] = Number((await sql.unsafe(`select count(*)::int as n from "${s}"."${t}"`))[0]!.n);
    return out;
  } finally {
    await sql.end();
  }
}

describe.skipIf(!haveTools)('backup and restore scripts', () => {
  let t: TestDb;
  let dir: string;
  const restoredName = `cm_restore_${randomBytes(5).toString('hex')}`;
  const restoredUrl = (() => {
    const u = new URL(TEST_DATABASE_URL);
    u.pathname = `/${restoredName}`;
    return u.toString();
  })();

  beforeAll(async () => {
    t = await createTestDb();
    dir = mkdtempSync(path.join(tmpdir(), 'cm-backup-'));
    // Some real content: orgs, projects and collab document updates (binary columns).
    for (let i = 0; i < 3; i++) {
      const p = await newProject(t.handle.db);
      // Opaque bytes are enough to check a bytea column survives the round trip.
      for (let k = 0; k < 5; k++) await appendUpdate(t.handle.db, p, new Uint8Array(randomBytes(32 + k)));
    }
  });

  afterAll(async () => {
    const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
    await admin.unsafe(`drop database if exists ${restoredName} with (force)`);
    await admin.end();
    await t?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it('backs up, prunes by retention, and restores into a new database with identical row counts', async () => {
    // An expired dump (20 days old) and a recent one (1 day old) from earlier runs.
    const old = path.join(dir, 'clipmaker-20000101T000000Z.dump');
    const recent = path.join(dir, 'clipmaker-20000102T000000Z.dump');
    for (const [f, days] of [[old, 20], [recent, 1]] as const) {
      writeFileSync(f, 'old');
      const when = new Date(Date.now() - days * 86_400_000);
      utimesSync(f, when, when);
    }
    const backup = sh('backup.sh', [t.url], { BACKUP_DIR: dir, BACKUP_RETENTION_DAYS: '14' });
    expect(backup.status, backup.stderr).toBe(0);
    const dump = backup.stdout.trim();
    expect(dump).toMatch(/clipmaker-\d{8}T\d{6}Z\.dump$/);
    expect(existsSync(`${dump}.sha256`)).toBe(true);
    expect(existsSync(old)).toBe(false);
    expect(existsSync(recent)).toBe(true);
    expect(readdirSync(dir).some((f) => f.endsWith('.partial'))).toBe(false);

    const restore = sh('restore.sh', [dump, restoredUrl]);
    expect(restore.status, restore.stderr).toBe(0);
    const source = await rowCounts(t.url);
    const restored = await rowCounts(restoredUrl);
    expect(restored).toEqual(source);
    expect(source['public.document_updates'] ?? source['public.documents'] ?? 0).toBeGreaterThan(0);
    expect(Object.keys(source).some((k) => k.startsWith('drizzle.'))).toBe(true);
    // The script's own report lists every table with its count.
    for (const [table, n] of Object.entries(source)) expect(restore.stdout).toContain(`${table} ${n}`);

    // Restoring again over the now non-empty database is refused.
    const again = sh('restore.sh', [dump, restoredUrl]);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/already has \d+ tables/);

    // A corrupted dump is refused by its checksum.
    appendFileSync(dump, 'x');
    const corrupt = sh('restore.sh', [dump, restoredUrl.replace(restoredName, `${restoredName}_x`)]);
    expect(corrupt.status).toBe(1);
    expect(corrupt.stderr).toMatch(/checksum mismatch/);
  });
});
