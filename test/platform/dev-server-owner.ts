/**
 * An engine reduced to its dev server, for dev-server-ownership.test.ts: starts the dev server on DATA_DIR (ports from
 * TEMPORAL_DEV_PORT / TEMPORAL_UI_PORT), prints `{ pid, address }` of the server as one JSON line, then lives until
 * it is killed. Run with `node --import tsx`, so the test can SIGKILL exactly this process.
 */
import { loadConfig } from '../../src/config';
import { startDevServer } from '../../src/temporal/dev-server';

const log = { info: () => undefined, warn: (_o: object, msg: string) => void process.stderr.write(`${msg}\n`) };

startDevServer({ config: loadConfig(), log }).then(
  (server) => {
    process.stdout.write(`${JSON.stringify({ pid: server.pid, address: server.address })}\n`);
    setInterval(() => undefined, 60_000);
  },
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
