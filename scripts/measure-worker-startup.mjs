#!/usr/bin/env node
/**
 * Worker start-up, from process start until it logs "worker running", for each way of running it:
 *   tsx       `tsx src/worker.ts`: TypeScript through tsx, workflows bundled at start in a child process (what
 *             `npm run worker` ran before the production build)
 *   compiled  `node dist/src/worker.js`: the build, with its prebuilt dist/workflow-bundle.js (what the image runs)
 *   npm       `npm run worker`: the build's freshness check, then the compiled worker
 * against an in-memory dev server started from `npm start`'s CLI (scripts/binaries.mjs) and the PostgreSQL of
 * DATABASE_URL. The modes take turns, after one unmeasured warm-up start each; every start has its own task queue.
 * Needs a current build (`npm run build:prod`) for compiled and npm.
 *
 *   DATABASE_URL=postgres://… node scripts/measure-worker-startup.mjs [--runs 5] [--modes tsx,compiled,npm]
 */
import { execFileSync, spawn } from 'node:child_process';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const MODES = {
  tsx: [path.join(ROOT, 'node_modules', '.bin', 'tsx'), ['src/worker.ts']],
  compiled: [process.execPath, ['dist/src/worker.js']],
  npm: ['npm', ['run', '--silent', 'worker']],
};

function parseArgs(argv) {
  const args = { runs: 5, modes: Object.keys(MODES) };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') args.runs = Number(argv[++i]);
    else if (argv[i] === '--modes') args.modes = argv[++i].split(',');
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  if (!(args.runs >= 1) || args.modes.some((m) => !MODES[m])) throw new Error(`usage: [--runs N] [--modes ${Object.keys(MODES).join(',')}]`);
  return args;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function exited(child) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function startDevServer() {
  const { temporalCli } = JSON.parse(execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'binaries.mjs'), '--json'], { encoding: 'utf8' }));
  const [port, uiPort] = [await freePort(), await freePort()];
  const args = ['server', 'start-dev', '--headless', '--ip', '127.0.0.1', '--port', String(port), '--ui-port', String(uiPort), '--log-level', 'warn'];
  const child = spawn(temporalCli, args, { stdio: 'ignore' });
  const address = `127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      execFileSync(temporalCli, ['operator', 'cluster', 'health', '--address', address], { stdio: 'ignore' });
      return { address, stop: () => (child.kill('SIGTERM'), exited(child)) };
    } catch {
      if (i > 120 || child.exitCode !== null) throw new Error('the dev server did not start');
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** Milliseconds from spawn until "worker running"; the worker is stopped before this resolves. */
async function startOnce(mode, env) {
  const [cmd, args] = MODES[mode];
  const started = process.hrtime.bigint();
  const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  const ms = await new Promise((resolve, reject) => {
    const onData = (chunk) => {
      out = (out + chunk.toString('utf8')).slice(-16384);
      if (out.includes('"msg":"worker running"')) resolve(Number(process.hrtime.bigint() - started) / 1e6);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => reject(new Error(`${mode} worker exited (${code}) before it ran:\n${out}`)));
  });
  // The process group: npm and tsx run the worker in a child of their own.
  process.kill(-child.pid, 'SIGTERM');
  const killer = setTimeout(() => process.kill(-child.pid, 'SIGKILL'), 15_000);
  await exited(child);
  clearTimeout(killer);
  return ms;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (!process.env.DATABASE_URL) throw new Error('set DATABASE_URL to a PostgreSQL database the worker may migrate');
  const server = await startDevServer();
  const results = Object.fromEntries(args.modes.map((m) => [m, []]));
  let n = 0;
  const env = () => ({
    ...process.env,
    TEMPORAL_ADDRESS: server.address,
    TEMPORAL_TASK_QUEUE: `startup-${process.pid}-${++n}`,
    MALLOC_ARENA_MAX: '2',
    NODE_OPTIONS: '--max-old-space-size=512',
    LOG_LEVEL: 'info',
  });
  const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');
  console.log(`load average before: ${load()} (${os.cpus().length} cores)`);
  try {
    for (const mode of args.modes) await startOnce(mode, env()); // warm-up: page cache, tsx's transform cache, migrations
    for (let run = 0; run < args.runs; run++) {
      for (const mode of args.modes) results[mode].push(await startOnce(mode, env()));
    }
  } finally {
    await server.stop();
  }
  console.log(`load average after:  ${load()}`);
  for (const mode of args.modes) {
    const xs = results[mode];
    const fmt = (ms) => `${(ms / 1000).toFixed(2)} s`;
    console.log(
      `${mode.padEnd(9)} median ${fmt(median(xs))}  min ${fmt(Math.min(...xs))}  max ${fmt(Math.max(...xs))}  runs ${xs.map((x) => (x / 1000).toFixed(2)).join(' ')}`,
    );
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
