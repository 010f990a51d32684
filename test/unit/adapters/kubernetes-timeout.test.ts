import { createServer, type Server, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubernetesCluster } from '../../../lib/adapters/kubernetes.js';
import { ClusterUnreachable } from '../../../lib/errors.js';

// A blackholed region: the TCP connection is accepted, and nothing is ever answered.
let server: Server;
const sockets: Socket[] = [];

beforeAll(async () => {
  server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});

afterAll(async () => {
  for (const socket of sockets) socket.destroy();
  await new Promise((resolve) => server.close(resolve));
});

function silentCluster(timeoutMs: number) {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'silent', server: `https://127.0.0.1:${port}`, skipTLSVerify: true }],
    users: [{ name: 'relay', token: 'not-a-secret' }],
    contexts: [{ name: 'silent', cluster: 'silent', user: 'relay' }],
    currentContext: 'silent',
  });
  return kubernetesCluster('region-silent', kc, { timeoutMs });
}

describe('kubernetesCluster against a server that never answers', () => {
  it('gives up on a read after its timeout with a retryable ClusterUnreachable naming the cluster', async () => {
    // Prepare
    const cluster = silentCluster(200);

    // Act
    const error = await cluster
      .get({ apiVersion: 'v1', kind: 'Secret', namespace: 'kcm-system', name: 'x' })
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ClusterUnreachable);
    expect((error as ClusterUnreachable).retryable).toBe(true);
    // The first request (discovery, or the get itself) is the one that times out.
    expect((error as Error).message).toMatch(
      /^cluster region-silent unreachable: [^:]+: no answer in 200 ms$/,
    );
    expect(sockets.length).toBeGreaterThan(0);
  });

  it('gives up on a write the same way, so a region cannot hold its invocation', async () => {
    const cluster = silentCluster(200);

    const error = await cluster
      .apply({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'x', namespace: 'kcm-system' } })
      .catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ClusterUnreachable);
  });
});
