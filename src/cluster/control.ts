/**
 * Requests to take one process of a running cluster down or bring it back, through its data folder: a file
 * `DATA_DIR/cluster/control/<id>.request` holding `{"action":"kill"|"stop"|"start"|"restart","process":"<name>"}`
 * (the names of the start-up lines: `postgres`, `temporal-history`, `worker-1`, …) is carried out, one request at a
 * time in name order, and answered by `<id>.done` holding `{"ok":true,"pid":…,"ms":…}` or `{"ok":false,"error":…}`.
 * Whoever can write the data folder owns the cluster anyway (its database password is there), so this adds no access.
 * Write the request under another name and rename it, so it is never read half-written.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ControlAction, Supervisor } from './supervisor';

const ACTIONS: ControlAction[] = ['kill', 'stop', 'start', 'restart'];

export interface ControlRequest {
  action: ControlAction;
  process: string;
}

export interface ControlAnswer {
  ok: boolean;
  pid?: number | null;
  ms?: number;
  error?: string;
}

/** Watches `dir` (emptied first) until the returned function is called. */
export function serveControl(dir: string, supervisor: Supervisor, say: (line: string) => void): () => void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  let closed = false;
  let busy = false;
  const handle = async (file: string): Promise<void> => {
    const id = file.slice(0, -'.request'.length);
    const started = Date.now();
    let answer: ControlAnswer;
    try {
      const req = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as ControlRequest;
      if (!ACTIONS.includes(req.action)) throw new Error(`unknown action ${JSON.stringify(req.action)} (${ACTIONS.join(', ')})`);
      say(`cluster: control: ${req.action} ${req.process}`);
      const pid = await supervisor.control(req.action, String(req.process));
      answer = { ok: true, pid, ms: Date.now() - started };
    } catch (err) {
      answer = { ok: false, error: err instanceof Error ? err.message : String(err), ms: Date.now() - started };
      say(`cluster: control: ${id} failed: ${answer.error}`);
    }
    fs.rmSync(path.join(dir, file), { force: true });
    fs.writeFileSync(path.join(dir, `${id}.done.tmp`), `${JSON.stringify(answer)}\n`);
    fs.renameSync(path.join(dir, `${id}.done.tmp`), path.join(dir, `${id}.done`));
  };
  const timer = setInterval(() => {
    if (busy || closed) return;
    let files: string[];
    try {
      files = fs.readdirSync(dir).filter((f) => f.endsWith('.request')).sort();
    } catch {
      return;
    }
    if (files.length === 0) return;
    busy = true;
    void (async () => {
      for (const f of files) if (!closed) await handle(f);
      busy = false;
    })();
  }, 200);
  timer.unref();
  return () => {
    closed = true;
    clearInterval(timer);
  };
}

/** Sends one request to the cluster running on `clusterDir` and waits for its answer (for tests and scripts). */
export async function requestControl(clusterDir: string, req: ControlRequest, timeoutMs = 300_000): Promise<ControlAnswer> {
  const dir = path.join(clusterDir, 'control');
  const id = `${Date.now()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  fs.writeFileSync(path.join(dir, `${id}.tmp`), JSON.stringify(req));
  fs.renameSync(path.join(dir, `${id}.tmp`), path.join(dir, `${id}.request`));
  const done = path.join(dir, `${id}.done`);
  const deadline = Date.now() + timeoutMs;
  while (!fs.existsSync(done)) {
    if (Date.now() > deadline) throw new Error(`cluster control: no answer to ${req.action} ${req.process} in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const answer = JSON.parse(fs.readFileSync(done, 'utf8')) as ControlAnswer;
  fs.rmSync(done, { force: true });
  return answer;
}
