#!/usr/bin/env node
/**
 * The production build (`npm run build:prod`): compiles src/, workflows/ and activities/ with tsconfig.build.json into
 * dist/, copies their other files (the SQL migrations) next to the compiled code, bundles the compiled workflows into
 * dist/workflow-bundle.js (first line: the hash the worker checks at start), and with the OpenTelemetry workflow
 * interceptors into dist/workflow-bundle-tracing.js (what a worker with tracing on uses), and records what it was built from in
 * dist/build-info.json. It builds into a fresh directory beside dist/ and swaps it in, so a failed build leaves the
 * previous one whole and a running process never sees half a build.
 *
 *   node scripts/build-prod.mjs                 build
 *   node scripts/build-prod.mjs --if-stale      build only when dist/ is missing or its inputs changed (npm run worker/api)
 *   node scripts/build-prod.mjs --out-dir DIR   build into DIR instead of dist/ (a directory beside node_modules)
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
/** Compiled or copied into the build. */
const SOURCE_DIRS = ['src', 'workflows', 'activities'];
/** The rest of what the build depends on. */
const INPUT_FILES = ['package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'scripts/build-prod.mjs'];
const INFO_FILE = 'build-info.json';
const BUNDLE_FILE = 'workflow-bundle.js';
/** The same workflows with Temporal's OpenTelemetry interceptors, for a worker with tracing on (OTEL_EXPORTER_OTLP_ENDPOINT). */
const TRACING_BUNDLE_FILE = 'workflow-bundle-tracing.js';

function parseArgs(argv) {
  const args = { ifStale: false, outDir: path.join(ROOT, 'dist') };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--if-stale') args.ifStale = true;
    else if (argv[i] === '--out-dir' && argv[i + 1]) args.outDir = path.resolve(argv[++i]);
    else {
      console.error(`build-prod: unknown argument ${argv[i]}\nusage: node scripts/build-prod.mjs [--if-stale] [--out-dir DIR]`);
      process.exit(2);
    }
  }
  return args;
}

function listFiles(dir) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(p) : e.isFile() ? [p] : [];
  });
}

/** sha256 of every input file, by path relative to the repository. */
function inputHashes() {
  const files = [...SOURCE_DIRS.flatMap((d) => listFiles(path.join(ROOT, d))), ...INPUT_FILES.map((f) => path.join(ROOT, f))];
  const out = {};
  for (const file of files.filter((f) => fs.existsSync(f)).sort()) {
    out[path.relative(ROOT, file)] = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  }
  return out;
}

/** How messages name a directory: relative to the repository when inside it. */
function shown(dir) {
  const rel = path.relative(ROOT, dir);
  return rel && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : dir;
}

/** Why `outDir` needs building, or null when it is complete and built from the current inputs. */
function staleness(outDir, inputs) {
  const rel = shown(outDir);
  let info;
  try {
    info = JSON.parse(fs.readFileSync(path.join(outDir, INFO_FILE), 'utf8'));
  } catch {
    return `${rel}/ has no complete build`;
  }
  if (!fs.existsSync(path.join(outDir, BUNDLE_FILE))) return `${rel}/${BUNDLE_FILE} is missing`;
  if (!fs.existsSync(path.join(outDir, TRACING_BUNDLE_FILE))) return `${rel}/${TRACING_BUNDLE_FILE} is missing`;
  const built = info.inputs ?? {};
  const changed = Object.keys({ ...built, ...inputs }).filter((f) => built[f] !== inputs[f]);
  if (changed.length === 0) return null;
  const names = changed.slice(0, 3).join(', ');
  return `${rel}/ is stale: ${names}${changed.length > 3 ? ` and ${changed.length - 3} more` : ''} changed since it was built`;
}

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${path.basename(args[0] ?? cmd)} failed (exit ${r.status ?? r.signal})`);
}

/** Moves `staging` to `outDir`, setting any previous build aside first and removing it after. */
function swapIn(staging, outDir) {
  for (let attempt = 1; ; attempt++) {
    const old = `${outDir}.old-${process.pid}-${attempt}`;
    if (fs.existsSync(outDir)) fs.renameSync(outDir, old);
    try {
      fs.renameSync(staging, outDir);
      fs.rmSync(old, { recursive: true, force: true });
      return;
    } catch (err) {
      // Another build swapped its own in between the two renames: set that one aside too.
      if (attempt >= 5 || !['ENOTEMPTY', 'EEXIST'].includes(err.code)) throw err;
      fs.rmSync(old, { recursive: true, force: true });
    }
  }
}

async function build(outDir, inputs) {
  const started = Date.now();
  const staging = `${outDir}.tmp-${process.pid}`;
  fs.rmSync(staging, { recursive: true, force: true });
  try {
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    run(process.execPath, [tsc, '-p', path.join(ROOT, 'tsconfig.build.json'), '--outDir', staging]);
    const compiled = Date.now();

    // Non-TypeScript files (the SQL migrations) go next to the compiled modules that read them via __dirname.
    for (const file of SOURCE_DIRS.flatMap((d) => listFiles(path.join(ROOT, d))).filter((f) => !f.endsWith('.ts'))) {
      const dest = path.join(staging, path.relative(ROOT, file));
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.copyFileSync(file, dest);
    }

    // The compiled module bundles the compiled workflows and records the hash the compiled worker checks.
    const bundler = createRequire(import.meta.url)(path.join(staging, 'src', 'temporal', 'workflow-bundle.js'));
    await Promise.all([
      bundler.bundleWorkflowsInChild(path.join(staging, BUNDLE_FILE)),
      bundler.bundleWorkflowsInChild(path.join(staging, TRACING_BUNDLE_FILE), undefined, { tracing: true }),
    ]);
    const bundled = Date.now();

    const info = { builtAt: new Date().toISOString(), node: process.version, inputs };
    fs.writeFileSync(path.join(staging, INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
    swapIn(staging, outDir);
    const s = (ms) => `${(ms / 1000).toFixed(1)} s`;
    console.log(
      `build-prod: ${shown(outDir)}/ built in ${s(Date.now() - started)} ` +
        `(tsc ${s(compiled - started)}, workflow bundle ${s(bundled - compiled)})`,
    );
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}

const args = parseArgs(process.argv.slice(2));
const inputs = inputHashes();
if (args.ifStale) {
  const why = staleness(args.outDir, inputs);
  if (!why) process.exit(0);
  console.log(`build-prod: ${why}; building it (npm run build:prod)`);
}
build(args.outDir, inputs).catch((err) => {
  console.error(`build-prod: ${err instanceof Error ? err.message : err}`);
  process.exit(1);
});
