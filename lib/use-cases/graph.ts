import {
  type CredentialInfo,
  type IdentityEntry,
  identityEntries,
  type RegionInfo,
  readCredential,
  readRegion,
  referencesOf,
} from '../domain/graph.js';
import { apiVersionOf, type KubeObject, type ObjectRef, refKey } from '../domain/objects.js';
import { credentialLabelKey } from '../domain/regional.js';
import { describeError, RelayError } from '../errors.js';
import type { Cluster } from '../ports.js';

/** One object a Credential needs in its region, with how its copy differs from the original. */
export interface ClosureItem {
  object: KubeObject;
  /** Distance from the identity the Credential names. */
  depth: number;
  /** The copy goes into the Credential's namespace (a reference with a namespace path). */
  namespace?: string;
  /** Fields of this object's copy to rewrite to the Credential's namespace. */
  rewrites: string[];
}

/** A regional Credential and everything its identity needs, read from the management cluster. */
export interface CredentialClosure {
  credential: CredentialInfo;
  items: ClosureItem[];
  /** Why some of it could not be read (missing identity or referenced object). */
  problems: string[];
}

/** The management cluster's k0rdent graph, read once per run. */
export interface Graph {
  entries: IdentityEntry[];
  regions: Map<string, RegionInfo>;
  closures: CredentialClosure[];
  /** The credential label keys of every Credential that exists, regional or not. */
  credentialLabels: Set<string>;
}

/** Reads ProviderInterfaces, Regions and Credentials, and follows every regional Credential's references. */
export async function loadGraph(mgmt: Cluster, systemNamespace: string): Promise<Graph> {
  const [providerInterfaces, regionObjects, credentialObjects] = await Promise.all([
    mgmt.list('k0rdent.mirantis.com/v1beta1', 'ProviderInterface'),
    mgmt.list('k0rdent.mirantis.com/v1beta1', 'Region'),
    mgmt.list('k0rdent.mirantis.com/v1beta1', 'Credential'),
  ]);
  const entries = identityEntries(providerInterfaces);
  const regions = new Map<string, RegionInfo>();
  for (const object of regionObjects) {
    const region = readRegion(object, systemNamespace);
    if (region) regions.set(region.name, region);
  }
  const isNamespaced = await resolveScopes(mgmt, entries);
  const objects = new Map<string, Promise<KubeObject | undefined>>();
  const read = (ref: ObjectRef): Promise<KubeObject | undefined> => {
    const key = refKey(ref);
    let object = objects.get(key);
    if (!object) {
      object = mgmt.get(ref);
      objects.set(key, object);
    }
    return object;
  };

  const all = credentialObjects.map(readCredential).filter((c): c is CredentialInfo => c !== undefined);
  const credentialLabels = new Set(all.map((c) => credentialLabelKey(c.namespace, c.name)));
  const credentials = all.filter((c) => c.region !== undefined);
  const closures = await Promise.all(
    credentials.map((credential) => closureOf(credential, { entries, systemNamespace, isNamespaced, read })),
  );
  return { entries, regions, closures, credentialLabels };
}

/** Asks the cluster once for the scope of every kind the ProviderInterfaces name. */
async function resolveScopes(
  mgmt: Cluster,
  entries: IdentityEntry[],
): Promise<(apiVersion: string, kind: string) => boolean> {
  const kinds = new Map<string, { apiVersion: string; kind: string }>();
  for (const entry of entries) {
    for (const gvk of [entry, ...entry.references]) {
      const apiVersion = apiVersionOf(gvk.group, gvk.version);
      kinds.set(`${apiVersion}/${gvk.kind}`, { apiVersion, kind: gvk.kind });
    }
  }
  const scopes = new Map<string, boolean>();
  await Promise.all(
    [...kinds].map(async ([key, { apiVersion, kind }]) => {
      // A kind the cluster does not serve is left out: objects of it are then reported as not found.
      const namespaced = await mgmt.isNamespaced(apiVersion, kind).catch(() => undefined);
      if (namespaced !== undefined) scopes.set(key, namespaced);
    }),
  );
  return (apiVersion, kind) => scopes.get(`${apiVersion}/${kind}`) ?? true;
}

interface Reader {
  entries: IdentityEntry[];
  systemNamespace: string;
  isNamespaced(apiVersion: string, kind: string): boolean;
  read(ref: ObjectRef): Promise<KubeObject | undefined>;
}

async function closureOf(credential: CredentialInfo, reader: Reader): Promise<CredentialClosure> {
  const items: ClosureItem[] = [];
  const problems: string[] = [];
  const seen = new Set<string>();
  const rootRef = { ...credential.identityRef };
  if (reader.isNamespaced(rootRef.apiVersion, rootRef.kind)) rootRef.namespace ??= credential.namespace;
  else delete rootRef.namespace;

  const visit = async (ref: ObjectRef, depth: number, namespace?: string): Promise<void> => {
    const key = refKey(ref);
    if (seen.has(key)) return;
    seen.add(key);
    let object: KubeObject | undefined;
    try {
      object = await reader.read(ref);
    } catch (error) {
      // One unreadable object (RBAC, a bad reference) stops only its own Credential; a transient
      // failure of the management cluster stops the whole run, to be retried.
      if (error instanceof RelayError && error.retryable) throw error;
      problems.push(describeError(error));
      return;
    }
    if (!object) {
      problems.push(
        `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name} not found in the management cluster`,
      );
      return;
    }
    const item: ClosureItem = { object, depth, rewrites: [], ...(namespace ? { namespace } : {}) };
    items.push(item);
    for (const reference of referencesOf(object, reader.entries, reader)) {
      if (reference.namespaceFieldPath) item.rewrites.push(reference.namespaceFieldPath);
      await visit(reference.ref, depth + 1, reference.namespaceFieldPath ? credential.namespace : undefined);
    }
  };
  await visit(rootRef, 0);
  return { credential, items, problems };
}
