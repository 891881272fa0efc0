#!/usr/bin/env node
/**
 * Finds or builds the native binaries the engine and its tests need, and prints their paths:
 *
 *   - Temporal CLI 1.5.1 (`temporal server start-dev` is the embedded dev server);
 *   - the Java time-skipping test server 1.38.0 (workflow tests with timers);
 *   - with --cluster (or --only server|ui-server|cluster), what `npm run cluster` runs: the Temporal server 1.29.1
 *     with its SQL schema tool and PostgreSQL schema files, and the Temporal UI server 2.42.1.
 *
 * Lookup order, first hit wins:
 *   CLI:         $TEMPORAL_CLI_PATH, then `temporal` on PATH, then <cache>/bin/temporal-cli-1.5.1/temporal,
 *                else built with `go install` (Go >= 1.21; Go fetches the 1.25 toolchain it needs from the Go proxy).
 *   Test server: $TEMPORAL_TEST_SERVER_PATH, then `temporal-test-server` on PATH,
 *                then <cache>/bin/temporal-test-server-1.38.0/temporal-test-server, else resolved with Maven (Java 17).
 *   Server:      $TEMPORAL_SERVER_DIR, then <cache>/bin/temporal-server-1.29.1/, else built with `go install`. Either
 *                directory holds temporal-server, temporal-sql-tool and schema/postgresql/v12/{temporal,visibility}/
 *                versioned; there is no PATH lookup, because the server, its schema tool and the schema files must be
 *                of one version.
 *   UI server:   $TEMPORAL_UI_SERVER_PATH, then `temporal-ui-server` on PATH,
 *                then <cache>/bin/temporal-ui-server-2.42.1/temporal-ui-server, else built with `go install`.
 * <cache> is $BOOKING_ENGINE_CACHE, or ${XDG_CACHE_HOME:-$HOME/.cache}/booking-engine.
 *
 * Nothing is downloaded from GitHub or temporal.io: builds use only the Go module proxy and Maven Central, so the
 * script works on machines that reach package registries only. Builds go to a temporary directory that is renamed
 * into place at the end, so an interrupted build never leaves a half-filled cache.
 *
 * Flags: --quiet-if-cached (print nothing when nothing had to be built),
 *        --json (print {temporalCli, testServer, temporalServer, temporalSqlTool, temporalSchemaDir, temporalUiServer},
 *        the keys of the binaries asked for),
 *        --cluster (the cluster's binaries too), --only cli|test-server|server|ui-server|cluster (or a comma list;
 *        cluster = server,ui-server), --check (build nothing; exit 1 when a binary is missing).
 * Without --cluster or --only, only the CLI and the test server are handled: `npm install` never builds the cluster's.
 */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const CLI_VERSION = '1.5.1';
const TEST_SERVER_VERSION = '1.38.0';
const SERVER_VERSION = '1.29.1';
const UI_SERVER_VERSION = '2.42.1';
const SERVER_MODULE = 'go.temporal.io/server';
const UI_SERVER_MODULE = 'github.com/temporalio/ui-server/v2';
/** Inside the server module and inside <cache>/bin/temporal-server-<version>/: the PostgreSQL schema files. */
const POSTGRES_SCHEMA = path.join('schema', 'postgresql', 'v12');
const MIN_GO_MINOR = 21; // first Go release that downloads the toolchain a module asks for (GOTOOLCHAIN=auto)

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

class MissingTool extends Error {}

const TARGETS = ['cli', 'test-server', 'server', 'ui-server'];
const GROUPS = { cluster: ['server', 'ui-server'] };

