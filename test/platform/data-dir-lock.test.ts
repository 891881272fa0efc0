/** The DATA_DIR lock: exclusive, released cleanly, stale after a crash, and never taken while an orphaned server runs. */
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DataDirInUseError, LOCK_FILE_NAME, lockDataDir, processAlive, processStartTime } from '../../src/temporal/data-dir-lock';

let tmp: string;
let n = 0;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-lock-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function freshDir(): string {
  return path.join(tmp, `d${++n}`);
}

/** The pid of a process that has exited. */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

function writeLock(dir: string, record: object): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, LOCK_FILE_NAME), JSON.stringify({ hostname: os.hostname(), since: '2030-01-01T00:00:00.000Z', devServerPid: null, devServerStart: null, ...record }));
}

test('a second lock on the same directory is refused while the first is held, and granted once it is released', async () => {
  const dir = freshDir();
  const first = await lockDataDir(dir);
  await expect(lockDataDir(dir)).rejects.toThrow(DataDirInUseError);
  await expect(lockDataDir(dir)).rejects.toThrow(`DATA_DIR ${dir} is in use by another engine (pid ${process.pid} on ${os.hostname()}`);
  first.release();
  expect(fs.existsSync(first.file)).toBe(false);
  const second = await lockDataDir(dir);
  second.release();
});

test('a lock left by a process that is gone is taken over', async () => {
  const dir = freshDir();
  writeLock(dir, { pid: deadPid(), pidStart: null });
  const lock = await lockDataDir(dir);
  expect(JSON.parse(fs.readFileSync(lock.file, 'utf8'))).toMatchObject({ pid: process.pid });
  lock.release();
});

test('a lock naming a live pid with another start time (the pid was reused) is taken over', async () => {
  const dir = freshDir();
  writeLock(dir, { pid: process.pid, pidStart: '1' });
  const lock = await lockDataDir(dir);
  lock.release();
});

test('a cut-short lock file is taken over once it is old enough not to be one being written', async () => {
  const dir = freshDir();
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, LOCK_FILE_NAME), '');
  const old = new Date(Date.now() - 60_000);
  fs.utimesSync(path.join(dir, LOCK_FILE_NAME), old, old);
  const lock = await lockDataDir(dir);
  lock.release();
});

test("a dead engine's dev server still running: the next engine waits for it, and refuses naming it if it stays", async () => {
  const dir = freshDir();
  const orphan = spawn('sleep', ['30'], { stdio: 'ignore' });
  try {
    writeLock(dir, { pid: deadPid(), pidStart: null, devServerPid: orphan.pid, devServerStart: processStartTime(orphan.pid!) });
    await expect(lockDataDir(dir, { orphanWaitMs: 500 })).rejects.toThrow(
      `still used by the Temporal dev server pid ${orphan.pid}, left running by an engine that is gone`,
    );
    // It exits during the wait: the lock is taken then.
    setTimeout(() => orphan.kill('SIGTERM'), 300);
    const lock = await lockDataDir(dir, { orphanWaitMs: 10_000 });
    lock.release();
  } finally {
    orphan.kill('SIGKILL');
  }
});

test('the dev server pid is recorded in the lock, and cleared', async () => {
  const dir = freshDir();
  const lock = await lockDataDir(dir);
  lock.setDevServerPid(process.pid);
  expect(JSON.parse(fs.readFileSync(lock.file, 'utf8'))).toMatchObject({ devServerPid: process.pid, devServerStart: processStartTime(process.pid) });
  lock.setDevServerPid(null);
  expect(JSON.parse(fs.readFileSync(lock.file, 'utf8'))).toMatchObject({ devServerPid: null });
  lock.release();
});

test('a zombie (exited, never reaped) counts as gone', async () => {
  // sh forks a short sleep, then becomes a long one that never reaps it.
  const parent = spawn('sh', ['-c', 'sleep 0 & echo $!; exec sleep 10'], { stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const pid = await new Promise<number>((resolve) => parent.stdout.once('data', (d) => resolve(Number(String(d).trim()))));
    for (let i = 0; i < 50 && !/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')); i++) await new Promise((r) => setTimeout(r, 50));
    expect(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')).toMatch(/\) Z /);
    expect(processAlive(pid)).toBe(false);
    expect(processAlive(parent.pid!)).toBe(true);
  } finally {
    parent.kill('SIGKILL');
  }
});
