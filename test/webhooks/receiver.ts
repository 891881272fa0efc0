/** A real HTTP receiver on 127.0.0.1 for webhook tests: records every request, answers as the test says. */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  /** The body bytes exactly as received. */
  raw: Buffer;
}

export interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
  /** Never answer (for time-outs). */
  hang?: boolean;
}

export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  /** Decides the answer to each request (default 200). */
  respond: (req: ReceivedRequest, index: number) => Answer | Promise<Answer>;
  close(): Promise<void>;
}

/** Starts a receiver on 127.0.0.1 and a free port. */
export async function startReceiver(respond?: Receiver['respond']): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const hanging = new Set<http.ServerResponse>();
  const receiver: Receiver = {
    url: '',
    port: 0,
    requests,
    respond: respond ?? (() => ({ status: 200 })),
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const r: ReceivedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, raw: Buffer.concat(chunks) };
      const index = requests.push(r) - 1;
      const a = await receiver.respond(r, index);
      if (a.hang) {
        hanging.add(res);
        return;
      }
      res.writeHead(a.status, a.headers);
      res.end(a.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.port = (server.address() as AddressInfo).port;
  receiver.url = `http://127.0.0.1:${receiver.port}`;
  return receiver;
}

/** Between tests of the webhook API: no subscription, delivery or attempt left, and a receiver that answers 200. */
export async function resetWebhookState(db: { query(sql: string): Promise<unknown> }, receiver: Receiver): Promise<void> {
  await db.query('DELETE FROM webhook_delivery_attempts');
  await db.query('DELETE FROM webhook_deliveries');
  await db.query('DELETE FROM webhook_subscriptions');
  receiver.requests.length = 0;
  receiver.respond = () => ({ status: 200 });
}
