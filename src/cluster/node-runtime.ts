/**
 * Which Node runs the cluster's engine processes (the workers, the API and the Salesforce stand-in), chosen by
 * CLUSTER_NODE:
 *
 * - `auto` (the default): Node 24 LTS from the binary cache when it is there (`node scripts/node-runtime.mjs`
 *   fetches it; CI does), else the `node` first on PATH;
 * - `24`: that cached Node 24, and refuse to start without it;
 * - `path`: the `node` first on PATH, as `npm start` uses;
 * - an absolute path to a `node` executable.
 *
 * Nothing is fetched here: the cache is only looked at (`scripts/node-runtime.mjs --check`, which also runs the binary
 * and checks its version). The chosen node's directory goes first on the processes' PATH, so the `node` that
 * `npm run worker` and `npm run api` run is that one (npm adds only node_modules/.bin directories in front of it). The
 * processes share the clone's node_modules with the Node that installed them: the Temporal core bridge is an N-API
 * module shipped prebuilt (one binary for every Node version) and no dependency runs an install script, so one
 * `npm ci`, under Node 20 or 24, serves both.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const RUNTIME_SCRIPT = path.resolve(__dirname, '..', '..', 'scripts', 'node-runtime.mjs');

/** The Node the engine processes run on. */
export interface ClusterNode {
  /** Put first on the processes' PATH; null leaves PATH as it is (the `node` on it). */
  binDir: string | null;
  /** `v24.22.3`, as that node reports it; null when it could not be run. */
  version: string | null;
  /** How it was chosen, for the start-up line. */
  source: string;
}

/** The cached Node 24's bin directory, or null when it is not in the cache (nothing is fetched). */
export function cachedNode24(env: NodeJS.ProcessEnv = process.env): string | null {
  const r = spawnSync(process.execPath, [RUNTIME_SCRIPT, '--check', '--quiet'], { env, encoding: 'utf8' });
  const dir = r.status === 0 ? r.stdout.trim() : '';
  return dir !== '' ? dir : null;
}

function nodeVersion(node: string, env: NodeJS.ProcessEnv): string | null {
  const r = spawnSync(node, ['--version'], { env, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

/** Reads CLUSTER_NODE (see the file's comment); throws on a value it cannot honour. */
export function chooseClusterNode(env: NodeJS.ProcessEnv = process.env): ClusterNode {
  const setting = (env.CLUSTER_NODE ?? '').trim() || 'auto';
  const onPath = (source: string): ClusterNode => ({ binDir: null, version: nodeVersion('node', env), source });
  if (setting === 'path') return onPath('CLUSTER_NODE=path: the node on PATH');
  if (setting === 'auto' || setting === '24') {
    const dir = cachedNode24(env);
    if (dir !== null) return { binDir: dir, version: nodeVersion(path.join(dir, 'node'), env), source: `CLUSTER_NODE=${setting}: the cached Node 24` };
    if (setting === '24') {
      throw new Error('CLUSTER_NODE=24, but Node 24 is not in the binary cache: fetch it with `node scripts/node-runtime.mjs`');
    }
    return onPath('CLUSTER_NODE=auto: Node 24 is not in the cache, the node on PATH');
  }
  if (path.isAbsolute(setting)) {
    let executable = false;
    try {
      executable = fs.statSync(setting).isFile();
      fs.accessSync(setting, fs.constants.X_OK);
    } catch {
      executable = false;
    }
    const version = executable ? nodeVersion(setting, env) : null;
    if (version === null) throw new Error(`CLUSTER_NODE=${setting} is not a node executable that runs`);
    if (path.basename(setting) !== 'node') {
      throw new Error(`CLUSTER_NODE=${setting}: name the executable \`node\` itself (npm's scripts run \`node\` from PATH)`);
    }
    return { binDir: path.dirname(setting), version, source: `CLUSTER_NODE=${setting}` };
  }
  throw new Error(`CLUSTER_NODE must be auto, 24, path or an absolute path to a node executable, not '${setting}'`);
}

/** The processes' environment with the chosen node first on PATH. */
export function withClusterNode(env: NodeJS.ProcessEnv, node: ClusterNode): NodeJS.ProcessEnv {
  if (node.binDir === null) return env;
  return { ...env, PATH: env.PATH ? `${node.binDir}${path.delimiter}${env.PATH}` : node.binDir };
}
