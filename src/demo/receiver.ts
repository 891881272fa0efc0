/**
 * The demo's webhook receiver: a loopback HTTP server that checks every POST with both signature schemes the engine
 * sends (the `Oncehub-Signature` header with the exported helper, the Standard Webhooks headers with the
 * `standardwebhooks` package), de-duplicates on the event id and hands each new event on.
 */
import * as http from 'node:http';
import { Webhook } from 'standardwebhooks';
import { isValidOncehubSignature } from '../webhooks/verify';

export interface ReceivedEvent {
  id: string;
  type: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the event's data as the engine sent it
  data: Record<string, any>;
  oncehubSignature: boolean;
  standardWebhooks: boolean;
}

export interface DemoReceiver {
  url: string;
  /** The subscription's secret; set once it is known (events before that answer 503 and are retried). */
  setSecret(secret: string): void;
  close(): Promise<void>;
}

export async function startDemoReceiver(opts: { port: number; onEvent: (e: ReceivedEvent) => void }): Promise<DemoReceiver> {
  let secret: string | null = null;
  const seen = new Set<string>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (secret === null) return void res.writeHead(503).end();
      const raw = Buffer.concat(chunks).toString('utf8');
      const oncehubSignature = isValidOncehubSignature({ header: req.headers['oncehub-signature'], rawBody: raw, secret });
      let standardWebhooks = false;
      try {
        new Webhook(secret, { format: 'raw' }).verify(raw, req.headers as Record<string, string>);
        standardWebhooks = true;
      } catch {
        // reported below
      }
      // Refuse what fails either check: the engine retries it, and the demo prints nothing false.
      if (!oncehubSignature || !standardWebhooks) return void res.writeHead(401).end();
      const event = JSON.parse(raw) as { id: string; type: string; data: ReceivedEvent['data'] };
      res.writeHead(204).end();
      if (seen.has(event.id)) return; // a retry of an event already taken
      seen.add(event.id);
      opts.onEvent({ id: event.id, type: event.type, data: event.data, oncehubSignature, standardWebhooks });
    });
  });
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(opts.port, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/demo-webhooks`,
    setSecret: (s) => (secret = s),
    close: () => new Promise((r) => server.close(() => r())),
  };
}
