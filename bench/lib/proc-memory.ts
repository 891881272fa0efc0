/**
 * Memory of a process as the kernel sees it (/proc/<pid>/status), and of the Temporal dev server as its Go runtime
 * reports it (the Prometheus endpoint every `temporal server start-dev` serves), so growth can be attributed.
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