function parseArgs(argv) {
  const opts = { quietIfCached: false, json: false, only: null, cluster: false, check: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--quiet-if-cached') opts.quietIfCached = true;
    else if (a === '--json') opts.json = true;
    else if (a === '--check') opts.check = true;
    else if (a === '--cluster') opts.cluster = true;
    else if (a === '--only' || a.startsWith('--only=')) {
      const v = a.includes('=') ? a.slice('--only='.length) : argv[++i];
      const names = (v ?? '').split(',').flatMap((n) => GROUPS[n] ?? [n]);
      const bad = names.find((n) => !TARGETS.includes(n));
      if (bad !== undefined || names.length === 0) {
        usage(`--only takes ${TARGETS.join(', ')} or cluster (or a comma list), got '${v ?? ''}'`);
      }
      opts.only = [...new Set([...(opts.only ?? []), ...names])];
    } else if (a === '-h' || a === '--help') usage(null);
    else usage(`unknown argument '${a}'`);
  }
  return opts;
}

/** The binaries a run handles: --only's, else the CLI and the test server, plus the cluster's with --cluster. */
function selectedTargets(opts) {
  if (opts.only) return new Set([...opts.only, ...(opts.cluster ? GROUPS.cluster : [])]);
  return new Set(['cli', 'test-server', ...(opts.cluster ? GROUPS.cluster : [])]);
}

function usage(error) {
  const text =
    'usage: node scripts/binaries.mjs [--quiet-if-cached] [--json] [--cluster] ' +
    '[--only cli|test-server|server|ui-server|cluster[,...]] [--check]';
  if (error) {
    console.error(`binaries: ${error}\n${text}`);
    process.exit(2);
  }
  console.log(text);
  process.exit(0);
}

/** Root of the version-keyed binary cache. */
export function cacheRoot(env = process.env) {
  if (env.BOOKING_ENGINE_CACHE) return path.resolve(env.BOOKING_ENGINE_CACHE);
  const xdg = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(xdg, 'booking-engine');
}

function cliDir(env) {
  return path.join(cacheRoot(env), 'bin', `temporal-cli-${CLI_VERSION}`);
}

function testServerDir(env) {
  return path.join(cacheRoot(env), 'bin', `temporal-test-server-${TEST_SERVER_VERSION}`);
}

function serverDir(env) {
  return path.join(cacheRoot(env), 'bin', `temporal-server-${SERVER_VERSION}`);
}

