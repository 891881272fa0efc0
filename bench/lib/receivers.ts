/**
 * Local webhook receivers: node:http servers on 127.0.0.1 that timestamp every arrival on receipt and answer
 * 204 at once. Each subscription gets its own path, so one server serves many subscribers; a receiver made
 * with `hang` never answers (a subscriber that times out).
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One webhook POST as it arrived. */
export interface Arrival {
  /** Date.now() when the request's body was complete. */
  at: number;
  path: string;
  eventId: string;
  type: string;
  /** Milliseconds since the epoch of the event's creation_time. */
  createdAt: number;
  bookingId: string | null;
}

export interface Receiver {
  url: string;
  arrivals: Arrival[];
  /** Arrivals by event id, then path (one per subscriber). */
  byEvent: Map<string, Arrival[]>;
  close(): Promise<void>;
}

/** Starts a receiver; with `hang`, requests are read and never answered. */
export async function startReceiver(opts: { hang?: boolean } = {}): Promise<Receiver> {
  const arrivals: Arrival[] = [];
  const byEvent = new Map<string, Arrival[]>();
  const open = new Set<http.ServerResponse>();
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const at = Date.now();
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          id: string;
          type: string;
          creation_time: string;
          data?: { id?: string };
        };
        const a: Arrival = {
          at,
          path: req.url ?? '/',
          eventId: body.id,
          type: body.type,
          createdAt: Date.parse(body.creation_time),
          bookingId: body.data?.id ?? null,
        };
        arrivals.push(a);
        const list = byEvent.get(a.eventId);
        if (list) list.push(a);
        else byEvent.set(a.eventId, [a]);
      } catch {
        // Not an envelope: still answered, never counted.
      }
      if (opts.hang) {
        open.add(res);
        res.on('close', () => open.delete(res));
        return;
      }
      res.statusCode = 204;
      res.end();
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    arrivals,
    byEvent,
    async close() {
      for (const res of open) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
