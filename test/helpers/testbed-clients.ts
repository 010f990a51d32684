import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CoreV1Api, KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { inject } from 'vitest';
import type { TestbedInfo } from '../testbed/testbed.js';

/** The testbed started by the integration project's globalSetup. */
export function testbed(): TestbedInfo {
  return inject('testbed');
}

/** A KubeConfig for one testbed cluster: the admin's, or identity-relay's own user bound by infra/k8s RBAC. */
export function kubeConfigFor(cluster: string, user: 'admin' | 'relay' = 'admin'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigText(cluster, user));
  return kc;
}

/** The kubeconfig file text of a testbed cluster for the admin or for identity-relay's user. */
export function kubeconfigText(cluster: string, user: 'admin' | 'relay' = 'admin'): string {
  const info = testbed().clusters[cluster];
  if (!info) throw new Error(`no testbed cluster ${cluster}`);
  return readFileSync(user === 'admin' ? info.kubeconfig : info.relayKubeconfig, 'utf8');
}

/** Typed and generic admin clients for one testbed cluster. */
export function kubeClients(cluster: string): { core: CoreV1Api; objects: KubernetesObjectApi } {
  const kc = kubeConfigFor(cluster);
  return { core: kc.makeApiClient(CoreV1Api), objects: KubernetesObjectApi.makeApiClient(kc) };
}

/** A Secrets Manager client for the testbed's AWS endpoint with static test credentials. */
export function secretsManager(): SecretsManagerClient {
  const { aws } = testbed();
  return new SecretsManagerClient({
    endpoint: aws.endpoint,
    region: aws.region,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
}

/** A name no other test uses: namespaces never finish deleting on the testbed (no controller-manager). */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}
