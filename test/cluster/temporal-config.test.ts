/**
 * The generated configuration files, read back by the real binaries: the server's own loader (`temporal-server
 * render-config`) and dynamic-config validator, so a key the server does not know, or a value of the wrong type, fails
 * here rather than at a cluster's start. The YAML writer is checked on the shapes it is used for.
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { resolveTemporalBinaries, type TemporalBinaries } from '../../src/cluster/binaries';
import type { ClusterPorts } from '../../src/cluster/settings';
import { dynamicConfig, HISTORY_SHARDS, TEMPORAL_ENV, writeTemporalConfig } from '../../src/cluster/temporal-config';
import { writeUiConfig } from '../../src/cluster/ui';
import { toYaml } from '../../src/cluster/yaml';

let tmp: string;
let binaries: TemporalBinaries;

const PORTS: ClusterPorts = {
  postgres: 25432,
  frontend: 27233,
  frontendHttp: 27243,
  history: 27234,
  matching: 27235,
  workerService: 27239,
  frontendMembership: 26933,
  historyMembership: 26934,
  matchingMembership: 26935,
  workerServiceMembership: 26939,
  ui: 28233,
  api: 23000,
  salesforceStandin: 23100,
};

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-cluster-config-'));
  binaries = await resolveTemporalBinaries();
}, 900_000);

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

test('the YAML writer quotes every string and nests maps and lists', () => {
  expect(toYaml({ a: { b: 'x: "y"', c: 1, d: true }, e: [{ value: 100 }, 'z'], f: [], g: {} }, 'head')).toBe(
    ['# head', 'a:', '  b: "x: \\"y\\""', '  c: 1', '  d: true', 'e:', '  - value: 100', '  - "z"', 'f: []', 'g: {}', ''].join('\n'),
  );
});

test('the server loads its generated config: stores, shards, one cluster, every port on 127.0.0.1', () => {
  const root = path.join(tmp, 'temporal');
  const files = writeTemporalConfig(root, PORTS, 'pw"with:odd chars');
  expect(fs.statSync(files.configFile).mode & 0o777).toBe(0o600);
  // render-config resolves --config against the working directory.
  const r = spawnSync(binaries.temporalServer, ['--root', root, '--config', files.configDir, '--env', TEMPORAL_ENV, 'render-config'], {
    cwd: root,
    encoding: 'utf8',
  });
  expect(r.stderr).not.toMatch(/Unable to load/);
  expect(r.status).toBe(0);
  const rendered = r.stdout;
  expect(rendered).toMatch(new RegExp(`numHistoryShards: ${HISTORY_SHARDS}\\b`));
  expect(rendered).toMatch(/defaultStore: postgres-default/);
  expect(rendered).toMatch(/visibilityStore: postgres-visibility/);
  expect(rendered).toMatch(/databaseName: temporal_visibility/);
  expect(rendered).toMatch(/pluginName: postgres12/);
  expect(rendered).toContain('connectAddr: 127.0.0.1:25432');
  // The password, odd characters and all, parsed (render-config masks it).
  expect(rendered).toMatch(/user: temporal\n/);
  expect(rendered).toMatch(/password: '\*+'/);
  expect(rendered).toContain('rpcAddress: 127.0.0.1:27233');
  expect(rendered).toContain(`filepath: ${files.dynamicConfigFile}`);
  for (const port of [27233, 27243, 27234, 27235, 27239, 26933, 26934, 26935, 26939]) expect(rendered).toMatch(new RegExp(`: ${port}\\b`));
  expect((rendered.match(/bindOnIP: 127\.0\.0\.1/g) ?? []).length).toBe(4);

  // The validator exits 0 either way and prints `warning: unregistered key …` or `validation failed …`.
  const dyn = spawnSync(binaries.temporalServer, ['validate-dynamic-config', files.dynamicConfigFile], { encoding: 'utf8' });
  expect(dyn.status).toBe(0);
  expect(dyn.stdout + dyn.stderr).not.toMatch(/warning|failed/i);
  expect(fs.readFileSync(files.dynamicConfigFile, 'utf8')).toMatch(/^frontend\.namespaceRPS\.visibility:\n {2}- value: 100$/m);
  expect(fs.readFileSync(files.dynamicConfigFile, 'utf8')).toMatch(/^system\.enableActivityEagerExecution:\n {2}- value: true$/m);
});

test('eager activity execution is on unless CLUSTER_EAGER_ACTIVITIES turns it off, in the file the server reads', () => {
  expect(dynamicConfig()['system.enableActivityEagerExecution']).toEqual([{ value: true }]);
  const off = writeTemporalConfig(path.join(tmp, 'temporal-eager-off'), PORTS, 'pw', { eagerActivities: false });
  expect(fs.readFileSync(off.dynamicConfigFile, 'utf8')).toMatch(/system\.enableActivityEagerExecution['"]?:\s*\n\s*- ['"]?value['"]?: false/);
});

test('the UI config names the frontend, the loopback port and no auth', () => {
  const root = writeUiConfig(path.join(tmp, 'ui'), { frontendAddress: '127.0.0.1:27233', port: 28233, namespace: 'default' });
  const text = fs.readFileSync(path.join(root, 'config', 'cluster.yaml'), 'utf8');
  for (const line of ['temporalGrpcAddress: "127.0.0.1:27233"', 'host: "127.0.0.1"', 'port: 28233', 'enableUi: true', 'auth:\n  enabled: false']) {
    expect(text).toContain(line);
  }
});
