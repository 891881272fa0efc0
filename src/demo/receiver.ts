/**
 * The demo's webhook receiver: a loopback HTTP server in front of docs/examples/receiver.ts's handler, which verifies
 * both signature schemes the engine sends (Standard Webhooks and `Oncehub-Signature`), refuses an event failing
 * either, and hands each event on once per event id. The subscription's secret is known only once the subscription
 * points here, so until then every POST answers 503 and the engine retries it.
 */
import * as http from 'node:http';
import { webhookHandler, type WebhookEvent } from '../../docs/examples/receiver';

export type ReceivedEvent = WebhookEvent;

export interface DemoReceiver {
  url: string;
  /** The subscription's secret; set once it is known. */
  setSecret(secret: string): void;
  close(): Promise<void>;
}

export async function startDemoReceiver(opts: { port: number; onEvent: (e: ReceivedEvent) => void }): Promise<DemoReceiver> {
  let handler: http.RequestListener | null = null;
  const server = http.createServer((req, res) => (handler ? handler(req, res) : void res.writeHead(503).end()));
  await new Promise<void>((resolve, reject) => server.once('error', reject).listen(opts.port, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/demo-webhooks`,
    setSecret: (secret) => (handler = webhookHandler({ secret, onEvent: opts.onEvent })),
    close: () => new Promise((r) => server.close(() => r())),
  };
}
