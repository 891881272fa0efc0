/**
 * A standalone webhook receiver for the booking lifecycle engine: verifies every POST with both signature schemes
 * and handles each event once.
 *
 *   WEBHOOK_SECRET=<the subscription's secret> PORT=9000 npx tsx docs/examples/receiver.ts
 *
 * Then point a subscription at it (`"url": "http://127.0.0.1:9000/hook"`; the embedded engine allows 127.0.0.1) and
 * try it with `POST /v2/webhooks/{id}/test`. What it does, in the order a receiver should:
 *
 * 1. Reads the body as raw bytes. Signatures cover the bytes exactly as sent: never verify re-serialised JSON.
 * 2. Verifies the Standard Webhooks headers (`webhook-id`, `webhook-timestamp`, `webhook-signature`) with the
 *    `standardwebhooks` package, keyed with the secret's UTF-8 bytes (`{ format: 'raw' }`), and `Oncehub-Signature`
 *    with the engine's exported helper `verifyOncehubSignature`. Either one is enough; this example checks both. A bad
 *    or stale signature answers 400 and is not processed.
 * 3. De-duplicates on `webhook-id` (the event id, `EVNT-…`): it is the same on every retry and redelivery, so an event
 *    already handled answers 200 at once without being handled again. Keep these ids in your database in production
 *    (for at least the 72 hours deliveries are retried); this example keeps the newest 10,000 in memory.
 * 4. Answers 2xx quickly. Anything else, or no answer within the engine's time-out, is retried.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { verifyOncehubSignature, WebhookSignatureError } from '../../src/webhooks/verify';

/** The envelope every POST carries. */
export interface WebhookEvent {
  id: string;
  object: 'event';
  creation_time: string;
  type: string;
  api_version: string;
  data: Record<string, unknown>;
}

export interface ReceiverOptions {
  /** The subscription's secret (32 hex characters), as the create or rotate-secret answer gave it. */
  secret: string;
  /** Handles one event, once per event id. A throw answers 500, so the engine retries it. */
  onEvent: (event: WebhookEvent) => void | Promise<void>;
  /** How many handled event ids to remember (default 10,000). */
  remember?: number;
  /** Signature tolerance in seconds (default 300). */
  toleranceSeconds?: number;
}

export interface RunningReceiver {
  url: string;
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;

/** The request handler: verify, de-duplicate, handle, answer. */
export function webhookHandler(opts: ReceiverOptions): http.RequestListener {
  const standard = new Webhook(opts.secret, { format: 'raw' });
  const seen = new Set<string>();
  const remember = opts.remember ?? 10_000;
  const answer = (res: http.ServerResponse, status: number, body: object) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

  return (req, res) => {
    if (req.method !== 'POST') return answer(res, 405, { error: 'POST only' });
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      void (async () => {
        const raw = Buffer.concat(chunks);
        const header = (name: string) => {
          const v = req.headers[name];
          return Array.isArray(v) ? v[0] : (v ?? '');
        };
        let event: WebhookEvent;
        try {
          // Standard Webhooks: HMAC-SHA256 of "<webhook-id>.<webhook-timestamp>.<raw body>"; also checks the timestamp.
          event = standard.verify(raw.toString('utf8'), {
            'webhook-id': header('webhook-id'),
            'webhook-timestamp': header('webhook-timestamp'),
            'webhook-signature': header('webhook-signature'),
          }) as WebhookEvent;
          // Oncehub-Signature: HMAC-SHA256 of "<t>.<raw body>", with the engine's helper (constant-time, tolerance).
          verifyOncehubSignature({ header: req.headers['oncehub-signature'], rawBody: raw, secret: opts.secret, toleranceSeconds: opts.toleranceSeconds });
        } catch (err) {
          if (err instanceof WebhookVerificationError || err instanceof WebhookSignatureError) return answer(res, 400, { error: `signature rejected: ${err.message}` });
          throw err;
        }
        // The id the signature covers, and the event's own id: the same value.
        const id = header('webhook-id');
        if (id !== event.id) return answer(res, 400, { error: 'webhook-id does not match the event id' });
        if (seen.has(id)) return answer(res, 200, { received: id, duplicate: true });
        try {
          await opts.onEvent(event);
        } catch (err) {
          return answer(res, 500, { error: String(err) });
        }
        seen.add(id);
        if (seen.size > remember) seen.delete(seen.values().next().value as string);
        answer(res, 200, { received: id, duplicate: false });
      })().catch((err: unknown) => answer(res, 500, { error: String(err) }));
    });
  };
}

/** Starts the receiver on host:port (port 0 picks a free one). */
export async function startReceiver(opts: ReceiverOptions & { host?: string; port?: number }): Promise<RunningReceiver> {
  const server = http.createServer(webhookHandler(opts));
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (require.main === module) {
  const secret = process.env.WEBHOOK_SECRET;
  if (!secret) {
    console.error('Set WEBHOOK_SECRET to the subscription secret (the create or rotate-secret answer shows it once).');
    process.exit(1);
  }
  void startReceiver({
    secret,
    port: Number(process.env.PORT ?? 9000),
    onEvent: (e) => console.log(`${e.creation_time} ${e.type} ${e.id} ${String(e.data.id ?? '')} ${String(e.data.status ?? '')}`),
  }).then((r) => console.log(`Receiving webhooks at ${r.url}/hook`));
}
