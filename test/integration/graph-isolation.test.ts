import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/rotation/handler.js';
import type { KubeObject } from '../../lib/domain/objects.js';
import { credentialLabelKey } from '../../lib/domain/regional.js';
import { distribute } from '../../lib/use-cases/distribute.js';
import { leakedSecrets } from '../helpers/capture.js';
import {
  applyAll,
  awsKeys,
  awsStaticIdentity,
  createRegion,
  credential,
  deleteCreatedRegions,
  ensureNamespace,
  labelUpdated,
  prepareK0rdent,
  rotateSource,
  SYSTEM_NAMESPACE,
  sqsBatch,
  testRuntime,
} from '../helpers/k0rdent.js';
import { lambdaContext } from '../helpers/lambda.js';
import { kubeClients, uniqueName } from '../helpers/testbed-clients.js';

// One management object that cannot be read as its Credential says fails that Credential alone, named
// for what it is, and never the run: the healthy Credential beside it still gets its copies.

const { runtime, deps, log, metrics } = testRuntime();
const handler = createHandler(runtime);
const CAPI = 'infrastructure.cluster.x-k8s.io';
const PI = uniqueName('pi-unserved');

/** Warning Events identity-relay recorded on a Credential. */
async function warnings(
  namespace: string,
  name: string,
): Promise<Array<{ reason: string; message: string }>> {
  const events = await kubeClients('mgmt').core.listNamespacedEvent({
    namespace,
    fieldSelector: `involvedObject.kind=Credential,involvedObject.name=${name}`,
  });
  return events.items
    .filter((e) => e.type === 'Warning')
    .map((e) => ({ reason: e.reason ?? '', message: e.message ?? '' }));
}

/** Objects in a regional cluster that carry a Credential's label (what was copied for it). */
async function copiesFor(cluster: string, namespace: string, name: string): Promise<string[]> {
  const labelSelector = `${credentialLabelKey(namespace, name)}=true`;
  const { objects } = kubeClients(cluster);
  const kinds = [
    ['v1', 'Secret'],
    [`${CAPI}/v1beta2`, 'AWSClusterStaticIdentity'],
    [`${CAPI}/v1beta1`, 'AzureClusterIdentity'],
  ] as const;
  const found: string[] = [];
  for (const [apiVersion, kind] of kinds) {
    const list = await objects.list<KubeObject>(
      apiVersion,
      kind,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      labelSelector,
    );
    found.push(...list.items.map((o) => `${kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`));
  }
  return found;
}

describe('graph isolation: one unreadable Credential beside a healthy one', () => {
  const region = uniqueName('ri');
  const team = uniqueName('team');
  // Each bad Credential and the word its problem must carry.
  const bad = [
    {
      name: 'unserved-kind',
      ref: { apiVersion: `${CAPI}/v1beta1`, kind: 'NoSuchClusterIdentity', name: 'x' },
      says: `NotServed: cluster mgmt does not serve ${CAPI}/v1beta1 NoSuchClusterIdentity`,
    },
    {
      name: 'unserved-group',
      ref: { apiVersion: 'identities.example.invalid/v1', kind: 'ExampleIdentity', name: 'x' },
      says: 'NotServed: cluster mgmt does not serve identities.example.invalid/v1 ExampleIdentity',
    },
    {
      name: 'unlisted-version',
      ref: { apiVersion: `${CAPI}/v1beta9`, kind: 'AWSClusterStaticIdentity', name: 'x' },
      says: `NotListed: ${CAPI}/v1beta9 AWSClusterStaticIdentity is not listed by any ProviderInterface`,
    },
    {
      name: 'typo',
      ref: { apiVersion: `${CAPI}/v1beta2`, kind: 'AWSClusterStaticIdentity', name: 'aws-typo' },
      says: 'NotFound: AWSClusterStaticIdentity aws-typo not found in the management cluster',
    },
  ];

  beforeAll(async () => {
    await prepareK0rdent();
    await createRegion(region, 'region-a');
    await ensureNamespace('mgmt', team);
    // A provider whose ProviderInterface is installed but whose CRDs are not: its kinds are not served.
    await applyAll('mgmt', [
      {
        apiVersion: 'k0rdent.mirantis.com/v1beta1',
        kind: 'ProviderInterface',
        metadata: { name: PI },
        spec: {
          clusterIdentities: [
            { group: CAPI, version: 'v1beta1', kind: 'NoSuchClusterIdentity' },
            { group: 'identities.example.invalid', version: 'v1', kind: 'ExampleIdentity' },
          ],
        },
      },
      ...bad.map((b) => credential(team, b.name, region, b.ref)),
    ]);
  });

  afterAll(async () => {
    await kubeClients('mgmt')
      .objects.delete({
        apiVersion: 'k0rdent.mirantis.com/v1beta1',
        kind: 'ProviderInterface',
        metadata: { name: PI },
      })
      .catch(() => undefined);
    await deleteCreatedRegions();
  });

  it('copies the healthy Credential, names each bad one for what it is, and fails nothing else', async () => {
    // Prepare
    const { name, namespaces, source } = await awsStaticIdentity([region], awsKeys('AKIAISOLATION0000001'));
    const version = await rotateSource(source.arn, awsKeys('AKIAISOLATION0000002'));

    // Act
    const response = await handler(sqsBatch([labelUpdated(source.arn, version)]), lambdaContext());
    const result = await distribute({ ...deps, metrics }, [{ kind: 'region', name: region }]);

    // Assess: the healthy Credential's copies landed, nothing failed the run.
    expect(response).toEqual({ batchItemFailures: [] });
    expect(result.regions).toEqual([expect.objectContaining({ region })]);
    expect(result.regions[0]?.error).toBeUndefined();
    const copy = await kubeClients('region-a').core.readNamespacedSecret({
      name,
      namespace: SYSTEM_NAMESPACE,
    });
    expect(Buffer.from(copy.data?.AccessKeyID ?? '', 'base64').toString()).toBe('AKIAISOLATION0000002');
    expect(await copiesFor('region-a', namespaces[0] ?? '', 'aws')).toHaveLength(2);
    for (const b of bad) {
      // Named for what it is, never "unreachable"; a Warning Event on the Credential; nothing copied.
      const problem = result.problems.find((p) => p.startsWith(`Credential ${team}/${b.name}: `));
      expect(problem).toContain(b.says);
      expect(problem).not.toMatch(/unreachable/i);
      const events = await warnings(team, b.name);
      expect(events.map((e) => e.reason)).toContain('IdentityUnavailable');
      expect(events.find((e) => e.reason === 'IdentityUnavailable')?.message).toContain(b.says);
      expect(await copiesFor('region-a', team, b.name)).toEqual([]);
    }
    const counted = metrics.recorded.filter(
      (m) => m.name === 'CredentialProblems' && m.dimensions?.Reason === 'IdentityUnavailable',
    );
    expect(counted.length).toBeGreaterThanOrEqual(bad.length);
  });

  it('never prints a secret value in any log line', () => {
    expect(log.lines.length).toBeGreaterThan(0);
    expect(leakedSecrets(log.lines)).toEqual([]);
  });
});
