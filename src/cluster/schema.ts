/**
 * The cluster's databases, made and kept current with Temporal's SQL tool at every start, as the server's release
 * documents (`--plugin postgres12`): `create-database` (a no-op when it exists), `setup-schema -v 0.0` (the version
 * tables; a no-op once a schema is there) and `update-schema -d <versioned dir>` (applies the versions the database
 * lacks, none on a second start). Two Temporal databases, `temporal` and `temporal_visibility` (SQL visibility:
 * custom search attributes and list queries), plus the engine's own, whose tables the engine migrates itself.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { Client } from 'pg';
import { POSTGRES_USER, postgresUrl } from './postgres';
import { indent } from './process';

/** Temporal's databases and the versioned schema directory (under schema/postgresql/v12) each follows. */
export const TEMPORAL_DATABASES = [
  { name: 'temporal', schema: 'temporal' },
  { name: 'temporal_visibility', schema: 'visibility' },
] as const;

/** The engine's store (DATABASE_URL), named as in docker-compose.yml. */
export const ENGINE_DATABASE = 'booking';

export interface SchemaOptions {
  sqlTool: string;
  /** …/schema/postgresql/v12 */
  schemaDir: string;
  port: number;
  password: string;
  logFile: string;
}

/** Where the SQL tool connects: the cluster's loopback server, or compose's `postgresql` service. */
export interface SqlEndpoint {
  plugin: string;
  host: string;
  port: number;
  user: string;
}

/**
 * One `temporal-sql-tool` command line, spelled as docker-compose.yml's temporal-schema job spells it (the password
 * goes by environment, SQL_PASSWORD, never on a command line).
 */
export function sqlToolArgs(endpoint: SqlEndpoint, database: string, args: string[]): string[] {
  return [
    ...['--plugin', endpoint.plugin, '--ep', endpoint.host, '-p', String(endpoint.port), '-u', endpoint.user],
    ...['--db', database, ...args],
  ];
}

/**
 * The schema steps for Temporal's two databases, in order: `create-database` (a no-op when it exists; the tool
 * connects through the `postgres` database by default), `setup-schema -v 0.0`, `update-schema -d <versioned dir>`.
 * `schemaDir` is the `…/schema/postgresql/v12` folder (`/etc/temporal/schema/postgresql/v12` in the admin-tools image).
 */
export function temporalSchemaSteps(schemaDir: string): { database: string; args: string[] }[] {
  return TEMPORAL_DATABASES.flatMap((db) => [
    { database: db.name, args: ['create-database'] },
    { database: db.name, args: ['setup-schema', '-v', '0.0'] },
    { database: db.name, args: ['update-schema', '-d', `${schemaDir}/${db.schema}/versioned`] },
  ]);
}

function runSqlTool(opts: SchemaOptions, database: string, args: string[]): Promise<void> {
  const argv = sqlToolArgs({ plugin: 'postgres12', host: '127.0.0.1', port: opts.port, user: POSTGRES_USER }, database, args);
  fs.appendFileSync(opts.logFile, `\n=== ${new Date().toISOString()} temporal-sql-tool ${argv.join(' ')}\n`);
  const fd = fs.openSync(opts.logFile, 'a');
  return new Promise<void>((resolve, reject) => {
    // The password goes by environment (SQL_PASSWORD), never on a command line others can read.
    const child = spawn(opts.sqlTool, argv, {
      env: { PATH: process.env.PATH, SQL_PASSWORD: opts.password },
      stdio: ['ignore', fd, fd],
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else {
        const tail = fs.readFileSync(opts.logFile, 'utf8').trimEnd().split('\n').slice(-15).join('\n');
        reject(new Error(`temporal-sql-tool ${args[0]} on ${database} failed (${signal ?? `exit code ${code}`}):\n${indent(tail)}`));
      }
    });
  }).finally(() => fs.closeSync(fd));
}

async function schemaVersion(opts: SchemaOptions, database: string): Promise<string> {
  const c = new Client({ connectionString: postgresUrl(opts.port, opts.password, database) });
  await c.connect();
  try {
    const r = await c.query<{ curr_version: string }>('SELECT curr_version FROM schema_version LIMIT 1');
    return r.rows[0]?.curr_version ?? '?';
  } finally {
    await c.end();
  }
}

/** Creates and upgrades every database; returns Temporal's schema versions (`temporal 1.18, …`). */
export async function setUpSchemas(opts: SchemaOptions): Promise<string> {
  for (const step of temporalSchemaSteps(opts.schemaDir)) await runSqlTool(opts, step.database, step.args);
  const versions: string[] = [];
  for (const db of TEMPORAL_DATABASES) versions.push(`${db.name} ${await schemaVersion(opts, db.name)}`);
  await runSqlTool(opts, ENGINE_DATABASE, ['create-database']);
  return versions.join(', ');
}
