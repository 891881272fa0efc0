/**
 * docker-compose.yml and `npm run cluster` describe one topology and must not drift apart. This reads the compose file
 * (the `yaml` package, anchors and merge keys resolved) and compares each of its services with what src/cluster runs
 * for it, without starting anything: the Temporal server's four services (command, the image variables that render
 * the cluster's configuration, ports), the UI server (its configuration against the image's variables), the schema
 * job's SQL tool commands, the namespace step's search attributes, the API and the workers (the command behind their
 * npm script, the variables the cluster sets, ports). Every difference between the two is listed below with its
 * reason; any other, on either side, fails.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parse } from 'yaml';
import { apiVariables, engineVariables, ENGINE_SCRIPTS } from '../../src/cluster/engine-processes';
import { POSTGRES_USER } from '../../src/cluster/postgres';
import { ENGINE_DATABASE, sqlToolArgs, temporalSchemaSteps } from '../../src/cluster/schema';
import { loadClusterSettings, PORT_SETTINGS, type ClusterPorts } from '../../src/cluster/settings';
import { dynamicConfig, serverImageVariables, temporalConfig } from '../../src/cluster/temporal-config';
import { TEMPORAL_SERVICES, temporalServiceArgs } from '../../src/cluster/temporal-services';
import { UI_IMAGE_VARIABLES, uiConfig } from '../../src/cluster/ui';
import type { YamlValue } from '../../src/cluster/yaml';
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../src/shared/booking-contract';

const ROOT = path.join(__dirname, '..', '..');

interface ComposeService {
  image?: string;
  command?: string[] | string;
  entrypoint?: string[];
  environment?: Record<string, string | number | boolean | null>;
  ports?: string[];
  volumes?: string[];
}
const compose = parse(fs.readFileSync(path.join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const services = compose.services;
const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
const binariesScript = fs.readFileSync(path.join(ROOT, 'scripts', 'binaries.mjs'), 'utf8');

/** The cluster's ports as fixed numbers, none of which is a default of the images. */
const PORTS = Object.fromEntries(Object.keys(PORT_SETTINGS).map((k, i) => [k, 30_000 + i])) as unknown as ClusterPorts;
const settings = loadClusterSettings({ DATA_DIR: '/nonexistent', API_KEYS: 'k1' });

/** The services src/cluster runs, by compose name; `prometheus` is the one compose service the cluster leaves out. */
const CLUSTER_RUNS = [
  'postgresql',
  'temporal-schema',
  ...TEMPORAL_SERVICES.map((s) => `temporal-${s}`),
  'temporal-ui',
  'temporal-namespace',
  'api',
  'worker',
];
const NOT_IN_CLUSTER = { prometheus: 'metrics scraping: the cluster leaves the engine metrics ports off (docs/observability.md)' };

/** Which cluster port each port that compose publishes is (the container side of its mapping). */
const PUBLISHED: Record<string, keyof ClusterPorts> = { 'temporal-frontend': 'frontend', 'temporal-ui': 'ui', api: 'api' };
/** The cluster's ports that compose does not publish: container-internal there. */
const INTERNAL: (keyof ClusterPorts)[] = [
  'postgres',
  'frontendHttp',
  'history',
  'matching',
  'workerService',
  'frontendMembership',
  'historyMembership',
  'matchingMembership',
  'workerServiceMembership',
  'salesforceStandin',
];

/** Engine variables the cluster sets that compose does not, and why. */
const CLUSTER_ONLY: Record<string, string> = {
  SALESFORCE_STANDIN_PORT: 'the Salesforce stand-in (SALESFORCE_MODE=standin) runs under the cluster only',
};
/** Engine variables compose sets that the cluster neither sets nor passes through under the same name, and why. */
const COMPOSE_ONLY: Record<string, string> = {
  DATA_DIR: "the container's own path; the cluster's processes share the caller's DATA_DIR",
  METRICS_HOST: 'metrics for the prometheus service (every interface of the container)',
  METRICS_PORT: 'metrics for the prometheus service',
  WORKER_METRICS_PORT: 'metrics for the prometheus service',
  WORKER_SDK_METRICS_PORT: 'metrics for the prometheus service',
};

