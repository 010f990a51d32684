import { grantsCredential } from '../domain/access-management.js';
import {
  type CredentialInfo,
  type IdentityEntry,
  identityEntries,
  MANAGEMENT_TARGET,
  type RegionInfo,
  readCredential,
  readRegion,
  targetOf,
} from '../domain/graph.js';
import { apiVersionOf, type KubeObject, type ObjectRef, refKey, refOf } from '../domain/objects.js';
import { credentialLabelKey } from '../domain/regional.js';
import { describeError, NotServed, RelayError } from '../errors.js';
import type { Cluster } from '../ports.js';
import {
  type ClosureItem,
  type CredentialClosure,
  closureOf,
  type Reader,
  stopped,
  unitError,
} from './closure.js';
import { providerEntries } from './target-checks.js';

export type { ClosureItem, CredentialClosure };

/** The management cluster's k0rdent graph, read once per run. */
export interface Graph {
  entries: IdentityEntry[];
  regions: Map<string, RegionInfo>;
  closures: CredentialClosure[];
  /** The credential label keys of every Credential that exists, regional or not. */
  credentialLabels: Set<string>;
}

/** Whether a target is one the graph knows: a Region, or the management cluster itself. */
export function hasTarget(graph: Graph, name: string): boolean {
  return name === MANAGEMENT_TARGET || graph.regions.has(name);
}

/** Every target: the Regions, and the management cluster (AccessManagement's copies). */
export function allTargets(graph: Graph): string[] {
  return [...graph.regions.keys(), MANAGEMENT_TARGET];
}

/**
 * Reads ProviderInterfaces, Regions, Credentials and AccessManagements, and follows the references of
 * every Credential with a target: a Region, or the management cluster for AccessManagement's copies.
 */
export async function loadGraph(
  mgmt: Cluster,
  systemNamespace: string,
  options: {
    /**
     * Take the ProviderInterfaces kept for a minute per client (as a target's are) instead of listing
     * them: a rotation's choice, so the identity lists start at once. A new provider is then seen
     * within a minute by rotations, and at once by the audit path its change triggers.
     */
    keptProviderInterfaces?: boolean;
  } = {},
): Promise<Graph> {
  // The identity kinds come from the ProviderInterfaces: their lists start as soon as those arrive.
  const identities = (
    options.keptProviderInterfaces
      ? providerEntries(mgmt, false)
      : mgmt.list('k0rdent.mirantis.com/v1beta1', 'ProviderInterface').then(identityEntries)
  ).then(async (entries) => {
    const scopes = await resolveScopes(mgmt, entries);
    // Identities come from one list per kind, not one get per Credential.
    return { entries, scopes, listed: await listIdentities(mgmt, entries) };
  });
  const [{ entries, scopes, listed }, regionObjects, credentialObjects, accessManagements] =
    await Promise.all([
      identities,
      mgmt.list('k0rdent.mirantis.com/v1beta1', 'Region'),
      mgmt.list('k0rdent.mirantis.com/v1beta1', 'Credential'),
      // A kcm without AccessManagement grants nothing.
      mgmt.list('k0rdent.mirantis.com/v1beta1', 'AccessManagement').catch((error: unknown) => {
        if (error instanceof NotServed) return [];
        throw error;
      }),
    ]);
  const regions = new Map<string, RegionInfo>();
  for (const object of regionObjects) {
    const region = readRegion(object, systemNamespace);
    if (region) regions.set(region.name, region);
  }
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
  const reader: Reader = { entries, systemNamespace, scopes, read, stubs, namespaceLabels };
  const sources = new Map(all.filter((c) => c.namespace === systemNamespace).map((c) => [c.name, c]));
  const closures = await Promise.all(
    all.flatMap((credential) => {
      const target = targetOf(credential, systemNamespace);
      if (target === undefined) return [];
      if (target !== MANAGEMENT_TARGET) return [closureOf(credential, target, reader)];
      return [accessCopyClosure(credential, sources.get(credential.name), accessManagements, reader)];
    }),
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

/**
 * AccessManagement's copy of a system-namespace Credential. As kcm does, its identity is read from the
 * system namespace, and named by the source Credential (the copy's own spec is its namespace's to edit);
 * it is served only where an AccessManagement rule distributes that Credential to the copy's namespace.
 */
async function accessCopyClosure(
  copy: CredentialInfo,
  source: CredentialInfo | undefined,
  accessManagements: KubeObject[],
  reader: Reader,
): Promise<CredentialClosure> {
  const name = `${copy.namespace}/${copy.name}`;
  if (!source)
    return stopped(
      copy,
      MANAGEMENT_TARGET,
      `NotFound: Credential ${name} is labelled managed but the system namespace has no Credential ${copy.name} to copy its identity from: delete the copy, or restore ${reader.systemNamespace}/${copy.name}`,
      false,
    );
  let labels: Record<string, string> | undefined;
  try {
    labels = await reader.namespaceLabels(copy.namespace);
  } catch (error) {
    return stopped(copy, MANAGEMENT_TARGET, describeError(unitError(error)), false);
  }
  const granted = grantsCredential(
    accessManagements,
    { name: source.name, labels: source.labels },
    { name: copy.namespace, labels: labels ?? {} },
  );
  if (!granted)
    return stopped(
      copy,
      MANAGEMENT_TARGET,
      `Refused: Credential ${name} is labelled managed, but no AccessManagement rule distributes Credential ${copy.name} to namespace ${copy.namespace}: add the namespace to an access rule's targetNamespaces, or remove the label`,
      true,
    );
  return closureOf({ ...copy, identityRef: source.identityRef }, MANAGEMENT_TARGET, reader, {
    granted: true,
  });
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
export async function loadSecrets(
  mgmt: Cluster,
  closures: CredentialClosure[],
  /** Secrets the caller just wrote, as the apiserver answered the write: not read again. */
  written: KubeObject[] = [],
): Promise<void> {
  const reads = new Map<string, Promise<KubeObject | undefined>>(
    written.map((object) => [refKey(refOf(object)), Promise.resolve(object)]),
  );
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
