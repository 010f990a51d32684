import { lookup } from 'node:dns/promises';
import { checkHost, type HostPolicy, resolvedRefusal } from '../domain/hosts.js';
import { ClusterUnreachable, Refused } from '../errors.js';

/** How long a hostname's checked addresses are trusted before they are resolved and checked again. */
export const RECHECK_MS = 30_000;

/**
 * Refuses a server host outside the host policy now (nothing is sent to it); for a hostname, returns the
 * check of its addresses that runs before every client is built, so a name that resolves to a refused
 * address (DNS rebinding) is refused too.
 */
export function hostGuard(
  cluster: string,
  hostname: string,
  hosts: HostPolicy | undefined,
  lookupHost: ((hostname: string) => Promise<string[]>) | undefined,
): (() => Promise<void>) | undefined {
  const policy = hosts ?? { allow: [], allowLoopback: false };
  const host = hostname.replace(/^\[|\]$/g, '');
  const check = checkHost(policy, host);
  const refuse = (reason: string) => new Refused(`cluster ${cluster}: server ${reason}; no request is sent`);
  if ('refused' in check) throw refuse(check.refused);
  if (!check.resolve) return undefined;
  const resolve = lookupHost ?? lookupAll;
  let checkedAt = Number.NEGATIVE_INFINITY;
  return async () => {
    if (Date.now() - checkedAt < RECHECK_MS) return;
    let addresses: string[];
    try {
      addresses = await resolve(host);
    } catch (error) {
      const code = (error as { code?: string }).code ?? 'error';
      throw new ClusterUnreachable(cluster, `server ${host} does not resolve (${code})`, error);
    }
    const refusal = resolvedRefusal(policy, host, check.byName, addresses);
    if (refusal) throw refuse(refusal);
    checkedAt = Date.now();
  };
}

async function lookupAll(hostname: string): Promise<string[]> {
  return (await lookup(hostname, { all: true, verbatim: true })).map((entry) => entry.address);
}
