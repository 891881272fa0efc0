/**
 * The cluster's running processes, in start order: each is listed with the watchdog as soon as it is spawned (ready
 * or not), reported on stdout in one line once ready, and stopped newest first, so Ctrl-C stops the API before the
 * workers, the workers before Temporal, and Temporal before PostgreSQL.
 */
import * as path from 'node:path';
import { startProcess, type ManagedProcess, type ProcessSpec } from './process';
import type { Watchdog } from './watchdog';

export class Supervisor {
  private readonly processes: ManagedProcess[] = [];
  private stopping = false;

  constructor(
    private readonly watchdog: Watchdog,
    private readonly say: (line: string) => void,
  ) {}

  /** Spawns a process and takes charge of it. */
  start(spec: ProcessSpec): ManagedProcess {
    // A start step still running when Ctrl-C came must not add a process stopAll() would miss.
    if (this.stopping) throw new Error(`not starting ${spec.name}: the cluster is stopping`);
    const proc = startProcess(spec);
    this.processes.push(proc);
    this.watchdog.add(proc.pid, spec.stopSignal ?? 'SIGTERM', spec.name);
    return proc;
  }

  /** The one-line summary of a process that is ready. */
  ready(proc: ManagedProcess, detail = ''): void {
    const seconds = ((Date.now() - proc.startedAt) / 1000).toFixed(1);
    this.say(
      `cluster: ${proc.name.padEnd(20)} ready in ${seconds.padStart(5)} s  pid ${String(proc.pid).padEnd(7)} ` +
        `log ${path.basename(proc.logFile)}${detail ? `  ${detail}` : ''}`,
    );
  }

  /** Resolves with the first process that exits while the cluster is not stopping. */
  unexpectedExit(): Promise<ManagedProcess> {
    return Promise.race(
      this.processes.map((p) =>
        p.exited.then(() => (this.stopping ? new Promise<ManagedProcess>(() => undefined) : p)),
      ),
    );
  }

  /** Stops every process, newest first; each stop waits until its whole process group is gone. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const proc of [...this.processes].reverse()) {
      const started = Date.now();
      const wasRunning = proc.exitStatus() === null;
      await proc.stop();
      this.watchdog.remove(proc.pid);
      const took = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
      if (wasRunning) this.say(`cluster: ${proc.name.padEnd(20)} stopped in ${took} s`);
    }
    this.processes.length = 0;
  }
}
