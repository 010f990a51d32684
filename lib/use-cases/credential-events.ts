import { targetName } from '../domain/graph.js';
import type { KubeObject } from '../domain/objects.js';
import { isWrite } from '../domain/regional.js';
import { describeError } from '../errors.js';
import type { Cluster, ClusterEvent, Log, MetricsSink } from '../ports.js';
import { copyKey } from './closure.js';
import type { RegionResult } from './converge-region.js';
import type { CredentialClosure } from './graph.js';

const MAX_MESSAGE = 1000;

/**
 * Records `kubectl describe credential` Events for a distribution: Normal `CredentialDistributed` on each
 * Credential whose own copies were written (naming them), Warning `DistributionFailed` where its target
 * failed. A region with nothing to write records nothing (a sweep must not flood Events). A Credential
 * of a converged region that gets nothing (refused by the graph rules, or its objects unreadable) gets a
 * Warning `CredentialRefused` or `IdentityUnavailable` with the reason and the fix, and counts in the
 * `CredentialProblems` metric, each time it is passed in for a converged region. Best effort: an Event that cannot be
 * recorded is logged, never fails the distribution.
 */
export async function recordCredentialEvents(
  deps: { mgmt: Cluster; log: Log; metrics?: MetricsSink },
  closures: CredentialClosure[],
  regions: RegionResult[],
): Promise<void> {
  const records: Array<Promise<void>> = [];
  const converged = new Set(regions.map((r) => r.region));
  for (const closure of closures) {
    if (closure.problems.length === 0 || !converged.has(closure.target)) continue;
    const reason = problemReason(closure);
    deps.metrics?.count('CredentialProblems', 1, { Reason: reason });
    deps.log.warn('credential not served', {
      credential: `${closure.credential.namespace}/${closure.credential.name}`,
      reason,
      problems: closure.problems,
    });
    const message = `nothing copied to ${targetName(closure.target)}: ${closure.problems.join('; ')}`;
    records.push(record(deps, closure.credential, { type: 'Warning', reason, message: clip(message) }));
  }
  for (const region of regions) {
    const where = targetName(region.region);
    const served = closures.filter((c) => c.target === region.region && c.problems.length === 0);
    for (const closure of served) {
      // Only where it is true: a Credential hears of the writes to its own objects, not its neighbours'.
      const own = new Set(closure.items.map(copyKey));
      const written = region.actions.filter((a) => isWrite(a.op) && own.has(a.key));
      const event: ClusterEvent | undefined = region.error
        ? { type: 'Warning', reason: 'DistributionFailed', message: `${where}: ${region.error}` }
        : written.length > 0
          ? {
              type: 'Normal',
              reason: 'CredentialDistributed',
              message: `${where}: ${written.map((a) => `${a.op} ${a.object}`).join(', ')}`,
            }
          : undefined;
      if (event) records.push(record(deps, closure.credential, { ...event, message: clip(event.message) }));
    }
  }
  await Promise.all(records);
}

/** The Event reason (and metric dimension) of a Credential that gets nothing. */
export function problemReason(closure: CredentialClosure): 'CredentialRefused' | 'IdentityUnavailable' {
  return closure.refused ? 'CredentialRefused' : 'IdentityUnavailable';
}

function clip(message: string): string {
  return message.length > MAX_MESSAGE ? `${message.slice(0, MAX_MESSAGE)}…` : message;
}

async function record(
  deps: { mgmt: Cluster; log: Log },
  credential: { namespace: string; name: string; uid?: string },
  event: ClusterEvent,
): Promise<void> {
  const ref = {
    apiVersion: 'k0rdent.mirantis.com/v1beta1',
    kind: 'Credential',
    namespace: credential.namespace,
    name: credential.name,
  };
  try {
    // The Credential's uid, as the graph listed it: `kubectl describe` matches Events by it.
    const object: KubeObject = {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: {
        name: ref.name,
        namespace: ref.namespace,
        ...(credential.uid ? { uid: credential.uid } : {}),
      },
    };
    await deps.mgmt.recordEvent(object, event);
  } catch (error) {
    deps.log.warn('event not recorded', {
      credential: `${credential.namespace}/${credential.name}`,
      error: describeError(error),
    });
  }
}
