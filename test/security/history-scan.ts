/**
 * Exports the history of every workflow on a Temporal server and scans it for secret values. Payload bytes
 * are decoded as UTF-8 before scanning (JSON.stringify of raw bytes would hide a secret as numbers).
 */
import type { Client } from '@temporalio/client';

/** What a scan found: how much was read, and each secret (by label) seen in which workflow. */
export interface HistoryScan {
  workflows: number;
  events: number;
  bytes: number;
  leaks: { label: string; workflowId: string }[];
}

function isBytes(v: unknown): v is Uint8Array {
  return v instanceof Uint8Array;
}

/**
 * A history as text: every string and every byte field (payload data, decoded as UTF-8) it holds. It walks the
 * message itself, since JSON.stringify would call protobufjs' toJSON first and turn payloads into base64.
 */
export function historyText(history: unknown): string {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (v === null || v === undefined) return;
    if (isBytes(v)) out.push(Buffer.from(v).toString('utf8'));
    else if (typeof v === 'string') out.push(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object') for (const k of Object.keys(v)) walk((v as Record<string, unknown>)[k]);
  };
  walk(history);
  return out.join('\n');
}

/** The forms a secret may take on the wire: as is, and base64 (Standard Webhooks' `whsec_` key, Basic auth). */
function forms(secret: string): string[] {
  return [secret, Buffer.from(secret, 'utf8').toString('base64')];
}

/** Reads every workflow's history (visibility `query` optional) and reports the secrets found in them. */
export async function scanHistories(client: Client, secrets: Record<string, string>, query?: string): Promise<HistoryScan> {
  const ids: { workflowId: string; runId: string }[] = [];
  for await (const w of client.workflow.list(query ? { query } : undefined)) ids.push({ workflowId: w.workflowId, runId: w.runId });
  const scan: HistoryScan = { workflows: ids.length, events: 0, bytes: 0, leaks: [] };
  const needles = Object.entries(secrets)
    .filter(([, v]) => v.length >= 8) // a short value would match by accident; every real secret is long
    .flatMap(([label, v]) => forms(v).map((f) => ({ label, f })));
  let next = 0;
  const work = async () => {
    while (next < ids.length) {
      const { workflowId, runId } = ids[next++];
      const history = await client.workflow.getHandle(workflowId, runId).fetchHistory();
      scan.events += history.events?.length ?? 0;
      const text = historyText(history);
      scan.bytes += text.length;
      for (const { label, f } of needles) if (text.includes(f)) scan.leaks.push({ label, workflowId });
    }
  };
  await Promise.all(Array.from({ length: 8 }, work));
  return scan;
}
