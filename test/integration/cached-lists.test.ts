import { type RequestOptions, request } from 'node:https';
import { beforeAll, describe, expect, it } from 'vitest';
import { kubernetesCluster } from '../../lib/adapters/kubernetes.js';
import { LABELS } from '../../lib/domain/objects.js';
import { applyAll, prepareK0rdent, SYSTEM_NAMESPACE } from '../helpers/k0rdent.js';
import { kubeConfigFor, uniqueName } from '../helpers/testbed-clients.js';

// A rotation lists from the apiserver's watch cache (Cluster.list › cached); every other run lists
// consistently. The apiserver's own counter of consistent reads tells the two apart.

/** The management apiserver's count of consistent reads served for Secrets (from its /metrics). */
async function consistentReads(): Promise<number> {
  const kc = kubeConfigFor('mgmt');
  const options: RequestOptions = {};
  await kc.applyToHTTPSOptions(options);
  const url = new URL(`${kc.getCurrentCluster()?.server}/metrics`);
  const text = await new Promise<string>((resolve, reject) => {
    const call = request(
      { ...options, hostname: url.hostname, port: url.port, path: url.pathname },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
        res.on('error', reject);
      },
    );
    call.on('error', reject);
    call.end();
  });
  let total = 0;
  for (const line of text.split('\n'))
    if (
      line.startsWith('apiserver_watch_cache_consistent_read_total{') &&
      line.includes('resource="secrets"')
    )
      total += Number(line.split(' ').at(-1));
  return total;
}

describe('cached lists', () => {
  beforeAll(async () => {
    await prepareK0rdent();
    await applyAll('mgmt', [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: uniqueName('cached'),
          namespace: SYSTEM_NAMESPACE,
          labels: { [LABELS.bound]: 'true' },
        },
        stringData: { note: 'listed' },
      },
    ]);
  });

  it('come from the watch cache without a consistent read, and hold what a consistent list holds', async () => {
    // Prepare
    const relay = kubernetesCluster('mgmt', kubeConfigFor('mgmt', 'relay'));
    const options = { namespace: SYSTEM_NAMESPACE, labelSelector: `${LABELS.bound}=true` };
    const before = await consistentReads();

    // Act: twice cached (the second no older than the first), then once consistent
    const first = await relay.list('v1', 'Secret', { ...options, cached: true });
    const second = await relay.list('v1', 'Secret', { ...options, cached: true });
    const afterCached = await consistentReads();
    const consistent = await relay.list('v1', 'Secret', options);
    const afterConsistent = await consistentReads();

    // Assess
    expect(afterCached - before).toBe(0);
    expect(afterConsistent - afterCached).toBe(1);
    const names = (list: typeof first) => list.map((o) => o.metadata.name).sort();
    expect(names(second)).toEqual(names(first));
    expect(names(consistent)).toEqual(names(first));
  });
});
