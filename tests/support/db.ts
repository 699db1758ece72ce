/**
 * A fresh, migrated Postgres database per test file, on the real server (TEST_DATABASE_URL, default
 * the local `test` database's server). Dropped again by dispose().
 */
import postgres from 'postgres';
import { randomBytes } from 'node:crypto';
import { createDb, type DbHandle } from '../../drizzle/index.ts';
import { migrate } from '../../drizzle/migrate.ts';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDb {
  handle: DbHandle;
  url: string;
  dispose(): Promise<void>;
}

export async function createTestDb(): Promise<TestDb> {
  const name = `cm_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(TEST_DATABASE_URL, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(TEST_DATABASE_URL);
  url.pathname = `/${name}`;
  const handle = await createDb({ url: url.toString(), max: 5 });
  await migrate(handle);
  return {
    handle,
    url: url.toString(),
    async dispose() {
      await handle.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end();
    },
  };
}
