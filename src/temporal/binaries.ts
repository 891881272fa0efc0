/**
 * Locates the Temporal CLI (embedded dev server) and the Java time-skipping test server. The lookup order is the one
 * of scripts/binaries.mjs: an env override, then PATH, then the version-keyed cache; when neither is found the
 * script is run once (its progress shows on this process's terminal) to build the missing binary.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** Versions pinned by scripts/binaries.mjs; the cache directories carry them in their names. */
export const TEMPORAL_CLI_VERSION = '1.5.1';
export const TEST_SERVER_VERSION = '1.38.0';

const SCRIPT = path.resolve(__dirname, '..', '..', 'scripts', 'binaries.mjs');

/** Root of the binary cache: $BOOKING_ENGINE_CACHE or ${XDG_CACHE_HOME:-~/.cache}/booking-engine. */
export function binaryCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BOOKING_ENGINE_CACHE) return path.resolve(env.BOOKING_ENGINE_CACHE);
  const xdg = env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache');
  return path.join(xdg, 'booking-engine');
}

function isExecutable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string, env: NodeJS.ProcessEnv): string | null {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const p = path.join(dir, name);
    if (isExecutable(p)) return p;
  }
  return null;
}

function fromOverride(name: string, value: string | null | undefined): string | null {
  if (!value) return null;
  const p = path.resolve(value);
  // A wrong override is a configuration error, not a reason to build something else silently.
  if (!isExecutable(p)) throw new Error(`${name}=${value} is not an executable file`);
  return p;
}

/** The CLI if already present (override, PATH, cache), without building. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env, override?: string | null): string | null {
  const p = fromOverride('TEMPORAL_CLI_PATH', override ?? env.TEMPORAL_CLI_PATH) ?? onPath('temporal', env);
  if (p) return p;
  const cached = path.join(binaryCacheRoot(env), 'bin', `temporal-cli-${TEMPORAL_CLI_VERSION}`, 'temporal');
  return isExecutable(cached) ? cached : null;
}

/** The test server if already present (override, PATH, cache), without building. */
export function findTestServer(env: NodeJS.ProcessEnv = process.env): string | null {
  const p =
    fromOverride('TEMPORAL_TEST_SERVER_PATH', env.TEMPORAL_TEST_SERVER_PATH) ?? onPath('temporal-test-server', env);
  if (p) return p;
  const dir = path.join(binaryCacheRoot(env), 'bin', `temporal-test-server-${TEST_SERVER_VERSION}`);
  const cached = path.join(dir, 'temporal-test-server');
  return isExecutable(cached) && fs.existsSync(path.join(dir, 'lib')) ? cached : null;
}

function runBinariesScript(only: 'cli' | 'test-server', env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    // stdout too goes to our stderr: callers may use stdout for their own output.
    const child = spawn(process.execPath, [SCRIPT, '--only', only], {
      env,
      stdio: ['ignore', process.stderr, process.stderr],
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`scripts/binaries.mjs --only ${only} failed (${signal ?? `exit code ${code}`})`));
    });
  });
}

async function resolveOrBuild(
  what: string,
  only: 'cli' | 'test-server',
  find: () => string | null,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const found = find();
  if (found) return found;
  try {
    await runBinariesScript(only, env);
  } catch (err) {
    throw new Error(
      `${what} is not available and could not be built: ${(err as Error).message}. ` +
        'See the message above, or run `npm run binaries` to retry.',
    );
  }
  const built = find();
  if (!built) throw new Error(`${what}: scripts/binaries.mjs finished but the binary is still missing`);
  return built;
}

/** Path of the Temporal CLI 1.5.1, building it once if needed; throws with the reason when that is impossible. */
export function resolveTemporalCli(
  override?: string | null,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  return resolveOrBuild(`Temporal CLI ${TEMPORAL_CLI_VERSION}`, 'cli', () => findTemporalCli(env, override), env);
}

/** Path of the Java time-skipping test server, resolving it once if needed; throws when that is impossible. */
export function resolveTestServer(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return resolveOrBuild(`Temporal test server ${TEST_SERVER_VERSION}`, 'test-server', () => findTestServer(env), env);
}