/** `${NAME:-default}` → { name, fallback }, or null for a literal value. */
function reference(value: unknown): { name: string; fallback: string } | null {
  const m = /^\$\{([A-Z0-9_]+):-(.*)\}$/s.exec(String(value));
  return m ? { name: m[1], fallback: m[2] } : null;
}

/** The value a compose variable has when nothing overrides it. */
function composeDefault(value: unknown): string {
  return reference(value)?.fallback ?? String(value);
}

function envOf(name: string): Record<string, string | number | boolean | null> {
  const env = services[name]?.environment;
  expect(env).toBeDefined();
  return env!;
}

/** The container ports a service publishes (`host:container`, `ip:host:container`). */
function containerPorts(name: string): number[] {
  return (services[name].ports ?? []).map((p) => Number(p.split(':').pop()));
}

/** `a.b` keys of a nested map, arrays kept whole. */
function flatten(v: { [key: string]: YamlValue }, prefix = ''): Record<string, YamlValue> {
  const out: Record<string, YamlValue> = {};
  for (const [k, val] of Object.entries(v)) {
    if (val && typeof val === 'object' && !Array.isArray(val)) Object.assign(out, flatten(val, `${prefix}${k}.`));
    else out[`${prefix}${k}`] = val;
  }
  return out;
}

test('compose has a service for everything the cluster runs, and nothing else but prometheus', () => {
  expect(Object.keys(services).sort()).toEqual([...CLUSTER_RUNS, ...Object.keys(NOT_IN_CLUSTER)].sort());
});

test('ports: what compose publishes is the matching cluster port, and every cluster port is accounted for', () => {
  const publishing = Object.keys(services).filter((s) => (services[s].ports ?? []).length > 0 && !(s in NOT_IN_CLUSTER));
  expect(publishing.sort()).toEqual(Object.keys(PUBLISHED).sort());
  expect([...Object.values(PUBLISHED), ...INTERNAL].sort()).toEqual(Object.keys(PORT_SETTINGS).sort());
  // The frontend's gRPC port: the server image's default (FRONTEND_GRPC_PORT, 7233), which compose does not change.
  expect(containerPorts('temporal-frontend')).toEqual([7233]);
  expect(envOf('temporal-frontend')).not.toHaveProperty('FRONTEND_GRPC_PORT');
  // The UI's port is the image's TEMPORAL_UI_PORT default; the cluster sets the same key to its own port.
  expect(containerPorts('temporal-ui')).toEqual([UI_IMAGE_VARIABLES.port!.imageDefault]);
  expect(uiConfig({ frontendAddress: 'x:1', port: PORTS.ui, namespace: 'default' }).port).toBe(PORTS.ui);
  // The API listens on API_PORT in both.
  expect(containerPorts('api')).toEqual([Number(composeDefault(envOf('api').API_PORT))]);
  expect(apiVariables({ settings, ports: PORTS }).API_PORT).toBe(String(PORTS.api));
  expect(containerPorts('worker')).toEqual([]);
});

describe.each(TEMPORAL_SERVICES)('temporal-%s', (service) => {
  const name = `temporal-${service}`;
  const config = temporalConfig(PORTS, 'secret', '/dynamic.yaml');
  const cluster = serverImageVariables(config);

  test('same server version, and the service the cluster starts is the one compose names', () => {
    const version = /const SERVER_VERSION = '([^']+)'/.exec(binariesScript)?.[1];
    expect(services[name].image).toBe(`temporalio/server:${version}`);
    const args = temporalServiceArgs({ root: '/r', configDir: 'config' }, service);
    expect(args.slice(-3)).toEqual(['start', '--service', service]);
    expect(envOf(name).SERVICES).toBe(service);
  });

  test("the image's variables are those of the cluster's configuration, with the same values", () => {
    const env = envOf(name);
    expect(Object.keys(env).filter((k) => k !== 'SERVICES').sort()).toEqual(Object.keys(cluster).sort());
    // Addresses, ports and the password are each deployment's own; everything else is the same.
    for (const key of ['DB', 'DBNAME', 'VISIBILITY_DBNAME', 'NUM_HISTORY_SHARDS', 'POSTGRES_USER', 'LOG_LEVEL']) {
      expect([key, composeDefault(env[key])]).toEqual([key, cluster[key]]);
    }
    expect(composeDefault(env.POSTGRES_SEEDS)).toBe('postgresql');
    expect(composeDefault(env.DB_PORT)).toBe('5432');
  });

  test('the dynamic config file compose mounts is the one the cluster writes', () => {
    const mounted = composeDefault(envOf(name).DYNAMIC_CONFIG_FILE_PATH);
    const volume = (services[name].volumes ?? []).find((v) => v.split(':')[1] === mounted);
    expect(volume).toBeDefined();
    const file = path.join(ROOT, volume!.split(':')[0]);
    expect(parse(fs.readFileSync(file, 'utf8'))).toEqual(dynamicConfig());
  });
});

