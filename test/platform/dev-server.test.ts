/**
 * The embedded dev server: SQLite in the data directory, booking search attributes registered (also on a database
 * created without them), visibility queries on them, and a running workflow surviving a stop and restart.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection, WorkflowExecutionStatusName } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig, type Config } from '../../src/config';
import { BookingOwnerSA, BookingStatusSA, CUSTOM_SEARCH_ATTRIBUTES, MeetingStartSA } from '../../src/shared/booking-contract';
import { connectionOptions } from '../../src/temporal/connection';
import { freePort, startDevServer, type DevServer } from '../../src/temporal/dev-server';
import { installTestRuntime, uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';
import { holdUntilReleased, oneActivity, releaseSignal } from './workflows';

const WORKFLOWS = require.resolve('./workflows');
const silentLog = { info: () => undefined, warn: () => undefined };

let dataDir: string;
let config: Config;
let server: DevServer | null = null;
const clients: Connection[] = [];

async function clientFor(srv: DevServer): Promise<Client> {
  const connection = await Connection.connect(connectionOptions(config, srv.address));
  clients.push(connection);
  return new Client({ connection, namespace: config.temporal.namespace });
}

/** Polls a visibility query until it returns something: visibility is eventually consistent. */
async function listUntilFound(client: Client, query: string): Promise<string[]> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const ids: string[] = [];
    for await (const wf of client.workflow.list({ query })) ids.push(wf.workflowId);
    if (ids.length > 0) return ids;
    await new Promise((r) => setTimeout(r, 200));
  }
  return [];
}

/**
 * Creates the SQLite file with a bare start (no search attributes), as an older release would have. Through
 * startDevServer, so a port taken between picking and binding it is picked again instead of failing the file.
 */
async function createBareDatabase(): Promise<void> {
  const bare = await startDevServer({ config, log: silentLog, searchAttributes: false, sqlitePragmas: [] });
  try {
    const c = await Connection.connect({ address: bare.address });
    const { customAttributes } = await c.operatorService.listSearchAttributes({ namespace: 'default' });
    await c.close();
    expect(Object.keys(customAttributes ?? {})).not.toContain('BookingStatus');
  } finally {
    await bare.stop();
  }
}

beforeAll(async () => {
  installTestRuntime();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-dev-server-'));
  // Port 0: startDevServer picks free ports, so this file never collides with a developer's server.
  config = loadConfig({ DATA_DIR: dataDir, TEMPORAL_DEV_PORT: '0', TEMPORAL_UI_PORT: '0' });
  await createBareDatabase();
});

afterAll(async () => {
  for (const c of clients) await c.close().catch(() => undefined);
  await server?.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('registers every custom search attribute, even on a SQLite file created without them', async () => {
  server = await startDevServer({ config, log: silentLog });
  expect(server.dbFile).toBe(path.join(dataDir, 'temporal.sqlite'));
  const client = await clientFor(server);
  const { customAttributes } = await client.connection.operatorService.listSearchAttributes({
    namespace: config.temporal.namespace,
  });
  for (const [name, type] of Object.entries(CUSTOM_SEARCH_ATTRIBUTES)) {
    expect(customAttributes?.[name]).toBe(encodeSearchAttributeIndexedValueType(type.toUpperCase() as 'KEYWORD' | 'DATETIME'));
  }
});

const owner = `USR-${Date.now().toString(36)}`;
const workflowId = `BKNG-platform-${Date.now().toString(36)}`;
const taskQueue = uniqueTaskQueue('dev-server');

test('a workflow started with the search attributes is found by a visibility list query', async () => {
  const client = await clientFor(server!);
  await client.workflow.start(holdUntilReleased, {
    taskQueue,
    workflowId,
    typedSearchAttributes: [
      { key: BookingStatusSA, value: 'scheduled' },
      { key: BookingOwnerSA, value: owner },
      { key: MeetingStartSA, value: new Date('2030-01-15T10:00:00Z') },
    ],
  });
  const ids = await listUntilFound(
    client,
    `BookingOwner = '${owner}' AND BookingStatus = 'scheduled' AND MeetingStart > '2030-01-01T00:00:00Z'`,
  );
  expect(ids).toEqual([workflowId]);
});

test('a still-running workflow survives stopping and restarting the server on the same SQLite file', async () => {
  // No worker has run it yet: the workflow is open, waiting for its first task and for the release signal.
  await server!.stop();
  server = await startDevServer({ config, log: silentLog });
  const client = await clientFor(server);
  const handle = client.workflow.getHandle(workflowId);
  const before = await handle.describe();
  expect(before.status.name).toBe<WorkflowExecutionStatusName>('RUNNING');
  // Its search attributes persisted too.
  expect(await listUntilFound(client, `BookingOwner = '${owner}'`)).toEqual([workflowId]);

  const connection = await NativeConnection.connect({ address: server.address });
  try {
    const worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue,
      workflowBundle: await workflowBundle(WORKFLOWS),
    });
    const result = await worker.runUntil(async () => {
      await handle.signal(releaseSignal, 'released after restart');
      return handle.result();
    });
    expect(result).toBe('released after restart');
  } finally {
    await connection.close();
  }
});

