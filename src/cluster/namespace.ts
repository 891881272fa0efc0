/**
 * The engine's namespace on the cluster: registered when missing (a standalone server creates none but its own
 * `temporal-system`), its custom search attributes added through the operator service (SQL visibility maps each onto
 * a column of `temporal_visibility`), then waited for until the frontend accepts a list query on every one of them,
 * since a new namespace and new attributes reach the frontend's caches only after a refresh (about 10 s).
 */
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../shared/booking-contract';
import { registerSearchAttributes } from '../temporal/connection';
import { delay } from './process';

const ALREADY_EXISTS = 6;

/** A visibility query naming every custom search attribute, accepted only once all of them are known. */
export function probeQuery(): string {
  return Object.entries(CUSTOM_SEARCH_ATTRIBUTES)
    .map(([name, type]) => (type === 'Datetime' ? `${name} > "2000-01-01T00:00:00Z"` : `${name} = "cluster-probe"`))
    .join(' AND ');
}

/** What was done, for the summary line. */
export interface NamespaceResult {
  created: boolean;
  addedAttributes: string[];
  readyMs: number;
}

/** Makes sure the namespace and its search attributes exist and are usable; throws after `timeoutMs`. */
export async function ensureNamespace(opts: {
  address: string;
  namespace: string;
  retentionDays: number;
  timeoutMs: number;
}): Promise<NamespaceResult> {
  const started = Date.now();
  const deadline = started + opts.timeoutMs;
  const { namespace } = opts;
  const connection = await Connection.connect({ address: opts.address, connectTimeout: 10_000 });
  try {
    let created = false;
    try {
      await connection.workflowService.registerNamespace({
        namespace,
        workflowExecutionRetentionPeriod: msToTs(opts.retentionDays * 86_400_000),
        description: 'booking lifecycle engine (registered by npm run cluster)',
      });
      created = true;
    } catch (err) {
      if ((err as { code?: number }).code !== ALREADY_EXISTS) throw err;
    }
    const retry = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
      for (;;) {
        try {
          return await fn();
        } catch (err) {
          if (Date.now() > deadline) {
            const after = Math.round(opts.timeoutMs / 1000);
            throw new Error(`namespace ${namespace}: ${what} not done after ${after} s: ${(err as Error).message}`);
          }
          await delay(500);
        }
      }
    };
    // Until the namespace is in the frontend's registry, adding attributes answers NotFound.
    const addedAttributes = await retry('adding the search attributes', () => registerSearchAttributes(connection, namespace));
    const query = probeQuery();
    await retry('a list query on the search attributes', () =>
      connection.workflowService.listWorkflowExecutions({ namespace, query, pageSize: 1 }),
    );
    return { created, addedAttributes, readyMs: Date.now() - started };
  } finally {
    await connection.close();
  }
}
