/**
 * The worker's workflow bundle, built outside the worker's process. `Worker.create({ workflowsPath })` runs webpack
 * in-process, and part of what webpack allocates stays resident for the worker's lifetime (measured ~45-60 MiB RSS
 * after GC, see BENCHMARKS.md); bundling in a short-lived child process leaves the worker only the bundle itself.
 *
 * Two sources, both safe against running old workflow code:
 * - by default a fresh bundle at every start, made by a child `node` process into a temporary file;
 * - WORKER_WORKFLOW_BUNDLE: a bundle prebuilt with `npx tsx src/temporal/workflow-bundle.ts <file>` (e.g. at image
 *   build time). Its first line records a hash of the workflow sources and the lockfile; a bundle whose hash does
 *   not match the sources next to the worker is refused, so a stale prebuilt bundle fails the start loudly.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..');

/** The engine's workflows barrel, the bundle's entry point. */
export const WORKFLOWS_PATH = path.join(ROOT, 'workflows');

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

/** Hash of every file the workflow bundle can be built from: the workflow, domain and shared sources and package-lock.json. */
export function workflowSourcesHash(root: string = ROOT): string {
  const hash = createHash('sha256');
  const files = [...SOURCE_DIRS.flatMap((d) => listFiles(path.join(root, d))), path.join(root, 'package-lock.json')].sort();
  for (const file of files) {
    if (!fs.existsSync(file)) continue;
    hash.update(path.relative(root, file)).update('\0').update(fs.readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

/**
 * Bundles the workflows in a child `node` process (no tsx needed: the SDK's bundler compiles TypeScript itself)
 * and writes the bundle to `outFile`, first line the sources hash. Resolves once the child has exited.
 */
export async function bundleWorkflowsInChild(outFile: string, workflowsPath: string = WORKFLOWS_PATH): Promise<void> {
  const sdk = require.resolve('@temporalio/worker');
  const header = `${HASH_PREFIX}${workflowSourcesHash()}${HASH_SUFFIX}`;
  const script = `
    const fs = require('node:fs');
    const { bundleWorkflowCode, DefaultLogger } = require(${JSON.stringify(sdk)});
    bundleWorkflowCode({ workflowsPath: ${JSON.stringify(workflowsPath)}, logger: new DefaultLogger('WARN') })
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

/** A workflow bundle file for the worker, and how to dispose of it once `Worker.create` has read it. */
export interface PreparedWorkflowBundle {
  codePath: string;
  /** Removes a temporary bundle; keeps a prebuilt one. */
  release(): void;
}

/**
 * The bundle for this start: the prebuilt `prebuiltPath` (WORKER_WORKFLOW_BUNDLE) if given, after checking its
 * hash against the sources, else a fresh one bundled in a child process into a temporary directory.
 */
export async function prepareWorkflowBundle(prebuiltPath?: string | null): Promise<PreparedWorkflowBundle> {
  if (prebuiltPath) {
    const fd = fs.openSync(prebuiltPath, 'r');
    const head = Buffer.alloc(HASH_PREFIX.length + 64);
    fs.readSync(fd, head, 0, head.length, 0);
    fs.closeSync(fd);
    const recorded = head.toString('utf8').startsWith(HASH_PREFIX) ? head.toString('utf8').slice(HASH_PREFIX.length) : '(none)';
    const current = workflowSourcesHash();
    if (recorded !== current) {
      throw new Error(
        `WORKER_WORKFLOW_BUNDLE ${prebuiltPath} was built from other workflow sources (hash ${recorded}, sources ${current}); ` +
          'rebuild it with `npx tsx src/temporal/workflow-bundle.ts <file>` or unset WORKER_WORKFLOW_BUNDLE to bundle at start',
      );
    }
    return { codePath: path.resolve(prebuiltPath), release: () => undefined };
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-workflows-'));
  const codePath = path.join(dir, 'workflow-bundle.js');
  try {
    await bundleWorkflowsInChild(codePath);
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return { codePath, release: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

// `npx tsx src/temporal/workflow-bundle.ts <file>` prebuilds a bundle for WORKER_WORKFLOW_BUNDLE.
if (require.main === module) {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: npx tsx src/temporal/workflow-bundle.ts <output file>');
    process.exit(2);
  }
  bundleWorkflowsInChild(path.resolve(out)).then(
    () => console.log(`workflow bundle written; start the worker with WORKER_WORKFLOW_BUNDLE=${path.resolve(out)}`),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
