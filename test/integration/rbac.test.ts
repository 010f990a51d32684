import { beforeAll, describe, expect, it } from 'vitest';
import { kubernetesCluster } from '../../lib/adapters/kubernetes.js';
import { Forbidden } from '../../lib/errors.js';
import { ensureNamespace, prepareK0rdent, SYSTEM_NAMESPACE } from '../helpers/k0rdent.js';
import { kubeConfigFor, uniqueName } from '../helpers/testbed-clients.js';

// Every integration test runs identity-relay as its own user, bound only by infra/k8s; these show the
// manifests refuse what the functions never need.
describe('shipped RBAC', () => {
  const namespace = uniqueName('other');
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
});
