/**
 * The real worker (`src/worker.ts`, the `npm run worker` entry) in a child process, so a test can SIGKILL it.
 * It runs as one Node process (`node --import tsx`), not through the tsx CLI, whose extra parent process
 * would take the signal and leave the worker itself running.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';

const REPO = path.join(__dirname, '..', '..');
const TAIL_BYTES = 16 * 1024;

/** A worker child process. */
export interface WorkerProcess {
  name: string;
  pid: number;
  /** Resolves once the worker logged that it runs (its workflows are bundled and it polls). */
  ready: Promise<void>;
  /** SIGKILL: no shutdown, in-flight tasks are lost as in a crash. Resolves once the process is gone. */
  kill(): Promise<void>;
  /** SIGTERM (graceful), then SIGKILL after 15 s. */
  stop(): Promise<void>;
  /** The last lines the process wrote, for failure messages. */
  tail(): string;
}

const live = new Set<ChildProcess>();
// A failed test must not leave workers polling a server that is about to disappear.
process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts `src/worker.ts` with the given environment on top of this process's. */
export function spawnWorker(name: string, env: NodeJS.ProcessEnv, readyTimeoutMs = 120_000): WorkerProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(REPO, 'src', 'worker.ts')], {
    cwd: REPO,
    env: { ...process.env, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  const gone = exited(child).then(() => {
    live.delete(child);
  });
  let out = '';
  let resolveReady!: () => void;
  let rejectReady!: (err: Error) => void;
  const ready = new Promise<void>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  const onData = (chunk: Buffer) => {
    out = (out + chunk.toString('utf8')).slice(-TAIL_BYTES);
    if (out.includes('"msg":"worker running"')) resolveReady();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const timer = setTimeout(() => rejectReady(new Error(`worker ${name} not running after ${readyTimeoutMs} ms:\n${out}`)), readyTimeoutMs);
  void gone.then(() => rejectReady(new Error(`worker ${name} exited (${child.signalCode ?? child.exitCode}) before it ran:\n${out}`)));
  void ready.then(
    () => clearTimeout(timer),
    () => clearTimeout(timer),
  );
  ready.catch(() => undefined); // observed by whoever awaits it

  return {
    name,
    pid: child.pid!,
    ready,
    async kill() {
      child.kill('SIGKILL');
      await gone;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await gone;
      clearTimeout(killer);
    },
    tail: () => out,
  };
}
