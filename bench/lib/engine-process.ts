/** Spawns bench/engine.ts as a child process and talks to it over IPC; RSS is also read from /proc. */
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { EngineEvent, EngineLoad, EngineMemory } from '../engine';
import { procMemory } from './proc-memory';

/** Where scenario b's bench-only worker runs: the engine process, or processes beside the cluster. */
export interface BenchWorkerHost {
  startBenchWorker(taskQueue: string): Promise<void>;
  stopBenchWorker(): Promise<void>;
}

export interface EngineProcess extends BenchWorkerHost {
  pid: number;
  apiUrl: string;
  memory(): Promise<EngineMemory>;
  /** CPU, event-loop delay and GC pauses since the previous call. */
  load(): Promise<EngineLoad>;
  /** VmRSS and VmHWM (peak RSS) of the child from /proc, in bytes. */
  procRss(): { rssBytes: number; peakRssBytes: number } | null;
  stop(): Promise<void>;
}

/** Starts the engine with `env` (merged over process.env); its output goes to `logFile`. */
export async function startEngine(opts: { env: NodeJS.ProcessEnv; logFile: string; cpuProfDir?: string }): Promise<EngineProcess> {
  const out = fs.openSync(opts.logFile, 'a');
  const execArgv = ['--import', 'tsx'];
  if (opts.cpuProfDir) execArgv.push('--cpu-prof', `--cpu-prof-dir=${opts.cpuProfDir}`);
  const child: ChildProcess = fork(path.join(__dirname, '..', 'engine.ts'), [], {
    env: { ...process.env, ...opts.env },
    execArgv,
    stdio: ['ignore', out, out, 'ipc'],
  });
  fs.closeSync(out);
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));

  const apiUrl = await new Promise<string>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`engine exited (code ${code}) before it was ready; see ${opts.logFile}`));
    child.once('exit', onExit);
    child.on('message', (msg: EngineEvent | { id: number; ok: boolean; result?: unknown; error?: string }) => {
      if ('type' in msg) {
        if (msg.type === 'ready') {
          child.off('exit', onExit);
          resolve(msg.apiUrl);
        } else reject(new Error(`engine failed: ${msg.error}`));
        return;
      }
      const p = pending.get(msg.id);
      if (!p) return;
      pending.delete(msg.id);
      if (msg.ok) p.resolve(msg.result);
      else p.reject(new Error(msg.error));
    });
  });
  child.on('exit', () => {
    for (const p of pending.values()) p.reject(new Error('engine exited'));
    pending.clear();
  });

  const call = <T>(cmd: string, extra: object = {}): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (exited) return reject(new Error('engine exited'));
      const id = nextId++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, cmd, ...extra });
    });

  const pid = child.pid as number;
  return {
    pid,
    apiUrl,
    memory: () => call<EngineMemory>('memory'),
    load: () => call<EngineLoad>('load'),
    procRss: () => procMemory(pid),
    startBenchWorker: (taskQueue) => call<void>('startBenchWorker', { taskQueue }),
    stopBenchWorker: () => call<void>('stopBenchWorker'),
    async stop() {
      if (exited) return;
      const killer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await call('stop').catch(() => undefined);
      await exit;
      clearTimeout(killer);
    },
  };
}
