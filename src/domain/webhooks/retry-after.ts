/** Reads an HTTP `Retry-After` value (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. */

/** Milliseconds to wait, or null when absent or unreadable. A date in the past means 0. */
export function parseRetryAfter(value: string | string[] | null | undefined, nowMs: number): number | null {
  const raw = Array.isArray(value) ? value[0] : value;
  if (raw === undefined || raw === null) return null;
  const v = raw.trim();
  if (v === '') return null;
  if (/^\d+$/.test(v)) {
    const seconds = Number(v);
    return Number.isSafeInteger(seconds) ? seconds * 1000 : null;
  }
  // Only the date forms HTTP allows (IMF-fixdate and the two obsolete ones), never a bare number or ISO string.
  if (!/^[A-Za-z]{3,9},? /.test(v)) return null;
  const at = Date.parse(v);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}

/** Status codes whose Retry-After we honour. */
export function honoursRetryAfter(status: number): boolean {
  return status === 429 || status === 503;
}
