/** Applies the committed migrations to DATABASE_URL (or embedded PGlite). Run: `pnpm db:migrate`. */
import { migrate as migratePg } from 'drizzle-orm/postgres-js/migrator';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createDb, type DbHandle } from './index.ts';

export const MIGRATIONS_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

export async function migrate(handle: DbHandle): Promise<void> {
  if (handle.kind === 'postgres') await migratePg(handle.db as never, { migrationsFolder: MIGRATIONS_DIR });
  else await migratePglite(handle.db as never, { migrationsFolder: MIGRATIONS_DIR });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const handle = await createDb();
  try {
    await migrate(handle);
    console.log(`migrations applied (${handle.kind})`);
  } finally {
    await handle.close();
  }
}
