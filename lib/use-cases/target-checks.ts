import {
  findEntry,
  type IdentityEntry,
  identityEntries,
  MANAGEMENT_TARGET,
  targetName,
} from '../domain/graph.js';
import { apiVersionOf } from '../domain/objects.js';
import { describeError, NotServed } from '../errors.js';
import type { Cluster } from '../ports.js';
import { type CredentialClosure, unitError } from './closure.js';

// kcm looks a Credential's identity up in the target: a ProviderInterface there must list its kind and
// version, and the target must serve every kind to be copied. kcm copies nothing and says nothing when
// either is missing; identity-relay copies nothing too, and says why, on that Credential alone.

/**
 * How long a target's ProviderInterfaces are kept: they change when a provider is installed, rarely,
 * and kcm itself reads them only per reconcile; a rotation must not wait for the list each time.
 */
export const PROVIDER_INTERFACES_TTL_MS = 60_000;
const kept = new WeakMap<Cluster, { at: number; entries: Promise<IdentityEntry[]> }>();

/**
 * A cluster's ProviderInterface entries, kept per client for PROVIDER_INTERFACES_TTL_MS. In a target
 * without kcm nothing is listed; a management cluster without it is an error (`absentIsEmpty` false).
 */
export function providerEntries(cluster: Cluster, absentIsEmpty = true): Promise<IdentityEntry[]> {
  const hit = kept.get(cluster);
  if (hit && Date.now() - hit.at < PROVIDER_INTERFACES_TTL_MS) return hit.entries;
  const entries = cluster
    .list(apiVersionOf('k0rdent.mirantis.com', 'v1beta1'), 'ProviderInterface')
    .catch((error: unknown) => {
      if (absentIsEmpty && error instanceof NotServed) return [];
      throw error;
    })
    .then(identityEntries);
  kept.set(cluster, { at: Date.now(), entries });
  entries.catch(() => kept.delete(cluster)); // a failed read is not kept
  return entries;
}

/**
 * Adds to each Credential of `target` the problems of the target itself: its identity listed by no
 * ProviderInterface there, or a kind of its objects not served there. A transient failure of the
 * target stops the whole target (it is retried); anything else is the Credential's own problem.
 */
export async function checkTarget(
  cluster: Cluster,
  target: string,
  closures: CredentialClosure[],
): Promise<void> {
  // The management cluster is where the identity was read: its ProviderInterfaces and kinds were checked then.
  if (target === MANAGEMENT_TARGET) return;
  const healthy = closures.filter((c) => c.problems.length === 0 && c.items.length > 0);
  if (healthy.length === 0) return;
  const where = targetName(target);
  const entries = await providerEntries(cluster);
  const served = new Map<string, Promise<string | undefined>>();
  const servedProblem = (apiVersion: string, kind: string) => {
    const key = `${apiVersion}/${kind}`;
    let answer = served.get(key);
    if (!answer) {
      answer = cluster.isNamespaced(apiVersion, kind).then(
        () => undefined,
        (error: unknown) =>
          error instanceof NotServed
            ? `NotServed: ${where} does not serve ${apiVersion} ${kind}: install the provider's CRDs there`
            : describeError(unitError(error)),
      );
      served.set(key, answer);
    }
    return answer;
  };
  await Promise.all(
    healthy.map(async (closure) => {
      const identity = closure.items[0]?.object;
      if (!identity) return;
      const name = `${closure.credential.namespace}/${closure.credential.name}`;
      if (!findEntry(entries, identity.apiVersion, identity.kind)) {
        closure.problems.push(
          `NotListed: ${identity.apiVersion} ${identity.kind} (the identity of Credential ${name}) is not listed by any ProviderInterface in ${where}: install the provider's ProviderInterface there`,
        );
        return;
      }
      const kinds = new Map(
        closure.items.map(({ object }) => [`${object.apiVersion}/${object.kind}`, object]),
      );
      const problems = await Promise.all(
        [...kinds.values()].map((object) => servedProblem(object.apiVersion, object.kind)),
      );
      for (const problem of new Set(problems)) if (problem) closure.problems.push(problem);
    }),
  );
}
