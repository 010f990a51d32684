import {
  type CredentialInfo,
  type IdentityEntry,
  identityEntries,
  type RegionInfo,
  readCredential,
  readRegion,
} from '../domain/graph.js';
import { apiVersionOf, type KubeObject, type ObjectRef, refKey, refOf } from '../domain/objects.js';
import { credentialLabelKey } from '../domain/regional.js';
import { describeError, RelayError } from '../errors.js';
import type { Cluster } from '../ports.js';
import { type ClosureItem, type CredentialClosure, closureOf, unitError } from './closure.js';

export type { ClosureItem, CredentialClosure };

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
  const scopes = await resolveScopes(mgmt, entries);
  // Identities come from one list per kind, not one get per Credential.
  const listed = await listIdentities(mgmt, entries);
  const stubs = new WeakSet<KubeObject>();
  const read = async (ref: ObjectRef): Promise<KubeObject | undefined> => {
    if (ref.apiVersion === 'v1' && ref.kind === 'Secret') {
      const stub = secretStub(ref);
      stubs.add(stub);
      return stub;
    }
    const index = listed.get(`${ref.apiVersion}/${ref.kind}`);
    return index ? index.get(refKey(ref)) : mgmt.get(ref);
  };

  let namespaces: Promise<Map<string, Record<string, string>>> | undefined;
  const namespaceLabels = async (name: string) => {
    namespaces ??= mgmt
      .list('v1', 'Namespace')
      .then((list) => new Map(list.map((ns) => [ns.metadata.name, ns.metadata.labels ?? {}])));
    return (await namespaces).get(name);
  };

  const all = credentialObjects.map(readCredential).filter((c): c is CredentialInfo => c !== undefined);
  const credentials = all.filter((c) => c.region !== undefined);
  const closures = await Promise.all(
    credentials.map((credential) =>
      closureOf(credential, { entries, systemNamespace, scopes, read, stubs, namespaceLabels }),
    ),
  );
  // A refused Credential counts as gone: copies it got before (under older, looser rules) are released
  // and deleted. One whose objects are only unreadable keeps its copies until they can be read again.
  const refused = new Set(
    closures
      .filter((c) => c.refused)
      .map((c) => credentialLabelKey(c.credential.namespace, c.credential.name)),
  );
  const credentialLabels = new Set(
    all.map((c) => credentialLabelKey(c.namespace, c.name)).filter((label) => !refused.has(label)),
  );
  return { entries, regions, closures, credentialLabels };
}

/** Lists every non-core identity kind the ProviderInterfaces name, indexed by object; unserved kinds are left out. */
async function listIdentities(
  mgmt: Cluster,
  entries: IdentityEntry[],
): Promise<Map<string, Map<string, KubeObject>>> {
  const kinds = new Map<string, { apiVersion: string; kind: string }>();
  for (const entry of entries) {
    for (const gvk of [entry, ...entry.references]) {
      if (!gvk.group) continue;
      const apiVersion = apiVersionOf(gvk.group, gvk.version);
      kinds.set(`${apiVersion}/${gvk.kind}`, { apiVersion, kind: gvk.kind });
    }
  }
  const listed = new Map<string, Map<string, KubeObject>>();
  await Promise.all(
    [...kinds].map(async ([key, { apiVersion, kind }]) => {
      const objects = await mgmt.list(apiVersion, kind).catch((error: unknown) => {
        if (error instanceof RelayError && error.retryable) throw error;
        return undefined; // not served here, or not readable: its objects are read one by one
      });
      if (objects) listed.set(key, new Map(objects.map((object) => [refKey(refOf(object)), object])));
    }),
  );
  return listed;
}

/** A Secret known only by name, until `loadSecrets` reads it. */
function secretStub(ref: ObjectRef): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) },
  };
}

/**
 * Reads the Secrets of the given closures (each once), in place; a Secret that is missing or unreadable
 * becomes a problem of its Credential, a transient failure stops the run.
 */
export async function loadSecrets(mgmt: Cluster, closures: CredentialClosure[]): Promise<void> {
  const reads = new Map<string, Promise<KubeObject | undefined>>();
  await Promise.all(
    closures.flatMap((closure) =>
      closure.items
        .filter((item) => !item.loaded)
        .map(async (item) => {
          const ref = refOf(item.object);
          const key = refKey(ref);
          let read = reads.get(key);
          if (!read) {
            read = mgmt.get(ref);
            reads.set(key, read);
          }
          try {
            const object = await read;
            if (object) {
              item.object = object;
              item.loaded = true;
            } else
              closure.problems.push(
                `NotFound: Secret ${ref.namespace}/${ref.name} not found in the management cluster`,
              );
          } catch (error) {
            closure.problems.push(describeError(unitError(error)));
          }
        }),
    ),
  );
}

/**
 * Asks the cluster once for the scope of every kind the ProviderInterfaces name. A kind it does not
 * serve (or will not describe) is remembered with its error, to become the problem of the Credentials
 * that need it; a transient failure stops the run.
 */
async function resolveScopes(
  mgmt: Cluster,
  entries: IdentityEntry[],
): Promise<Map<string, boolean | RelayError>> {
  const kinds = new Map<string, { apiVersion: string; kind: string }>();
  for (const entry of entries) {
    for (const gvk of [entry, ...entry.references]) {
      const apiVersion = apiVersionOf(gvk.group, gvk.version);
      kinds.set(`${apiVersion}/${gvk.kind}`, { apiVersion, kind: gvk.kind });
    }
  }
  const scopes = new Map<string, boolean | RelayError>();
  await Promise.all(
    [...kinds].map(async ([key, { apiVersion, kind }]) => {
      try {
        scopes.set(key, await mgmt.isNamespaced(apiVersion, kind));
      } catch (error) {
        scopes.set(key, unitError(error));
      }
    }),
  );
  return scopes;
}
