/** One pino logger for the API and the worker; the SDK's Runtime logger forwards into it. */
import pino, { type Logger } from 'pino';
import { Runtime, makeTelemetryFilterString, type LogLevel, type LogMetadata } from '@temporalio/worker';
import type { Config } from './config';
import { REDACT_PATHS } from './app';

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

/** Routes workflow, activity and core SDK logs into pino. Call once per process, before any worker. */
export function installWorkerRuntime(logger: Logger, opts: { handleSignals?: boolean } = {}): void {
  Runtime.install({
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
  });
}
