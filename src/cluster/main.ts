/**
 * `npm run cluster`: the production topology of docker-compose.yml from native processes, in the foreground like
 * `npm start`. PostgreSQL (DATA_DIR/cluster/postgres), Temporal's schemas set up or upgraded by its SQL tool, the
 * Temporal server as four service processes, the namespace and its search attributes, the Web UI server, the
 * Salesforce stand-in, CLUSTER_WORKERS engine workers and the API, each started once the one before is ready, each
 * logging to DATA_DIR/cluster/logs/<name>.log with a one-line summary here. Ctrl-C or SIGTERM stops them in reverse
 * order; a second start finds the same data.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findPostgresBinDir, resolveTemporalBinaries } from './binaries';
import { serveControl } from './control';
import { apiVariables, engineEnv, startApiProcess, startStandin, startWorkers } from './engine-processes';
import { lockClusterDir } from './lock';
import { chooseClusterNode, withClusterNode } from './node-runtime';
import { ensureNamespace } from './namespace';
import { initPostgres, postgresPassword, postgresServerUser, postgresUrl, startPostgres, POSTGRES_USER } from './postgres';
import { delay, indent } from './process';
import { ENGINE_DATABASE, setUpSchemas } from './schema';
import { loadClusterSettings, resolvePorts } from './settings';
import { Supervisor } from './supervisor';
import { writeTemporalConfig } from './temporal-config';
import { startTemporalServices } from './temporal-services';
import { startUi, writeUiConfig } from './ui';
import { leftoverGroups, startWatchdog } from './watchdog';

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(1);
}

function fail(message: string): void {
  process.stderr.write(`\n${message}\n`);
}

/** Waits for processes a previous run left behind (its watchdog may still be stopping them), then refuses. */
async function checkLeftovers(pidsFile: string): Promise<void> {
  for (let i = 0; i < 70 && leftoverGroups(pidsFile).length > 0; i++) await delay(500);
  const left = leftoverGroups(pidsFile);
  if (left.length > 0) {
    throw new Error(
      'processes of an earlier cluster run on this data folder are still running: ' +
        `${left.map((l) => `${l.name} (pid ${l.pid})`).join(', ')}; stop them (kill -TERM -<pid> stops a process group) ` +
        'and start again',
    );
  }
}

