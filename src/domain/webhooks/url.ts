/** Rules for a subscription's URL, checked when it is created (the SSRF guard checks again at connect time). */
import { classifyAddress, decideTarget, type AllowList } from './address-policy';

export const MAX_WEBHOOK_URL_LENGTH = 2048;

export interface UrlRules {
  /** Accept http:// (development only). */
  allowHttp: boolean;
  allow: AllowList;
}

export type UrlCheck = { ok: true; url: string } | { ok: false; message: string };

/**
 * Accepts an absolute https URL (http only when allowed) without credentials, whose host, if it is an IP
 * literal or a localhost name, is allowed by the address policy. Returns the WHATWG-normalised URL.
 */
export function validateWebhookUrl(raw: string, rules: UrlRules): UrlCheck {
  if (raw.length > MAX_WEBHOOK_URL_LENGTH) return { ok: false, message: `url must be at most ${MAX_WEBHOOK_URL_LENGTH} characters` };
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return { ok: false, message: 'url must be an absolute URL' };
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && rules.allowHttp)) {
    return { ok: false, message: rules.allowHttp ? 'url must use https or http' : 'url must use https' };
  }
  if (u.username || u.password) return { ok: false, message: 'url must not contain credentials' };
  if (!u.hostname) return { ok: false, message: 'url must name a host' };
  // WHATWG URL has already turned 2130706433 or 0177.0.0.1 into 127.0.0.1, so the literal check sees the real address.
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (classifyAddress(host)) {
    const d = decideTarget(host, host, rules.allow);
    if (!d.allowed) return { ok: false, message: `url ${d.reason}` };
  } else if (/(^|\.)localhost$/i.test(host) && !rules.allow.hosts.has(host.toLowerCase())) {
    return { ok: false, message: 'url must not point at localhost' };
  }
  return { ok: true, url: u.href };
}
