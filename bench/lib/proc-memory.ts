/**
 * Memory of a process as the kernel sees it (/proc/<pid>/status), and of the Temporal dev server as its Go runtime
 * reports it (the Prometheus endpoint every `temporal server start-dev` serves), so growth can be attributed; and the
 * RSS and PSS of named process trees sampled over a time (watchProcessMemory: the engine's and Temporal's processes
 * during scenario a, under the dev server or `npm run cluster`).
 */
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';

/** Resident memory of one process, in bytes. */
export interface ProcMemory {
  rssBytes: number;
  /** Anonymous pages: heaps (V8, Go, malloc, WASM), stacks. */
  anonBytes: number;
  /** File-backed pages: the executable, libraries, mmapped files. */
  fileBytes: number;
  /** The peak RSS so far (VmHWM). */
  peakRssBytes: number;
}

/** VmRSS, RssAnon, RssFile and VmHWM of `pid`; null once it is gone. */
export function procMemory(pid: number): ProcMemory | null {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rssBytes: kb('VmRSS'), anonBytes: kb('RssAnon'), fileBytes: kb('RssFile'), peakRssBytes: kb('VmHWM') };
  } catch {
    return null;
  }
}

/** The dev server's Go runtime and caches, from its /metrics (one Go process: the figures are process-wide). */
export interface DevServerRuntime {
  /** Go heap spans in use (live objects and the garbage not yet collected). */
  goHeapInuseBytes: number;
  /** Go heap spans held but idle, and the part of them returned to the OS. */
  goHeapIdleBytes: number;
  goHeapReleasedBytes: number;
  goStackBytes: number;
  goroutines: number;
  /** Entries in the history service's host-level mutable-state cache (`history.hostLevelCacheMaxSize`). */
  mutableStateCacheEntries: number | null;
  /** Bytes in the shard-level events cache (`history.eventsCacheMaxSizeBytes`). */
  eventsCacheBytes: number | null;
}

/**
 * The dev server's metrics URL. The CLI serves Prometheus metrics on a port it picks; it is found among the ports
 * the process listens on (`ss`) by asking each for /metrics.
 */
export async function findMetricsUrl(pid: number): Promise<string | null> {
  let out: string;
  try {
    out = execFileSync('ss', ['-ltnpH'], { encoding: 'utf8' });
  } catch {
    return null;
  }
  const ports = out
    .split('\n')
    .filter((l) => l.includes(`pid=${pid},`))
    .map((l) => /:(\d+)\s/.exec(l.split(/\s+/)[3] + ' ')?.[1])
    .filter((p): p is string => p !== undefined);
  for (const port of ports) {
    const url = `http://127.0.0.1:${port}/metrics`;
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      const text = await r.text();
      if (r.ok && text.includes('memory_heapinuse')) return url;
    } catch {
      // not this one
    }
  }
  return null;
}

/** Reads the figures above from the dev server's metrics; null when unreachable. */
export async function devServerRuntime(metricsUrl: string): Promise<DevServerRuntime | null> {
  let text: string;
  try {
    const r = await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) });
    text = await r.text();
  } catch {
    return null;
  }
  // Every service reports the same process-wide runtime figures; take the history service's line.
  const value = (name: string, labels = 'service_name="history"'): number | null => {
    for (const line of text.split('\n')) {
      if (line.startsWith(`${name}{`) && line.includes(labels)) return Number(line.slice(line.lastIndexOf(' ') + 1));
    }
    return null;
  };
  const n = (v: number | null) => v ?? NaN;
  return {
    goHeapInuseBytes: n(value('memory_heapinuse')),
    goHeapIdleBytes: n(value('memory_heapidle')),
    goHeapReleasedBytes: n(value('memory_heapreleased')),
    goStackBytes: n(value('memory_stack')),
    goroutines: n(value('num_goroutines')),
    mutableStateCacheEntries: value('cache_usage', 'cache_type="mutablestate"'),
    eventsCacheBytes: value('cache_usage', 'cache_type="events"'),
  };
}

/** One process to watch, by name: the root of a tree (its descendants count with it). */
export interface NamedProcess {
  name: string;
  pid: number;
}

/** A figure's highest sample and its last. */
export interface PeakAndEnd {
  peakBytes: number;
  endBytes: number;
}

