/**
 * The worker's workflow bundle, built outside the worker's process. `Worker.create({ workflowsPath })` runs webpack
 * in-process, and part of what webpack allocates stays resident for the worker's lifetime (measured ~45-60 MiB RSS
 * after GC, see BENCHMARKS.md); bundling in a short-lived child process leaves the worker only the bundle itself.
 *
 * Three sources, all safe against running old workflow code:
 * - compiled (`npm run build:prod`, dist/): the bundle the build wrote next to the compiled code,
 *   dist/workflow-bundle.js, bundled from the compiled workflows; never bundled at start;
 * - as TypeScript (tsx: `npm start`, tests): by default a fresh bundle at every start, made by a child `node` process
 *   into a temporary file;
 * - WORKER_WORKFLOW_BUNDLE (either way): a bundle prebuilt with `npx tsx src/temporal/workflow-bundle.ts <file>`
 *   (compiled: `node dist/src/temporal/workflow-bundle.js <file>`).
 * A bundle's first line records a hash of the workflow sources it was built from and of the lockfile; a bundle whose
 * hash does not match the sources next to the worker (the .ts files, or dist/'s .js files when compiled) is refused,
 * so a stale bundle fails the start loudly.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TRACING_VARIABLE, tracingEnabled } from '../observability/tracing';

/** Whether this module runs compiled (dist/src/temporal/workflow-bundle.js) rather than as TypeScript (tsx, Jest). */
const COMPILED = path.extname(__filename) === '.js';
/** The tree the worker's code is loaded from: the repository, or the build's output directory (dist/) when compiled. */
const CODE_ROOT = path.resolve(__dirname, '..', '..');
/** The package (package-lock.json, node_modules): the code root, or the directory that holds dist/. */
const PACKAGE_ROOT = COMPILED ? path.dirname(CODE_ROOT) : CODE_ROOT;

/** The engine's workflows barrel, the bundle's entry point (compiled: dist/workflows/index.js). */
export const WORKFLOWS_PATH = path.join(CODE_ROOT, 'workflows');

/** The bundle `npm run build:prod` writes next to the compiled code; null when running as TypeScript. */
export const BUILT_WORKFLOW_BUNDLE = COMPILED ? path.join(CODE_ROOT, 'workflow-bundle.js') : null;

/** Directories whose sources the workflows may import (see the workflow import rules), plus the lockfile. */
const SOURCE_DIRS = ['workflows', 'src/domain', 'src/shared'];
// Prepended on the bundle's first line without a newline, so the source map's line numbers stay right.
const HASH_PREFIX = '/* booking-engine workflow sources sha256:';
const HASH_SUFFIX = ' */';

function listFiles(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? listFiles(p) : /\.(ts|js|json)$/.test(e.name) ? [p] : [];
  });
}

/**
 * Hash of every file the workflow bundle can be built from: the workflow, domain and shared sources under `root` (the
 * .ts files, or the compiled .js files of a build) and the package's package-lock.json (the SDK version bundled).
 */
export function workflowSourcesHash(root: string = CODE_ROOT, packageRoot: string = PACKAGE_ROOT): string {
  const hash = createHash('sha256');
  const lockfile = path.join(packageRoot, 'package-lock.json');
  if (fs.existsSync(lockfile)) hash.update('package-lock.json').update('\0').update(fs.readFileSync(lockfile)).update('\0');
  for (const file of SOURCE_DIRS.flatMap((d) => listFiles(path.join(root, d))).sort()) {
    hash.update(path.relative(root, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

/**
 * Bundles the workflows in a child `node` process (no tsx needed: the SDK's bundler compiles TypeScript itself; compiled,
 * it bundles dist/'s JavaScript) and writes the bundle to `outFile`, first line the sources hash. Resolves once the
 * child has exited.
 */
export async function bundleWorkflowsInChild(
  outFile: string,
  workflowsPath: string = WORKFLOWS_PATH,
  opts: { tracing?: boolean } = {},
): Promise<void> {
  const sdk = require.resolve('@temporalio/worker');
  const header = `${HASH_PREFIX}${workflowSourcesHash()}${opts.tracing ? TRACING_MARK : ''}${HASH_SUFFIX}`;
  // Tracing: workflows/tracing-interceptors, which carries the trace context into the headers of what the workflows
  // command, and changes no command (see why it is not Temporal's own workflow interceptors there).
  const interceptorModules = opts.tracing ? [require.resolve(path.join(workflowsPath, WORKFLOW_TRACING_MODULE))] : [];
  const script = `
    const fs = require('node:fs');
    const { bundleWorkflowCode, DefaultLogger } = require(${JSON.stringify(sdk)});
    bundleWorkflowCode({ workflowsPath: ${JSON.stringify(workflowsPath)}, workflowInterceptorModules: ${JSON.stringify(interceptorModules)}, logger: new DefaultLogger('WARN') })
      .then((b) => fs.writeFileSync(${JSON.stringify(outFile)}, ${JSON.stringify(header)} + b.code))
      .catch((err) => { console.error(err); process.exit(1); });
  `;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-8192)));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  });
  if (code !== 0 || !fs.existsSync(outFile)) throw new Error(`bundling the workflows failed (exit ${code}):\n${stderr}`);
}

