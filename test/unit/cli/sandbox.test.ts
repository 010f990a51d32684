import { describe, expect, it } from 'vitest';
import { sandboxCluster } from '../../../lib/cli/sandbox.js';
import type { KubeObject } from '../../../lib/domain/objects.js';
import type { Cluster } from '../../../lib/ports.js';

const secret: KubeObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 's', namespace: 'ns', labels: { keep: 'yes' }, annotations: { a: '1' } },
  data: { other: 'b3RoZXI=', key: 'b2xk' },
};

/** A Cluster that holds one Secret and fails the test on any write. */
function readOnlyCluster(): Cluster {
  const write = () => {
    throw new Error('the sandbox let a write through');
  };
  return {
    name: 'mgmt',
    get: async (ref) => (ref.name === 's' ? structuredClone(secret) : undefined),
    list: async () => [structuredClone(secret)],
    apply: write,
    removeLabels: write,
    annotate: write,
    delete: write,
    isNamespaced: async () => true,
    recordEvent: write,
  };
}

describe('sandboxCluster', () => {
  it('keeps every write in memory and reads an applied object back, merged as server-side apply would', async () => {
    // Prepare
    const cluster = sandboxCluster(readOnlyCluster());
    const ref = { apiVersion: 'v1', kind: 'Secret', namespace: 'ns', name: 's' };

    // Act
    await cluster.apply({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'ns', annotations: { b: '2' } },
      data: { key: 'bmV3' },
    });
    await cluster.removeLabels(ref, ['keep']);
    await cluster.delete(ref);
    await cluster.recordEvent(secret, { type: 'Normal', reason: 'CredentialRotated', message: 'm' });

    // Assess
    const read = await cluster.get(ref);
    expect(read?.data).toEqual({ other: 'b3RoZXI=', key: 'bmV3' });
    expect(read?.metadata).toMatchObject({ labels: { keep: 'yes' }, annotations: { a: '1', b: '2' } });
    expect((await cluster.list('v1', 'Secret'))[0]?.data).toEqual(read?.data);
  });
});
