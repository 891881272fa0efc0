/** One pino logger for the API and the worker; the SDK's Runtime logger forwards into it. */
import pino, { type Logger } from 'pino';
import { makeTelemetryFilterString, type LogLevel, type LogMetadata, type RuntimeOptions } from '@temporalio/worker';
import type { Config } from './config';
import { REDACT_PATHS } from './app';
import { installRuntimeWithSdkMetrics } from './observability/sdk-metrics';

export function createLogger(config: Config): Logger {
  return pino({ level: config.logLevel, redact: REDACT_PATHS });
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
    logger: {
      log: (l: LogLevel, message: string, meta?: LogMetadata) => logger[LEVELS[l]](meta ?? {}, message),
      trace: (message, meta) => logger.trace(meta ?? {}, message),
      debug: (message, meta) => logger.debug(meta ?? {}, message),
      info: (message, meta) => logger.info(meta ?? {}, message),
      warn: (message, meta) => logger.warn(meta ?? {}, message),
      error: (message, meta) => logger.error(meta ?? {}, message),
    },
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} } },
  };
  return { sdkMetricsUrl: installRuntimeWithSdkMetrics(options, opts.metrics) };
}