function uiServerDir(env) {
  return path.join(cacheRoot(env), 'bin', `temporal-ui-server-${UI_SERVER_VERSION}`);
}

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function onPath(name, env = process.env) {
  for (const dir of (env.PATH || '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    if (isExecutable(p)) return p;
  }
  return null;
}

function fromEnv(name, env) {
  const v = env[name];
  if (!v) return null;
  const p = path.resolve(v);
  if (!isExecutable(p)) throw new MissingTool(`${name}=${v} is not an executable file`);
  return p;
}

/** The CLI without building: env override, PATH, cache. Null when absent. */
export function findTemporalCli(env = process.env) {
  const p = fromEnv('TEMPORAL_CLI_PATH', env) ?? onPath('temporal', env);
  if (p) return p;
  const cached = path.join(cliDir(env), 'temporal');
  return isExecutable(cached) ? cached : null;
}

/** The test server without building: env override, PATH, cache. Null when absent. */
export function findTestServer(env = process.env) {
  const p = fromEnv('TEMPORAL_TEST_SERVER_PATH', env) ?? onPath('temporal-test-server', env);
  if (p) return p;
  const cached = path.join(testServerDir(env), 'temporal-test-server');
  return isExecutable(cached) && fs.existsSync(path.join(testServerDir(env), 'lib')) ? cached : null;
}

/** A server directory's parts, or null when one of them is missing. */
function serverParts(dir) {
  const parts = {
    temporalServer: path.join(dir, 'temporal-server'),
    temporalSqlTool: path.join(dir, 'temporal-sql-tool'),
    temporalSchemaDir: path.join(dir, POSTGRES_SCHEMA),
  };
  const complete =
    isExecutable(parts.temporalServer) &&
    isExecutable(parts.temporalSqlTool) &&
    fs.existsSync(path.join(parts.temporalSchemaDir, 'temporal', 'versioned')) &&
    fs.existsSync(path.join(parts.temporalSchemaDir, 'visibility', 'versioned'));
  return complete ? parts : null;
}

/**
 * The Temporal server, its SQL tool and the PostgreSQL schema directory without building: $TEMPORAL_SERVER_DIR, else
 * the cache. Null when absent.
 */
export function findTemporalServer(env = process.env) {
  if (env.TEMPORAL_SERVER_DIR) {
    const dir = path.resolve(env.TEMPORAL_SERVER_DIR);
    const parts = serverParts(dir);
    if (!parts) {
      throw new MissingTool(
        `TEMPORAL_SERVER_DIR=${env.TEMPORAL_SERVER_DIR} does not hold temporal-server, temporal-sql-tool and ` +
          `${POSTGRES_SCHEMA}/{temporal,visibility}/versioned`,
      );
    }
    return parts;
  }
  return serverParts(serverDir(env));
}

/** The Temporal UI server without building: env override, PATH, cache. Null when absent. */
export function findUiServer(env = process.env) {
  const p = fromEnv('TEMPORAL_UI_SERVER_PATH', env) ?? onPath('temporal-ui-server', env);
  if (p) return p;
  const cached = path.join(uiServerDir(env), 'temporal-ui-server');
  return isExecutable(cached) ? cached : null;
}

const CLI_WITHOUT_GO =
  '  Or skip the build: point TEMPORAL_CLI_PATH at an existing `temporal` binary, or put one on PATH.';
const CLUSTER_WITHOUT_GO =
  '  Or skip the build: point TEMPORAL_SERVER_DIR at a directory holding temporal-server, temporal-sql-tool and\n' +
  `  ${POSTGRES_SCHEMA}/ of release ${SERVER_VERSION}, and TEMPORAL_UI_SERVER_PATH at a UI server ${UI_SERVER_VERSION}.`;

function findGo(env, purpose = `the Temporal CLI ${CLI_VERSION}`, skipHint = CLI_WITHOUT_GO) {
  const candidates = [onPath('go', env), '/usr/local/go/bin/go'];
  // Debian's versioned packages (golang-1.2x-go, e.g. from bookworm-backports) install outside PATH.
  try {
    const versioned = fs
      .readdirSync('/usr/lib')
      .filter((d) => /^go-1\.\d+$/.test(d))
      .sort((a, b) => Number(b.split('.')[1]) - Number(a.split('.')[1]));
    for (const d of versioned) candidates.push(path.join('/usr/lib', d, 'bin', 'go'));
  } catch {
    // no /usr/lib: not Debian-like
  }
  for (const c of candidates) {
    if (!c || !isExecutable(c)) continue;
    const r = spawnSync(c, ['env', 'GOVERSION'], { encoding: 'utf8' });
    const m = /^go1\.(\d+)/.exec((r.stdout || '').trim());
    if (m && Number(m[1]) >= MIN_GO_MINOR) return c;
  }
  const found = candidates.find((c) => c && isExecutable(c));
  throw new MissingTool(
    (found ? `Go at ${found} is older than 1.${MIN_GO_MINOR}` : 'Go is not installed') +
      `: it is needed once to build ${purpose}.\n` +
      `  Install Go 1.${MIN_GO_MINOR}+ (it fetches the newer toolchain the build needs by itself):\n` +
      '    - Debian 12: enable bookworm-backports and `apt-get install -t bookworm-backports golang-1.23-go`\n' +
      '      (plain `apt-get install golang` gives 1.19, too old), or\n' +
      '    - a release from https://go.dev/dl/ unpacked into /usr/local/go.\n' +
      skipHint,
  );
}

function requireTool(name, hint) {
  const p = onPath(name);
  if (!p) throw new MissingTool(hint);
  return p;
}

function fmtSeconds(ms) {
  return `${Math.round(ms / 1000)}s`;
}

/** Runs a command with its output streamed, plus a progress line every 15 s so long builds show life. */
function run(label, cmd, args, options) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    // stdout is reserved for the result (--json), so the tools' output goes to stderr.
    const child = spawn(cmd, args, { ...options, stdio: ['ignore', process.stderr, process.stderr] });
    const timer = setInterval(() => {
      console.error(`binaries: ${label}: still running, ${fmtSeconds(Date.now() - started)} elapsed`);
    }, 15_000);
    const forward = (sig) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('error', (err) => {
      clearInterval(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      if (code === 0) {
        console.error(`binaries: ${label}: done in ${fmtSeconds(Date.now() - started)}`);
        resolve();
      } else reject(new Error(`${label} failed (${signal ?? `exit code ${code}`})`));
    });
  });
}

