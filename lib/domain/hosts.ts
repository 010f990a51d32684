/**
 * Where identity-relay may send a request (and with it a bearer token or an EKS token): the rules for a
 * kubeconfig's `server`. Pure: the caller resolves hostnames and passes the addresses in.
 *
 * - Always refused, whatever the configuration: link-local addresses (169.254.0.0/16, fe80::/10, which
 *   hold the instance and container metadata endpoints), the IPv6 metadata address fd00:ec2::254, and
 *   the unspecified addresses (0.0.0.0/8, ::), which reach the local host.
 * - Loopback (127.0.0.0/8, ::1, `localhost`) is refused unless the local testbed's switch is set.
 * - When an allowlist is configured, the server must match it: a hostname, a `*.suffix` wildcard (any
 *   name below the suffix), or a CIDR (an address literal inside it, or a hostname whose every address
 *   is inside one). An empty allowlist allows any host that is not refused above.
 */
import * as z from 'zod';

/** One entry of the allowlist. */
export type HostPattern =
  | { kind: 'name'; name: string }
  | { kind: 'suffix'; suffix: string }
  | { kind: 'cidr'; version: 4 | 6; base: bigint; bits: number };

/** The configured rules for one kind of cluster (regions, or the management cluster). */
export interface HostPolicy {
  /** Empty: any host not always refused. */
  allow: HostPattern[];
  /** Accept loopback servers (env `ALLOW_LOOPBACK_CLUSTERS=true`, for the local testbed only). */
  allowLoopback: boolean;
}

/** What the server's host itself decides: refused now, allowed, or allowed once its addresses are checked. */
export type HostCheck = { refused: string } | { resolve: boolean; byName: boolean };

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$/;

/** An IP address as a number: IPv4-mapped IPv6 (`::ffff:a.b.c.d`) is read as the IPv4 address it is. */
interface Address {
  version: 4 | 6;
  value: bigint;
}

function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(part);
  }
  return value;
}

