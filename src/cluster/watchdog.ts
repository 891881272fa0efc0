/**
 * The cluster's orphan guard. Its processes run in process groups of their own (so Ctrl-C reaches only
 * `npm run cluster`), which also means nothing stops them if `npm run cluster` dies without stopping them (SIGKILL,
 * the out-of-memory killer). A shell in its own session waits on a pipe whose only writer is this process; when this
 * process dies in any way the kernel closes the pipe and the shell stops every group listed in the pids file, newest
 * first, each with its own graceful signal, then SIGKILL after 30 s. After a normal stop the file is gone and the
 * shell has nothing to do. The same file lets the next start see processes a dead run left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { groupMembers } from './process';

const WATCHDOG_SCRIPT = [
  'read -r _',
  '[ -f "$1" ] || exit 0',
  // Newest first: the reverse of the start order.
  'tac "$1" | while read -r pid sig name; do kill -"$sig" -"$pid" 2>/dev/null; done',
  'n=0',
  'while [ "$n" -lt 150 ]; do',
  '  alive=0',
  '  while read -r pid sig name; do kill -0 -"$pid" 2>/dev/null && alive=1; done < "$1"',
  '  [ "$alive" = 0 ] && break',
  '  sleep 0.2',
  '  n=$((n + 1))',
  'done',
  'while read -r pid sig name; do kill -KILL -"$pid" 2>/dev/null; done < "$1"',
  'rm -f "$1"',
  'exit 0',
].join('\n');

interface Entry {
  pid: number;
  signal: string;
  name: string;
}

/** The guard: record each process group as it starts and forget it once stopped. */
export interface Watchdog {
  add(pid: number, signal: NodeJS.Signals, name: string): void;
  remove(pid: number): void;
  /** Forgets every group, removes the pids file and ends the shell (after a normal stop). */
  close(): void;
}

function parse(text: string): Entry[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length >= 3 && /^\d+$/.test(f[0]))
    .map(([pid, signal, name]) => ({ pid: Number(pid), signal, name }));
}

/**
 * Groups a previous run listed that still have live processes (its watchdog was killed too, or is still stopping
 * them). Empty when there is no pids file.
 */
export function leftoverGroups(pidsFile: string): { pid: number; name: string }[] {
  if (!fs.existsSync(pidsFile)) return [];
  return parse(fs.readFileSync(pidsFile, 'utf8')).filter((e) => groupMembers(e.pid).length > 0);
}

/** Starts the guard over `pidsFile` (which it replaces). */
export function startWatchdog(pidsFile: string): Watchdog {
  const entries: Entry[] = [];
  const write = () => {
    const tmp = `${pidsFile}.tmp`;
    fs.writeFileSync(tmp, entries.map((e) => `${e.pid} ${e.signal.replace(/^SIG/, '')} ${e.name}\n`).join(''));
    fs.renameSync(tmp, pidsFile);
  };
  write();
  let shell: ChildProcess | null = null;
  if (process.platform !== 'win32') {
    shell = spawn('/bin/sh', ['-c', WATCHDOG_SCRIPT, 'booking-cluster-watchdog', pidsFile], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
    });
    shell.on('error', () => undefined); // no /bin/sh: the cluster still runs, without the guard
    shell.stdin?.on('error', () => undefined);
    shell.unref();
  }
  return {
    add(pid, signal, name) {
      entries.push({ pid, signal, name });
      write();
    },
    remove(pid) {
      const i = entries.findIndex((e) => e.pid === pid);
      if (i >= 0) entries.splice(i, 1);
      write();
    },
    close() {
      entries.length = 0;
      fs.rmSync(pidsFile, { force: true });
      shell?.kill('SIGKILL');
    },
  };
}
