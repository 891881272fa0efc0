/**
 * One engine per DATA_DIR. Two dev servers on one SQLite file (or two PGlite stores on one directory) corrupt each
 * other, so `npm start` and startDevServer take this lock first: a file created exclusively (O_EXCL) in DATA_DIR that
 * names its owner and, once started, the owner's Temporal dev server. A lock whose processes are both gone (the owner
 * was SIGKILLed) is stale and taken over; while a dead owner's dev server still runs, the next engine waits for the
 * watchdog to stop it, then refuses with a message naming it.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The lock's file name inside DATA_DIR. */
export const LOCK_FILE_NAME = 'engine.lock';

/** What the lock file holds (JSON). */
interface LockRecord {
  pid: number;
  /** The owner's start time from /proc (Linux), so a pid reused by another process is not taken for the owner. */
  pidStart: string | null;
  hostname: string;
  since: string;
  devServerPid: number | null;
  devServerStart: string | null;
}

/** DATA_DIR is held by another engine (or by a dev server a crashed engine left running). */
export class DataDirInUseError extends Error {}

/** A held lock. */
export interface DataDirLock {
  /** The lock file. */
  readonly file: string;
  /** Records the dev server's pid (null once it has exited), so a successor never starts beside an orphaned one. */
  setDevServerPid(pid: number | null): void;
  /** Removes the lock file if it is still this lock's; idempotent and synchronous (safe in an 'exit' handler). */
  release(): void;
}

export interface LockDataDirOptions {
  /**
   * How long to wait for the dev server of an owner that died (its watchdog sends it SIGTERM at once and SIGKILL
   * after 10 s) before refusing.
   */
  orphanWaitMs?: number;
  log?: { warn(obj: object, msg: string): void };
}

const HAS_PROC = fs.existsSync('/proc/self/stat');

/** State letter and start time (clock ticks since boot) of a process from /proc, or null when unreadable. */
function procStat(pid: number): { state: string; start: string } | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: the fields after it start after the last ')'.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0], start: fields[19] };
  } catch {
    return null;
  }
}

/** The start time to record for a pid (null without /proc). */
export function processStartTime(pid: number): string | null {
  return procStat(pid)?.start ?? null;
}

/**
 * Whether a process runs: it exists, has not exited (a zombie whose parent died stays in the table where init does
 * not reap, as on this project's CI machine) and, when `start` is given and /proc exists, is the same process.
 */
export function processAlive(pid: number, start: string | null = null): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (!HAS_PROC) return true;
  const stat = procStat(pid);
  if (stat === null || stat.state === 'Z' || stat.state === 'X') return false;
  return start === null || stat.start === start;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function readOrNull(file: string): string | null {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw err;
  }
}

function parse(text: string): LockRecord | null {
  try {
    const r = JSON.parse(text) as Partial<LockRecord>;
    return typeof r.pid === 'number' ? (r as LockRecord) : null;
  } catch {
    return null;
  }
}

/** Creates the lock file holding `text`; false if it exists. */
function tryCreate(file: string, text: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(file, 'wx', 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  }
  try {
    fs.writeSync(fd, text);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return true;
}

/**
 * Removes a stale lock whose content was `seen`. Renamed away first and compared, so a lock another engine created
 * in between (it judged the same stale lock a moment earlier) is put back rather than deleted.
 */
function removeStale(file: string, seen: string): void {
  const aside = `${file}.stale-${process.pid}-${Date.now()}`;
  try {
    fs.renameSync(file, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw err;
  }
  if (readOrNull(aside) !== seen) {
    try {
      fs.linkSync(aside, file);
    } catch {
      // A third engine created one meantime: it is the owner now.
    }
  }
  fs.rmSync(aside, { force: true });
}

function describe(r: LockRecord): string {
  return `pid ${r.pid} on ${r.hostname}, since ${r.since}`;
}

/**
 * Takes the lock on `dataDir` (created if missing) or throws DataDirInUseError naming the engine that holds it. The
 * lock is released by `release()` and, failing that, when this process exits; after a SIGKILL it is stale and the
 * next engine takes it over.
 */
export async function lockDataDir(dataDir: string, { orphanWaitMs = 20_000, log }: LockDataDirOptions = {}): Promise<DataDirLock> {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, LOCK_FILE_NAME);
  const own: LockRecord = {
    pid: process.pid,
    pidStart: processStartTime(process.pid),
    hostname: os.hostname(),
    since: new Date().toISOString(),
    devServerPid: null,
    devServerStart: null,
  };
  let orphanDeadline: number | null = null;
  for (let takeovers = 0; ; ) {
    if (tryCreate(file, JSON.stringify(own))) break;
    const text = readOrNull(file);
    if (text === null) continue; // removed meanwhile
    const held = parse(text);
    if (held === null) {
      // Empty or cut short: an engine between creating and writing it, or one that crashed right there.
      const age = Date.now() - (fs.statSync(file, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      if (age < 2_000) {
        await delay(100);
        continue;
      }
    } else if (processAlive(held.pid, held.pidStart)) {
      throw new DataDirInUseError(
        `DATA_DIR ${dataDir} is in use by another engine (${describe(held)}${held.devServerPid ? `, its Temporal dev server is pid ${held.devServerPid}` : ''}). ` +
          'Two engines must never share one Temporal SQLite file and store: stop that engine, or set DATA_DIR to another directory. ' +
          `(Lock file ${file}; delete it only if pid ${held.pid} is not an engine.)`,
      );
    } else if (held.devServerPid !== null && processAlive(held.devServerPid, held.devServerStart)) {
      if (orphanDeadline === null) {
        orphanDeadline = Date.now() + orphanWaitMs;
        log?.warn(
          { file, pid: held.pid, devServerPid: held.devServerPid },
          'the engine that held DATA_DIR is gone but its Temporal dev server is still stopping; waiting for it',
        );
      }
      if (Date.now() < orphanDeadline) {
        await delay(200);
        continue;
      }
      throw new DataDirInUseError(
        `DATA_DIR ${dataDir} is still used by the Temporal dev server pid ${held.devServerPid}, left running by an engine ` +
          `that is gone (${describe(held)}). It did not exit within ${Math.round(orphanWaitMs / 1000)} s; ` +
          `stop it (kill ${held.devServerPid}) and start again.`,
      );
    }
    if (++takeovers > 20) throw new Error(`cannot take the lock ${file}: it keeps changing`);
    log?.warn({ file, previous: held ?? text }, 'taking over the DATA_DIR lock of an engine that is gone (it crashed or was killed)');
    removeStale(file, text);
  }

  let released = false;
  const write = (): void => {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, JSON.stringify(own));
    fs.renameSync(tmp, file);
  };
  const release = (): void => {
    if (released) return;
    released = true;
    process.off('exit', release);
    const current = parse(readOrNull(file) ?? '');
    if (current?.pid === own.pid && current.since === own.since) fs.rmSync(file, { force: true });
  };
  process.once('exit', release);
  return {
    file,
    setDevServerPid(pid: number | null): void {
      if (released) return;
      own.devServerPid = pid;
      own.devServerStart = pid === null ? null : processStartTime(pid);
      write();
    },
    release,
  };
}
