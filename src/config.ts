/**
 * Configuration, read once from the environment into a typed, frozen object. Workflows never read it:
 * what they need travels in their input. Every variable here is listed in docs/configuration.md's table.
 */
import * as os from 'node:os';
import * as path from 'node:path';

export interface Config {
  /** Where embedded state lives: the dev server's SQLite file and the embedded PostgreSQL (PGlite) files. */
  dataDir: string;
  temporal: {
    /** Empty means: start the embedded dev server. */
    address: string | null;
    namespace: string;
    taskQueue: string;
    tls: boolean;
    tlsCertPath: string | null;
    tlsKeyPath: string | null;
    tlsCaPath: string | null;
    tlsServerName: string | null;
    apiKey: string | null;
    /** Embedded dev server ports. */
    devServerPort: number;
    uiPort: number;
    /** Override for the CLI binary; otherwise PATH, then the build cache. */
    cliPath: string | null;
    /** Entries of the embedded dev server's history cache (`history.hostLevelCacheMaxSize`), two per booking in use. */
    devServerHistoryCacheSize: number;
    /**
     * TEMPORAL_DEV_EAGER_ACTIVITIES: the embedded dev server's `system.enableActivityEagerExecution` (the server's
     * own default is off). On, an activity the booking schedules on the worker's own task queue is handed back in
     * the workflow task's completion response, skipping matching (BENCHMARKS.md, "Issue 19: levers").
     */
    devServerEagerActivities: boolean;
    /**
     * TEMPORAL_EAGER_WORKFLOW_START: where the API and the worker share a process (npm start), the API's client uses
     * the worker's NativeConnection and booking starts ask for eager workflow start, so the server hands the booking's
     * first workflow task back in the start's response, to this worker, instead of through matching. `npm run api`
     * alone never asks (BENCHMARKS.md, "Issue 19: levers").
     */
    eagerWorkflowStart: boolean;
  };
  api: {
    host: string;
    port: number;
    /** Keys accepted in the API-Key header. */
    apiKeys: string[];
    bodyLimitBytes: number;
    publicUrl: string;
  };
  /** postgres://… for a real server; null means the embedded PGlite store in dataDir. */
  databaseUrl: string | null;
  booking: {
    noShowWindowMinutes: number;
    rescheduleRequestTtlMinutes: number;
    /** How far ahead a booking may start (create, package session, reschedule); later is a 400. */
    horizonDays: number;
  };
  webhooks: {
    connectTimeoutMs: number;
    totalTimeoutMs: number;
    /**
     * How long routing waits for the first attempts' answers before handing what is left to delivery
     * workflows; 0 makes every delivery a workflow from its first attempt.
     */
    routingWaitMs: number;
    /** Hosts or CIDRs allowed even though they are private/loopback (tests, local development). */
    allowPrivateTargets: string[];
    /** Accept http:// subscription URLs (development only; production requires https). */
    allowHttp: boolean;
    userAgent: string;
  };
  salesforce: {
    /** 'standin' starts the local stand-in; 'org' uses the credentials below; 'off' disables the connector. */
    mode: 'standin' | 'org' | 'off';
    loginUrl: string;
    instanceUrl: string | null;
    clientId: string | null;
    clientSecret: string | null;
    refreshToken: string | null;
    /** 'refresh_token' or 'client_credentials'. */
    grant: 'refresh_token' | 'client_credentials';
    apiVersion: string;
    eventStatusField: string;
    reasonField: string;
    bookingIdField: string;
    /** Salesforce user id used as OwnerId when no active user has the booking owner's email. */
    fallbackOwnerId: string | null;
    standinPort: number;
  };
  conversation: {
    abandonAfterMinutes: number;
  };
  worker: {
    maxCachedWorkflows: number;
    maxConcurrentActivityTaskExecutions: number;
    maxConcurrentWorkflowTaskExecutions: number;
    /** Prebuilt workflow bundle (src/temporal/workflow-bundle.ts); null bundles in a child process at each start. */
    workflowBundlePath: string | null;
  };
  /** Metrics and health listeners (Prometheus text format); each null is off. */
  metrics: {
    /** Interface every metrics listener binds (METRICS_HOST). */
    host: string;
    /** The API's metrics, /healthz and /readyz (METRICS_PORT). */
    api: ListenPort | null;
    /** The worker's engine metrics, /healthz and /readyz (WORKER_METRICS_PORT). */
    worker: ListenPort | null;
    /** The Temporal SDK's own Prometheus exporter in the worker process (WORKER_SDK_METRICS_PORT). */
    sdk: ListenPort | null;
  };
  logLevel: string;
  /**
   * LOG_FORMAT: `json` (one JSON object a line), `pretty` (pino-pretty's human-readable lines), or `auto` (the
   * default): pretty under `npm start` when stdout is a terminal, JSON otherwise.
   */
  logFormat: 'auto' | 'json' | 'pretty';
}