/** A fresh temporary sibling of `finalDir`, on the same file system so the final rename is atomic. */
function tempDirFor(finalDir) {
  fs.mkdirSync(path.dirname(finalDir), { recursive: true });
  return fs.mkdtempSync(path.join(path.dirname(finalDir), `.${path.basename(finalDir)}.tmp-`));
}

function moveIntoPlace(tmp, finalDir) {
  try {
    fs.renameSync(tmp, finalDir);
  } catch (err) {
    // Another process finished the same build first: keep theirs.
    if (fs.existsSync(finalDir)) fs.rmSync(tmp, { recursive: true, force: true });
    else throw err;
  }
}

async function buildTemporalCli(env) {
  const go = findGo(env);
  const finalDir = cliDir(env);
  const tmp = tempDirFor(finalDir);
  console.error(
    `binaries: building Temporal CLI ${CLI_VERSION} with ${go} (about 5 minutes with an empty Go cache) into ${finalDir}`,
  );
  try {
    await run(
      `go install temporal@v${CLI_VERSION}`,
      go,
      [
        'install',
        '-ldflags',
        `-X github.com/temporalio/cli/temporalcli.Version=${CLI_VERSION}`,
        `github.com/temporalio/cli/cmd/temporal@v${CLI_VERSION}`,
      ],
      // GOTOOLCHAIN=auto lets an older Go fetch the toolchain the CLI's go.mod asks for.
      { cwd: os.tmpdir(), env: { ...env, CGO_ENABLED: '0', GOBIN: tmp, GOTOOLCHAIN: env.GOTOOLCHAIN || 'auto' } },
    );
    if (!isExecutable(path.join(tmp, 'temporal'))) throw new Error('go install produced no `temporal` binary');
    fs.chmodSync(tmp, 0o755);
    moveIntoPlace(tmp, finalDir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return path.join(finalDir, 'temporal');
}

async function buildTestServer(env) {
  requireTool(
    'java',
    'Java is not installed: the time-skipping test server runs on a JVM (17+).\n' +
      '  Debian/Ubuntu: `apt-get install openjdk-17-jdk-headless maven`.\n' +
      '  Or point TEMPORAL_TEST_SERVER_PATH at an existing temporal-test-server executable.',
  );
  const mvn = requireTool(
    'mvn',
    'Maven is not installed: it resolves the test server jars from Maven Central once.\n' +
      '  Debian/Ubuntu: `apt-get install maven` (and openjdk-17-jdk-headless if Java is missing).\n' +
      '  Or point TEMPORAL_TEST_SERVER_PATH at an existing temporal-test-server executable.',
  );
  const finalDir = testServerDir(env);
  const tmp = tempDirFor(finalDir);
  console.error(`binaries: resolving the Java test server ${TEST_SERVER_VERSION} with Maven into ${finalDir}`);
  try {
    await run(
      'mvn dependency:copy-dependencies',
      mvn,
      [
        '-B',
        '-q',
        '-f',
        path.join(repoRoot, 'scripts', 'test-server', 'pom.xml'),
        'dependency:copy-dependencies',
        '-DincludeScope=runtime',
        `-DoutputDirectory=${path.join(tmp, 'lib')}`,
      ],
      { cwd: repoRoot, env },
    );
    const jars = fs.readdirSync(path.join(tmp, 'lib')).filter((f) => f.endsWith('.jar'));
    if (!jars.some((j) => j.startsWith(`temporal-test-server-${TEST_SERVER_VERSION}`))) {
      throw new Error('Maven did not copy the temporal-test-server jar');
    }
    // Relative to the script itself, so the directory can be renamed into place.
    const wrapper = path.join(tmp, 'temporal-test-server');
    fs.writeFileSync(
      wrapper,
      '#!/bin/sh\nexec java -cp "$(dirname "$0")/lib/*" io.temporal.testserver.TestServer "$@"\n',
    );
    fs.chmodSync(wrapper, 0o755);
    fs.chmodSync(tmp, 0o755);
    moveIntoPlace(tmp, finalDir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return path.join(finalDir, 'temporal-test-server');
}

/** Runs a short command (`go env`) and returns its trimmed stdout. */
function output(cmd, args, options) {
  const r = spawnSync(cmd, args, { ...options, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${(r.stderr || String(r.error ?? '')).trim()}`);
  return r.stdout.trim();
}

/** Static binaries into `gobin`; GOTOOLCHAIN=auto lets an older Go fetch the toolchain a module's go.mod asks for. */
function goEnv(env, gobin) {
  return { ...env, CGO_ENABLED: '0', GOBIN: gobin, GOTOOLCHAIN: env.GOTOOLCHAIN || 'auto' };
}

/** Copies a tree out of the read-only module cache and makes the copy writable by its owner (so it can be deleted). */
function copyTree(from, to) {
  fs.cpSync(from, to, { recursive: true });
  const writable = (p) => {
    if (fs.statSync(p).isDirectory()) {
      fs.chmodSync(p, 0o755);
      for (const e of fs.readdirSync(p)) writable(path.join(p, e));
    } else fs.chmodSync(p, 0o644);
  };
  writable(to);
}

/**
 * `go install` of `packages` into a GOBIN of its own (both modules name their binary `server`), then each binary
 * renamed into `tmp` as `renames` says.
 */
async function goInstall(go, env, label, packages, tmp, renames) {
  const gobin = path.join(tmp, '.gobin');
  await run(label, go, ['install', ...packages], { cwd: os.tmpdir(), env: goEnv(env, gobin) });
  for (const [from, to] of Object.entries(renames)) {
    if (!isExecutable(path.join(gobin, from))) throw new Error(`go install produced no \`${from}\` binary`);
    fs.renameSync(path.join(gobin, from), path.join(tmp, to));
  }
  fs.rmSync(gobin, { recursive: true, force: true });
}

async function buildTemporalServer(env) {
  const go = findGo(env, `the Temporal server ${SERVER_VERSION} for npm run cluster`, CLUSTER_WITHOUT_GO);
  const finalDir = serverDir(env);
  const tmp = tempDirFor(finalDir);
  console.error(
    `binaries: building the Temporal server ${SERVER_VERSION} and its SQL tool with ${go} ` +
      `(several minutes with an empty Go cache) into ${finalDir}`,
  );
  try {
    await goInstall(
      go,
      env,
      `go install server and sql@v${SERVER_VERSION}`,
      [`${SERVER_MODULE}/cmd/server@v${SERVER_VERSION}`, `${SERVER_MODULE}/cmd/tools/sql@v${SERVER_VERSION}`],
      tmp,
      { server: 'temporal-server', sql: 'temporal-sql-tool' },
    );
    // The schema files ship inside the module: a copy keeps the cluster independent of the module cache.
    const modCache = output(go, ['env', 'GOMODCACHE'], { cwd: os.tmpdir(), env: goEnv(env, tmp) });
    const schema = path.join(modCache, `${SERVER_MODULE}@v${SERVER_VERSION}`, POSTGRES_SCHEMA);
    if (!fs.existsSync(schema)) throw new Error(`no PostgreSQL schema at ${schema} after go install`);
    copyTree(schema, path.join(tmp, POSTGRES_SCHEMA));
    if (!serverParts(tmp)) throw new Error(`the server build in ${tmp} is incomplete`);
    fs.chmodSync(tmp, 0o755);
    moveIntoPlace(tmp, finalDir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return serverParts(finalDir);
}

async function buildUiServer(env) {
  const go = findGo(env, `the Temporal UI server ${UI_SERVER_VERSION} for npm run cluster`, CLUSTER_WITHOUT_GO);
  const finalDir = uiServerDir(env);
  const tmp = tempDirFor(finalDir);
  console.error(
    `binaries: building the Temporal UI server ${UI_SERVER_VERSION} with ${go} ` +
      `(a few minutes with an empty Go cache) into ${finalDir}`,
  );
  try {
    await goInstall(
      go,
      env,
      `go install ui-server@v${UI_SERVER_VERSION}`,
      [`${UI_SERVER_MODULE}/cmd/server@v${UI_SERVER_VERSION}`],
      tmp,
      { server: 'temporal-ui-server' },
    );
    fs.chmodSync(tmp, 0o755);
    moveIntoPlace(tmp, finalDir);
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return path.join(finalDir, 'temporal-ui-server');
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const targets = selectedTargets(opts);
  const env = process.env;
  const result = {};
  let built = false;
  const missing = [];
  if (targets.has('cli')) {
    result.temporalCli = findTemporalCli(env);
    if (!result.temporalCli && opts.check) missing.push('temporal-cli');
    else if (!result.temporalCli) {
      result.temporalCli = await buildTemporalCli(env);
      built = true;
    }
  }
  if (targets.has('test-server')) {
    result.testServer = findTestServer(env);
    if (!result.testServer && opts.check) missing.push('test-server');
    else if (!result.testServer) {
      result.testServer = await buildTestServer(env);
      built = true;
    }
  }
  if (targets.has('server')) {
    let parts = findTemporalServer(env);
    if (!parts && opts.check) missing.push('temporal-server');
    else if (!parts) {
      parts = await buildTemporalServer(env);
      built = true;
    }
    Object.assign(result, parts ?? {});
  }
  if (targets.has('ui-server')) {
    result.temporalUiServer = findUiServer(env);
    if (!result.temporalUiServer && opts.check) missing.push('temporal-ui-server');
    else if (!result.temporalUiServer) {
      result.temporalUiServer = await buildUiServer(env);
      built = true;
    }
  }
  if (missing.length > 0) {
    const how = missing.some((m) => m === 'temporal-server' || m === 'temporal-ui-server')
      ? '`npm run binaries -- --cluster`'
      : '`npm run binaries`';
    console.error(`binaries: missing ${missing.join(', ')} (run ${how} to build)`);
    process.exit(1);
  }
  if (opts.quietIfCached && !built) return;
  if (opts.json) console.log(JSON.stringify(result));
  else {
    const labels = {
      temporalCli: 'temporal-cli',
      testServer: 'test-server',
      temporalServer: 'temporal-server',
      temporalSqlTool: 'temporal-sql-tool',
      temporalSchemaDir: 'temporal-schema',
      temporalUiServer: 'temporal-ui-server',
    };
    for (const [key, label] of Object.entries(labels)) {
      if (result[key]) console.log(`${label}: ${result[key]}`);
    }
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err) => {
    console.error(`binaries: ${err instanceof MissingTool ? '' : 'error: '}${err.message}`);
    process.exit(err instanceof MissingTool ? 3 : 1);
  });
}
