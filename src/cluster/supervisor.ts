/**
 * The cluster's running processes, in start order: each is listed with the watchdog as soon as it is spawned (ready
 * or not), reported on stdout in one line once ready, and stopped newest first, so Ctrl-C stops the API before the
 * workers, the workers before Temporal, and Temporal before PostgreSQL.
 *
 * One process can also be killed, stopped, started again or restarted while the others run, by a request in the
 * control folder (DATA_DIR/cluster/control, see control.ts): as a container of the compose file can be, which is how
 * the fault tests take one service down under traffic. A process taken down that way is not a crash: the cluster
 * goes on without it until it is started again, from the same command, and waited for as at the first start.
 */
import * as path from 'node:path';
import { delay, groupMembers, startProcess, type ManagedProcess, type ProcessSpec } from './process';
import type { Watchdog } from './watchdog';

/** Waits until a freshly started process is ready (throws when it is not); used again when it is started again. */
export type Readiness = (proc: ManagedProcess) => Promise<void>;

interface Entry {
  spec: ProcessSpec;
  proc: ManagedProcess;
  readiness?: Readiness;
}

export type ControlAction = 'kill' | 'stop' | 'start' | 'restart';

export class Supervisor {
  private readonly entries: Entry[] = [];
  /** Processes taken down on request: their exit is not a crash. */
  private readonly takenDown = new Set<ManagedProcess>();
  private stopping = false;
  private reportDeath: (proc: ManagedProcess) => void = () => undefined;
  private readonly death = new Promise<ManagedProcess>((resolve) => (this.reportDeath = resolve));

  constructor(
    private readonly watchdog: Watchdog,
    private readonly say: (line: string) => void,
  ) {}

  /** Spawns a process and takes charge of it; `readiness` is how to wait for it when it is started again. */
  start(spec: ProcessSpec, readiness?: Readiness): ManagedProcess {
    // A start step still running when Ctrl-C came must not add a process stopAll() would miss.
    if (this.stopping) throw new Error(`not starting ${spec.name}: the cluster is stopping`);
    const proc = this.spawn(spec);
    this.entries.push({ spec, proc, readiness });
    return proc;
  }

  private spawn(spec: ProcessSpec): ManagedProcess {
    const proc = startProcess(spec);
    this.watchdog.add(proc.pid, spec.stopSignal ?? 'SIGTERM', spec.name);
    void proc.exited.then(() => {
      if (!this.stopping && !this.takenDown.has(proc)) this.reportDeath(proc);
    });
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

  /** Resolves with the first process that exits while the cluster is not stopping and nobody asked it to. */
  unexpectedExit(): Promise<ManagedProcess> {
    return this.death;
  }

  /** The names of the processes, in start order. */
  names(): string[] {
    return this.entries.map((e) => e.spec.name);
  }

  /**
   * Takes one process down or brings it back: `kill` (SIGKILL to its whole process group, as a crash or the
   * out-of-memory killer), `stop` (its own graceful stop), `start` (its command again, waited for until ready) or
   * `restart` (stop, then start). Resolves with the pid running afterwards (null when down).
   */
  async control(action: ControlAction, name: string): Promise<number | null> {
    const entry = this.entries.find((e) => e.spec.name === name);
    if (!entry) throw new Error(`no process named ${name} (there are ${this.names().join(', ')})`);
    if (this.stopping) throw new Error('the cluster is stopping');
    const { proc } = entry;
    const running = proc.exitStatus() === null || groupMembers(proc.pid).length > 0;
    if (action === 'kill' || action === 'stop' || action === 'restart') {
      if (!running && action !== 'restart') throw new Error(`${name} is not running`);
      this.takenDown.add(proc);
      const started = Date.now();
      if (action === 'kill') {
        try {
          process.kill(-proc.pid, 'SIGKILL');
        } catch {
          // the group is gone
        }
        await proc.exited;
        for (let i = 0; i < 100 && groupMembers(proc.pid).length > 0; i++) await delay(100);
      } else {
        await proc.stop();
      }
      this.watchdog.remove(proc.pid);
      this.say(`cluster: ${name.padEnd(20)} ${action === 'kill' ? 'killed (SIGKILL)' : 'stopped'} on request in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      if (action !== 'restart') return null;
    } else if (running) {
      throw new Error(`${name} is running (pid ${proc.pid})`);
    }
    const next = this.spawn(entry.spec);
    entry.proc = next;
    if (entry.readiness) await entry.readiness(next);
    this.ready(next, 'started again on request');
    return next.pid;
  }

  /** Stops every process, newest first; each stop waits until its whole process group is gone. */
  async stopAll(): Promise<void> {
    this.stopping = true;
    for (const { proc } of [...this.entries].reverse()) {
      const started = Date.now();
      const wasRunning = proc.exitStatus() === null;
      await proc.stop();
      this.watchdog.remove(proc.pid);
      const took = ((Date.now() - started) / 1000).toFixed(1).padStart(5);
      if (wasRunning) this.say(`cluster: ${proc.name.padEnd(20)} stopped in ${took} s`);
    }
    this.entries.length = 0;
  }
}
