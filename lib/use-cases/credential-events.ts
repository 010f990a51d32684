import type { KubeObject } from '../domain/objects.js';
import { describeError } from '../errors.js';
import type { Cluster, ClusterEvent, Log } from '../ports.js';
import type { RegionResult } from './distribute.js';
import type { CredentialClosure } from './graph.js';

const MAX_MESSAGE = 1000;

/**
 * Records `kubectl describe credential` Events for a distribution: Normal `CredentialDistributed` on each
 * Credential of a region where copies were written, Warning `DistributionFailed` where its region
 * failed. A region with nothing to write records nothing (a sweep must not flood Events). Best effort:
 * an Event that cannot be recorded is logged, never fails the distribution.
 */
export async function recordCredentialEvents(
  deps: { mgmt: Cluster; log: Log },
  closures: CredentialClosure[],
  regions: RegionResult[],
): Promise<void> {
  const records: Array<Promise<void>> = [];
  for (const region of regions) {
    const written = region.actions.filter((a) => a.op !== 'noop' && a.op !== 'skip-unmanaged');
    const event: ClusterEvent | undefined = region.error
      ? { type: 'Warning', reason: 'DistributionFailed', message: `region ${region.region}: ${region.error}` }
      : written.length > 0
        ? {
            type: 'Normal',
            reason: 'CredentialDistributed',
            message: `region ${region.region}: ${written.map((a) => `${a.op} ${a.object}`).join(', ')}`,
          }
        : undefined;
    if (!event) continue;
    if (event.message.length > MAX_MESSAGE) event.message = `${event.message.slice(0, MAX_MESSAGE)}…`;
    for (const { credential } of closures.filter((c) => c.credential.region === region.region))
      records.push(record(deps, credential, event));
  }
  await Promise.all(records);
}

async function record(
  deps: { mgmt: Cluster; log: Log },
  credential: { namespace: string; name: string },
  event: ClusterEvent,
): Promise<void> {
  const ref = {
    apiVersion: 'k0rdent.mirantis.com/v1beta1',
    kind: 'Credential',
    namespace: credential.namespace,
    name: credential.name,
  };
  try {
    // The Credential's uid: `kubectl describe` matches Events by it.
    const object: KubeObject = (await deps.mgmt.get(ref)) ?? {
      apiVersion: ref.apiVersion,
      kind: ref.kind,
      metadata: { name: ref.name, namespace: ref.namespace },
    };
    await deps.mgmt.recordEvent(object, event);
  } catch (error) {
    deps.log.warn('event not recorded', {
      credential: `${credential.namespace}/${credential.name}`,
      error: describeError(error),
    });
  }
}
