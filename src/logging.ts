/**
 * One pino logger for the API and the worker; the SDK's Runtime logger forwards into it. JSON lines, or pino-pretty's
 * human-readable ones under `npm start` on a terminal (LOG_FORMAT); with tracing on, every line logged inside a span
 * carries its `trace_id` and `span_id`, and the booking's ids are added as src/observability/log-correlation.ts says.
 */
import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { makeTelemetryFilterString, type LogLevel, type LogMetadata, type RuntimeOptions } from '@temporalio/worker';
import type { Config } from './config';
import { REDACT_PATHS } from './app';
import { installRuntimeWithSdkMetrics } from './observability/sdk-metrics';
import { correlateMeta } from './observability/log-correlation';
import { activeTraceIds, tracingStarted } from './observability/tracing';

export interface CreateLoggerOptions {
  /** The interactive entry point (`npm start`): LOG_FORMAT=auto prints pretty lines when stdout is a terminal. */
  interactive?: boolean;
  /** Whether stdout is a terminal (default: process.stdout.isTTY). */
  isTTY?: boolean;
  /** Where the lines go (default: stdout). */
  destination?: DestinationStream;
}

/** Whether the lines are pino-pretty's: LOG_FORMAT=pretty, or `auto` in the interactive entry point on a terminal. */
export function usePrettyLogs(config: Pick<Config, 'logFormat'>, opts: CreateLoggerOptions = {}): boolean {
  if (config.logFormat !== 'auto') return config.logFormat === 'pretty';
  return Boolean(opts.interactive) && (opts.isTTY ?? process.stdout.isTTY === true);
}

export function createLogger(config: Config, opts: CreateLoggerOptions = {}): Logger {
  const options: LoggerOptions = {
    level: config.logLevel,
    redact: REDACT_PATHS,
    // Tracing on: the active span's ids on every line (what the line itself says wins). Off: no mixin at all.
    ...(tracingStarted() ? { mixin: () => activeTraceIds() } : {}),
  };
  if (!usePrettyLogs(config, opts)) return opts.destination ? pino(options, opts.destination) : pino(options);
  // Loaded only when used. Synchronous, in this process (no transport thread): it is for a person at a terminal.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pretty = require('pino-pretty') as typeof import('pino-pretty');
  const colorize = opts.destination ? false : (opts.isTTY ?? process.stdout.isTTY === true);
  return pino(
    options,
    pretty({ colorize, sync: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname', destination: opts.destination ?? 1 }),
  );
}

const LEVELS: Record<LogLevel, 'trace' | 'debug' | 'info' | 'warn' | 'error'> = {
  TRACE: 'trace',
  DEBUG: 'debug',
  INFO: 'info',
  WARN: 'warn',
  ERROR: 'error',
};

/**
 * Routes workflow, activity and core SDK logs into pino and, given `metrics` with an SDK port, serves the SDK's own
 * metrics there (src/observability/sdk-metrics.ts). Call once per process, before any worker. Returns the SDK
 * metrics URL, or null.
 */
export function installWorkerRuntime(
  logger: Logger,
  opts: { handleSignals?: boolean; metrics?: Pick<Config['metrics'], 'host' | 'sdk'> } = {},
): { sdkMetricsUrl: string | null } {
  const options: RuntimeOptions = {
    // An entry point that stops its parts in order itself (npm start) must not have the SDK shut the
    // worker down on the same signal first: that raced the ordered stop ("Not running", "Cannot close connection").
    ...(opts.handleSignals === false ? { shutdownSignals: [] } : {}),
    // Workflow and activity lines get the booking's ids (bookingId, runId, deliveryId, … see log-correlation.ts).
    logger: {
      log: (l: LogLevel, message: string, meta?: LogMetadata) => logger[LEVELS[l]](correlateMeta(meta), message),
      trace: (message, meta) => logger.trace(correlateMeta(meta), message),
      debug: (message, meta) => logger.debug(correlateMeta(meta), message),
      info: (message, meta) => logger.info(correlateMeta(meta), message),
      warn: (message, meta) => logger.warn(correlateMeta(meta), message),
      error: (message, meta) => logger.error(correlateMeta(meta), message),
    },
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  };
  return { sdkMetricsUrl: installRuntimeWithSdkMetrics(options, opts.metrics) };
}
