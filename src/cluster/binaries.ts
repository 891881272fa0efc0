/**
 * The cluster's native binaries: the Temporal server 1.29.1, its SQL schema tool and PostgreSQL schema files, the UI
 * server 2.42.1 (found or built by `scripts/binaries.mjs --only cluster`, whose progress shows on stderr), and
 * PostgreSQL's server binaries from the system packages (`/usr/lib/postgresql/<major>/bin`, newest first).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const SCRIPT = path.resolve(__dirname, '..', '..', 'scripts', 'binaries.mjs');

/** Paths of the cluster's Temporal binaries. */
export interface TemporalBinaries {
  temporalServer: string;
  temporalSqlTool: string;
  /** `…/schema/postgresql/v12`, holding `temporal/versioned` and `visibility/versioned`. */
  temporalSchemaDir: string;
  temporalUiServer: string;
}

/** Runs `scripts/binaries.mjs --only cluster --json`: finds the binaries, building what is missing. */
export function resolveTemporalBinaries(env: NodeJS.ProcessEnv = process.env): Promise<TemporalBinaries> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCRIPT, '--only', 'cluster', '--json'], {
      env,
      stdio: ['ignore', 'pipe', process.stderr],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    // A build still running when this process ends (SIGTERM during the first start) ends with it.
    const stopBuild = () => child.kill('SIGTERM');
    process.once('exit', stopBuild);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      process.off('exit', stopBuild);
      if (code !== 0) {
        reject(
          new Error(
            `the Temporal server and UI server are not available (scripts/binaries.mjs: ${signal ?? `exit code ${code}`}); ` +
              'see the message above, or run `npm run binaries -- --cluster` to retry',
          ),
        );
        return;
      }
      try {
        const found = JSON.parse(stdout.trim().split('\n').pop() ?? '') as Partial<TemporalBinaries>;
        const { temporalServer, temporalSqlTool, temporalSchemaDir, temporalUiServer } = found;
        if (!temporalServer || !temporalSqlTool || !temporalSchemaDir || !temporalUiServer) {
          throw new Error(`incomplete answer ${stdout.trim()}`);
        }
        resolve({ temporalServer, temporalSqlTool, temporalSchemaDir, temporalUiServer });
      } catch (err) {
        reject(new Error(`scripts/binaries.mjs --json: ${(err as Error).message}`));
      }
    });
  });
}

/** The newest `/usr/lib/postgresql/<major>/bin` with `initdb` and `postgres`. */
export function findPostgresBinDir(root = '/usr/lib/postgresql'): string {
  const versions = fs.existsSync(root)
    ? fs
        .readdirSync(root)
        .filter((v) => ['initdb', 'postgres'].every((b) => fs.existsSync(path.join(root, v, 'bin', b))))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      `PostgreSQL server binaries not found under ${root}/*/bin: install them with \`apt-get install postgresql\` ` +
        '(only the binaries are used; the system service may stay stopped)',
    );
  }
  return path.join(root, versions[0], 'bin');
}
