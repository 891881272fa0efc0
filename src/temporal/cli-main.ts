/**
 * `npm run temporal -- <command>`: the Temporal CLI that `npm start` runs (found or built like it), pointed at the
 * engine's Temporal: TEMPORAL_ADDRESS when set (a cluster), else the embedded dev server's 127.0.0.1:TEMPORAL_DEV_PORT,
 * and TEMPORAL_NAMESPACE. The CLI reads both variables itself, so its own `--address`/`--namespace` still win; for a
 * cluster behind TLS or an API key, pass the CLI's own `--tls-*` or `--api-key` flags.
 * Example: npm run temporal -- workflow signal --workflow-id BKNG-… --name cancel --input '{"actionedBy":"user"}'
 */
import { spawn } from 'node:child_process';
import { loadConfig } from '../config';
import { resolveTemporalCli } from './binaries';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const port = config.temporal.devServerPort === 0 ? null : config.temporal.devServerPort;
  const address = config.temporal.address ?? (port === null ? null : `127.0.0.1:${port}`);
  const cli = await resolveTemporalCli(config.temporal.cliPath);
  const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_NAMESPACE: config.temporal.namespace };
  // TEMPORAL_DEV_PORT=0 picks a port at start that only that engine knows: then pass --address yourself.
  if (address) env.TEMPORAL_ADDRESS = address;
  const child = spawn(cli, process.argv.slice(2), { stdio: 'inherit', env });
  child.once('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