function parseIPv6(text: string): bigint | undefined {
  let body = text.toLowerCase().replace(/%.*$/, ''); // a zone id names an interface, not an address
  const lastColon = body.lastIndexOf(':');
  if (body.includes('.', lastColon)) {
    // A trailing dotted quad (`::ffff:1.2.3.4`) is the last two groups.
    const v4 = parseIPv4(body.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    body = `${body.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = body.split('::');
  if (halves.length > 2) return undefined;
  const groups = (half: string | undefined) => (half ? half.split(':') : []);
  const head = groups(halves[0]);
  const tail = groups(halves[1]);
  if (![...head, ...tail].every((g) => /^[0-9a-f]{1,4}$/.test(g))) return undefined;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined;
  const words = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail];
  return words.reduce((acc, word) => (acc << 16n) | BigInt(`0x${word}`), 0n);
}

/** Parses an IPv4 or IPv6 address (brackets allowed); undefined when the text is not one. */
export function parseAddress(text: string): Address | undefined {
  const bare = text.startsWith('[') && text.endsWith(']') ? text.slice(1, -1) : text;
  const v4 = parseIPv4(bare);
  if (v4 !== undefined) return { version: 4, value: v4 };
  if (!bare.includes(':')) return undefined;
  const v6 = parseIPv6(bare);
  if (v6 === undefined) return undefined;
  // IPv4-mapped (::ffff:0:0/96) and NAT64 (64:ff9b::/96) addresses reach an IPv4 address: its rules apply.
  if (v6 >> 32n === 0xffffn || v6 >> 32n === 0x64ff9b_0000_0000_0000_0000n)
    return { version: 4, value: v6 & 0xffffffffn };
  return { version: 6, value: v6 };
}

function cidr(text: string): Extract<HostPattern, { kind: 'cidr' }> | undefined {
  const [address, bitsText, extra] = text.split('/');
  if (address === undefined || bitsText === undefined || extra !== undefined || !/^\d{1,3}$/.test(bitsText))
    return undefined;
  const parsed = parseAddress(address);
  const bits = Number(bitsText);
  if (!parsed || (parsed.version === 4 && address.includes(':'))) return undefined;
  const width = parsed.version === 4 ? 32 : 128;
  if (bits > width) return undefined;
  const shift = BigInt(width - bits);
  return { kind: 'cidr', version: parsed.version, base: (parsed.value >> shift) << shift, bits };
}

function inRange(address: Address, range: { version: 4 | 6; base: bigint; bits: number }): boolean {
  if (address.version !== range.version) return false;
  const shift = BigInt((address.version === 4 ? 32 : 128) - range.bits);
  return address.value >> shift === range.base >> shift;
}

const range = (text: string) => cidr(text) as Extract<HostPattern, { kind: 'cidr' }>;
const ALWAYS_REFUSED = [
  { range: range('169.254.169.254/32'), what: 'the instance metadata address' },
  { range: range('fd00:ec2::254/128'), what: 'the instance metadata address' },
  { range: range('169.254.0.0/16'), what: 'a link-local address' },
  { range: range('fe80::/10'), what: 'a link-local address' },
  { range: range('0.0.0.0/8'), what: 'an unspecified address (the local host)' },
  { range: range('::/128'), what: 'an unspecified address (the local host)' },
];
const LOOPBACK = [range('127.0.0.0/8'), range('::1/128')];

/** Parses one allowlist entry: `host.example.com`, `*.example.com` or a CIDR; throws Error with the reason. */
export function parseHostPattern(text: string): HostPattern {
  const entry = text.trim().toLowerCase();
  if (entry.includes('://')) throw new Error(`"${entry.slice(0, 60)}" is a URL: give its hostname only`);
  if (entry.includes('/')) {
    const parsed = cidr(entry);
    if (!parsed) throw new Error(`"${entry.slice(0, 60)}" is not a CIDR such as 10.0.0.0/16`);
    return parsed;
  }
  const address = parseAddress(entry);
  if (address)
    return {
      kind: 'cidr',
      version: address.version,
      base: address.value,
      bits: address.version === 4 ? 32 : 128,
    };
  if (entry.startsWith('*.') && HOSTNAME.test(entry.slice(2)))
    return { kind: 'suffix', suffix: entry.slice(2) };
  if (HOSTNAME.test(entry)) return { kind: 'name', name: entry };
  throw new Error(`"${entry.slice(0, 60)}" is not a hostname, *.suffix or CIDR`);
}

/** The zod schema of one allowlist entry (configuration and environment alike). */
export const hostPatternSchema = z.string().superRefine((text, ctx) => {
  try {
    parseHostPattern(text);
  } catch (error) {
    ctx.addIssue({ code: 'custom', message: (error as Error).message, input: text });
  }
});

/** The reason `address` is refused, or undefined when it may be reached. */
export function addressRefusal(policy: HostPolicy, address: string): string | undefined {
  const parsed = parseAddress(address);
  if (!parsed) return `${address} is not an IP address`;
  for (const rule of ALWAYS_REFUSED) if (inRange(parsed, rule.range)) return `${address} is ${rule.what}`;
  if (!policy.allowLoopback && LOOPBACK.some((r) => inRange(parsed, r)))
    return `${address} is a loopback address (allowed only with ALLOW_LOOPBACK_CLUSTERS=true, for the local testbed)`;
  return undefined;
}

function cidrs(policy: HostPolicy): Array<Extract<HostPattern, { kind: 'cidr' }>> {
  return policy.allow.filter((p): p is Extract<HostPattern, { kind: 'cidr' }> => p.kind === 'cidr');
}

/** Decides what a server's host (as `URL.hostname` gives it) allows before any address is resolved. */
export function checkHost(policy: HostPolicy, hostname: string): HostCheck {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  const address = parseAddress(host);
  if (address) {
    const refusal = addressRefusal(policy, host);
    if (refusal) return { refused: refusal };
    if (policy.allow.length > 0 && !cidrs(policy).some((r) => inRange(address, r)))
      return { refused: `${host} is not in the allowed cluster hosts` };
    return { resolve: false, byName: false };
  }
  if (host === 'localhost' || host.endsWith('.localhost')) {
    if (!policy.allowLoopback)
      return {
        refused: `${host} is a loopback name (allowed only with ALLOW_LOOPBACK_CLUSTERS=true, for the local testbed)`,
      };
  }
  const byName = policy.allow.some(
    (p) => (p.kind === 'name' && p.name === host) || (p.kind === 'suffix' && host.endsWith(`.${p.suffix}`)),
  );
  if (policy.allow.length > 0 && !byName && cidrs(policy).length === 0)
    return { refused: `${host} is not in the allowed cluster hosts` };
  return { resolve: true, byName };
}

/**
 * Decides a hostname from its resolved addresses: refused when any is refused (a name that points at
 * the metadata endpoint is the metadata endpoint), or, when the name matched no name pattern, when any
 * address lies outside the allowed CIDRs.
 */
export function resolvedRefusal(
  policy: HostPolicy,
  hostname: string,
  byName: boolean,
  addresses: string[],
): string | undefined {
  if (addresses.length === 0) return `${hostname} resolves to no address`;
  for (const address of addresses) {
    const refusal = addressRefusal(policy, address);
    if (refusal) return `${hostname} resolves to ${refusal}`;
  }
  if (policy.allow.length === 0 || byName) return undefined;
  const outside = addresses.find((a) => {
    const parsed = parseAddress(a);
    return !parsed || !cidrs(policy).some((r) => inRange(parsed, r));
  });
  return outside ? `${hostname} resolves to ${outside}, outside the allowed cluster hosts` : undefined;
}