async function main(): Promise<void> {
  const started = Date.now();
  const settings = loadClusterSettings();
  const node = chooseClusterNode();
  const { clusterDir, logsDir } = settings;
  fs.mkdirSync(logsDir, { recursive: true });
  const releaseLock = lockClusterDir(path.join(clusterDir, 'cluster.lock'));
  const pidsFile = path.join(clusterDir, 'pids');
  try {
    await checkLeftovers(pidsFile);
  } catch (err) {
    releaseLock();
    throw err;
  }
  const watchdog = startWatchdog(pidsFile);
  const supervisor = new Supervisor(watchdog, say);
  let stopping = false;
  let closeControl = (): void => undefined;
  const shutdown = async (code: number): Promise<void> => {
    if (stopping) return;
    stopping = true;
    closeControl();
    say('cluster: stopping');
    await supervisor.stopAll();
    watchdog.close();
    releaseLock();
    say(`cluster: stopped`);
    process.exit(code);
  };
  // `on`, not `once`: Ctrl-C reaches this process twice (from the terminal, and forwarded by npm through tsx), and a
  // second signal without a listener would kill it halfway through the ordered stop.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void shutdown(0));

  try {
    say(`cluster: data ${clusterDir}, logs ${logsDir}`);
    const [binaries, ports] = await Promise.all([
      resolveTemporalBinaries(),
      resolvePorts(settings.ports, path.join(clusterDir, 'ports.json')),
    ]);
    const timeoutMs = settings.startTimeoutMs;
    const pgPaths = {
      binDir: findPostgresBinDir(),
      dataDir: path.join(clusterDir, 'postgres'),
      passwordFile: path.join(clusterDir, 'postgres.password'),
      logFile: path.join(logsDir, 'postgres.log'),
    };
    const pgUser = postgresServerUser();
    const password = postgresPassword(pgPaths);
    if (initPostgres(pgPaths, pgUser, password)) say(`cluster: PostgreSQL data directory created in ${pgPaths.dataDir}`);
    const postgres = await startPostgres({
      supervisor,
      paths: pgPaths,
      user: pgUser,
      port: ports.postgres,
      password,
      timeoutMs,
    });
    const pgMajor = path.basename(path.dirname(pgPaths.binDir));
    supervisor.ready(postgres, `127.0.0.1:${ports.postgres} (PostgreSQL ${pgMajor})`);

    const schemaStarted = Date.now();
    const versions = await setUpSchemas({
      sqlTool: binaries.temporalSqlTool,
      schemaDir: binaries.temporalSchemaDir,
      port: ports.postgres,
      password,
      logFile: path.join(logsDir, 'schema.log'),
    });
    say(`cluster: schemas ${versions}, ${ENGINE_DATABASE} (${seconds(Date.now() - schemaStarted)} s, log schema.log)`);

    const temporalConfig = writeTemporalConfig(path.join(clusterDir, 'temporal'), ports, password, {
      eagerActivities: settings.eagerActivities,
    });
    await startTemporalServices({
      supervisor,
      serverBinary: binaries.temporalServer,
      config: temporalConfig,
      ports,
      logsDir,
      timeoutMs,
    });
    const frontendAddress = `127.0.0.1:${ports.frontend}`;

    const { namespace, retentionDays } = settings;
    const ns = await ensureNamespace({ address: frontendAddress, namespace, retentionDays, timeoutMs });
    const attributes =
      ns.addedAttributes.length > 0 ? `search attributes added (${ns.addedAttributes.join(', ')})` : 'search attributes present';
    say(
      `cluster: namespace ${namespace} ${ns.created ? `registered (retention ${retentionDays} days)` : 'found'}, ` +
        `${attributes}, list queries accepted after ${seconds(ns.readyMs)} s`,
    );

    const uiRoot = writeUiConfig(path.join(clusterDir, 'ui'), { frontendAddress, port: ports.ui, namespace });
    const ui = await startUi({
      supervisor,
      binary: binaries.temporalUiServer,
      root: uiRoot,
      port: ports.ui,
      logsDir,
      timeoutMs,
    });

    const env = withClusterNode(
      engineEnv({ settings, ports, databaseUrl: postgresUrl(ports.postgres, password, ENGINE_DATABASE) }),
      node,
    );
    say(`cluster: engine processes on Node ${node.version ?? '(version unknown)'} (${node.source}${node.binDir ? `, ${node.binDir}` : ''})`);
    const standin =
      settings.salesforceMode === 'standin'
        ? await startStandin({ supervisor, env, port: ports.salesforceStandin, logsDir, timeoutMs })
        : null;
    await startWorkers({ supervisor, env, count: settings.workers, logsDir, timeoutMs });
    const apiEnv = { ...env, ...apiVariables({ settings, ports }) };
    const api = await startApiProcess({ supervisor, env: apiEnv, port: ports.api, logsDir, timeoutMs });

    say(
      [
        '',
        `Booking lifecycle engine is running (cluster, started in ${seconds(Date.now() - started)} s).`,
        `  API:          ${api.url}   (header API-Key: ${settings.apiKeys[0]})`,
        `  OpenAPI:      ${api.url}/v2/openapi.json`,
        `  Temporal:     ${frontendAddress} (namespace ${namespace}; services history, matching, frontend, worker)`,
        `  Temporal UI:  ${ui.url}`,
        standin
          ? `  Salesforce:   stand-in at ${standin.url} (SALESFORCE_MODE=standin)`
          : `  Salesforce:   ${settings.salesforceMode}`,
        `  PostgreSQL:   127.0.0.1:${ports.postgres} (temporal, temporal_visibility, ${ENGINE_DATABASE}; ` +
          `user ${POSTGRES_USER}, password in ${pgPaths.passwordFile})`,
        `  Workers:      ${settings.workers} (npm run worker)`,
        `  Data:         ${settings.dataDir}   (cluster/, logs in cluster/logs)`,
        'Press Ctrl-C to stop.',
        '',
      ].join('\n'),
    );

    closeControl = serveControl(path.join(clusterDir, 'control'), supervisor, say);
    const died = await supervisor.unexpectedExit();
    if (stopping) return;
    fail(
      `cluster: ${died.name} exited (${died.exitStatus()}) while the cluster was running; stopping everything. ` +
        `The end of ${died.logFile}:\n${indent(died.logTail())}`,
    );
    await shutdown(1);
  } catch (err) {
    if (stopping) return; // a start step failing because Ctrl-C stopped its process
    fail(`The cluster did not start: ${err instanceof Error ? err.message : String(err)}`);
    await shutdown(1);
  }
}

main().catch((err: unknown) => {
  fail(`The cluster did not start: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
