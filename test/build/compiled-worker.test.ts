/**
 * The production build (`npm run build:prod`, scripts/build-prod.mjs) into a throwaway package directory: the compiled
 * worker (`node dist/src/worker.js`) starts from the build's prebuilt workflow bundle against a dev server and
 * PostgreSQL (migrations found next to the compiled store) and runs a booking to its end; it refuses a stale or
 * missing bundle before connecting to anything; the compiled bundle replays every committed history; `--if-stale`
 * rebuilds only when an input changed.
 */
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { cancelSignal, getBookingQuery, type BookingView } from '../../src/shared/booking-contract';
import { bookingInput } from '../fixtures/bookings';
import { startTestPostgres, type TestPostgres } from '../helpers/postgres';
import { localEnv, uniqueTaskQueue } from '../helpers/temporal-env';
import { historyFromFile, HISTORIES_DIR } from '../replay/scenarios';

jest.setTimeout(240_000);

const REPO = path.join(__dirname, '..', '..');
const BUILD = path.join(REPO, 'scripts', 'build-prod.mjs');
const run = promisify(execFile);

let tmp: string;
/** A package directory of its own: the build (dist/) beside node_modules and package-lock.json, as in the image. */
let pkg: string;
let dist: string;
let env: TestWorkflowEnvironment;
let pg: TestPostgres;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-build-'));
  pkg = path.join(tmp, 'pkg');
  dist = path.join(pkg, 'dist');
  fs.mkdirSync(pkg);
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(pkg, 'node_modules'));
  fs.copyFileSync(path.join(REPO, 'package-lock.json'), path.join(pkg, 'package-lock.json'));
  const [built, server, db] = await Promise.all([run(process.execPath, [BUILD, '--out-dir', dist]), localEnv(), startTestPostgres()]);
  console.log(built.stdout.trim());
  env = server;
  pg = db;
});

afterAll(async () => {
  await env?.teardown();
  await pg?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

interface Exited {
  code: number | null;
  output: string;
  ms: number;
}

/** Starts the compiled worker; resolves once it logged "worker running" (then stops it) or exited. */
function runWorker(extraEnv: NodeJS.ProcessEnv = {}, onRunning?: () => Promise<void>): Promise<Exited & { running: boolean }> {
  const started = Date.now();
  const child = spawn(process.execPath, [path.join(dist, 'src', 'worker.js')], {
    cwd: pkg,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: env.address,
      TEMPORAL_TASK_QUEUE: uniqueTaskQueue('compiled-worker'),
      DATABASE_URL: pg.url,
      LOG_LEVEL: 'info',
      ...extraEnv,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  let running = false;
  const onData = (chunk: Buffer) => {
    output += chunk.toString('utf8');
    if (!running && output.includes('"msg":"worker running"')) {
      running = true;
      const ms = Date.now() - started;
      void (onRunning ?? (() => Promise.resolve()))().finally(() => {
        child.kill('SIGTERM');
        output += `\n[running after ${ms} ms]`;
      });
    }
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, output, running, ms: Date.now() - started });
    });
  });
}

/** The "worker running" log line, parsed. */
function runningLine(output: string): Record<string, unknown> {
  const line = output.split('\n').find((l) => l.includes('"msg":"worker running"'));
  return line ? (JSON.parse(line) as Record<string, unknown>) : {};
}

