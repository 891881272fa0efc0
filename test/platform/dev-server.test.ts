/**
 * The embedded dev server: SQLite in the data directory, booking search attributes registered (also on a database
 * created without them), visibility queries on them, and a running workflow surviving a stop and restart.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Client, Connection, WorkflowExecutionStatusName } from '@temporalio/client';
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes';
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig, type Config } from '../../src/config';
import { BookingOwnerSA, BookingStatusSA, CUSTOM_SEARCH_ATTRIBUTES, MeetingStartSA } from '../../src/shared/booking-contract';
import { resolveTemporalCli } from '../../src/temporal/binaries';
import { connectionOptions } from '../../src/temporal/connection';
import { freePort, startDevServer, type DevServer } from '../../src/temporal/dev-server';
import { installTestRuntime, uniqueTaskQueue, workflowBundle } from '../helpers/temporal-env';
import { holdUntilReleased, releaseSignal } from './workflows';

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

/** Creates the SQLite file with a bare `start-dev` (no search attribute flags), as an older release would have. */
async function createBareDatabase(): Promise<void> {
  const cli = await resolveTemporalCli();
  const port = await freePort();
  const child = spawn(
    cli,
    ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--db-filename', path.join(dataDir, 'temporal.sqlite'), '--log-level', 'error'],
    { stdio: 'ignore' },
  );
  const exited = new Promise((r) => child.once('exit', r));
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        const c = await Connection.connect({ address: `127.0.0.1:${port}`, connectTimeout: 1000 });
        const { customAttributes } = await c.operatorService.listSearchAttributes({ namespace: 'default' });
        await c.close();
        expect(Object.keys(customAttributes ?? {})).not.toContain('BookingStatus');
        return;
      } catch (err) {
        if (attempt > 120 || child.exitCode !== null) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
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