test("temporal-ui: same UI version, and every setting the cluster's UI has differently from the image is set by compose", () => {
  const version = /const UI_SERVER_VERSION = '([^']+)'/.exec(binariesScript)?.[1];
  expect(services['temporal-ui'].image).toBe(`temporalio/ui:${version}`);
  const env = envOf('temporal-ui');
  const cluster = flatten(uiConfig({ frontendAddress: `127.0.0.1:${PORTS.frontend}`, port: PORTS.ui, namespace: 'default' }));
  expect(Object.keys(cluster).sort()).toEqual(Object.keys(UI_IMAGE_VARIABLES).sort());
  // Addresses and ports differ by deployment: only their presence is compared.
  const addressLike = new Set(['temporalGrpcAddress', 'port', 'cors.allowOrigins']);
  const expected: Record<string, string> = {};
  for (const [key, value] of Object.entries(cluster)) {
    const image = UI_IMAGE_VARIABLES[key];
    if (image === null) continue;
    if (key === 'port') continue; // the container port, checked with the ports above
    const differs = JSON.stringify(value) !== JSON.stringify(image.imageDefault);
    // The namespace is configuration both sides set even at the image's default.
    if (addressLike.has(key) || differs || key === 'defaultNamespace') expected[image.variable] = addressLike.has(key) ? '(address)' : String(value);
  }
  const actual = Object.fromEntries(
    Object.entries(env).map(([k, v]) => {
      const key = Object.keys(UI_IMAGE_VARIABLES).find((c) => UI_IMAGE_VARIABLES[c]?.variable === k);
      return [k, key && addressLike.has(key) ? '(address)' : composeDefault(v)];
    }),
  );
  expect(actual).toEqual(expected);
  expect(composeDefault(env.TEMPORAL_ADDRESS)).toBe('temporal-frontend:7233');
  expect(composeDefault(env.TEMPORAL_DEFAULT_NAMESPACE)).toBe(settings.namespace);
});

test('temporal-schema runs the SQL tool commands the cluster runs, database for database', () => {
  const job = services['temporal-schema'];
  const version = /const SERVER_VERSION = '([^']+)'/.exec(binariesScript)?.[1];
  expect(job.image).toBe(`temporalio/admin-tools:${version}`);
  expect(job.entrypoint).toEqual(['/bin/sh', '-c']);
  const script = (Array.isArray(job.command) ? job.command.join('\n') : String(job.command)).replace(/\$\$/g, '$');
  const env = Object.fromEntries(Object.entries(envOf('temporal-schema')).map(([k, v]) => [k, composeDefault(v)]));
  expect(env.SQL_PASSWORD).toBeDefined(); // the password by environment, as the cluster passes it
  // The shell function `schema <database> <schema>`: its `sql=` prefix and the steps it runs with it.
  const prefix = /^\s*sql="([^"]+)"/m.exec(script)?.[1];
  expect(prefix).toBeDefined();
  const steps = [...script.matchAll(/^\s*\$sql (.+)$/gm)].map((m) => m[1]);
  const calls = [...script.matchAll(/^\s*schema "\$([A-Z_]+)" (\S+)$/gm)].map((m) => ({ database: env[m[1]], schema: m[2] }));
  const expand = (text: string, vars: Record<string, string>) =>
    text.replace(/\$(\w+)|\$\{(\w+)\}/g, (_, a: string | undefined, b: string | undefined) => vars[(a ?? b)!] ?? `<unset ${a ?? b}>`);
  const composeCommands = calls.flatMap(({ database, schema }) =>
    steps.map((step) => {
      const vars = { ...env, 1: database, 2: schema };
      return `${expand(prefix!, vars)} ${expand(step, vars).replace(/"/g, '')}`.split(/\s+/);
    }),
  );
  const endpoint = { plugin: env.DB, host: env.POSTGRES_SEEDS, port: Number(env.DB_PORT), user: env.POSTGRES_USER };
  const clusterCommands = temporalSchemaSteps('/etc/temporal/schema/postgresql/v12').map((s) => [
    'temporal-sql-tool',
    ...sqlToolArgs(endpoint, s.database, s.args),
  ]);
  expect(composeCommands).toEqual(clusterCommands);
  // The cluster's own user and plugin are compose's.
  expect(env.POSTGRES_USER).toBe(POSTGRES_USER);
  expect(env.DB).toBe('postgres12');
  // The engine's database: created by the postgresql image in compose, by the SQL tool in the cluster.
  expect(composeDefault(envOf('postgresql').POSTGRES_DB)).toBe(ENGINE_DATABASE);
  expect(composeDefault(envOf('postgresql').POSTGRES_USER)).toBe(POSTGRES_USER);
  expect(new URL(composeDefault(envOf('api').DATABASE_URL)).pathname).toBe(`/${ENGINE_DATABASE}`);
});

