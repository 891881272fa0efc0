/**
 * Which Node the cluster's engine processes run on (CLUSTER_NODE, src/cluster/node-runtime.ts), without a cluster:
 * a binary cache of its own (BOOKING_ENGINE_CACHE) holding a stand-in `node` that reports v24.22.3, and a real
 * `npm run` proving that the `node` an npm script runs is the one put first on PATH.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { cachedNode24, chooseClusterNode, withClusterNode } from '../../src/cluster/node-runtime';

let tmp: string;
let emptyCache: string;
let fullCache: string;
let node24Bin: string;

/** A `node` that answers `--version` as Node 24.22.3 does and says what it is otherwise. */
function standInNode(dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'node');
  fs.writeFileSync(file, '#!/bin/sh\nif [ "$1" = --version ]; then echo v24.22.3; else echo "stand-in node $*"; fi\n', { mode: 0o755 });
  return file;
}

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-cluster-node-'));
  emptyCache = path.join(tmp, 'empty-cache');
  fs.mkdirSync(emptyCache);
  fullCache = path.join(tmp, 'cache');
  node24Bin = path.dirname(standInNode(path.join(fullCache, 'bin', 'node-24.22.3', 'bin')));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

const env = (cache: string, clusterNode?: string): NodeJS.ProcessEnv => ({
  ...process.env,
  BOOKING_ENGINE_CACHE: cache,
  CLUSTER_NODE: clusterNode,
});

test('auto (the default) takes the cached Node 24 when it is there, and the node on PATH when not, fetching nothing', () => {
  expect(cachedNode24(env(fullCache))).toBe(node24Bin);
  for (const setting of [undefined, '', 'auto']) {
    expect(chooseClusterNode(env(fullCache, setting))).toEqual({
      binDir: node24Bin,
      version: 'v24.22.3',
      source: 'CLUSTER_NODE=auto: the cached Node 24',
    });
    const onPath = chooseClusterNode(env(emptyCache, setting));
    expect(onPath).toMatchObject({ binDir: null, source: 'CLUSTER_NODE=auto: Node 24 is not in the cache, the node on PATH' });
    expect(onPath.version).toMatch(/^v\d+\.\d+\.\d+$/);
  }
  // Only looked at: nothing was fetched into the empty cache.
  expect(fs.readdirSync(emptyCache)).toEqual([]);
});

test('24 insists on the cached Node 24; path keeps the node on PATH; an absolute path names a node', () => {
  expect(chooseClusterNode(env(fullCache, '24'))).toMatchObject({ binDir: node24Bin, version: 'v24.22.3' });
  expect(() => chooseClusterNode(env(emptyCache, '24'))).toThrow(
    'CLUSTER_NODE=24, but Node 24 is not in the binary cache: fetch it with `node scripts/node-runtime.mjs`',
  );
  expect(fs.readdirSync(emptyCache)).toEqual([]);
  expect(chooseClusterNode(env(fullCache, 'path'))).toMatchObject({ binDir: null, source: 'CLUSTER_NODE=path: the node on PATH' });

  const own = standInNode(path.join(tmp, 'own', 'bin'));
  expect(chooseClusterNode(env(emptyCache, own))).toEqual({ binDir: path.dirname(own), version: 'v24.22.3', source: `CLUSTER_NODE=${own}` });
  expect(() => chooseClusterNode(env(emptyCache, path.join(tmp, 'missing', 'node')))).toThrow('is not a node executable that runs');
  const notExecutable = path.join(tmp, 'plain', 'node');
  fs.mkdirSync(path.dirname(notExecutable));
  fs.writeFileSync(notExecutable, 'not a program\n', { mode: 0o644 });
  expect(() => chooseClusterNode(env(emptyCache, notExecutable))).toThrow('is not a node executable that runs');
  const renamed = path.join(tmp, 'own', 'bin', 'node24');
  fs.copyFileSync(own, renamed);
  expect(() => chooseClusterNode(env(emptyCache, renamed))).toThrow('name the executable `node` itself');
  for (const bad of ['20', 'node', 'relative/bin/node']) {
    expect(() => chooseClusterNode(env(fullCache, bad))).toThrow(`CLUSTER_NODE must be auto, 24, path or an absolute path to a node executable, not '${bad}'`);
  }
});

test('the node an npm script runs is the chosen one: first on PATH, which npm keeps after node_modules/.bin', () => {
  const pkg = path.join(tmp, 'pkg');
  fs.mkdirSync(pkg);
  fs.writeFileSync(path.join(pkg, 'package.json'), JSON.stringify({ name: 'p', private: true, scripts: { which: 'node --version && node app.js' } }));
  // npm itself runs on this process's node, as the cluster starts it (npm_execpath), or as the npm on PATH would.
  const npmCli = fs.realpathSync(spawnSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).stdout.trim());
  const run = (e: NodeJS.ProcessEnv) => spawnSync(process.execPath, [npmCli, 'run', '--silent', 'which'], { cwd: pkg, env: e, encoding: 'utf8' });

  const chosen = run(withClusterNode(env(fullCache), chooseClusterNode(env(fullCache))));
  expect(chosen.stderr).toBe('');
  expect(chosen.stdout).toBe('v24.22.3\nstand-in node app.js\n');

  const unchanged = withClusterNode(env(emptyCache), chooseClusterNode(env(emptyCache)));
  expect(unchanged.PATH).toBe(process.env.PATH);
  expect(withClusterNode({ PATH: '/usr/bin' }, { binDir: node24Bin, version: 'v24.22.3', source: '' }).PATH).toBe(`${node24Bin}:/usr/bin`);
});