test('the build holds the compiled entry points, the SQL migrations, the workflow bundle and its inputs', () => {
  for (const f of ['src/worker.js', 'src/server.js', 'workflows/index.js', 'activities/index.js', 'workflow-bundle.js', 'build-info.json']) {
    expect(fs.existsSync(path.join(dist, f))).toBe(true);
  }
  const sql = fs.readdirSync(path.join(REPO, 'src', 'store', 'migrations')).filter((f) => f.endsWith('.sql'));
  expect(sql.length).toBeGreaterThan(0);
  expect(fs.readdirSync(path.join(dist, 'src', 'store', 'migrations')).sort()).toEqual(sql.sort());
  expect(fs.readFileSync(path.join(dist, 'workflow-bundle.js'), 'utf8')).toMatch(/^\/\* booking-engine workflow sources sha256:[0-9a-f]{64} \*\//);
  // The bundle a worker with tracing on runs (OTEL_EXPORTER_OTLP_ENDPOINT): the same sources, marked.
  expect(fs.readFileSync(path.join(dist, 'workflow-bundle-tracing.js'), 'utf8')).toMatch(
    /^\/\* booking-engine workflow sources sha256:[0-9a-f]{64} \+opentelemetry \*\//,
  );
  // No test or bench code in a production build, and nothing left over from the build.
  expect(fs.readdirSync(dist).sort()).toEqual(['activities', 'build-info.json', 'src', 'workflow-bundle-tracing.js', 'workflow-bundle.js', 'workflows']);
  expect(fs.readdirSync(pkg).sort()).toEqual(['dist', 'node_modules', 'package-lock.json']);
});

test('the compiled worker starts from the prebuilt bundle and runs a booking to its end', async () => {
  const taskQueue = uniqueTaskQueue('compiled-worker');
  let view: BookingView | undefined;
  let closed: BookingView | undefined;
  const result = await runWorker({ TEMPORAL_TASK_QUEUE: taskQueue }, async () => {
    const input = bookingInput();
    const handle = await env.client.workflow.start('bookingWorkflow', { taskQueue, workflowId: input.bookingId, args: [input] });
    view = await handle.query(getBookingQuery);
    await handle.signal(cancelSignal, { actionedBy: 'user', reason: 'compiled worker test' });
    closed = (await handle.result()) as BookingView;
  });
  expect({ running: result.running, code: result.code }).toEqual({ running: true, code: 0 });
  expect(runningLine(result.output)).toMatchObject({ taskQueue, workflowBundle: path.join(dist, 'workflow-bundle.js') });
  expect(view?.booking.status).toBe('scheduled');
  expect(closed?.booking.status).toBe('canceled');
  expect(closed?.events.map((e) => e.type)).toEqual(['booking.scheduled', 'booking.canceled']);
  console.log(`[compiled worker] running ${result.output.match(/\[running after (\d+) ms\]/)?.[1]} ms after spawn`);
});

test('the compiled worker refuses a stale or missing bundle before connecting, naming the fix', async () => {
  // A workflow module compiled after the bundle was made: the bundle no longer matches the code beside it.
  const compiled = path.join(dist, 'workflows', 'booking.js');
  const original = fs.readFileSync(compiled);
  fs.appendFileSync(compiled, '\n// changed after the bundle was built\n');
  // An address nobody listens on: a refusal must come before any connection is tried.
  const noServer = { TEMPORAL_ADDRESS: '127.0.0.1:9' };
  let stale: Exited & { running: boolean };
  try {
    stale = await runWorker(noServer);
  } finally {
    fs.writeFileSync(compiled, original);
  }
  expect(stale.running).toBe(false);
  expect(stale.code).toBe(1);
  expect(stale.output).toContain(`the build's workflow bundle ${path.join(dist, 'workflow-bundle.js')} is stale`);
  expect(stale.output).toContain('rebuild with `npm run build:prod`');

  const bundle = path.join(dist, 'workflow-bundle.js');
  fs.renameSync(bundle, `${bundle}.aside`);
  let missing: Exited & { running: boolean };
  try {
    missing = await runWorker(noServer);
  } finally {
    fs.renameSync(`${bundle}.aside`, bundle);
  }
  expect(missing.code).toBe(1);
  expect(missing.output).toContain('workflow-bundle.js does not exist: rebuild with `npm run build:prod`');

  // WORKER_WORKFLOW_BUNDLE is checked the same way: a bundle of the TypeScript sources is not the build's code.
  const foreign = path.join(tmp, 'foreign-bundle.js');
  fs.writeFileSync(foreign, `/* booking-engine workflow sources sha256:${'0'.repeat(64)} */\n`);
  const other = await runWorker({ ...noServer, WORKER_WORKFLOW_BUNDLE: foreign });
  expect(other.code).toBe(1);
  expect(other.output).toContain(`WORKER_WORKFLOW_BUNDLE ${foreign} is stale`);
  console.log(`[compiled worker] refusals after ${stale.ms}, ${missing.ms} and ${other.ms} ms`);
});

test('the compiled bundle replays every committed history', async () => {
  const files = fs.readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json'));
  const histories = files.map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: historyFromFile(path.join(HISTORIES_DIR, f)) }));
  const failed: string[] = [];
  let replayed = 0;
  for await (const r of Worker.runReplayHistories({ workflowBundle: { codePath: path.join(dist, 'workflow-bundle.js') } }, histories)) {
    replayed += 1;
    if (r.error) failed.push(`${r.workflowId}: ${String(r.error)}`);
  }
  expect(failed).toEqual([]);
  expect(replayed).toBe(files.length);
});

test('--if-stale leaves a current build alone and rebuilds one whose inputs changed', async () => {
  const fresh = await run(process.execPath, [BUILD, '--if-stale', '--out-dir', dist]);
  expect(fresh.stdout).toBe('');

  // Pretend the build was made from another version of one source file.
  const infoFile = path.join(dist, 'build-info.json');
  const info = JSON.parse(fs.readFileSync(infoFile, 'utf8')) as { inputs: Record<string, string>; builtAt: string };
  info.inputs['workflows/booking.ts'] = '0'.repeat(64);
  fs.writeFileSync(infoFile, JSON.stringify(info));
  const rebuilt = await run(process.execPath, [BUILD, '--if-stale', '--out-dir', dist]);
  expect(rebuilt.stdout).toContain('dist/ is stale: workflows/booking.ts changed since it was built; building it');
  expect(rebuilt.stdout).toMatch(/built in [\d.]+ s/);
  const after = JSON.parse(fs.readFileSync(infoFile, 'utf8')) as { inputs: Record<string, string>; builtAt: string };
  expect(after.inputs['workflows/booking.ts']).toMatch(/^[0-9a-f]{64}$/);
  expect(after.inputs['workflows/booking.ts']).not.toBe('0'.repeat(64));
  expect(fs.readdirSync(pkg).sort()).toEqual(['dist', 'node_modules', 'package-lock.json']);
});
