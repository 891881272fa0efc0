/** Binary lookup: overrides win, wrong overrides fail loudly, and the build script names what is missing. */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { findTemporalCli, resolveTemporalCli, resolveTestServer } from '../../src/temporal/binaries';

const SCRIPT = path.resolve(__dirname, '..', '..', 'scripts', 'binaries.mjs');
let tmp: string;
/** A PATH holding only node, so java, mvn, go and temporal are all absent. */
let nodeOnlyPath: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-binaries-'));
  nodeOnlyPath = path.join(tmp, 'path');
  fs.mkdirSync(nodeOnlyPath);
  fs.symlinkSync(process.execPath, path.join(nodeOnlyPath, 'node'));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('resolves both binaries on this machine to executables', async () => {
  for (const p of [await resolveTemporalCli(), await resolveTestServer()]) {
    expect(() => fs.accessSync(p, fs.constants.X_OK)).not.toThrow();
  }
});

test('TEMPORAL_CLI_PATH wins over PATH and the cache', () => {
  const fake = path.join(tmp, 'my-temporal');
  fs.writeFileSync(fake, '#!/bin/sh\n', { mode: 0o755 });
  expect(findTemporalCli({ ...process.env, TEMPORAL_CLI_PATH: fake })).toBe(fake);
});

test('a TEMPORAL_CLI_PATH that is not an executable is an error naming the variable', async () => {
  await expect(resolveTemporalCli(path.join(tmp, 'absent'))).rejects.toThrow(/TEMPORAL_CLI_PATH=.*not an executable/);
});

test('the cache location follows BOOKING_ENGINE_CACHE', () => {
  const cache = path.join(tmp, 'cache');
  const cli = path.join(cache, 'bin', 'temporal-cli-1.5.1', 'temporal');
  fs.mkdirSync(path.dirname(cli), { recursive: true });
  fs.writeFileSync(cli, '#!/bin/sh\n', { mode: 0o755 });
  expect(findTemporalCli({ PATH: '', HOME: tmp, BOOKING_ENGINE_CACHE: cache })).toBe(cli);
});

test('without Java and Maven the script exits non-zero and says what to install', () => {
  const r = spawnSync(process.execPath, [SCRIPT, '--only', 'test-server'], {
    env: { PATH: nodeOnlyPath, HOME: tmp, BOOKING_ENGINE_CACHE: path.join(tmp, 'empty-cache') },
    encoding: 'utf8',
  });
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/Java is not installed/);
  expect(r.stderr).toMatch(/apt-get install openjdk-17/);
  // No cache entry appears: the next run must try again rather than find a broken one.
  expect(fs.existsSync(path.join(tmp, 'empty-cache', 'bin', 'temporal-test-server-1.38.0'))).toBe(false);
});

test('--check builds nothing and reports the missing binary', () => {
  const r = spawnSync(process.execPath, [SCRIPT, '--check', '--only', 'cli'], {
    env: { PATH: nodeOnlyPath, HOME: tmp, BOOKING_ENGINE_CACHE: path.join(tmp, 'check-cache') },
    encoding: 'utf8',
  });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/missing temporal-cli/);
});
