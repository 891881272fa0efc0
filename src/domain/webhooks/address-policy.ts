/**
 * Which network addresses a webhook may reach. Only globally routable unicast addresses are allowed;
 * loopback, private, link-local (incl. the 169.254.169.254 metadata service), unique-local, CGNAT,
 * unspecified, multicast, reserved and translation ranges are refused unless the operator allow-lists
 * them (WEBHOOK_ALLOW_PRIVATE_TARGETS: CIDRs, addresses or host names).
 */
import ipaddr from 'ipaddr.js';

export interface AddressClassification {
  /** Canonical form; IPv4-mapped/compatible IPv6 is reported as the IPv4 it reaches. */
  address: string;
  /** ipaddr.js range name ('unicast' for public), or 'ipv4Compatible'. */
  range: string;
  public: boolean;
}

/** Classifies an IP literal in any form ipaddr.js reads (incl. 2130706433, 0177.0.0.1, ::ffff:7f00:1); null if not an IP. */
export function classifyAddress(ip: string): AddressClassification | null {
  const bare = ip.startsWith('[') && ip.endsWith(']') ? ip.slice(1, -1) : ip;
  const unzoned = bare.replace(/%.*$/, '');
  if (!ipaddr.isValid(unzoned)) return null;
  // process() turns ::ffff:a.b.c.d into a.b.c.d, so a mapped loopback is judged as loopback.
  let addr = ipaddr.process(unzoned);
  if (addr.kind() === 'ipv6') {
    const parts = (addr as ipaddr.IPv6).parts;
    // Deprecated IPv4-compatible form ::a.b.c.d (not :: and not ::1): judge by the IPv4 inside, and refuse anyway.
    if (parts.slice(0, 6).every((p) => p === 0) && !(parts[6] === 0 && parts[7] <= 1)) {
      addr = ipaddr.IPv4.parse(`${parts[6] >> 8}.${parts[6] & 255}.${parts[7] >> 8}.${parts[7] & 255}`);
      return { address: addr.toString(), range: 'ipv4Compatible', public: false };
    }
  }
  const range = addr.range();
  return { address: addr.toString(), range, public: range === 'unicast' };
}

/** A parsed allow list. */
export interface AllowList {
  cidrs: [ipaddr.IPv4 | ipaddr.IPv6, number][];
  hosts: Set<string>;
}

/** Parses WEBHOOK_ALLOW_PRIVATE_TARGETS entries; throws on a malformed CIDR. */
export function parseAllowList(entries: readonly string[]): AllowList {
  const list: AllowList = { cidrs: [], hosts: new Set() };
  for (const raw of entries) {
    const e = raw.trim();
    if (!e) continue;
    if (e.includes('/')) {
      if (!ipaddr.isValidCIDR(e)) throw new Error(`Not a CIDR: '${e}'`);
      const [a, bits] = ipaddr.parseCIDR(e);
      list.cidrs.push([a, bits]);
    } else if (ipaddr.isValid(e.replace(/^\[|\]$/g, ''))) {
      const a = ipaddr.process(e.replace(/^\[|\]$/g, ''));
      list.cidrs.push([a, a.kind() === 'ipv4' ? 32 : 128]);
    } else {
      list.hosts.add(e.toLowerCase().replace(/\.$/, ''));
    }
  }
  return list;
}

function inCidrs(address: string, list: AllowList): boolean {
  const a = ipaddr.process(address);
  return list.cidrs.some(([net, bits]) => net.kind() === a.kind() && a.match(net, bits));
}

export type TargetDecision = { allowed: true } | { allowed: false; reason: string };

/**
 * Decides whether connecting to `address` (resolved for `hostname`) is allowed. An allow-listed host name
 * admits whatever it resolves to; otherwise the address must be public or inside an allow-listed CIDR.
 */
export function decideTarget(hostname: string, address: string, allow: AllowList): TargetDecision {
  const c = classifyAddress(address);
  if (!c) return { allowed: false, reason: `'${address}' is not an IP address` };
  if (allow.hosts.has(hostname.toLowerCase().replace(/\.$/, ''))) return { allowed: true };
  if (c.public) return { allowed: true };
  if (inCidrs(c.address, allow)) return { allowed: true };
  return { allowed: false, reason: `${hostname} resolves to ${c.address} (${c.range}), which webhooks may not reach` };
}
