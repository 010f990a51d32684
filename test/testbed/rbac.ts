import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KubernetesObject } from '@kubernetes/client-node';
import {
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  loadAllYaml,
  PatchStrategy,
} from '@kubernetes/client-node';

const MANIFESTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'infra', 'k8s');
export const SYSTEM_NAMESPACE = 'kcm-system';

/**
 * Applies the RBAC identity-relay ships (`infra/k8s/management` or `infra/k8s/regional`) so the tests run
 * the functions as the user those manifests bind (group `identity-relay`), never as the admin.
 */
export async function installRbac(kubeconfigText: string, role: 'management' | 'regional'): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigText);
  await kc
    .makeApiClient(CoreV1Api)
    .createNamespace({ body: { metadata: { name: SYSTEM_NAMESPACE } } })
    .catch((error: { code?: number }) => {
      if (error.code !== 409) throw error;
    });
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const dir = join(MANIFESTS, role);
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()) {
    for (const object of loadAllYaml(readFileSync(join(dir, file), 'utf8')) as KubernetesObject[]) {
      // Without a controller-manager no token is ever minted for this Secret type; the tests use a certificate.
      if ((object as { type?: string }).type === 'kubernetes.io/service-account-token') continue;
      await objects.patch(
        object,
        undefined,
        undefined,
        'identity-relay-testbed',
        true,
        PatchStrategy.ServerSideApply,
      );
    }
  }
}

/** Grants the regional Secrets role in one more namespace (copies moved by a namespace path land there). */
export async function grantRegionalSecrets(kubeconfigText: string, namespace: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigText);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const docs = loadAllYaml(
    readFileSync(join(MANIFESTS, 'regional', 'rbac.yaml'), 'utf8'),
  ) as KubernetesObject[];
  for (const object of docs.filter((d) => d.kind === 'Role' || d.kind === 'RoleBinding')) {
    const scoped = { ...object, metadata: { ...object.metadata, namespace } };
    await objects.patch(
      scoped,
      undefined,
      undefined,
      'identity-relay-testbed',
      true,
      PatchStrategy.ServerSideApply,
    );
  }
}
