/**
 * `npm run cluster` as a user runs it, for the cluster tests: in a temporary DATA_DIR (0755: PostgreSQL runs as the
 * postgres user when the tests run as root) on free ports, its output collected, started until its banner and
 * stopped by a signal; plus the process-tree helpers the tests look at it with, and the control requests that take
 * one of its processes down or bring it back (src/cluster/control.ts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { requestControl, type ControlRequest } from '../../src/cluster/control';
import { freeClusterPorts, PORT_SETTINGS, type ClusterPorts } from '../../src/cluster/settings';

const ROOT = path.join(__dirname, '..', '..');

export class ClusterRun {
  readonly dataDir: string;
  readonly clusterDir: string;
  proc: ChildProcess | null = null;
  output = '';

  private constructor(
    readonly ports: ClusterPorts,
    readonly apiKey: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {
    this.dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'booking-cluster-'));
    fs.chmodSync(this.dataDir, 0o755);
    this.clusterDir = path.join(this.dataDir, 'cluster');
  }

  /** A cluster on free ports (the membership ports left to the cluster); `env` adds to what `npm run cluster` gets. */
  static async create(opts: { apiKey: string; env?: NodeJS.ProcessEnv }): Promise<ClusterRun> {
    return new ClusterRun(await freeClusterPorts(), opts.apiKey, opts.env ?? {});
  }

  /** Starts `npm run cluster` and resolves at its banner; rejects with its output when it exits or takes 240 s. */
  start(): Promise<void> {
    this.output = '';
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATA_DIR: this.dataDir,
      API_KEYS: this.apiKey,
      CLUSTER_WORKERS: '2',
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_ADDRESS: '',
      DATABASE_URL: '',
      ...this.env,
    };
    for (const [key, s] of Object.entries(PORT_SETTINGS)) env[s.variable] = String(this.ports[key as keyof ClusterPorts]);
    const proc = spawn('npm', ['run', 'cluster'], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    proc.stdout!.on('data', (d) => (this.output += d));
    proc.stderr!.on('data', (d) => (this.output += d));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`cluster did not start in 240 s:\n${this.output}`)), 240_000);
      const check = setInterval(() => {
        if (this.output.includes('Press Ctrl-C to stop')) {
          clearInterval(check);
          clearTimeout(timer);
          console.log(this.output.match(/^Booking lifecycle engine is running.*$/m)?.[0]);
          resolve();
        }
      }, 100);
      proc.once('exit', (code) => {
        clearInterval(check);
        clearTimeout(timer);
        reject(new Error(`cluster exited with ${code}:\n${this.output}`));
      });
    });
  }

  /** Sends `signal` to `npm run cluster` and resolves with its exit code. */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    const p = this.proc;
    this.proc = null;
    if (!p || p.exitCode !== null) return Promise.resolve(p?.exitCode ?? null);
    return new Promise((resolve) => {
      p.removeAllListeners('exit');
      p.once('exit', (code) => resolve(code));
      p.kill(signal);
    });
  }

  /** Stops it and removes its data folder. */
  async dispose(): Promise<void> {
    await this.stop();
    // CLUSTER_TEST_KEEP_DATA=1 keeps the data folder (its logs) to look at after a failure.
    if (process.env.CLUSTER_TEST_KEEP_DATA) console.log(`cluster data kept in ${this.dataDir}`);
    else fs.rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** A request to the engine's API with the cluster's key. */
  async api(method: string, url: string, body?: unknown) {
    const res = await fetch(`http://127.0.0.1:${this.ports.api}${url}`, {
      method,
      headers: { 'api-key': this.apiKey, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  }

  /** Takes one process down or brings it back; throws when the cluster says it could not. */
  async control(action: ControlRequest['action'], processName: string): Promise<{ pid: number | null; ms: number }> {
    const answer = await requestControl(this.clusterDir, { action, process: processName });
    if (!answer.ok) throw new Error(`cluster control ${action} ${processName}: ${answer.error}\n${this.output.slice(-4000)}`);
    return { pid: answer.pid ?? null, ms: answer.ms ?? 0 };
  }

  /** The password of the cluster's PostgreSQL (user temporal). */
  postgresPassword(): string {
    return fs.readFileSync(path.join(this.clusterDir, 'postgres.password'), 'utf8').trim();
  }
}

/** State letter, parent pid and command line of a process, or null once it is gone. */
export function stat(pid: number): { state: string; ppid: number; cmdline: string } | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const [state, ppid] = text.slice(text.lastIndexOf(')') + 2).split(' ');
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    return { state, ppid: Number(ppid), cmdline };
  } catch {
    return null;
  }
}

/** Every live descendant of `root`, with its command line. */
export function descendants(root: number): Map<number, string> {
  const children = new Map<number, number[]>();
  const cmd = new Map<number, string>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const s = stat(Number(entry));
    if (!s || s.state === 'Z') continue;
    cmd.set(Number(entry), s.cmdline);
    children.set(s.ppid, [...(children.get(s.ppid) ?? []), Number(entry)]);
  }
  const out = new Map<number, string>();
  const walk = (pid: number) => {
    for (const c of children.get(pid) ?? []) {
      out.set(c, cmd.get(c) ?? '');
      walk(c);
    }
  };
  walk(root);
  return out;
}

export function alive(pids: Iterable<number>): number[] {
  return [...pids].filter((p) => {
    const s = stat(p);
    return s !== null && s.state !== 'Z' && s.state !== 'X';
  });
}

/** Polls `fn` until it returns something other than undefined (errors count as undefined). */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
