/**
 * Temporal test environments shared by every workflow test file: the Java time-skipping server (timers jump), the
 * CLI dev server (full server: visibility queries, custom search attributes), a workflow bundle built once per
 * process, and unique task queues. A missing binary throws: tests never skip for lack of a server.
 */
import * as path from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundle } from '@temporalio/worker';
import { resolveTemporalCli, resolveTestServer } from '../../src/temporal/binaries';
import { customSearchAttributeKeys } from '../../src/temporal/connection';
import { createNoteActivities } from '../../activities/notes';
import type { RoutableEvent } from '../../src/shared/dispatch-contract';

let runtimeInstalled = false;

/** Installs the SDK runtime with WARN logging, once per process (Runtime.install may run only once). */
export function installTestRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // Already instantiated by earlier code in this process: keep it.
  }
}

/** A time-skipping environment on the Java test server. Tear it down with `env.teardown()` in afterAll. */
export async function timeSkippingEnv(): Promise<TestWorkflowEnvironment> {
  installTestRuntime();
  const testServer = await resolveTestServer();
  // The SDK gives the JVM a few seconds to open its port; a loaded 2-core machine sometimes needs longer.
  // Starting again is safe (a fresh port each time); a server that never starts still fails the test.
  for (let attempt = 1; ; attempt++) {
    try {
      return await TestWorkflowEnvironment.createTimeSkipping({
        server: { executable: { type: 'existing-path', path: testServer } },
      });
    } catch (err) {
      if (attempt >= 3) throw err;
      console.warn(`time-skipping test server did not start (attempt ${attempt}): ${String(err)}; starting again`);
    }
  }
}

/**
 * A full in-memory dev server (Temporal CLI) on 127.0.0.1 and a free port, with the booking search attributes
 * registered. Tear it down with `env.teardown()` in afterAll.
 */
export async function localEnv(): Promise<TestWorkflowEnvironment> {
  installTestRuntime();
  const cli = await resolveTemporalCli();
  return TestWorkflowEnvironment.createLocal({
    server: {
      executable: { type: 'existing-path', path: cli },
      ip: '127.0.0.1',
      searchAttributes: customSearchAttributeKeys(),
    },
  });
}

const bundles = new Map<string, Promise<WorkflowBundle>>();

/**
 * The webpack bundle of a workflows module, built once per process and reused by every worker (bundling takes
 * seconds; a worker given workflowsPath would redo it). Defaults to the engine's workflows/ barrel.
 */
export function workflowBundle(workflowsPath?: string): Promise<WorkflowBundle> {
  const resolved = require.resolve(workflowsPath ?? path.join(__dirname, '..', '..', 'workflows'));
  let bundle = bundles.get(resolved);
  if (!bundle) {
    installTestRuntime();
    bundle = bundleWorkflowCode({ workflowsPath: resolved, logger: new DefaultLogger('WARN') });
    bundles.set(resolved, bundle);
  }
  return bundle;
}

let queueCounter = 0;

/** A task queue name no other test (or earlier run on the same persistent server) uses. */
export function uniqueTaskQueue(name: string): string {
  queueCounter += 1;
  const slug = name.replace(/[^A-Za-z0-9_-]+/g, '-').slice(0, 60);
  return `${slug}-${process.pid}-${queueCounter}-${Math.random().toString(36).slice(2, 8)}`;
}

/**
 * The booking worker's activities for API tests that watch workflows, not deliveries: the real note activities,
 * routing that delivers nowhere and a Salesforce sync that is skipped. `overrides` replaces any of them.
 */
export function quietBookingActivities(overrides: Record<string, (...args: never[]) => Promise<unknown>> = {}) {
  return {
    ...createNoteActivities(),
    routeEvent: async (_event: RoutableEvent) => ({ deliveryIds: [] as string[] }),
    syncActivityEvent: async () => ({ outcome: 'skipped' as const, activityEventId: null }),
    ...overrides,
  };
}
