/**
 * A process's metrics listener: GET /metrics (Prometheus text format from one prom-client registry), GET /healthz
 * (alive) and GET /readyz (ready to work), JSON, on its own port. The worker serves its health here; the API serves
 * its health on the API port too (src/observability/health.ts), and here for probes that only reach this port.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import type { ListenPort } from '../config';

/** What /healthz and /readyz answer: `ok` picks 200 or 503, the rest is the JSON body. */
export interface HealthAnswer {
  ok: boolean;
  body: Record<string, unknown>;
}

export interface MetricsServerOptions {
  /** For messages: "API metrics", "worker metrics". */
  name: string;
  host: string;
  port: ListenPort;
  registry: Registry;
  live?: () => HealthAnswer;
  ready: () => Promise<HealthAnswer>;
}

export interface MetricsServer {
  /** Base URL, e.g. http://127.0.0.1:9465 (a wildcard host shown as 127.0.0.1). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** A port already taken when it was configured explicitly. */
export class MetricsPortInUseError extends Error {}

/** The base URL a local client reaches `host:port` at. */
export function localUrl(host: string, port: number): string {
  const h = host === '0.0.0.0' || host === '' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${h.includes(':') ? `[${h}]` : h}:${port}`;
}

function listenOn(server: http.Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as AddressInfo).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/**
 * Listens on `port` (a free one for 0). A default port that is taken moves to a free one; an explicitly configured
 * one that is taken stops the start with a message naming its variable.
 */
export async function listenWithFallback(server: http.Server, host: string, port: ListenPort, name: string): Promise<number> {
  try {
    return await listenOn(server, host, port.port);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    if (port.fallback) return listenOn(server, host, 0);
    throw new MetricsPortInUseError(
      `${name}: port ${port.port} on ${host} (${port.variable}) is in use by another process; set ${port.variable} to a free port, 0 for any, or off`,
    );
  }
}

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Starts the listener. It does not keep the process alive (unref), so an entry point that forgets it still exits. */
export async function startMetricsServer(opts: MetricsServerOptions): Promise<MetricsServer> {
  const live = opts.live ?? (() => ({ ok: true, body: { status: 'ok' } }));
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, { error: 'method not allowed' });
    const answer = async (): Promise<void> => {
      switch (path) {
        case '/metrics': {
          const text = await opts.registry.metrics();
          res.writeHead(200, { 'content-type': opts.registry.contentType, 'cache-control': 'no-store' });
          res.end(text);
          return;
        }
        case '/healthz': {
          const h = live();
          return send(res, h.ok ? 200 : 503, h.body);
        }
        case '/readyz': {
          const h = await opts.ready();
          return send(res, h.ok ? 200 : 503, h.body);
        }
        default:
          return send(res, 404, { error: 'not found', endpoints: ['/metrics', '/healthz', '/readyz'] });
      }
    };
    answer().catch((err: unknown) => {
      if (!res.headersSent) send(res, 500, { error: String(err) });
      else res.destroy();
    });
  });
  // Scrapes and probes are short; a silent client must not hold a socket for long.
  server.requestTimeout = 30_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 65_000;
  const port = await listenWithFallback(server, opts.host, opts.port, opts.name);
  server.unref();
  return {
    url: localUrl(opts.host, port),
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
