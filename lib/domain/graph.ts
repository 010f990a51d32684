import * as z from 'zod';
import { apiVersionOf, getPath, type KubeObject, LABELS, type ObjectRef } from './objects.js';

// The k0rdent object graph, read from plain objects: ProviderInterface entries, Credentials, Regions.

const referenceSchema = z.object({
  group: z.string().default(''),
  version: z.string(),
  kind: z.string(),
  nameFieldPath: z.string(),
  namespaceFieldPath: z.string().optional(),
});
const entrySchema = z.object({
  group: z.string().default(''),
  version: z.string(),
  kind: z.string(),
  references: z.array(referenceSchema).default([]),
});
const providerInterfaceSchema = z.object({
  spec: z.object({ clusterIdentities: z.array(entrySchema).default([]) }),
});

export type IdentityEntry = z.infer<typeof entrySchema>;
export type IdentityReference = z.infer<typeof referenceSchema>;

/** Every clusterIdentities entry of the given ProviderInterfaces; malformed ones are skipped. */
export function identityEntries(providerInterfaces: KubeObject[]): IdentityEntry[] {
  return providerInterfaces.flatMap(
    (pi) => providerInterfaceSchema.safeParse(pi).data?.spec.clusterIdentities ?? [],
  );
}

/** The entry for an identity's exact apiVersion and kind, as kcm matches it. */
export function findEntry(
  entries: IdentityEntry[],
  apiVersion: string,
  kind: string,
): IdentityEntry | undefined {
  return entries.find((e) => apiVersionOf(e.group, e.version) === apiVersion && e.kind === kind);
}

/** One object an identity references, and the field to rewrite in a regional copy, if any. */
export interface ResolvedReference {
  ref: ObjectRef;
  namespaceFieldPath?: string;
}

/**
 * The objects `identity` references through its ProviderInterface entry. Without a namespace path a
 * reference lives in the identity's namespace, or in the system namespace for a cluster-scoped identity.
 */
export function referencesOf(
  identity: KubeObject,
  entries: IdentityEntry[],
  scope: { systemNamespace: string; isNamespaced: (apiVersion: string, kind: string) => boolean },
): ResolvedReference[] {
  const entry = findEntry(entries, identity.apiVersion, identity.kind);
  if (!entry) return [];
  return entry.references.flatMap((reference) => {
    const name = getPath(identity, reference.nameFieldPath);
    if (typeof name !== 'string' || name === '') return [];
    const apiVersion = apiVersionOf(reference.group, reference.version);
    const ref: ObjectRef = { apiVersion, kind: reference.kind, name };
    if (scope.isNamespaced(apiVersion, reference.kind)) {
      const fromPath = reference.namespaceFieldPath
        ? getPath(identity, reference.namespaceFieldPath)
        : undefined;
      ref.namespace =
        typeof fromPath === 'string' && fromPath !== ''
          ? fromPath
          : (identity.metadata.namespace ?? scope.systemNamespace);
    }
    return reference.namespaceFieldPath
      ? [{ ref, namespaceFieldPath: reference.namespaceFieldPath }]
      : [{ ref }];
  });
}

/** A k0rdent Credential as identity-relay needs it. */
export interface CredentialInfo {
  namespace: string;
  name: string;
  region?: string;
  managed: boolean;
  labels: Record<string, string>;
  identityRef: ObjectRef;
  /** kcm's `status.ready`; absent (kcm's next API makes it optional) means not ready. */
  ready: boolean;
  /** The object's uid, which `kubectl describe` matches Events by. */
  uid?: string;
}

/**
 * The target of the management cluster itself, where kcm copies the identities of AccessManagement's
 * Credential copies. Not a valid Region name (Region names are DNS labels), so the two never meet.
 */
export const MANAGEMENT_TARGET = '(management)';

/** A target as people read it: `region eu-1`, or `the management cluster`. */
export function targetName(target: string): string {
  return target === MANAGEMENT_TARGET ? 'the management cluster' : `region ${target}`;
}

/**
 * Where a Credential's identity is copied, as kcm decides: its Region, or the management cluster for a
 * Credential labelled `managed` outside the system namespace (AccessManagement's copy); else nowhere.
 */
export function targetOf(credential: CredentialInfo, systemNamespace: string): string | undefined {
  if (credential.region) return credential.region;
  return credential.managed && credential.namespace !== systemNamespace ? MANAGEMENT_TARGET : undefined;
}

const credentialSchema = z.object({
  metadata: z.object({
    name: z.string(),
    namespace: z.string(),
    labels: z.record(z.string(), z.string()).optional(),
    deletionTimestamp: z.string().optional(),
    uid: z.string().optional(),
  }),
  spec: z.object({
    region: z.string().optional(),
    identityRef: z.object({
      apiVersion: z.string(),
      kind: z.string(),
      name: z.string(),
      namespace: z.string().optional(),
    }),
  }),
  status: z.object({ ready: z.boolean().optional() }).optional(),
});

/** Reads a Credential; undefined for one that is malformed or being deleted (it needs no copies). */
export function readCredential(object: KubeObject): CredentialInfo | undefined {
  const parsed = credentialSchema.safeParse(object);
  if (!parsed.success || parsed.data.metadata.deletionTimestamp) return undefined;
  const { metadata, spec, status } = parsed.data;
  const { namespace, ...identity } = spec.identityRef;
  return {
    namespace: metadata.namespace,
    name: metadata.name,
    ...(spec.region ? { region: spec.region } : {}),
    managed: metadata.labels?.[LABELS.managed] === 'true',
    labels: metadata.labels ?? {},
    identityRef: namespace ? { ...identity, namespace } : identity,
    ready: status?.ready === true,
    ...(metadata.uid ? { uid: metadata.uid } : {}),
  };
}

/** Where a Region's kubeconfig lives in the management cluster. */
export interface RegionInfo {
  name: string;
  kubeconfig: { namespace: string; name: string; key: string };
}

const regionSchema = z.object({
  metadata: z.object({ name: z.string() }),
  spec: z.object({
    kubeConfig: z.object({ name: z.string(), key: z.string() }).optional(),
    clusterDeployment: z.object({ name: z.string(), namespace: z.string() }).optional(),
  }),
});

/** Reads a Region: `spec.kubeConfig` in the system namespace, or the ClusterDeployment's `<name>-kubeconfig`. */
export function readRegion(object: KubeObject, systemNamespace: string): RegionInfo | undefined {
  const parsed = regionSchema.safeParse(object);
  if (!parsed.success) return undefined;
  const { metadata, spec } = parsed.data;
  if (spec.kubeConfig) {
    return { name: metadata.name, kubeconfig: { namespace: systemNamespace, ...spec.kubeConfig } };
  }
  if (spec.clusterDeployment) {
    const { name, namespace } = spec.clusterDeployment;
    return { name: metadata.name, kubeconfig: { namespace, name: `${name}-kubeconfig`, key: 'value' } };
  }
  return undefined;
}
