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
import { waitFor } from './processes.js';

const MANIFESTS = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'infra', 'k8s');
export const SYSTEM_NAMESPACE = 'kcm-system';
/** The ServiceAccount user the shipped manifests bind (besides the group identity-relay). */
export const RELAY_SERVICE_ACCOUNT = 'system:serviceaccount:identity-relay-system:identity-relay';

/**
 * Applies the RBAC identity-relay ships (`infra/k8s/management` or `infra/k8s/regional`, the regional
 * admission policy included) so the tests run the functions as the user those manifests bind (group
 * `identity-relay`), never as the admin.
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
  let policies = 0;
  // The AccessManagement copies Role is per target namespace: tests bind it where they need it.
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.yaml') && f !== 'access-copies-role.yaml')
    .sort()) {
    for (const object of loadAllYaml(readFileSync(join(dir, file), 'utf8')) as KubernetesObject[]) {
      // Without a controller-manager no token is ever minted for this Secret type; the tests use a certificate.
      if ((object as { type?: string }).type === 'kubernetes.io/service-account-token') continue;
      if (object.kind === 'ValidatingAdmissionPolicyBinding') policies += 1;
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
  if (policies > 0) await untilTokenSecretsRefused(kc);
}

/**
 * Waits until the apiserver enforces the shipped ValidatingAdmissionPolicy (its informers see a new
 * policy a moment after it is stored): a dry-run create of a token Secret as identity-relay is refused.
 */
async function untilTokenSecretsRefused(admin: KubeConfig): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromString(admin.exportConfig());
  kc.users = kc.users.map((user) => ({ ...user, impersonateUser: RELAY_SERVICE_ACCOUNT }));
  const core = kc.makeApiClient(CoreV1Api);
  const body = {
    metadata: {
      name: 'identity-relay-policy-probe',
      annotations: { 'kubernetes.io/service-account.name': 'default' },
    },
    type: 'kubernetes.io/service-account-token',
  };
  await waitFor(
    'the identity-relay token Secret policy',
    () =>
      core.createNamespacedSecret({ namespace: SYSTEM_NAMESPACE, body, dryRun: 'All' }).then(
        () => false,
        (error: { code?: number; body?: string }) =>
          error.code === 403 && String(error.body).includes('identity-relay-no-token-secrets'),
      ),
    30_000,
  );
}

/** Grants identity-relay `get` on exactly the named kubeconfig Secrets of one namespace (the shipped kubeconfig Role). */
export async function grantRegionKubeconfigs(
  kubeconfigText: string,
  namespace: string,
  names: string[],
): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigText);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const docs = loadAllYaml(
    readFileSync(join(MANIFESTS, 'management', 'kubeconfig-role.yaml'), 'utf8'),
  ) as Array<KubernetesObject & { rules?: Array<{ resourceNames?: string[] }> }>;
  for (const object of docs) {
    const scoped = {
      ...object,
      metadata: { ...object.metadata, namespace },
      ...(object.rules ? { rules: object.rules.map((rule) => ({ ...rule, resourceNames: names })) } : {}),
    };
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
