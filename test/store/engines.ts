/** The two engines every store test runs against: in-memory PGlite and a real PostgreSQL database. */
import { openDbFromUrl, openMemoryDb, type OpenedDb } from '../../src/store/open-db';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres';

export interface Engine {
  name: 'pglite' | 'postgres';
  /** A fresh, migrated database; closed by the returned stop(). */
  open(): Promise<{ db: OpenedDb; url?: string; stop(): Promise<void> }>;
}

export const ENGINES: Engine[] = [
  {
    name: 'pglite',
    async open() {
      const db = await openMemoryDb();
      return { db, stop: () => db.close() };
    },
  },
  {
    name: 'postgres',
    async open() {
      const pg: TestPostgres = await startTestPostgres();
      try {
        const db = await openDbFromUrl(pg.url);
        return {
          db,
          url: pg.url,
          async stop() {
            await db.close();
            await pg.stop();
          },
        };
      } catch (err) {
        await pg.stop();
        throw err;
      }
    },
  },
];

/**
 * Opens `engine` before the enclosing describe's tests and closes it after them: the store as a getter, since
 * it exists only once beforeAll has run.
 */
export function openForSuite(engine: Engine): { readonly db: OpenedDb; readonly url: string | undefined } {
  let opened: Awaited<ReturnType<Engine['open']>> | undefined;
  beforeAll(async () => {
    opened = await engine.open();
  });
  afterAll(async () => {
    await opened?.stop();
  });
  return {
    get db() {
      if (!opened) throw new Error(`the ${engine.name} store is not open outside its tests`);
      return opened.db;
    },
    get url() {
      return opened?.url;
    },
  };
}