/** Memory of one named process tree over a watch. */
export interface ProcessTreeMemory {
  name: string;
  /** The command line of its main process (the root, or the first below an npm launcher). */
  command: string;
  /** Processes in the tree at the last sample, launchers left out (PostgreSQL: the postmaster and its backends). */
  processes: number;
  /** Sum of VmRSS over the tree: shared pages count once per process that maps them. */
  rss: PeakAndEnd;
  /** Sum of PSS (shared pages divided among the processes mapping them): for PostgreSQL, shared buffers counted once. */
  pss: PeakAndEnd;
  /** RSS of an `npm run …` launcher above the process (not counted in rss or pss), at its peak; null without one. */
  launcherRssBytes: number | null;
}

export interface ProcessMemoryResult {
  intervalMs: number;
  samples: number;
  seconds: number;
  processes: ProcessTreeMemory[];
  /** The sums over every named tree, per sample. */
  total: { rss: PeakAndEnd; pss: PeakAndEnd };
}

/** The parent and command line of every live process, from /proc. */
function processTable(): Map<number, { ppid: number; cmdline: string }> {
  const table = new Map<number, { ppid: number; cmdline: string }>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (state === 'Z' || state === 'X') continue;
      const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      table.set(Number(entry), { ppid: Number(ppid), cmdline });
    } catch {
      // exited while we looked
    }
  }
  return table;
}

/** `root` and its live descendants. */
function processTree(root: number, table: Map<number, { ppid: number; cmdline: string }>): number[] {
  const children = new Map<number, number[]>();
  for (const [pid, p] of table) children.set(p.ppid, [...(children.get(p.ppid) ?? []), pid]);
  const out: number[] = [];
  const walk = (pid: number) => {
    if (!table.has(pid)) return;
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

/** The proportional set size of `pid` (smaps_rollup), in bytes; null once it is gone. */
function pssBytes(pid: number): number | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kb = /^Pss:\s+(\d+) kB/m.exec(text)?.[1];
    return kb === undefined ? null : Number(kb) * 1024;
  } catch {
    return null;
  }
}

/** `npm run <script>`: npm's process title, or its CLI under node. */
const LAUNCHER = /(^|\/)npm(-cli\.js)?\s+run(-script)?\s/;

/**
 * Samples the RSS and PSS of each named process tree every `intervalMs` (and once at stop): the peak and the last
 * sample of each, and of their sum. `roots` is asked at every sample, so a process started again is followed.
 */
export function watchProcessMemory(roots: () => NamedProcess[], intervalMs: number): { stop(): ProcessMemoryResult } {
  const started = Date.now();
  const figures = new Map<string, ProcessTreeMemory>();
  const total = { rss: { peakBytes: 0, endBytes: 0 }, pss: { peakBytes: 0, endBytes: 0 } };
  let samples = 0;
  const sample = () => {
    const table = processTable();
    let rssSum = 0;
    let pssSum = 0;
    for (const { name, pid } of roots()) {
      let rss = 0;
      let pss = 0;
      let launcher: number | null = null;
      let command = '';
      let count = 0;
      for (const p of processTree(pid, table)) {
        const cmdline = table.get(p)?.cmdline ?? '';
        const own = procMemory(p)?.rssBytes ?? 0;
        if (LAUNCHER.test(cmdline)) {
          launcher = (launcher ?? 0) + own;
          continue;
        }
        command ||= cmdline;
        count++;
        rss += own;
        pss += pssBytes(p) ?? 0;
      }
      const f = figures.get(name) ?? {
        name,
        command,
        processes: 0,
        rss: { peakBytes: 0, endBytes: 0 },
        pss: { peakBytes: 0, endBytes: 0 },
        launcherRssBytes: null,
      };
      f.command = command || f.command;
      f.processes = count;
      f.rss = { peakBytes: Math.max(f.rss.peakBytes, rss), endBytes: rss };
      f.pss = { peakBytes: Math.max(f.pss.peakBytes, pss), endBytes: pss };
      if (launcher !== null) f.launcherRssBytes = Math.max(f.launcherRssBytes ?? 0, launcher);
      figures.set(name, f);
      rssSum += rss;
      pssSum += pss;
    }
    total.rss = { peakBytes: Math.max(total.rss.peakBytes, rssSum), endBytes: rssSum };
    total.pss = { peakBytes: Math.max(total.pss.peakBytes, pssSum), endBytes: pssSum };
    samples++;
  };
  sample();
  const timer = setInterval(sample, intervalMs);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return { intervalMs, samples, seconds: Math.round((Date.now() - started) / 1000), processes: [...figures.values()], total };
    },
  };
}
