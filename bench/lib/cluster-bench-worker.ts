/**
 * Scenario b's bench-only worker beside `npm run cluster`: one process of the bench (not of the cluster, so the
 * product's RSS leaves it out) polling the cluster's frontend, as bench/engine.ts does beside the dev server. Forked by
 * cluster-harness.ts with its task queue and a workflow bundle made once for all of them; TEMPORAL_ADDRESS and the
 * worker settings (WORKER_*) come from the environment, as the cluster's workers get them. It says `ready` over IPC
 * once it polls, and stops on `stop` or when the bench goes away.
 */
import { NativeConnection, Worker } from '@temporalio/worker';
import { loadConfig } from '../../src/config';
import { connectionOptions } from '../../src/temporal/connection';
import { workerTuning } from '../../src/worker';

async function main(): Promise<void> {
  const [taskQueue, codePath] = process.argv.slice(2);
  const config = loadConfig();
  const connection = await NativeConnection.connect(connectionOptions(config));
  const worker = await Worker.create({
    connection,
    namespace: config.temporal.namespace,
    taskQueue,
    workflowBundle: { codePath },
    activities: { noop: async () => undefined },
    ...workerTuning(config),
  });
  const running = worker.run();
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    worker.shutdown();
  };
  process.on('message', (m) => m === 'stop' && stop());
  process.on('disconnect', stop);
  process.send?.('ready');
  await running;
  await connection.close();
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`bench worker failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
