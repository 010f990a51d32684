import { describe, expect, it } from 'vitest';
import type { DistributionJob } from '../../../lib/domain/audit.js';
import { changeOf } from '../../../lib/use-cases/run-jobs.js';

const job = (tweak: Partial<DistributionJob>): DistributionJob => ({
  resource: 'secrets',
  kind: 'Secret',
  apiVersion: 'v1',
  namespace: 'kcm-system',
  name: 'aws',
  verb: 'patch',
  auditID: 'a',
  ...tweak,
});

describe('changeOf', () => {
  it.each([
    ['a Secret', job({}), { kind: 'secret', namespace: 'kcm-system', name: 'aws' }],
    [
      'a Credential (also a deleted one: the regions are cleaned up)',
      job({
        resource: 'credentials',
        kind: 'Credential',
        apiVersion: 'k0rdent.mirantis.com/v1beta1',
        verb: 'delete',
      }),
      { kind: 'credential', namespace: 'kcm-system', name: 'aws' },
    ],
    [
      'a Region',
      job({
        resource: 'regions',
        kind: 'Region',
        apiVersion: 'k0rdent.mirantis.com/v1beta1',
        namespace: undefined,
      }),
      { kind: 'region', name: 'aws' },
    ],
    [
      'a ProviderInterface',
      job({
        resource: 'providerinterfaces',
        kind: 'ProviderInterface',
        apiVersion: 'k0rdent.mirantis.com/v1beta1',
      }),
      { kind: 'all' },
    ],
    [
      'a cluster-scoped identity',
      job({
        resource: 'awsclusterstaticidentities',
        kind: 'AWSClusterStaticIdentity',
        apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2',
        namespace: undefined,
      }),
      {
        kind: 'object',
        apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2',
        objectKind: 'AWSClusterStaticIdentity',
        name: 'aws',
      },
    ],
  ])('maps %s to its change', (_, input, change) => {
    expect(changeOf(input)).toEqual(change);
  });
});