test('temporal-namespace registers the search attributes the cluster registers', () => {
  const pairs = composeDefault(envOf('temporal-namespace').SEARCH_ATTRIBUTES).trim().split(/\s+/);
  expect(Object.fromEntries(pairs.map((p) => p.split('=')))).toEqual(CUSTOM_SEARCH_ATTRIBUTES);
  expect(composeDefault(envOf('temporal-namespace').NAMESPACE)).toBe(settings.namespace);
});

describe.each([
  { name: 'api', script: ENGINE_SCRIPTS.api, api: true },
  { name: 'worker', script: ENGINE_SCRIPTS.worker, api: false },
])('$name', ({ name, script, api }) => {
  const clusterVars = {
    ...engineVariables({ settings, ports: PORTS, databaseUrl: 'postgres://u:p@h:1/booking' }),
    ...(api ? apiVariables({ settings, ports: PORTS }) : {}),
  };

  test('compose runs the command behind the npm script the cluster runs', () => {
    // `npm run <script>`: a stale-build check, then `[VAR=… ]exec node …`.
    const last = scripts[script].split('&&').pop()!.trim();
    const command = last.replace(/^([A-Z_]+=("[^"]*"|\S+)\s+)*/, '').replace(/^exec\s+/, '');
    expect(services[name].command).toEqual(command.split(/\s+/));
  });

  test('the variables the cluster sets are the ones compose sets, apart from the listed differences', () => {
    const env = envOf(name);
    // Set by the cluster: compose sets each (or it is listed as cluster-only).
    const missing = Object.keys(clusterVars).filter((k) => !(k in env) && !(k in CLUSTER_ONLY));
    expect(missing).toEqual([]);
    for (const k of Object.keys(CLUSTER_ONLY)) expect([k, k in env]).toEqual([k, false]);
    // Set by compose and not by the cluster: passed through under its own name (`${NAME:-…}`; the cluster's processes
    // inherit the caller's environment), or listed as compose-only.
    const unexplained = Object.entries(env)
      .filter(([k]) => !(k in clusterVars))
      .filter(([k, v]) => reference(v)?.name !== k && !(k in COMPOSE_ONLY))
      .map(([k]) => k);
    expect(unexplained).toEqual([]);
    for (const k of Object.keys(COMPOSE_ONLY)) {
      if (k in env) expect([k, k in clusterVars]).toEqual([k, false]);
    }
    // Fixed values the two share.
    expect(composeDefault(env.TEMPORAL_NAMESPACE)).toBe(clusterVars.TEMPORAL_NAMESPACE);
    expect(composeDefault(env.TEMPORAL_TASK_QUEUE)).toBe(clusterVars.TEMPORAL_TASK_QUEUE);
    expect(composeDefault(env.TEMPORAL_TLS)).toBe(clusterVars.TEMPORAL_TLS);
    if (api) expect(Object.keys(env).filter((k) => k.startsWith('API_')).sort()).toEqual(
      [...Object.keys(apiVariables({ settings, ports: PORTS })), 'API_BODY_LIMIT_BYTES'].sort(),
    );
    else expect(Object.keys(env).filter((k) => k.startsWith('API_'))).toEqual([]);
  });
});
