/**
 * The Temporal server's configuration, generated at every start from the cluster's ports into
 * DATA_DIR/cluster/temporal/config/cluster.yaml (0600: it holds the database password) and read by all four services
 * (`--root DATA_DIR/cluster/temporal --config config --env cluster`). Written from the documented keys of the server's
 * config (the release's config/development-postgres12.yaml shows the same shape): both stores on the cluster's
 * PostgreSQL, 4 history shards, one cluster, every service and membership port on 127.0.0.1, no metrics or pprof
 * listeners, and a dynamic config file given by absolute path (the server resolves a relative one against its working
 * directory, not --root).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { POSTGRES_USER } from './postgres';
import type { ClusterPorts } from './settings';
import { toYaml, type YamlValue } from './yaml';

/** `--env` of the server, and so the config file's name. */
export const TEMPORAL_ENV = 'cluster';

/** What the four server processes are started with. */
export interface TemporalConfigFiles {
  root: string;
  /** Relative to root, as `--config` takes it. */
  configDir: string;
  configFile: string;
  dynamicConfigFile: string;
}

/** Shards are fixed for the life of the database: 4 suits one machine, as in the server's development configs. */
export const HISTORY_SHARDS = 4;

function sqlStore(database: string, port: number, password: string, maxConns: number): YamlValue {
  return {
    sql: {
      pluginName: 'postgres12',
      databaseName: database,
      connectAddr: `127.0.0.1:${port}`,
      connectProtocol: 'tcp',
      user: POSTGRES_USER,
      password,
      // Per service process: 4 x (10 + 5) connections at most, well under the server's max_connections of 200.
      maxConns,
      maxIdleConns: maxConns,
      maxConnLifetime: '1h',
    },
  };
}

function service(grpcPort: number, membershipPort: number, httpPort?: number): YamlValue {
  return {
    rpc: {
      grpcPort,
      membershipPort,
      bindOnIP: '127.0.0.1',
      ...(httpPort === undefined ? {} : { httpPort }),
    },
  };
}

/** The server config as an object (exported for tests). */
export function temporalConfig(ports: ClusterPorts, password: string, dynamicConfigFile: string): { [key: string]: YamlValue } {
  return {
    log: { stdout: true, level: 'info', format: 'json' },
    persistence: {
      defaultStore: 'postgres-default',
      visibilityStore: 'postgres-visibility',
      numHistoryShards: HISTORY_SHARDS,
      datastores: {
        'postgres-default': sqlStore('temporal', ports.postgres, password, 10),
        'postgres-visibility': sqlStore('temporal_visibility', ports.postgres, password, 5),
      },
    },
    global: {
      membership: { maxJoinDuration: '30s', broadcastAddress: '127.0.0.1' },
    },
    services: {
      frontend: service(ports.frontend, ports.frontendMembership, ports.frontendHttp),
      history: service(ports.history, ports.historyMembership),
      matching: service(ports.matching, ports.matchingMembership),
      worker: service(ports.workerService, ports.workerServiceMembership),
    },
    clusterMetadata: {
      enableGlobalNamespace: false,
      failoverVersionIncrement: 10,
      masterClusterName: 'active',
      currentClusterName: 'active',
      clusterInformation: {
        active: {
          enabled: true,
          initialFailoverVersion: 1,
          rpcName: 'frontend',
          rpcAddress: `127.0.0.1:${ports.frontend}`,
        },
      },
    },
    dcRedirectionPolicy: { policy: 'noop' },
    dynamicConfigClient: { filepath: dynamicConfigFile, pollInterval: '10s' },
  };
}

/**
 * The variables of the `temporalio/server` image's configuration template (docker/config_template.yaml of v1.29.1)
 * that render the stores, shards and log level of `config` (a temporalConfig() result), with the values it holds.
 * docker-compose.yml sets these on its four server containers (test/cluster/compose-drift.test.ts compares the names,
 * and the values that are not addresses or secrets); ports and bind addresses are each container's own.
 */
export function serverImageVariables(config: { [key: string]: YamlValue }): Record<string, string> {
  const at = (v: YamlValue, ...keys: string[]): YamlValue =>
    keys.reduce<YamlValue>((o, k) => (o as { [key: string]: YamlValue })[k], v);
  const persistence = config.persistence;
  const store = at(persistence, 'datastores', 'postgres-default', 'sql');
  const visibility = at(persistence, 'datastores', 'postgres-visibility', 'sql');
  const [host, port] = String(at(store, 'connectAddr')).split(':');
  return {
    DB: String(at(store, 'pluginName')),
    DB_PORT: port,
    POSTGRES_SEEDS: host,
    POSTGRES_USER: String(at(store, 'user')),
    POSTGRES_PWD: String(at(store, 'password')),
    DBNAME: String(at(store, 'databaseName')),
    VISIBILITY_DBNAME: String(at(visibility, 'databaseName')),
    NUM_HISTORY_SHARDS: String(at(persistence, 'numHistoryShards')),
    LOG_LEVEL: String(at(config.log, 'level')),
    DYNAMIC_CONFIG_FILE_PATH: String(at(config.dynamicConfigClient, 'filepath')),
  };
}

/**
 * Dynamic config: only what differs from the server's defaults, each with its reason. docker-compose.yml mounts the
 * same settings from deploy/temporal/dynamicconfig.yaml (test/cluster/compose-drift.test.ts compares them).
 */
export function dynamicConfig(opts: { eagerActivities: boolean } = { eagerActivities: true }): { [key: string]: YamlValue } {
  return {
    // The engine's GET /v2/bookings and the Web UI both read through visibility; the default of 10 per second per
    // frontend is what the dev server also raises to 100.
    'frontend.namespaceRPS.visibility': [{ value: 100 }],
    // Off by default in 1.29: each activity a booking schedules on the worker's own task queue is handed to it in
    // the workflow task's answer instead of going through matching (BENCHMARKS.md, "Issue 19: levers").
    // CLUSTER_EAGER_ACTIVITIES=false restores the server's default (to measure the difference).
    'system.enableActivityEagerExecution': [{ value: opts.eagerActivities }],
  };
}

/** Writes both files under `root` (DATA_DIR/cluster/temporal). */
export function writeTemporalConfig(
  root: string,
  ports: ClusterPorts,
  password: string,
  opts: { eagerActivities: boolean } = { eagerActivities: true },
): TemporalConfigFiles {
  const configDir = 'config';
  fs.mkdirSync(path.join(root, configDir), { recursive: true });
  const dynamicConfigFile = path.join(root, 'dynamicconfig.yaml');
  const configFile = path.join(root, configDir, `${TEMPORAL_ENV}.yaml`);
  const header = 'Generated by `npm run cluster` at every start (src/cluster/temporal-config.ts): edits are overwritten.';
  fs.writeFileSync(dynamicConfigFile, toYaml(dynamicConfig(opts), header));
  fs.writeFileSync(configFile, toYaml(temporalConfig(ports, password, dynamicConfigFile), header), { mode: 0o600 });
  fs.chmodSync(configFile, 0o600);
  return { root, configDir, configFile, dynamicConfigFile };
}
