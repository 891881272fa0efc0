/**
 * Tracing changes no workflow command: every committed history (test/replay/histories, recorded without tracing)
 * replays against the tracing workflow bundle, the one a worker with OTEL_EXPORTER_OTLP_ENDPOINT set runs (built by
 * prepareWorkflowBundle({ tracing: true }) with workflows/tracing-interceptors.ts). The bundle without tracing has
 * none of that code; a prebuilt bundle of the other kind is refused. (test/observability/tracing.test.ts replays
 * histories recorded with tracing on against both bundles.)
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DefaultLogger, Runtime, Worker, type ReplayResult } from '@temporalio/worker';
import { prepareWorkflowBundle, type PreparedWorkflowBundle } from '../../src/temporal/workflow-bundle';
import { historyFromFile, HISTORIES_DIR } from '../replay/scenarios';

jest.setTimeout(240_000);

try {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
} catch {
  // A runtime already exists in this process: keep it.
}

let traced: PreparedWorkflowBundle;
let plain: PreparedWorkflowBundle;

beforeAll(async () => {
  [traced, plain] = await Promise.all([prepareWorkflowBundle(null, { tracing: true }), prepareWorkflowBundle(null, { tracing: false })]);
}, 180_000);

afterAll(() => {
  traced?.release();
  plain?.release();
});

test('the tracing bundle has the trace-carrying interceptors and no OpenTelemetry SDK; the plain one neither', () => {
  const tracedCode = fs.readFileSync(traced.codePath, 'utf8');
  const plainCode = fs.readFileSync(plain.codePath, 'utf8');
  expect(tracedCode).toContain('_tracer-data');
  expect(tracedCode.split('\n')[0]).toContain(' +opentelemetry */');
  expect(plainCode).not.toContain('_tracer-data');
  expect(plainCode.split('\n')[0]).not.toContain('+opentelemetry');
  // No span is made in the sandbox: no tracer, no id generator drawing on the workflow's Math.random.
  for (const code of [tracedCode, plainCode]) expect(code).not.toMatch(/RandomIdGenerator|BasicTracerProvider/);
});

test('a prebuilt bundle of the other kind is refused', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tracing-bundle-'));
  try {
    const p = path.join(dir, 'plain.js');
    const t = path.join(dir, 'traced.js');
    fs.copyFileSync(plain.codePath, p);
    fs.copyFileSync(traced.codePath, t);
    await expect(prepareWorkflowBundle(p, { tracing: true })).rejects.toThrow(/built without the tracing interceptors but tracing is on/);
    await expect(prepareWorkflowBundle(t, { tracing: false })).rejects.toThrow(/built with the tracing interceptors but tracing is off/);
    expect((await prepareWorkflowBundle(t, { tracing: true })).codePath).toBe(t);
    expect((await prepareWorkflowBundle(p, { tracing: false })).codePath).toBe(p);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('every committed history replays against the tracing bundle', async () => {
  const files = fs.readdirSync(HISTORIES_DIR).filter((f) => f.endsWith('.json')).sort();
  expect(files.length).toBeGreaterThanOrEqual(25);
  const histories = files.map((f) => ({ workflowId: f.replace(/\.json$/, ''), history: historyFromFile(path.join(HISTORIES_DIR, f)) }));
  const results: ReplayResult[] = [];
  for await (const r of Worker.runReplayHistories(
    { workflowBundle: { codePath: traced.codePath } },
    histories,
  )) {
    results.push(r);
  }
  const failed = results.filter((r) => r.error).map((r) => `${r.workflowId}: ${String(r.error)}`);
  expect(failed).toEqual([]);
  expect(results).toHaveLength(files.length);
});
