import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { V1CustomResourceDefinition } from '@kubernetes/client-node';
import {
  ApiextensionsV1Api,
  KubeConfig,
  KubernetesObjectApi,
  loadAllYaml,
  PatchStrategy,
} from '@kubernetes/client-node';
import { waitFor } from './processes.js';

const CRD_DIR = join(dirname(fileURLToPath(import.meta.url)), 'crds');

/** The testbed's CRDs (k0rdent and Cluster API identity kinds), parsed from `test/testbed/crds/`. */
export function loadCrds(): V1CustomResourceDefinition[] {
  return readdirSync(CRD_DIR)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .flatMap(
      (file) => loadAllYaml(readFileSync(join(CRD_DIR, file), 'utf8')) as V1CustomResourceDefinition[],
    );
}

/** Applies every CRD to the cluster of `kubeconfigText` and waits until each is Established. */
export async function applyCrds(kubeconfigText: string): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigText);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  const crdApi = kc.makeApiClient(ApiextensionsV1Api);
  const crds = loadCrds();
  for (const crd of crds) {
    await objects.patch(
      crd,
      undefined,
      undefined,
      'identity-relay-testbed',
      true,
      PatchStrategy.ServerSideApply,
    );
  }
  await Promise.all(
    crds.map((crd) =>
      waitFor(
        `CRD ${crd.metadata?.name}`,
        async () => {
          const current = await crdApi.readCustomResourceDefinition({ name: crd.metadata?.name ?? '' });
          return (current.status?.conditions ?? []).some(
            (c) => c.type === 'Established' && c.status === 'True',
          );
        },
        60_000,
        200,
      ),
    ),
  );
}
