/**
 * Property-based fuzzing of every operation in /v2/openapi.json with schemathesis, against the API listening
 * over a real dev server, worker and store: no 5xx (not_a_server_error) and every response inside its
 * documented schema (response_schema_conformance). Bounded examples and a fixed seed keep it reproducible.
 * Then every workflow history the fuzzing left on the server replays against the current workflow code.
 */
import { replayEveryHistory } from '../helpers/replay-gate';
import { printableSummary, runSchemathesis } from './schemathesis';
import { startApiStack, STACK_API_KEY, type ApiStack } from './api-stack';

jest.setTimeout(6 * 60_000);

let stack: ApiStack;

beforeAll(async () => {
  stack = await startApiStack();
});

afterAll(async () => {
  await stack?.stop();
});

test('schemathesis finds no server error and no response outside its schema on any operation', async () => {
  const run = await runSchemathesis({
    schemaUrl: `${stack.url}/v2/openapi.json`,
    headers: { 'API-Key': STACK_API_KEY },
    checks: ['not_a_server_error', 'response_schema_conformance'],
    maxExamples: Number(process.env.FUZZ_MAX_EXAMPLES ?? 15),
    seed: Number(process.env.FUZZ_SEED ?? 20251127),
  });
  console.log(`[fuzz] schemathesis exit ${run.code}\n${printableSummary(run.output)}`);
  if (run.code !== 0) throw new Error(`schemathesis reported failures:\n${run.output.slice(-12_000)}`);
});

test('every history on the server replays against the current workflow code', async () => {
  const gate = await replayEveryHistory(stack.env.client, { label: 'openapi fuzz' });
  expect(gate.failures).toEqual([]);
  expect(gate.replayed).toBeGreaterThan(0);
});
