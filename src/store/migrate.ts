/**
 * The one migrator: applies every `migrations/NNN_name.sql` in numeric order, each exactly once and each
 * in its own transaction together with its schema_migrations row. Every transaction first takes one
 * transaction-scoped advisory lock, so two processes starting together on one PostgreSQL server apply
 * each file once: the second waits, then sees the first's row and skips.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Queryable } from './db';

/** Where the SQL files live, next to this module (src/store/migrations). */
export const MIGRATIONS_DIR = path.join(__dirname, 'migrations');

/** Arbitrary constant naming the migration lock; any other advisory-lock user must pick another. */
export const MIGRATION_LOCK_KEY = 7_215_400_301;

/** A transaction that can also run a multi-statement SQL script. */
export interface ScriptQueryable extends Queryable {
  exec(sql: string): Promise<void>;
}

/** What the migrator needs: transactions whose handle can run scripts (both adapters of open-db.ts). */
export interface MigrationTarget {
  transaction<T>(fn: (tx: ScriptQueryable) => Promise<T>): Promise<T>;
}

export interface MigrationFile {
  /** File name without `.sql`, e.g. `001_core`; the key in schema_migrations. */
  version: string;
  number: number;
  file: string;
}

const FILE_PATTERN = /^(\d{3,})_[a-z0-9_-]+\.sql$/i;

/** Lists the migration files in order; two files with one number is a packaging error. */
export function listMigrations(dir: string = MIGRATIONS_DIR): MigrationFile[] {
  const files = fs
    .readdirSync(dir)
    .map((name) => ({ name, m: FILE_PATTERN.exec(name) }))
    .filter((f): f is { name: string; m: RegExpExecArray } => f.m !== null)
    .map(({ name, m }) => ({ version: name.slice(0, -4), number: Number(m[1]), file: path.join(dir, name) }))
    .sort((a, b) => a.number - b.number || a.version.localeCompare(b.version));
  for (let i = 1; i < files.length; i++) {
    if (files[i].number === files[i - 1].number) {
      throw new Error(`Two migrations share number ${files[i].number}: ${files[i - 1].version}, ${files[i].version}`);
    }
  }
  return files;
}

/** Applies pending migrations; returns the versions this call applied (empty when already up to date). */
export async function migrate(db: MigrationTarget, dir: string = MIGRATIONS_DIR): Promise<string[]> {
  const applied: string[] = [];
  for (const m of listMigrations(dir)) {
    const sql = fs.readFileSync(m.file, 'utf8');
    const didApply = await db.transaction(async (tx) => {
      await tx.query('SELECT pg_advisory_xact_lock($1::bigint)', [MIGRATION_LOCK_KEY]);
      // Created under the lock, so concurrent first starts do not race on the catalog.
      await tx.query(
        `CREATE TABLE IF NOT EXISTS schema_migrations (
           version text PRIMARY KEY,
           applied_at timestamptz NOT NULL DEFAULT now()
         )`,
      );
      const done = await tx.query('SELECT 1 FROM schema_migrations WHERE version = $1', [m.version]);
      if (done.rows.length > 0) return false;
      await tx.exec(sql);
      await tx.query('INSERT INTO schema_migrations (version) VALUES ($1)', [m.version]);
      return true;
    });
    if (didApply) applied.push(m.version);
  }
  return applied;
}