test('freePort leaves its port in TIME_WAIT, so no bind(0) or outgoing connection takes it, yet it binds by number', async () => {
  // The flake this prevents: a port picked here and closed came back from the next bind(0) on the machine (the CLI's
  // own metrics and internal ports among them) before the dev server bound it, and the server exited.
  const port = await freePort();
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  const timeWait = fs
    .readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([, local, , state]) => local === `0100007F:${hex}` && state === '06');
  expect(timeWait.length).toBeGreaterThan(0);
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(port, '127.0.0.1', resolve));
  await new Promise((r) => srv.close(r));
});

test("the history service's cache of workflow executions holds TEMPORAL_DEV_HISTORY_CACHE_SIZE entries, not the CLI's 8096", async () => {
  // Unbounded by us, the dev server's memory grew with the first ~4,000 open bookings (BENCHMARKS.md, "Memory per
  // open booking"). 12 workflows started and signalled want 24 entries (a run and its current-run entry each).
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-dev-cache-'));
  const small = loadConfig({ DATA_DIR: dir, TEMPORAL_DEV_PORT: '0', TEMPORAL_UI_PORT: '0', TEMPORAL_DEV_HISTORY_CACHE_SIZE: '6' });
  const metricsPort = await freePort();
  const srv = await startDevServer({ config: small, log: silentLog, metricsPort });
  try {
    const client = await clientFor(srv);
    for (let i = 0; i < 12; i++) {
      const handle = await client.workflow.start('nothingRunsThis', { taskQueue: uniqueTaskQueue('cache'), workflowId: `cache-${i}` });
      await handle.signal('touch');
    }
    // The server reports its cache gauges about once a second.
    let usage = 0;
    // A report taken while the signals were still landing can show fewer: wait until it reaches the bound (an
    // unbounded cache would show more, up to 24, and fail below).
    for (let attempt = 0; attempt < 60 && usage < 6; attempt++) {
      const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      usage = Number(/^cache_usage\{cache_type="mutablestate",service_name="history"\} (\d+)$/m.exec(text)?.[1] ?? 0);
      if (usage < 6) await new Promise((r) => setTimeout(r, 1000));
    }
    expect(usage).toBe(6);
  } finally {
    await srv.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('eager activity execution: on by default, the activity comes back with the workflow task; TEMPORAL_DEV_EAGER_ACTIVITIES=false sends it through matching', async () => {
  // The server counts the activities it hands back in a workflow task's completion response
  // (activity_eager_execution); without eager execution each goes to matching (AddActivityTask) instead.
  const eagerCount = async (env: Record<string, string>): Promise<{ eager: number; matched: number }> => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-dev-eager-'));
    const cfg = loadConfig({ DATA_DIR: dir, TEMPORAL_DEV_PORT: '0', TEMPORAL_UI_PORT: '0', ...env });
    const metricsPort = await freePort();
    const srv = await startDevServer({ config: cfg, log: silentLog, metricsPort, searchAttributes: false });
    try {
      const connection = await NativeConnection.connect({ address: srv.address });
      try {
        const taskQueue = uniqueTaskQueue('eager');
        const worker = await Worker.create({
          connection,
          namespace: cfg.temporal.namespace,
          taskQueue,
          workflowBundle: await workflowBundle(WORKFLOWS),
          activities: { echo: async (v: string) => v },
        });
        const clientConnection = await Connection.connect({ address: srv.address });
        clients.push(clientConnection);
        const client = new Client({ connection: clientConnection, namespace: cfg.temporal.namespace });
        const answer = await worker.runUntil(client.workflow.execute(oneActivity, { taskQueue, workflowId: `eager-${Date.now()}`, args: ['hello'] }));
        expect(answer).toBe('hello');
      } finally {
        await connection.close();
      }
      // The server reports its metrics about once a second.
      let counts = { eager: 0, matched: 0 };
      for (let attempt = 0; attempt < 30 && counts.eager + counts.matched === 0; attempt++) {
        if (attempt > 0) await new Promise((r) => setTimeout(r, 1000));
        const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        const sum = (re: RegExp) => text.split('\n').filter((l) => re.test(l)).reduce((n, l) => n + Number(l.trim().split(/\s+/).pop()), 0);
        counts = { eager: sum(/^activity_eager_execution\{/), matched: sum(/^task_requests\{.*operation="TransferActiveTaskActivity"/) };
      }
      return counts;
    } finally {
      await srv.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
  expect(loadConfig({}).temporal.devServerEagerActivities).toBe(true);
  const on = await eagerCount({});
  expect(on).toEqual({ eager: 1, matched: 0 });
  const off = await eagerCount({ TEMPORAL_DEV_EAGER_ACTIVITIES: 'false' });
  expect(off).toEqual({ eager: 0, matched: 1 });
});
