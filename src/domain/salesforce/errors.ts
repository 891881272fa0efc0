/**
 * Classification of errors thrown by jsforce into "fix the configuration" (non-retryable) and "try again
 * later" (retryable on the 72-hour schedule). Pure: it only reads the error's name, errorCode, data and
 * message as jsforce sets them (see reference/salesforce-rest.md section 3).
 */

/** What the activity needs to fail the attempt. */
export interface SalesforceErrorClass {
  /** The Salesforce errorCode, OAuth error or socket code; becomes the ApplicationFailure type. */
  code: string;
  message: string;
  retryable: boolean;
}

/** errorCodes that no retry can fix: the org, the connected app or the field configuration must change. */
export const CONFIGURATION_ERROR_CODES: ReadonlySet<string> = new Set([
  'INVALID_FIELD',
  'REQUIRED_FIELD_MISSING',
  'INSUFFICIENT_ACCESS_OR_READONLY',
  'INVALID_CROSS_REFERENCE_KEY',
  'INVALID_TYPE',
  'MALFORMED_QUERY',
  'MALFORMED_ID',
  'DUPLICATES_DETECTED',
  'INVALID_FIELD_FOR_INSERT_UPDATE',
  'FIELD_INTEGRITY_EXCEPTION',
  'FIELD_CUSTOM_VALIDATION_EXCEPTION',
  'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
  'STRING_TOO_LONG',
  'INVALID_EMAIL_ADDRESS',
  'INACTIVE_OWNER_OR_USER',
  'JSON_PARSER_ERROR',
  'API_DISABLED_FOR_ORG',
  // OAuth token endpoint errors (the connected app or its credentials are wrong or revoked).
  'invalid_grant',
  'invalid_client',
  'invalid_client_id',
  'unsupported_grant_type',
  'invalid_request',
  'inactive_user',
  'inactive_org',
]);

const REFRESH_FAILED = /^Unable to refresh session due to: ([A-Za-z_]+[0-9]*)(?::|$)/;
const HTTP_STATUS = /^ERROR_HTTP_(\d{3})$/;

interface ErrorLike {
  name?: unknown;
  errorCode?: unknown;
  code?: unknown;
  message?: unknown;
  data?: unknown;
}

function asString(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function httpStatusRetryable(status: number): boolean {
  return status >= 500 || status === 408 || status === 420 || status === 429;
}

/** Whether one errorCode (Salesforce, OAuth, ERROR_HTTP_nnn or socket) is worth retrying. */
export function isRetryableCode(code: string): boolean {
  if (CONFIGURATION_ERROR_CODES.has(code)) return false;
  const http = HTTP_STATUS.exec(code);
  if (http) return httpStatusRetryable(Number(http[1]));
  return true;
}

/** Classifies anything jsforce (or the network below it) may throw. Unknown errors are retryable. */
export function classifySalesforceError(err: unknown): SalesforceErrorClass {
  const e: ErrorLike = typeof err === 'object' && err !== null ? (err as ErrorLike) : {};
  const message = asString(e.message) ?? (typeof err === 'string' ? err : String(err));

  // Several errors in one response: non-retryable only when each of them is.
  if (e.name === 'MULTIPLE_API_ERRORS' && Array.isArray(e.data)) {
    const codes = (e.data as ErrorLike[]).map((d) => asString(d?.errorCode) ?? asString(d?.name) ?? 'UNKNOWN');
    const messages = (e.data as ErrorLike[]).map((d, i) => `${codes[i]}: ${asString(d?.message) ?? ''}`);
    const retryable = codes.some(isRetryableCode);
    const code = retryable ? (codes.find(isRetryableCode) ?? 'MULTIPLE_API_ERRORS') : codes[0];
    return { code, message: messages.join('; '), retryable };
  }

  // A failed session refresh loses the OAuth error name; the connector puts it at the start of the message.
  const refresh = REFRESH_FAILED.exec(message);
  if (refresh) return { code: refresh[1], message, retryable: isRetryableCode(refresh[1]) };

  // Socket errors from node-fetch carry the system code (ECONNREFUSED, ETIMEDOUT, …).
  const sys = asString(e.code);
  if (sys && /^E[A-Z]+$|^UND_ERR_/.test(sys)) return { code: sys, message, retryable: true };

  const code = asString(e.errorCode) ?? asString(e.name) ?? 'SALESFORCE_ERROR';
  if (code === 'Error' || code === 'FetchError' || code === 'AbortError') {
    return { code: code === 'Error' ? 'SALESFORCE_ERROR' : code, message, retryable: true };
  }
  return { code, message, retryable: isRetryableCode(code) };
}