/** How a bundle records that it has the tracing interceptors: after the hash, before the suffix. */
const TRACING_MARK = ' +opentelemetry';
/** The tracing bundle's workflow interceptor module, next to the workflows barrel. */
const WORKFLOW_TRACING_MODULE = 'tracing-interceptors';

/** A workflow bundle file for the worker, and how to dispose of it once `Worker.create` has read it. */
export interface PreparedWorkflowBundle {
  codePath: string;
  /** Whether it was prebuilt (the build's, or WORKER_WORKFLOW_BUNDLE) rather than bundled at this start. */
  prebuilt: boolean;
  /** Removes a temporary bundle; keeps a prebuilt one. */
  release(): void;
}

/** How to make a bundle, in this mode's words. */
const BUNDLE_COMMAND = COMPILED ? 'node dist/src/temporal/workflow-bundle.js <file>' : 'npx tsx src/temporal/workflow-bundle.ts <file>';

/** Reads the sources hash a bundle's first line records (`(none)` without one), and whether it has the tracing interceptors. */
function recordedHeader(file: string): { hash: string; tracing: boolean } {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(HASH_PREFIX.length + 64 + TRACING_MARK.length);
    const n = fs.readSync(fd, head, 0, head.length, 0);
    const text = head.subarray(0, n).toString('utf8');
    if (!text.startsWith(HASH_PREFIX)) return { hash: '(none)', tracing: false };
    const hash = text.slice(HASH_PREFIX.length, HASH_PREFIX.length + 64);
    return { hash, tracing: text.slice(HASH_PREFIX.length + 64).startsWith(TRACING_MARK) };
  } finally {
    fs.closeSync(fd);
  }
}

/** The build's bundle with the tracing interceptors, next to BUILT_WORKFLOW_BUNDLE; null when running as TypeScript. */
export const BUILT_TRACING_WORKFLOW_BUNDLE = COMPILED ? path.join(CODE_ROOT, 'workflow-bundle-tracing.js') : null;

/**
 * The bundle for this start: the prebuilt `prebuiltPath` (WORKER_WORKFLOW_BUNDLE) if given, else, compiled, the
 * build's dist/workflow-bundle.js, either after checking its hash against the sources; as TypeScript without
 * WORKER_WORKFLOW_BUNDLE, a fresh one bundled in a child process into a temporary directory.
 */
export async function prepareWorkflowBundle(prebuiltPath?: string | null, opts: { tracing?: boolean } = {}): Promise<PreparedWorkflowBundle> {
  const tracing = opts.tracing ?? false;
  const prebuilt = prebuiltPath || (tracing ? BUILT_TRACING_WORKFLOW_BUNDLE : BUILT_WORKFLOW_BUNDLE);
  if (prebuilt) {
    const what = prebuiltPath ? `WORKER_WORKFLOW_BUNDLE ${prebuiltPath}` : `the build's workflow bundle ${prebuilt}`;
    const rebuild = prebuiltPath
      ? `rebuild it with \`${BUNDLE_COMMAND}\` or unset WORKER_WORKFLOW_BUNDLE ${COMPILED ? "to use the build's" : 'to bundle at start'}`
      : 'rebuild with `npm run build:prod`';
    if (!fs.existsSync(prebuilt)) throw new Error(`${what} does not exist: ${rebuild}`);
    const recorded = recordedHeader(prebuilt);
    const current = workflowSourcesHash();
    if (recorded.hash !== current) {
      throw new Error(
        `${what} is stale: it was built from other workflow sources than the ones in ${CODE_ROOT} (bundle hash ${recorded.hash}, sources ${current}); ${rebuild}`,
      );
    }
    if (recorded.tracing !== tracing) {
      // A bundle without the interceptors would drop the workflows' spans; one with them would call a sink nobody serves.
      throw new Error(
        `${what} was built ${recorded.tracing ? 'with' : 'without'} the tracing interceptors but tracing is ${tracing ? 'on' : 'off'} (${TRACING_VARIABLE}); ` +
          `${prebuiltPath ? `rebuild it with${tracing ? ` ${TRACING_VARIABLE} set` : `out ${TRACING_VARIABLE}`}` : 'rebuild with `npm run build:prod`'}`,
      );
    }
    return { codePath: path.resolve(prebuilt), prebuilt: true, release: () => undefined };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-workflows-'));
  const codePath = path.join(dir, 'workflow-bundle.js');
  try {
    await bundleWorkflowsInChild(codePath, WORKFLOWS_PATH, { tracing });
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { codePath, prebuilt: false, release: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

// `npx tsx src/temporal/workflow-bundle.ts <file>` (compiled: `node dist/src/temporal/workflow-bundle.js <file>`)
// prebuilds a bundle for WORKER_WORKFLOW_BUNDLE.
if (require.main === module) {
  const out = process.argv[2];
  if (!out) {
    console.error(`usage: ${BUNDLE_COMMAND.replace('<file>', '<output file>')}`);
    process.exit(2);
  }
  const tracing = tracingEnabled();
  bundleWorkflowsInChild(path.resolve(out), WORKFLOWS_PATH, { tracing }).then(
    () =>
      console.log(
        `workflow bundle written${tracing ? ` with the tracing interceptors (${TRACING_VARIABLE} is set)` : ''}; start the worker with WORKER_WORKFLOW_BUNDLE=${path.resolve(out)}`,
      ),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
