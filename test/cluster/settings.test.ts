/**
 * The cluster's settings: defaults apart from `npm start`'s ports, bad values refused naming their variable, a port
 * in use refused before anything starts, and 0 picking a free port that the next start takes again.
 */
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadClusterSettings, PORT_SETTINGS, resolvePorts, type ClusterPorts } from '../../src/cluster/settings';

let tmp: string;

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-cluster-settings-'));
});

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

function zeros(): ClusterPorts {
  return Object.fromEntries(Object.keys(PORT_SETTINGS).map((k) => [k, 0])) as unknown as ClusterPorts;
}

test('defaults: loopback ports apart from npm start, two workers, dev-api-key, the stand-in', () => {
  const s = loadClusterSettings({ DATA_DIR: tmp });
  const defaults = Object.values(s.ports);
  for (const npmStart of [3000, 3100, 7233, 8233]) expect(defaults).not.toContain(npmStart);
  expect(new Set(defaults).size).toBe(defaults.length);
  expect(s).toMatchObject({
    dataDir: tmp,
    clusterDir: path.join(tmp, 'cluster'),
    logsDir: path.join(tmp, 'cluster', 'logs'),
    workers: 2,
    retentionDays: 7,
    namespace: 'default',
    apiKeys: ['dev-api-key'],
    salesforceMode: 'standin',
    eagerActivities: true,
  });
});

test('variables override, and a bad value is refused naming its variable', () => {
  const s = loadClusterSettings({ DATA_DIR: tmp, CLUSTER_WORKERS: '3', CLUSTER_API_PORT: '0', API_KEYS: 'a, b' });
  expect(s).toMatchObject({ workers: 3, apiKeys: ['a', 'b'] });
  expect(s.ports.api).toBe(0);
  expect(() => loadClusterSettings({ CLUSTER_WORKERS: '0' })).toThrow(/CLUSTER_WORKERS must be an integer from 1 to 64/);
  expect(() => loadClusterSettings({ CLUSTER_UI_PORT: 'x' })).toThrow(/CLUSTER_UI_PORT must be an integer/);
  expect(loadClusterSettings({ DATA_DIR: tmp, CLUSTER_EAGER_ACTIVITIES: 'false' }).eagerActivities).toBe(false);
  expect(() => loadClusterSettings({ CLUSTER_EAGER_ACTIVITIES: 'off' })).toThrow(/CLUSTER_EAGER_ACTIVITIES must be true or false/);
  // Temporal keeps membership ports in a SMALLINT column.
  expect(() => loadClusterSettings({ CLUSTER_HISTORY_MEMBERSHIP_PORT: '40000' })).toThrow(
    /CLUSTER_HISTORY_MEMBERSHIP_PORT must be an integer from 0 to 32767/,
  );
});

test('a fixed port in use stops the start, naming its variable', async () => {
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen(0, '127.0.0.1', r));
  const taken = (holder.address() as net.AddressInfo).port;
  try {
    await expect(resolvePorts({ ...zeros(), api: taken })).rejects.toThrow(
      new RegExp(`port ${taken} \\(engine API, CLUSTER_API_PORT\\) on 127.0.0.1 is in use`),
    );
  } finally {
    holder.close();
  }
  await expect(resolvePorts({ ...zeros(), api: 40001, ui: 40001 })).rejects.toThrow(/CLUSTER_API_PORT and CLUSTER_UI_PORT are both 40001/);
});

test('0 picks distinct free ports (membership ports under 32768) and the next start takes the same ones again', async () => {
  const state = path.join(tmp, 'ports.json');
  const first = await resolvePorts(zeros(), state);
  const values = Object.values(first);
  expect(new Set(values).size).toBe(values.length);
  for (const [key, s] of Object.entries(PORT_SETTINGS)) {
    expect(first[key as keyof ClusterPorts]).toBeGreaterThan(0);
    if (s.max !== undefined) expect(first[key as keyof ClusterPorts]).toBeLessThanOrEqual(s.max);
  }
  expect(JSON.parse(fs.readFileSync(state, 'utf8'))).toEqual(first);
  expect(await resolvePorts(zeros(), state)).toEqual(first);

  // One of them taken since: only that one changes.
  const holder = net.createServer();
  await new Promise<void>((r) => holder.listen(first.matchingMembership, '127.0.0.1', r));
  try {
    const third = await resolvePorts(zeros(), state);
    expect(third.matchingMembership).not.toBe(first.matchingMembership);
    expect({ ...third, matchingMembership: 0 }).toEqual({ ...first, matchingMembership: 0 });
  } finally {
    holder.close();
  }
});
