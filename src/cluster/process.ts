/**
 * One process of the cluster: spawned in a process group of its own (so the terminal's Ctrl-C reaches only
 * `npm run cluster`, which stops everything in order), its stdout and stderr appended to a log file, waited for until
 * ready, and stopped with its own signal, then SIGKILL, until no process of its group is left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';

/** How to start one process. */
export interface ProcessSpec {
  /** Short name used in logs, summaries and errors (`temporal-history`, `worker-1`). */
  name: string;
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  /** Run as this user (PostgreSQL refuses root). */
  uid?: number;
  gid?: number;
  /** Signal asking for a graceful stop (SIGTERM by default). */
  stopSignal?: NodeJS.Signals;
  /**
   * Send it to every process of the group except the spawned one, as a terminal's Ctrl-C reaches them but without
   * the spawned wrapper (npm) forwarding a second copy; the wrapper ends when its child does.
   */
  group?: boolean;
  /** How long the graceful stop may take before SIGKILL. */
  stopTimeoutMs?: number;
}

/** A started process. */
export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Where this start's output begins in the log file. */
  readonly logOffset: number;
  readonly startedAt: number;
  /** Resolves when the spawned process has exited (its group may still hold others until stop() ends). */
  readonly exited: Promise<void>;
  /** Null while running; otherwise how it ended. */
  exitStatus(): string | null;
  /** The last lines this start wrote to its log. */
  logTail(lines?: number): string;
  /** Graceful stop, SIGKILL after the timeout; resolves once no process of its group is left. Idempotent. */
  stop(): Promise<void>;
}

/** The process exited before it was ready, or was not ready in time. */
export class ProcessStartError extends Error {}

const TAIL_BYTES = 64 * 1024;

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The live (not zombie) members of a process group, from /proc; without /proc, whether the group answers kill(0). */
export function groupMembers(pgid: number): number[] {
  if (!fs.existsSync('/proc/self/stat')) {
    try {
      process.kill(-pgid, 0);
      return [pgid];
    } catch {
      return [];
    }
  }
  const members: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces and parentheses): state ppid pgrp ...
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') members.push(Number(entry));
    } catch {
      // exited while we looked
    }
  }
  return members;
}

/** The process group of a process, from /proc (null when it is gone or there is no /proc). */
export function processGroupOf(pid: number): number | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return null;
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // already gone
  }
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone
  }
}

/** Starts a process as `spec` says. Throws when it cannot be spawned at all. */
export function startProcess(spec: ProcessSpec): ManagedProcess {
  const header = `\n=== ${new Date().toISOString()} ${spec.name}: ${[spec.command, ...spec.args].join(' ')}\n`;
  fs.appendFileSync(spec.logFile, header);
  const offset = fs.statSync(spec.logFile).size;
  const fd = fs.openSync(spec.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', fd, fd],
      detached: true,
      uid: spec.uid,
      gid: spec.gid,
    });
  } finally {
    fs.closeSync(fd);
  }
  let spawnError: Error | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once('error', (err) => {
      spawnError = err;
      resolve();
    });
    child.once('exit', () => resolve());
  });
  if (child.pid === undefined) {
    throw new ProcessStartError(`cannot start ${spec.name} (${spec.command})`);
  }
  const pid = child.pid;

  const readLog = (): string => {
    let size = offset;
    try {
      size = fs.statSync(spec.logFile).size;
    } catch {
      // removed: nothing to show
    }
    return readFrom(spec.logFile, Math.max(offset, size - TAIL_BYTES)).toString('utf8');
  };

  let stopping: Promise<void> | null = null;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      const timeout = spec.stopTimeoutMs ?? 20_000;
      if (child.exitCode === null && child.signalCode === null) {
        const signal = spec.stopSignal ?? 'SIGTERM';
        const below = spec.group ? groupMembers(pid).filter((member) => member !== pid) : [];
        if (below.length > 0) for (const member of below) signalPid(member, signal);
        else child.kill(signal);
      }
      // The whole group gets the time: under npm the node process below may still be closing after npm exited.
      const deadline = Date.now() + timeout;
      await Promise.race([exited, delay(timeout)]);
      while (groupMembers(pid).length > 0 && Date.now() < deadline) await delay(100);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      signalGroup(pid, 'SIGKILL');
      await exited;
      for (let i = 0; i < 50 && groupMembers(pid).length > 0; i++) await delay(100);
    })();
    return stopping;
  };

  return {
    name: spec.name,
    pid,
    logFile: spec.logFile,
    logOffset: offset,
    startedAt: Date.now(),
    exited,
    exitStatus: () => {
      if (spawnError) return `could not be started: ${(spawnError as Error).message}`;
      if (child.exitCode === null && child.signalCode === null) return null;
      return child.signalCode ? `killed by ${child.signalCode}` : `exit code ${child.exitCode}`;
    },
    logTail: (lines = 30) => readLog().trimEnd().split('\n').slice(-lines).join('\n'),
    stop,
  };
}

/**
 * Waits until `ready()` answers true, polling every `intervalMs`. Fails with the process's last log lines when it
 * exits first or when `timeoutMs` passes.
 */
export async function waitUntilReady(
  proc: ManagedProcess,
  what: string,
  ready: () => Promise<boolean> | boolean,
  timeoutMs: number,
  intervalMs = 250,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = '';
  for (;;) {
    const status = proc.exitStatus();
    if (status !== null) {
      throw new ProcessStartError(
        `${proc.name} ended (${status}) before ${what}. The end of ${proc.logFile}:\n${indent(proc.logTail())}`,
      );
    }
    try {
      if (await ready()) return;
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline) {
      throw new ProcessStartError(
        `${proc.name}: not ${what} after ${Math.round(timeoutMs / 1000)} s${lastError ? ` (last error: ${lastError})` : ''}. ` +
          `The end of ${proc.logFile}:\n${indent(proc.logTail())}`,
      );
    }
    await Promise.race([delay(intervalMs), proc.exited]);
  }
}

/** Bytes `from`..end of a file (empty when it cannot be read). */
function readFrom(file: string, from: number): Buffer {
  try {
    const size = fs.statSync(file).size;
    if (size <= from) return Buffer.alloc(0);
    const buf = Buffer.alloc(size - from);
    const fd = fs.openSync(file, 'r');
    try {
      fs.readSync(fd, buf, 0, buf.length, from);
    } finally {
      fs.closeSync(fd);
    }
    return buf;
  } catch {
    return Buffer.alloc(0);
  }
}

/** A reader of the lines this start of a process adds to its log: each call returns the complete lines added since. */
export function logLines(proc: ManagedProcess): () => string[] {
  let position = proc.logOffset;
  let partial = '';
  return () => {
    const added = readFrom(proc.logFile, position);
    position += added.length;
    const lines = (partial + added.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    return lines;
  };
}

/** A readiness check that passes once the process's output of this start has a line matching `pattern`. */
export function logMatches(proc: ManagedProcess, pattern: RegExp): () => boolean {
  const next = logLines(proc);
  let seen = false;
  return () => (seen ||= next().some((l) => pattern.test(l)));
}

export function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
