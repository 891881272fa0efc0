/**
 * scripts/binaries.mjs for the cluster: its binaries are handled only when asked for (--cluster, --only), found in
 * TEMPORAL_SERVER_DIR / TEMPORAL_UI_SERVER_PATH or the cache, reported missing by --check, and named in --json.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const SCRIPT = path.resolve(__dirname, '..', '..', 'scripts', 'binaries.mjs');
let tmp: string;
/** A PATH holding only node: no go, no temporal-ui-server. */
let nodeOnlyPath: string;

function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [SCRIPT, ...args], {
    env: { PATH: nodeOnlyPath, HOME: tmp, BOOKING_ENGINE_CACHE: path.join(tmp, 'empty-cache'), ...env },
    encoding: 'utf8',
  });
}

/** A directory laid out like <cache>/bin/temporal-server-1.29.1/. */
function fakeServerDir(dir: string, { schema = true } = {}): string {
  fs.mkdirSync(dir, { recursive: true });
  for (const bin of ['temporal-server', 'temporal-sql-tool']) fs.writeFileSync(path.join(dir, bin), '#!/bin/sh\n', { mode: 0o755 });
  if (schema) {
    for (const s of ['temporal', 'visibility']) fs.mkdirSync(path.join(dir, 'schema', 'postgresql', 'v12', s, 'versioned'), { recursive: true });
  }
  return dir;
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-cluster-binaries-'));
  nodeOnlyPath = path.join(tmp, 'path');
  fs.mkdirSync(nodeOnlyPath);
  fs.symlinkSync(process.execPath, path.join(nodeOnlyPath, 'node'));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('--check --only cluster builds nothing and names both missing binaries', () => {
  const r = run(['--check', '--only', 'cluster']);
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/missing temporal-server, temporal-ui-server \(run `npm run binaries -- --cluster` to build\)/);
  expect(fs.existsSync(path.join(tmp, 'empty-cache', 'bin'))).toBe(false);
});

test('without --cluster or --only the cluster binaries are not looked at (npm install never builds them)', () => {
  const cache = path.join(tmp, 'cli-only-cache');
  const cli = path.join(cache, 'bin', 'temporal-cli-1.5.1', 'temporal');
  const testServer = path.join(cache, 'bin', 'temporal-test-server-1.38.0', 'temporal-test-server');
  for (const bin of [cli, testServer]) {
    fs.mkdirSync(path.dirname(bin), { recursive: true });
    fs.writeFileSync(bin, '#!/bin/sh\n', { mode: 0o755 });
  }
  fs.mkdirSync(path.join(path.dirname(testServer), 'lib'));
  const r = run(['--check', '--json'], { BOOKING_ENGINE_CACHE: cache });
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({ temporalCli: cli, testServer });
});

test('TEMPORAL_SERVER_DIR and TEMPORAL_UI_SERVER_PATH are used as they are, and --json names every part', () => {
  const dir = fakeServerDir(path.join(tmp, 'server-dir'));
  const ui = path.join(tmp, 'my-ui-server');
  fs.writeFileSync(ui, '#!/bin/sh\n', { mode: 0o755 });
  const r = run(['--check', '--only', 'server,ui-server', '--json'], { TEMPORAL_SERVER_DIR: dir, TEMPORAL_UI_SERVER_PATH: ui });
  expect(r.status).toBe(0);
  expect(JSON.parse(r.stdout)).toEqual({
    temporalServer: path.join(dir, 'temporal-server'),
    temporalSqlTool: path.join(dir, 'temporal-sql-tool'),
    temporalSchemaDir: path.join(dir, 'schema', 'postgresql', 'v12'),
    temporalUiServer: ui,
  });
});

test('a TEMPORAL_SERVER_DIR without the schema files is an error naming the variable', () => {
  const dir = fakeServerDir(path.join(tmp, 'no-schema'), { schema: false });
  const r = run(['--only', 'server'], { TEMPORAL_SERVER_DIR: dir });
  expect(r.status).toBe(3);
  expect(r.stderr).toMatch(/TEMPORAL_SERVER_DIR=.*does not hold temporal-server, temporal-sql-tool and schema\/postgresql\/v12/);
});

test('the cache holds the server, its SQL tool and the schema files in one version-keyed directory', () => {
  const cache = path.join(tmp, 'cache');
  const dir = fakeServerDir(path.join(cache, 'bin', 'temporal-server-1.29.1'));
  const ui = path.join(cache, 'bin', 'temporal-ui-server-2.42.1', 'temporal-ui-server');
  fs.mkdirSync(path.dirname(ui), { recursive: true });
  fs.writeFileSync(ui, '#!/bin/sh\n', { mode: 0o755 });
  const r = run(['--check', '--cluster', '--only', 'cluster'], { BOOKING_ENGINE_CACHE: cache });
  expect(r.status).toBe(0);
  expect(r.stdout).toContain(`temporal-server: ${path.join(dir, 'temporal-server')}`);
  expect(r.stdout).toContain(`temporal-schema: ${path.join(dir, 'schema', 'postgresql', 'v12')}`);
  expect(r.stdout).toContain(`temporal-ui-server: ${ui}`);
});

test('--only rejects an unknown name', () => {
  const r = run(['--only', 'cluster,bogus']);
  expect(r.status).toBe(2);
  expect(r.stderr).toMatch(/--only takes cli, test-server, server, ui-server or cluster/);
});
