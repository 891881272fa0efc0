/**
 * The Temporal server as production runs it: its four services as separate processes of one binary and one config
 * (`temporal-server --root … --config config --env cluster start --service <name>`), which find each other through
 * the membership table in PostgreSQL and then gossip (ringpop). A service is ready when it serves on its own (history,
 * matching and the frontend report SERVING on their gRPC health service, history only once it owns its shards; the
 * worker service has logged that it started) and when its own view of the membership holds all four services at this
 * start's addresses (its latest "Current reachable members" line for each). Health alone is not enough: a service
 * whose ringpop is still trying to join the addresses a previous run left in the membership table answers SERVING
 * while the others cannot reach it ("Not enough hosts to serve the request").
 */
import { Connection } from '@temporalio/client';
import * as path from 'node:path';
import type { ClusterPorts } from './settings';
import { logLines, logMatches, waitUntilReady, type ManagedProcess } from './process';
import type { Supervisor } from './supervisor';
import { TEMPORAL_ENV, type TemporalConfigFiles } from './temporal-config';

/** The services in start order (stopped in reverse). */
export const TEMPORAL_SERVICES = ['history', 'matching', 'frontend', 'worker'] as const;
export type TemporalService = (typeof TEMPORAL_SERVICES)[number];

/** gRPC health service names the server registers (the history and matching handlers, service/frontend/interface.go). */
const HEALTH_NAMES: Partial<Record<TemporalService, string>> = {
  history: 'temporal.api.workflowservice.v1.HistoryService',
  matching: 'temporal.api.workflowservice.v1.MatchingService',
  frontend: 'temporal.api.workflowservice.v1.WorkflowService',
};

const SERVING = 1;

function grpcPort(service: TemporalService, ports: ClusterPorts): number {
  return { history: ports.history, matching: ports.matching, frontend: ports.frontend, worker: ports.workerService }[service];
}

function membershipPort(service: TemporalService, ports: ClusterPorts): number {
  return {
    history: ports.historyMembership,
    matching: ports.matchingMembership,
    frontend: ports.frontendMembership,
    worker: ports.workerServiceMembership,
  }[service];
}

/** The environment without TEMPORAL_* and SQL_* variables, which the server would read as flag defaults. */
function serverEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(TEMPORAL|SQL)_/.test(k)));
}

/**
 * A readiness check on the membership a service sees: true once its log's latest "Current reachable members" line for
 * every role lists that role's address of this start.
 */
function membershipComplete(proc: ManagedProcess, ports: ClusterPorts): () => boolean {
  const next = logLines(proc);
  const view = new Map<string, string[]>();
  return () => {
    for (const line of next()) {
      if (!line.includes('"Current reachable members"')) continue;
      try {
        const entry = JSON.parse(line) as { service?: string; addresses?: string[] };
        if (entry.service) view.set(entry.service, entry.addresses ?? []);
      } catch {
        // not a JSON log line
      }
    }
    return TEMPORAL_SERVICES.every((role) => view.get(role)?.includes(`127.0.0.1:${grpcPort(role, ports)}`));
  };
}

/** A readiness probe over gRPC health, reusing one lazy connection; close() once done. */
function healthProbe(port: number, service: string): { check: () => Promise<boolean>; close: () => Promise<void> } {
  const connection = Connection.lazy({ address: `127.0.0.1:${port}`, connectTimeout: 2_000 });
  return {
    check: async () => {
      const r = await connection.withDeadline(Date.now() + 2_000, () => connection.healthService.check({ service }));
      return r.status === SERVING;
    },
    close: () => connection.close(),
  };
}

/**
 * One service's command line: the one config for all four, `start --service <name>` (the image's SERVICES variable).
 * No authorizer: every port is on 127.0.0.1 (the flag says so explicitly, as the server asks).
 */
export function temporalServiceArgs(config: Pick<TemporalConfigFiles, 'root' | 'configDir'>, service: TemporalService): string[] {
  return [
    ...['--root', config.root, '--config', config.configDir, '--env', TEMPORAL_ENV, '--allow-no-auth'],
    ...['start', '--service', service],
  ];
}

/** Starts the four services and waits until each is ready. */
export async function startTemporalServices(opts: {
  supervisor: Supervisor;
  serverBinary: string;
  config: TemporalConfigFiles;
  ports: ClusterPorts;
  logsDir: string;
  timeoutMs: number;
}): Promise<ManagedProcess[]> {
  const { config } = opts;
  /** Serving on its own, and seeing all four services as members (also when it is started again on request). */
  const serviceReady = async (proc: ManagedProcess, service: TemporalService): Promise<void> => {
    const healthName = HEALTH_NAMES[service];
    if (healthName === undefined) {
      await waitUntilReady(proc, 'started', logMatches(proc, /"msg":"worker service started"/), opts.timeoutMs);
    } else {
      const probe = healthProbe(grpcPort(service, opts.ports), healthName);
      try {
        await waitUntilReady(proc, 'serving', probe.check, opts.timeoutMs, 500);
      } finally {
        await probe.close();
      }
    }
    await waitUntilReady(proc, 'seeing all four services as members', membershipComplete(proc, opts.ports), opts.timeoutMs);
    if (service === 'frontend') {
      const c = await Connection.connect({ address: `127.0.0.1:${opts.ports.frontend}`, connectTimeout: 10_000 });
      await c.close();
    }
  };
  const start = (service: TemporalService) =>
    opts.supervisor.start(
      {
        name: `temporal-${service}`,
        command: opts.serverBinary,
        args: temporalServiceArgs(config, service),
        cwd: config.root,
        env: serverEnv(),
        logFile: path.join(opts.logsDir, `temporal-${service}.log`),
        stopSignal: 'SIGTERM',
        stopTimeoutMs: 30_000,
      },
      (proc) => serviceReady(proc, service),
    );
  // On a new database every service saves the cluster metadata at start, and all but one of simultaneous first saves
  // fail theirs ("failed to initialize current cluster metadata"): the first service goes alone until it is past that.
  const [first, ...others] = TEMPORAL_SERVICES;
  const firstProc = start(first);
  await waitUntilReady(firstProc, 'initialised', logMatches(firstProc, /"msg":"Starting server for services"/), opts.timeoutMs);
  const procs = [firstProc, ...others.map(start)];
  await Promise.all(
    TEMPORAL_SERVICES.map(async (service, i) => {
      const proc = procs[i];
      await serviceReady(proc, service);
      const membership = membershipPort(service, opts.ports);
      opts.supervisor.ready(
        proc,
        service === 'worker'
          ? `membership 127.0.0.1:${membership}`
          : `gRPC 127.0.0.1:${grpcPort(service, opts.ports)}, membership ${membership}`,
      );
    }),
  );
  return procs;
}
