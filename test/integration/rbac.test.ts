import { AuthorizationV1Api, KubernetesObjectApi } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { kubeconfigConnector, kubernetesCluster } from '../../lib/adapters/kubernetes.js';
import { readRegion } from '../../lib/domain/graph.js';
import { Forbidden } from '../../lib/errors.js';
import type { Cluster } from '../../lib/ports.js';
import { connectRegion } from '../../lib/use-cases/distribute.js';
import {
  applyAll,
  ensureNamespace,
  prepareK0rdent,
  SYSTEM_NAMESPACE,
  TESTBED_ACCESS,
} from '../helpers/k0rdent.js';
import { kubeConfigFor, kubeconfigText, uniqueName } from '../helpers/testbed-clients.js';
import { grantRegionKubeconfigs } from '../testbed/rbac.js';

// Every integration test runs identity-relay as its own user, bound only by infra/k8s; these show the
// manifests refuse what the functions never need.
const other = uniqueName('other');

describe('shipped RBAC', () => {
  const namespace = other;
  beforeAll(async () => {
    await prepareK0rdent();
    for (const cluster of ['mgmt', 'region-a']) await ensureNamespace(cluster, namespace);
  });

  const secret = (ns: string) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: uniqueName('probe'), namespace: ns },
    data: { key: Buffer.from('probe').toString('base64') },
  });

  it.each([
    ['mgmt', 'a Secret in a namespace it does not watch', () => secret(namespace)],
    [
      'mgmt',
      'a new Secret in the system namespace (it only patches bound ones)',
      () => secret(SYSTEM_NAMESPACE),
    ],
    [
      'mgmt',
      'a Credential',
      () => ({
        apiVersion: 'k0rdent.mirantis.com/v1beta1',
        kind: 'Credential',
        metadata: { name: uniqueName('c'), namespace },
        spec: { identityRef: { apiVersion: 'v1', kind: 'Secret', name: 'x', namespace } },
      }),
    ],
    ['region-a', 'a Secret outside the system namespace', () => secret(namespace)],
    [
      'region-a',
      'a ConfigMap in the system namespace',
      () => ({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: uniqueName('probe'), namespace: SYSTEM_NAMESPACE },
        data: { key: 'probe' },
      }),
    ],
  ])('refuses identity-relay a write in %s: %s', async (cluster, _what, object) => {
    // Prepare
    const relay = kubernetesCluster(cluster, kubeConfigFor(cluster, 'relay'));

    // Act
    const error = await relay.apply(object()).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(Forbidden);
    expect((error as Forbidden).message).toContain('HTTP 403');
  });

  it('lets identity-relay write a copy into the system namespace of a region', async () => {
    // Prepare
    const relay = kubernetesCluster('region-a', kubeConfigFor('region-a', 'relay'));
    const object = {
      ...secret(SYSTEM_NAMESPACE),
      metadata: { ...secret(SYSTEM_NAMESPACE).metadata, labels: { 'k0rdent.mirantis.com/managed': 'true' } },
    };

    // Act
    const applied = await relay.apply(object);

    // Assess
    expect(applied.metadata.uid).toBeDefined();
    await relay.delete({
      apiVersion: 'v1',
      kind: 'Secret',
      name: object.metadata.name,
      namespace: SYSTEM_NAMESPACE,
    });
    expect(
      await relay.get({
        apiVersion: 'v1',
        kind: 'Secret',
        name: object.metadata.name,
        namespace: SYSTEM_NAMESPACE,
      }),
    ).toBeUndefined();
  });

  it('lets identity-relay reach a Region backed by a ClusterDeployment through the kubeconfig Role alone', async () => {
    // Prepare: the ClusterDeployment's namespace holds the kubeconfig Secret, granted by name only.
    const namespace = uniqueName('regions');
    const deployment = uniqueName('cd');
    await ensureNamespace('mgmt', namespace);
    await applyAll('mgmt', [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `${deployment}-kubeconfig`, namespace },
        data: { value: Buffer.from(kubeconfigText('region-a', 'relay')).toString('base64') },
      },
    ]);
    await grantRegionKubeconfigs(kubeconfigText('mgmt'), namespace, [`${deployment}-kubeconfig`]);
    const region = readRegion(
      {
        apiVersion: 'k0rdent.mirantis.com/v1beta1',
        kind: 'Region',
        metadata: { name: 'eu' },
        spec: { clusterDeployment: { name: deployment, namespace } },
      },
      SYSTEM_NAMESPACE,
    );
    if (!region) throw new Error('the Region fixture does not read');
    const mgmt = kubernetesCluster('mgmt', kubeConfigFor('mgmt', 'relay'));

    // Act
    const cluster = await connectRegion({ mgmt, connector: kubeconfigConnector(TESTBED_ACCESS) }, region);
    const copies = await cluster.list('v1', 'Secret', { namespace: SYSTEM_NAMESPACE });

    // Assess: connected as identity-relay's regional user, but the namespace itself stays closed.
    expect(Array.isArray(copies)).toBe(true);
    expect(await mgmt.list('v1', 'Secret', { namespace }).catch((e: unknown) => e)).toBeInstanceOf(Forbidden);
  });

  it.each([
    [
      'mgmt',
      'list ClusterDeployments',
      (c: Cluster) => c.list('k0rdent.mirantis.com/v1beta1', 'ClusterDeployment'),
    ],
    [
      'mgmt',
      'list Secrets of a namespace it does not watch',
      (c: Cluster) => c.list('v1', 'Secret', { namespace: other }),
    ],
    [
      'region-a',
      'list Secrets outside the system namespace',
      (c: Cluster) => c.list('v1', 'Secret', { namespace: other }),
    ],
  ])('refuses identity-relay a read in %s: %s', async (cluster, _what, read) => {
    // Prepare
    const relay = kubernetesCluster(cluster, kubeConfigFor(cluster, 'relay'));

    // Act
    const error = await read(relay).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(Forbidden);
  });

  it('refuses identity-relay a full replace (update) of its own copy in a region', async () => {
    // Prepare: a copy identity-relay wrote itself, by server-side apply.
    const relay = kubernetesCluster('region-a', kubeConfigFor('region-a', 'relay'));
    const copy = {
      ...secret(SYSTEM_NAMESPACE),
      metadata: { ...secret(SYSTEM_NAMESPACE).metadata, labels: { 'k0rdent.mirantis.com/managed': 'true' } },
    };
    const applied = await relay.apply(copy);

    // Act
    const error = await KubernetesObjectApi.makeApiClient(kubeConfigFor('region-a', 'relay'))
      .replace({ ...copy, metadata: { ...copy.metadata, resourceVersion: applied.metadata.resourceVersion } })
      .catch((e: { code?: number }) => e);

    // Assess
    expect((error as { code?: number }).code).toBe(403);
  });

  it.each([
    ['watch Credentials', { group: 'k0rdent.mirantis.com', resource: 'credentials', verb: 'watch' }],
    [
      'get ClusterDeployments',
      { group: 'k0rdent.mirantis.com', resource: 'clusterdeployments', verb: 'get' },
    ],
    ['patch an Event', { group: '', resource: 'events', verb: 'patch', namespace: SYSTEM_NAMESPACE }],
    [
      'create an events.k8s.io Event',
      { group: 'events.k8s.io', resource: 'events', verb: 'create', namespace: SYSTEM_NAMESPACE },
    ],
  ])('no longer grants identity-relay in mgmt: %s', async (_what, attributes) => {
    // Prepare: the apiserver's own answer for identity-relay's user and group.
    const reviews = kubeConfigFor('mgmt').makeApiClient(AuthorizationV1Api);
    const review = (resourceAttributes: Record<string, string>) =>
      reviews.createSubjectAccessReview({
        body: { spec: { user: 'identity-relay', groups: ['identity-relay'], resourceAttributes } },
      });

    // Act
    const refused = await review(attributes);
    const granted = await review({
      group: '',
      resource: 'events',
      verb: 'create',
      namespace: SYSTEM_NAMESPACE,
    });

    // Assess
    expect(refused.status?.allowed).toBe(false);
    expect(granted.status?.allowed).toBe(true);
  });
});
