/**
 * One cluster per data folder: a lock file created exclusively in DATA_DIR/cluster naming its owner (pid and, on
 * Linux, the process's start time, so a reused pid is not taken for it). A lock whose owner is gone is taken over.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';

/** Another `npm run cluster` runs on this data folder. */
export class ClusterRunningError extends Error {}

interface Owner {
  pid: number;
  start: string | null;
  hostname: string;
}

function startTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function alive(owner: Owner): boolean {
  if (owner.hostname !== os.hostname()) return true; // a shared folder: never take over another machine's lock
  try {
    process.kill(owner.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const start = startTime(owner.pid);
  return owner.start === null || start === null || start === owner.start;
}

/** Takes the lock or throws ClusterRunningError; the returned function releases it (synchronous, idempotent). */
export function lockClusterDir(file: string): () => void {
  const me: Owner = { pid: process.pid, start: startTime(process.pid), hostname: os.hostname() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(me), { flag: 'wx' });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          const current = JSON.parse(fs.readFileSync(file, 'utf8')) as Owner;
          if (current.pid === me.pid) fs.rmSync(file, { force: true });
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    let owner: Owner | null = null;
    try {
      owner = JSON.parse(fs.readFileSync(file, 'utf8')) as Owner;
    } catch {
      // unreadable or half-written: treat as stale
    }
    if (owner && alive(owner)) {
      throw new ClusterRunningError(
        `a cluster is already running on this data folder (pid ${owner.pid} on ${owner.hostname}, lock ${file}); ` +
          'stop it first, or set DATA_DIR to another folder',
      );
    }
    fs.rmSync(file, { force: true });
  }
  throw new ClusterRunningError(`could not take the lock ${file}`);
}
