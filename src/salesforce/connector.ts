/**
 * The Salesforce connection: one jsforce Connection per worker process, authorized lazily on first use and
 * re-authorized by jsforce whenever a call answers 401 (INVALID_SESSION_ID), after which the call is resent.
 * The access token, refresh token and client secret stay inside this process: nothing here returns or logs
 * them, and redact() scrubs them from any text that is about to leave (failure messages, logs).
 */
import { Connection, OAuth2, type OAuth2Config, type TokenResponse } from 'jsforce';
import Transport from 'jsforce/lib/transport';
import type { HttpRequest, HttpRequestOptions } from 'jsforce/lib/types';
import type { Config } from '../config';
import { workerMetrics } from '../observability/worker-metrics';

type SalesforceConfig = Config['salesforce'];

/** Options beyond the configuration, mostly for tests. */
export interface SalesforceConnectionOptions {
  /**
   * jsforce retries GET/PUT/DELETE on 429/5xx and socket errors up to 5 times (about 15 s) inside one
   * activity attempt. Lower it (0 in tests) when the 72-hour activity schedule should be the only retry.
   */
  httpRetries?: number;
}

/** OAuth error names jsforce reports (error of the token endpoint's JSON body, or ERROR_HTTP_nnn). */
const OAUTH_ERROR = /^(invalid_[a-z_]+|unsupported_[a-z_]+|inactive_[a-z_]+|rate_limit_exceeded|ERROR_HTTP_\d{3})$/;

/**
 * jsforce turns a failed session refresh into "Unable to refresh session due to: <message>" and drops the
 * OAuth error name; putting the name in front of the message keeps it classifiable (invalid_grant is a
 * configuration error, ERROR_HTTP_503 is not).
 */
class NamedErrorOAuth2 extends OAuth2 {
  override async refreshToken(refreshToken: string): Promise<TokenResponse> {
    try {
      const token = await super.refreshToken(refreshToken);
      countTokenRequest('refresh_token', 'ok');
      return token;
    } catch (err) {
      countTokenRequest('refresh_token', 'error');
      throw nameInMessage(err);
    }
  }

  override async requestToken(
    codeOrParams: string | { grant_type: string; [name: string]: string },
    params: { [name: string]: string } = {},
  ): Promise<TokenResponse> {
    const grant = typeof codeOrParams === 'string' ? 'authorization_code' : codeOrParams.grant_type;
    try {
      const token = await super.requestToken(codeOrParams, params);
      countTokenRequest(grant, 'ok');
      return token;
    } catch (err) {
      countTokenRequest(grant, 'error');
      throw nameInMessage(err);
    }
  }
}

const GRANTS = new Set(['client_credentials', 'refresh_token', 'authorization_code']);

/** Every token request (first authorization, and each re-authorization after a 401) in the worker's metrics. */
function countTokenRequest(grant: string, result: 'ok' | 'error'): void {
  workerMetrics().salesforceTokenRequests.inc({ grant: GRANTS.has(grant) ? grant : 'other', result });
}

function nameInMessage(err: unknown): unknown {
  if (err instanceof Error && OAUTH_ERROR.test(err.name) && !err.message.startsWith(`${err.name}:`)) {
    err.message = `${err.name}: ${err.message}`;
  }
  return err;
}

/** A transport that caps jsforce's own HTTP retries. */
class CappedRetryTransport extends Transport {
  constructor(private readonly maxRetries: number) {
    super();
  }

  override httpRequest(req: HttpRequest, options: HttpRequestOptions = {}) {
    return super.httpRequest(req, { ...options, retry: { ...options.retry, maxRetries: this.maxRetries } });
  }
}

/**
 * A jsforce Connection for the configured org, not yet authorized (see createSalesforceSession).
 * refresh_token grant: jsforce's built-in refresh. client_credentials: a refreshFn that authorizes again.
 */
export function createSalesforceConnection(cfg: SalesforceConfig, options: SalesforceConnectionOptions = {}): Connection {
  if (!cfg.clientId || !cfg.clientSecret) throw new Error('Salesforce needs a client id and a client secret');
  const oauth2Config: OAuth2Config = { clientId: cfg.clientId, clientSecret: cfg.clientSecret, loginUrl: cfg.loginUrl };
  const oauth2 = new NamedErrorOAuth2(oauth2Config);
  let conn: Connection;
  if (cfg.grant === 'refresh_token') {
    if (!cfg.refreshToken) throw new Error('the refresh_token grant needs a refresh token');
    conn = new Connection({
      oauth2,
      loginUrl: cfg.loginUrl,
      instanceUrl: cfg.instanceUrl ?? undefined,
      version: cfg.apiVersion,
      refreshToken: cfg.refreshToken,
    });
  } else {
    conn = new Connection({
      oauth2,
      loginUrl: cfg.loginUrl,
      instanceUrl: cfg.instanceUrl ?? undefined,
      version: cfg.apiVersion,
      // client_credentials issues no refresh token: a new token is simply requested again.
      refreshFn: (c, callback) => {
        c.authorize({ grant_type: 'client_credentials' }).then(
          () => callback(null, c.accessToken ?? undefined),
          (err: Error) => callback(err),
        );
      },
    });
  }
  if (options.httpRetries !== undefined) {
    const transport = new CappedRetryTransport(options.httpRetries);
    conn._transport = transport;
    conn.oauth2._transport = transport;
  }
  return conn;
}

/** A lazily authorized, shared connection. */
export interface SalesforceSession {
  /** The authorized connection; the first call authorizes, concurrent callers share that attempt. */
  connection(): Promise<Connection>;
  /** Salesforce user id of the connection (the API user), once authorized. */
  userId(): string | null;
  /** Replaces every credential this process holds with [redacted]. */
  redact(text: string): string;
}

/** Wraps a connection so it is authorized once, on first use; a failed authorization is retried next call. */
export function createSalesforceSession(cfg: SalesforceConfig, conn: Connection = createSalesforceConnection(cfg)): SalesforceSession {
  let authorized: Promise<Connection> | null = null;
  const authorize = async (): Promise<Connection> => {
    if (cfg.grant === 'refresh_token') {
      await conn.authorize({ grant_type: 'refresh_token', refresh_token: cfg.refreshToken ?? '' });
    } else {
      await conn.authorize({ grant_type: 'client_credentials' });
    }
    return conn;
  };
  return {
    connection() {
      if (!authorized) {
        authorized = authorize().catch((err: unknown) => {
          authorized = null;
          throw err;
        });
      }
      return authorized;
    },
    userId() {
      return conn.userInfo?.id ?? null;
    },
    redact(text: string) {
      let out = text;
      for (const secret of [conn.accessToken, conn.refreshToken, cfg.refreshToken, cfg.clientSecret]) {
        if (secret && secret.length >= 6) out = out.split(secret).join('[redacted]');
      }
      return out;
    },
  };
}
