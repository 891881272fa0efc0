/**
 * The SSRF guard: an undici Agent that checks the address it is about to connect to, not the URL's text.
 * Host names are resolved inside the socket's own `lookup`, so the address judged is the address used
 * (a DNS answer that changes between a check and the connect, i.e. rebinding, cannot slip through);
 * IP literals (which skip lookup) are judged before connecting. Refusals are ForbiddenTargetError.
 */
import * as dns from 'node:dns';
import * as net from 'node:net';
import { Agent, buildConnector } from 'undici';
import { decideTarget, parseAllowList } from '../domain/webhooks/address-policy';

/** Raised when the guard refuses a target; never retried. */
export class ForbiddenTargetError extends Error {
  readonly code = 'EFORBIDDENTARGET';
  constructor(message: string) {
    super(message);
    this.name = 'ForbiddenTargetError';
  }
}

/** Finds ForbiddenTargetError in an error or its cause chain (undici may wrap connect errors). */
export function findForbiddenTarget(err: unknown): ForbiddenTargetError | null {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof ForbiddenTargetError || (e as { code?: unknown }).code === 'EFORBIDDENTARGET') return e as ForbiddenTargetError;
  }
  return null;
}

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** Name resolution, replaceable in tests. */
export type Resolver = (hostname: string) => Promise<ResolvedAddress[]>;

const systemResolver: Resolver = (hostname) => dns.promises.lookup(hostname, { all: true, verbatim: true });

export interface GuardOptions {
  /** Hosts or CIDRs allowed even though private (config.webhooks.allowPrivateTargets). */
  allowPrivateTargets: readonly string[];
  connectTimeoutMs: number;
  resolve?: Resolver;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/** An undici dispatcher that refuses non-public targets unless allow-listed. Close it when done. */
export function createGuardedDispatcher(opts: GuardOptions): Agent {
  const allow = parseAllowList(opts.allowPrivateTargets);
  const resolve = opts.resolve ?? systemResolver;

  function lookup(hostname: string, options: dns.LookupOptions, callback: LookupCallback): void {
    resolve(hostname).then(
      (answers) => {
        if (answers.length === 0) return callback(Object.assign(new Error(`No address for ${hostname}`), { code: 'ENOTFOUND' }), '');
        // One refused answer refuses them all: connecting to "the other one" would still let an attacker pick.
        for (const a of answers) {
          const d = decideTarget(hostname, a.address, allow);
          if (!d.allowed) return callback(new ForbiddenTargetError(d.reason) as NodeJS.ErrnoException, '');
        }
        const wanted = options.family === 4 || options.family === 6 ? answers.filter((a) => a.family === options.family) : answers;
        if (wanted.length === 0) return callback(Object.assign(new Error(`No IPv${options.family} address for ${hostname}`), { code: 'ENOTFOUND' }), '');
        if (options.all) callback(null, wanted.map((a) => ({ address: a.address, family: a.family })));
        else callback(null, wanted[0].address, wanted[0].family);
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  }

  const base = buildConnector({ timeout: opts.connectTimeoutMs, lookup: lookup as unknown as net.LookupFunction });
  const connect: buildConnector.connector = (options, callback) => {
    const host = options.hostname.replace(/^\[|\]$/g, '');
    if (net.isIP(host)) {
      const d = decideTarget(host, host, allow);
      if (!d.allowed) return callback(new ForbiddenTargetError(d.reason), null);
    }
    base(options, callback);
  };
  return new Agent({ connect });
}