/** A port to listen on, as configured. */
export interface ListenPort {
  /** 0: a free port picked at start. */
  port: number;
  /** Left unset (the embedded default): a taken default falls back to a free port instead of stopping the start. */
  fallback: boolean;
  /** The variable it comes from, for messages. */
  variable: string;
}

class ConfigError extends Error {}

function str(env: NodeJS.ProcessEnv, name: string, fallback: string): string {
  const v = env[name];
  return v === undefined || v === '' ? fallback : v;
}

function opt(env: NodeJS.ProcessEnv, name: string): string | null {
  const v = env[name];
  return v === undefined || v === '' ? null : v;
}

function int(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ConfigError(`${name} must be a non-negative integer, got '${v}'`);
  return n;
}

function bool(env: NodeJS.ProcessEnv, name: string, fallback: boolean): boolean {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(v)) return true;
  if (/^(0|false|no|off)$/i.test(v)) return false;
  throw new ConfigError(`${name} must be true or false, got '${v}'`);
}

function list(env: NodeJS.ProcessEnv, name: string, fallback: string[]): string[] {
  const v = env[name];
  if (v === undefined) return fallback;
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** A listener's port: unset → `fallback` (a default that may move to a free port, or off); `off` → null; 0-65535. */
function listenPort(env: NodeJS.ProcessEnv, name: string, fallback: number | null): ListenPort | null {
  const v = env[name];
  if (v === undefined || v === '') return fallback === null ? null : { port: fallback, fallback: true, variable: name };
  if (/^off$/i.test(v)) return null;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new ConfigError(`${name} must be a port (0-65535) or off, got '${v}'`);
  return { port: n, fallback: false, variable: name };
}

function oneOf<T extends string>(env: NodeJS.ProcessEnv, name: string, values: readonly T[], fallback: T): T {
  const v = str(env, name, fallback);
  if (!(values as readonly string[]).includes(v)) {
    throw new ConfigError(`${name} must be one of ${values.join(', ')}, got '${v}'`);
  }
  return v as T;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o as object)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/** Reads and validates configuration; throws a ConfigError naming the bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const dataDir = path.resolve(str(env, 'DATA_DIR', path.join(process.cwd(), '.data')));
  const address = opt(env, 'TEMPORAL_ADDRESS');
  const embedded = address === null;
  const apiPort = int(env, 'API_PORT', 3000);
  const apiHost = str(env, 'API_HOST', '127.0.0.1');
  const salesforceMode = oneOf(env, 'SALESFORCE_MODE', ['standin', 'org', 'off'] as const, embedded ? 'standin' : 'off');
  const standinPort = int(env, 'SALESFORCE_STANDIN_PORT', 3100);
  const config: Config = {
    dataDir,
    temporal: {
      address,
      namespace: str(env, 'TEMPORAL_NAMESPACE', 'default'),
      taskQueue: str(env, 'TEMPORAL_TASK_QUEUE', 'booking-lifecycle'),
      tls: bool(env, 'TEMPORAL_TLS', opt(env, 'TEMPORAL_API_KEY') !== null || opt(env, 'TEMPORAL_TLS_CERT') !== null),
      tlsCertPath: opt(env, 'TEMPORAL_TLS_CERT'),
      tlsKeyPath: opt(env, 'TEMPORAL_TLS_KEY'),
      tlsCaPath: opt(env, 'TEMPORAL_TLS_CA'),
      tlsServerName: opt(env, 'TEMPORAL_TLS_SERVER_NAME'),
      apiKey: opt(env, 'TEMPORAL_API_KEY'),
      devServerPort: int(env, 'TEMPORAL_DEV_PORT', 7233),
      uiPort: int(env, 'TEMPORAL_UI_PORT', 8233),
      cliPath: opt(env, 'TEMPORAL_CLI_PATH'),
      devServerHistoryCacheSize: int(env, 'TEMPORAL_DEV_HISTORY_CACHE_SIZE', 2000),
      devServerEagerActivities: bool(env, 'TEMPORAL_DEV_EAGER_ACTIVITIES', true),
      eagerWorkflowStart: bool(env, 'TEMPORAL_EAGER_WORKFLOW_START', true),
    },
    api: {
      host: apiHost,
      port: apiPort,
      apiKeys: list(env, 'API_KEYS', embedded ? ['dev-api-key'] : []),
      bodyLimitBytes: int(env, 'API_BODY_LIMIT_BYTES', 1024 * 1024),
      publicUrl: str(env, 'API_PUBLIC_URL', `http://${apiHost === '0.0.0.0' ? os.hostname() : apiHost}:${apiPort}`),
    },
    databaseUrl: opt(env, 'DATABASE_URL'),
    booking: {
      noShowWindowMinutes: int(env, 'NO_SHOW_WINDOW_MINUTES', 7 * 24 * 60),
      rescheduleRequestTtlMinutes: int(env, 'RESCHEDULE_REQUEST_TTL_MINUTES', 30 * 24 * 60),
      horizonDays: int(env, 'BOOKING_HORIZON_DAYS', 730),
    },
    webhooks: {
      connectTimeoutMs: int(env, 'WEBHOOK_CONNECT_TIMEOUT_MS', 5_000),
      totalTimeoutMs: int(env, 'WEBHOOK_TIMEOUT_MS', 15_000),
      routingWaitMs: int(env, 'WEBHOOK_ROUTING_WAIT_MS', 2_000),
      allowPrivateTargets: list(env, 'WEBHOOK_ALLOW_PRIVATE_TARGETS', embedded ? ['127.0.0.0/8', '::1/128'] : []),
      allowHttp: bool(env, 'WEBHOOK_ALLOW_HTTP', embedded),
      userAgent: str(env, 'WEBHOOK_USER_AGENT', 'BookingLifecycleEngine-Webhooks/0.1'),
    },
    salesforce: {
      mode: salesforceMode,
      loginUrl: str(env, 'SALESFORCE_LOGIN_URL', salesforceMode === 'standin' ? `http://127.0.0.1:${standinPort}` : 'https://login.salesforce.com'),
      instanceUrl: opt(env, 'SALESFORCE_INSTANCE_URL'),
      clientId: opt(env, 'SALESFORCE_CLIENT_ID') ?? (salesforceMode === 'standin' ? 'standin-client' : null),
      clientSecret: opt(env, 'SALESFORCE_CLIENT_SECRET') ?? (salesforceMode === 'standin' ? 'standin-secret' : null),
      refreshToken: opt(env, 'SALESFORCE_REFRESH_TOKEN'),
      grant: oneOf(env, 'SALESFORCE_GRANT', ['refresh_token', 'client_credentials'] as const, 'client_credentials'),
      apiVersion: str(env, 'SALESFORCE_API_VERSION', '62.0'),
      eventStatusField: str(env, 'SALESFORCE_EVENT_STATUS_FIELD', 'Event_Status__c'),
      reasonField: str(env, 'SALESFORCE_REASON_FIELD', 'Cancel_Reschedule_Reason__c'),
      bookingIdField: str(env, 'SALESFORCE_BOOKING_ID_FIELD', 'Booking_Id__c'),
      fallbackOwnerId: opt(env, 'SALESFORCE_FALLBACK_OWNER_ID'),
      standinPort,
    },
    conversation: {
      abandonAfterMinutes: int(env, 'CONVERSATION_ABANDON_MINUTES', 10),
    },
    worker: {
      maxCachedWorkflows: int(env, 'WORKER_MAX_CACHED_WORKFLOWS', 500),
      maxConcurrentActivityTaskExecutions: int(env, 'WORKER_MAX_CONCURRENT_ACTIVITIES', 200),
      maxConcurrentWorkflowTaskExecutions: int(env, 'WORKER_MAX_CONCURRENT_WORKFLOW_TASKS', 40),
      workflowBundlePath: opt(env, 'WORKER_WORKFLOW_BUNDLE'),
    },
    metrics: {
      host: str(env, 'METRICS_HOST', '127.0.0.1'),
      // On by default only under npm start (embedded); production processes expose what they are told to.
      api: listenPort(env, 'METRICS_PORT', embedded ? 9464 : null),
      worker: listenPort(env, 'WORKER_METRICS_PORT', embedded ? 9465 : null),
      sdk: listenPort(env, 'WORKER_SDK_METRICS_PORT', embedded ? 9466 : null),
    },
    logLevel: str(env, 'LOG_LEVEL', 'info'),
    logFormat: oneOf(env, 'LOG_FORMAT', ['auto', 'json', 'pretty'] as const, 'auto'),
  };
  if (config.temporal.devServerHistoryCacheSize < 1) throw new ConfigError('TEMPORAL_DEV_HISTORY_CACHE_SIZE must be at least 1');
  if (config.booking.horizonDays < 1) throw new ConfigError('BOOKING_HORIZON_DAYS must be at least 1');
  if (config.salesforce.mode === 'org' && (!config.salesforce.clientId || !config.salesforce.clientSecret)) {
    throw new ConfigError('SALESFORCE_MODE=org needs SALESFORCE_CLIENT_ID and SALESFORCE_CLIENT_SECRET');
  }
  if (config.salesforce.mode === 'org' && config.salesforce.grant === 'refresh_token' && !config.salesforce.refreshToken) {
    throw new ConfigError('SALESFORCE_GRANT=refresh_token needs SALESFORCE_REFRESH_TOKEN');
  }
  return deepFreeze(config);
}

export { ConfigError };
