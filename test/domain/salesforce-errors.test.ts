import { classifySalesforceError } from '../../src/domain/salesforce/errors';

/** An error shaped like jsforce's HttpApiError (name === errorCode). */
function apiError(errorCode: string, message = 'x', data?: unknown): Error {
  const err = new Error(message) as Error & { errorCode: string; data: unknown };
  err.name = errorCode;
  err.errorCode = errorCode;
  err.data = data ?? { errorCode, message };
  return err;
}

function named(name: string, message: string, extra: Record<string, unknown> = {}): Error {
  return Object.assign(new Error(message), { name }, extra);
}

describe('classifySalesforceError', () => {
  const configuration = [
    'INVALID_FIELD',
    'REQUIRED_FIELD_MISSING',
    'INSUFFICIENT_ACCESS_OR_READONLY',
    'INVALID_CROSS_REFERENCE_KEY',
    'INVALID_TYPE',
    'MALFORMED_QUERY',
    'DUPLICATES_DETECTED',
    'FIELD_INTEGRITY_EXCEPTION',
    'INACTIVE_OWNER_OR_USER',
  ];
  it.each(configuration)('%s is a configuration error (non-retryable, code kept)', (code) => {
    expect(classifySalesforceError(apiError(code, 'bad'))).toEqual({ code, message: 'bad', retryable: false });
  });

  const transient = ['REQUEST_LIMIT_EXCEEDED', 'UNABLE_TO_LOCK_ROW', 'SERVER_UNAVAILABLE', 'INVALID_SESSION_ID', 'NOT_FOUND', 'ERROR_HTTP_503', 'ERROR_HTTP_429', 'ERROR_HTTP_500'];
  it.each(transient)('%s is retryable', (code) => {
    expect(classifySalesforceError(apiError(code))).toMatchObject({ code, retryable: true });
  });

  it.each(['ERROR_HTTP_400', 'ERROR_HTTP_404'])('%s (non-JSON 4xx) is not retryable', (code) => {
    expect(classifySalesforceError(apiError(code))).toMatchObject({ code, retryable: false });
  });

  it.each(['invalid_grant', 'invalid_client_id', 'invalid_client'])('OAuth %s from authorize is an auth configuration error', (name) => {
    expect(classifySalesforceError(named(name, 'expired access/refresh token'))).toMatchObject({ code: name, retryable: false });
  });

  it('reads the OAuth error out of a failed session refresh', () => {
    const refresh = new Error('Unable to refresh session due to: invalid_grant: expired access/refresh token');
    expect(classifySalesforceError(refresh)).toMatchObject({ code: 'invalid_grant', retryable: false });
    const down = new Error('Unable to refresh session due to: ERROR_HTTP_503: <html>');
    expect(classifySalesforceError(down)).toMatchObject({ code: 'ERROR_HTTP_503', retryable: true });
  });

  it('MULTIPLE_API_ERRORS is non-retryable only when every error is', () => {
    const allConfig = apiError('MULTIPLE_API_ERRORS', 'Multiple errors returned.', [
      { errorCode: 'REQUIRED_FIELD_MISSING', message: 'Required fields are missing: [LastName]' },
      { errorCode: 'INVALID_FIELD', message: 'No such column' },
    ]);
    expect(classifySalesforceError(allConfig)).toMatchObject({ code: 'REQUIRED_FIELD_MISSING', retryable: false });
    const mixed = apiError('MULTIPLE_API_ERRORS', 'Multiple errors returned.', [
      { errorCode: 'INVALID_FIELD', message: 'No such column' },
      { errorCode: 'UNABLE_TO_LOCK_ROW', message: 'unable to obtain exclusive access to this record' },
    ]);
    expect(classifySalesforceError(mixed)).toMatchObject({ code: 'UNABLE_TO_LOCK_ROW', retryable: true });
  });

  it('socket errors are retryable under their system code', () => {
    expect(classifySalesforceError(named('FetchError', 'request to http://x failed', { code: 'ECONNREFUSED' }))).toMatchObject({ code: 'ECONNREFUSED', retryable: true });
    expect(classifySalesforceError(named('FetchError', 'socket hang up', { code: 'ECONNRESET' }))).toMatchObject({ code: 'ECONNRESET', retryable: true });
  });

  it('unknown errors are retryable', () => {
    expect(classifySalesforceError(new Error('boom'))).toMatchObject({ code: 'SALESFORCE_ERROR', retryable: true });
    expect(classifySalesforceError('weird')).toMatchObject({ code: 'SALESFORCE_ERROR', message: 'weird', retryable: true });
  });
});
