/**
 * The Temporal SDK's own metrics (workflow and activity task latencies and failures, pollers, slots, sticky cache):
 * Core's Prometheus exporter, which serves /metrics on a port of its own (WORKER_SDK_METRICS_PORT). Its port is bound
 * when the Runtime is installed, synchronously, so a taken port is found by trying: the configured one, then (for 0,
 * or a default that is taken) ports picked at random below Linux's ephemeral range, where bind(0) never lands.
 */
import { Runtime, type RuntimeOptions } from '@temporalio/worker';
import type { ListenPort } from '../config';
import { localUrl, MetricsPortInUseError } from './metrics-server';

const RANDOM_PORT_MIN = 20_000;
const RANDOM_PORT_MAX = 32_767;
const RANDOM_TRIES = 16;

/** Core parses the bind address as an IP socket address: a name must be an address here. */
function bindAddress(host: string, port: number): string {
  const ip = host === 'localhost' ? '127.0.0.1' : host;
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function candidates(port: ListenPort): number[] {
  const random = Array.from({ length: RANDOM_TRIES }, () => RANDOM_PORT_MIN + Math.floor(Math.random() * (RANDOM_PORT_MAX - RANDOM_PORT_MIN + 1)));
  if (port.port === 0) return random;
  return port.fallback ? [port.port, ...random] : [port.port];
}

/**
 * Runtime.install with the Prometheus exporter on `sdk` (none when null). Returns the exporter's /metrics URL.
 * A port that is taken makes Runtime.install throw before anything is installed, so the next one can be tried.
 */
export function installRuntimeWithSdkMetrics(options: RuntimeOptions, metrics: { host: string; sdk: ListenPort | null } | undefined): string | null {
  const sdk = metrics?.sdk;
  if (!metrics || !sdk) {
    Runtime.install(options);
    return null;
  }
  for (const port of candidates(sdk)) {
    try {
      Runtime.install({
        ...options,
        telemetryOptions: { ...options.telemetryOptions, metrics: { prometheus: { bindAddress: bindAddress(metrics.host, port) } } },
      });
      return `${localUrl(metrics.host, port)}/metrics`;
    } catch (err) {
      if (!/address already in use/i.test(String(err))) throw err;
    }
  }
  throw new MetricsPortInUseError(
    sdk.port === 0 || sdk.fallback
      ? `Temporal SDK metrics: no free port found on ${metrics.host} (${sdk.variable}); set ${sdk.variable} to a free port, or off`
      : `Temporal SDK metrics: port ${sdk.port} on ${metrics.host} (${sdk.variable}) is in use by another process; set ${sdk.variable} to a free port, 0 for any, or off`,
  );
}
