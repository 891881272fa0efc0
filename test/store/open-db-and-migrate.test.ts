import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { listMigrations, migrate, MIGRATIONS_DIR } from '../../src/store/migrate';
import { openDb, openDbFromUrl, openPGliteDb } from '../../src/store/open-db';
import { loadConfig } from '../../src/config';
import { startTestPostgres } from '../helpers/postgres';
import { ENGINES, openForSuite } from './engines';

describe.each(ENGINES)('store on $name', (engine) => {
  const store = openForSuite(engine);

  it('reports its engine', () => {
    expect(store.db.kind).toBe(engine.name);
  });

  it('records every migration file once, in order', async () => {
    const r = await store.db.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version');
    expect(r.rows.map((x) => x.version)).toEqual(listMigrations().map((m) => m.version));
    expect(r.rows[0].version).toBe('001_core');
  });

  it('applying the migrations again is a no-op', async () => {
    const before = await store.db.query<{ version: string; applied_at: Date }>('SELECT version, applied_at FROM schema_migrations ORDER BY version');
    await expect(migrate(store.db)).resolves.toEqual([]);
    const after = await store.db.query<{ version: string; applied_at: Date }>('SELECT version, applied_at FROM schema_migrations ORDER BY version');
    expect(after.rows).toEqual(before.rows);
  });

  it('returns timestamptz as Date, jsonb as parsed values, bigint as number, date as string', async () => {
    const r = await store.db.query<{ ts: unknown; t: unknown; j: unknown; js: unknown; n: unknown; c: unknown; d: unknown }>(
      `SELECT '2030-01-02T03:04:05.678Z'::timestamptz AS ts, '2030-01-02 03:04:05.678'::timestamp AS t,
              $1::jsonb AS j, '[1,"a"]'::json AS js, 5::int8 AS n, count(*) AS c, '2030-01-02'::date AS d`,
      [JSON.stringify({ a: { b: [1, 2] } })],
    );
    const row = r.rows[0];
    expect(row.ts).toBeInstanceOf(Date);
    expect((row.ts as Date).toISOString()).toBe('2030-01-02T03:04:05.678Z');
    expect((row.t as Date).toISOString()).toBe('2030-01-02T03:04:05.678Z');
    expect(row.j).toEqual({ a: { b: [1, 2] } });
    expect(row.js).toEqual([1, 'a']);
    expect(row.n).toBe(5);
    expect(row.c).toBe(1);
    expect(row.d).toBe('2030-01-02');
  });

  it('counts rows alike: SELECT rows, and rows written by INSERT/UPDATE/DELETE', async () => {
    await store.db.query('CREATE TEMP TABLE IF NOT EXISTS rc (a int)');
    const ins = await store.db.query('INSERT INTO rc VALUES (1), (2), (3)');
    expect(ins.rowCount).toBe(3);
    const sel = await store.db.query('SELECT * FROM rc');
    expect(sel.rowCount).toBe(3);
    const del = await store.db.query('DELETE FROM rc WHERE a > 1');
    expect(del.rowCount).toBe(2);
    const none = await store.db.query('DELETE FROM rc WHERE a > 100');
    expect(none.rowCount).toBe(0);
  });

  it('commits a transaction that returns and rolls back one that throws', async () => {
    await store.db.query('CREATE TABLE IF NOT EXISTS tx_probe (a text)');
    await expect(
      store.db.transaction(async (tx) => {
        await tx.query("INSERT INTO tx_probe VALUES ('kept')");
        return 'ok';
      }),
    ).resolves.toBe('ok');
    await expect(
      store.db.transaction(async (tx) => {
        await tx.query("INSERT INTO tx_probe VALUES ('lost')");
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    const r = await store.db.query<{ a: string }>('SELECT a FROM tx_probe ORDER BY a');
    expect(r.rows.map((x) => x.a)).toEqual(['kept']);
  });

  it('applies a new numbered file after the existing ones, in its own transaction, and a failing one not at all', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'migrations-'));
    try {
      for (const f of fs.readdirSync(MIGRATIONS_DIR)) fs.copyFileSync(path.join(MIGRATIONS_DIR, f), path.join(dir, f));
      fs.writeFileSync(path.join(dir, '900_probe.sql'), 'CREATE TABLE probe_900 (a int);\nINSERT INTO probe_900 VALUES (1);');
      fs.writeFileSync(path.join(dir, '901_broken.sql'), 'CREATE TABLE probe_901 (a int);\nSELECT no_such_function();');
      await expect(migrate(store.db, dir)).rejects.toThrow(/no_such_function/);
      const v = await store.db.query<{ version: string }>("SELECT version FROM schema_migrations WHERE version LIKE '90%'");
      expect(v.rows.map((x) => x.version)).toEqual(['900_probe']);
      const t = await store.db.query<{ n: string | null }>("SELECT to_regclass('probe_901')::text AS n");
      expect(t.rows[0].n).toBeNull();
      fs.unlinkSync(path.join(dir, '901_broken.sql'));
      await expect(migrate(store.db, dir)).resolves.toEqual([]);
    } finally {
      // Leave the database as the real migrations made it, for the tests after this one.
      await store.db.query("DELETE FROM schema_migrations WHERE version LIKE '90%'");
      await store.db.query('DROP TABLE IF EXISTS probe_900');
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  if (engine.name === 'postgres') {
    it('two processes migrating one fresh database at once apply each file exactly once', async () => {
      const pg = await startTestPostgres();
      try {
        const [a, b, c] = await Promise.all([openDbFromUrl(pg.url), openDbFromUrl(pg.url), openDbFromUrl(pg.url)]);
        try {
          const r = await a.query<{ version: string }>('SELECT version FROM schema_migrations ORDER BY version');
          expect(r.rows.map((x) => x.version)).toEqual(listMigrations().map((m) => m.version));
        } finally {
          await Promise.all([a.close(), b.close(), c.close()]);
        }
      } finally {
        await pg.stop();
      }
    });

    it('openDb uses DATABASE_URL when set', async () => {
      const other = await openDb(loadConfig({ DATABASE_URL: store.url!, API_KEYS: 'k' }));
      try {
        expect(other.kind).toBe('postgres');
        const r = await other.query<{ n: number }>('SELECT count(*) AS n FROM schema_migrations');
        expect(r.rows[0].n).toBe(listMigrations().length);
      } finally {
        await other.close();
      }
    });
  }
});

describe('embedded PGlite on disk', () => {
  it('openDb keeps its data in <dataDir>/pglite across reopenings', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-data-'));
    try {
      const config = loadConfig({ DATA_DIR: dataDir, API_KEYS: 'k' });
      const first = await openDb(config);
      expect(first.kind).toBe('pglite');
      await first.query("INSERT INTO users (id, name, email, timezone) VALUES ('USR-persisted', 'P', 'p@example.com', 'UTC')");
      await first.close();
      expect(fs.existsSync(path.join(dataDir, 'pglite'))).toBe(true);
      const second = await openPGliteDb(path.join(dataDir, 'pglite'));
      try {
        const r = await second.query<{ id: string }>('SELECT id FROM users');
        expect(r.rows).toEqual([{ id: 'USR-persisted' }]);
        const m = await second.query<{ n: number }>('SELECT count(*) AS n FROM schema_migrations');
        expect(m.rows[0].n).toBe(listMigrations().length);
      } finally {
        await second.close();
      }
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
