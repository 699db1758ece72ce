/**
 * The one client factory. DATABASE_URL set -> postgres.js; unset -> embedded PGlite under .data/pglite.
 * One instance per process (kept on globalThis so the bundled app and tsx-run packages share it when
 * `pnpm start` composes them in one process).
 */
import { drizzle as drizzlePg } from 'drizzle-orm/postgres-js';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import postgres from 'postgres';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import * as schema from './schema.ts';

export * as schema from './schema.ts';
export type Schema = typeof schema;

/** Both drivers as their common Postgres supertype, so queries and transactions type-check once. */
export type Db = PgDatabase<PgQueryResultHKT, Schema>;

export interface DbHandle {
  db: Db;
  kind: 'postgres' | 'pglite';
  /** Always await this on shutdown (PGlite flushes its files here). */
  close(): Promise<void>;
  /** Cheap liveness check for /api/health. */
  ping(): Promise<boolean>;
  /**
   * postgres.js only (absent on PGlite): a separate client of `max` connections (default 1) on the
   * same database, for a hot path that must not queue behind the shared pool (the collab-server's
   * update writer). Session settings go in `connection` (e.g. synchronous_commit). Its owner ends it.
   */
  dedicated?(opts?: { max?: number; connection?: Record<string, string> }): postgres.Sql;
}

export interface DbOptions {
  url?: string | undefined;
  /** Folder for PGlite data when url is unset. Default: <repo>/.data/pglite or $DATA_DIR/pglite. */
  dataDir?: string | undefined;
  max?: number;
}

export function defaultDataDir(): string {
  return path.resolve(process.env.DATA_DIR ?? path.join(process.cwd(), '.data'));
}

export async function createDb(opts: DbOptions = {}): Promise<DbHandle> {
  const url = opts.url !== undefined ? opts.url : process.env.DATABASE_URL;
  if (url) {
    const client = postgres(url, { max: opts.max ?? 10, onnotice: () => {} });
    const db: Db = drizzlePg(client, { schema });
    return {
      db,
      kind: 'postgres',
      close: () => client.end({ timeout: 5 }),
      ping: async () => {
        try {
          await client`select 1`;
          return true;
        } catch {
          return false;
        }
      },
      dedicated: (o = {}) => postgres(url, { max: o.max ?? 1, onnotice: () => {}, ...(o.connection ? { connection: o.connection } : {}) }),
    };
  }
  const { PGlite } = await import('@electric-sql/pglite');
  const dir = path.join(opts.dataDir ?? defaultDataDir(), 'pglite');
  mkdirSync(dir, { recursive: true });
  const client = await PGlite.create(dir);
  const db: Db = drizzlePglite(client, { schema });
  return {
    db,
    kind: 'pglite',
    close: () => client.close(),
    ping: async () => {
      try {
        await client.query('select 1');
        return true;
      } catch {
        return false;
      }
    },
  };
}

const GLOBAL_KEY = Symbol.for('clipmaker.db');
type GlobalWithDb = typeof globalThis & { [GLOBAL_KEY]?: Promise<DbHandle> };

/** The process-wide handle (created on first use, migrated by the launcher before use). */
export function getDb(): Promise<DbHandle> {
  const g = globalThis as GlobalWithDb;
  g[GLOBAL_KEY] ??= createDb();
  return g[GLOBAL_KEY];
}

/** Lets a launcher or a test install an already-created handle as the process-wide one. */
export function setDb(handle: DbHandle): void {
  (globalThis as GlobalWithDb)[GLOBAL_KEY] = Promise.resolve(handle);
}
