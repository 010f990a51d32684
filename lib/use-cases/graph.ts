import {
  type CredentialInfo,
  findEntry,
  type IdentityEntry,
  identityEntries,
  type RegionInfo,
  readCredential,
  readRegion,
  referencesOf,
} from '../domain/graph.js';
import {
  admissionProblem,
  identitySource,
  needsNamespaceLabels,
  referenceProblem,
} from '../domain/graph-rules.js';
import { apiVersionOf, type KubeObject, type ObjectRef, refKey, refOf } from '../domain/objects.js';
import { credentialLabelKey } from '../domain/regional.js';
import { describeError, RelayError } from '../errors.js';
import type { Cluster } from '../ports.js';

/** One object a Credential needs in its region, with how its copy differs from the original. */
export interface ClosureItem {
  /**
   * The object; for a Secret, only its name until `loadSecrets` reads it (a Secret's content matters
   * only in the regions being converged, so other Credentials' Secrets are never read).
   */
  object: KubeObject;
  loaded: boolean;
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
  /**
   * Why nothing is copied for it, one line each, named for what it is (`Refused: …`, `NotServed: …`,
   * `NotFound: …`, `NotListed: …`, `Forbidden: …`); empty for a healthy Credential.
   */
  problems: string[];
  /** Refused by the graph rules (lib/domain/graph-rules.ts), rather than unreadable. */
  refused: boolean;
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

/** A failure that belongs to one Credential; rethrows one that is transient (the run is retried). */
function unitError(error: unknown): RelayError {
  if (error instanceof RelayError && error.retryable) throw error;
  return error instanceof RelayError ? error : new RelayError(describeError(error), { retryable: false });
}

interface Reader {
  entries: IdentityEntry[];
  systemNamespace: string;
  /** Each kind's scope, or why the cluster would not say. */
  scopes: Map<string, boolean | RelayError>;
  read(ref: ObjectRef): Promise<KubeObject | undefined>;
  /** Objects `read` returned by name only (Secrets, read later by `loadSecrets`). */
  stubs: WeakSet<KubeObject>;
  /** The labels of a management Namespace (for `allowedNamespaces.selector`), read with one list. */
  namespaceLabels(name: string): Promise<Record<string, string> | undefined>;
}

/** A Credential's objects stop at the first problem: nothing is copied for it (Refused or unavailable). */
class Stop {
  constructor(
    readonly message: string,
    readonly refused: boolean,
  ) {}
}

async function closureOf(credential: CredentialInfo, reader: Reader): Promise<CredentialClosure> {
  try {
    return { credential, items: await itemsOf(credential, reader), problems: [], refused: false };
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
    return { credential, items: [], problems: [error.message], refused: error.refused };
  }
}

async function itemsOf(credential: CredentialInfo, reader: Reader): Promise<ClosureItem[]> {
  const id = credential.identityRef;
  const context = `spec.identityRef of Credential ${credential.namespace}/${credential.name}`;
  if (!findEntry(reader.entries, id.apiVersion, id.kind))
    throw new Stop(
      `NotListed: ${id.apiVersion} ${id.kind} is not listed by any ProviderInterface (${context}): correct its apiVersion and kind, or install the provider that lists it`,
      false,
    );
  const namespaced = scopeOf(reader, id.apiVersion, id.kind, context);
  const source = identitySource(credential, namespaced, reader.systemNamespace);
  if ('refused' in source) throw new Stop(`Refused: ${source.refused}`, true);
  const { mode } = source;
  const scope = {
    systemNamespace: reader.systemNamespace,
    isNamespaced: (apiVersion: string, kind: string) => scopeOf(reader, apiVersion, kind, context),
  };

  const items: ClosureItem[] = [];
  const seen = new Set<string>();
  const visit = async (ref: ObjectRef, depth: number, namespace?: string): Promise<void> => {
    const key = refKey(ref);
    if (seen.has(key)) return;
    seen.add(key);
    const object = await readOne(reader, ref, context);
    if (depth === 0 && mode === 'platform') {
      const labels = needsNamespaceLabels(object)
        ? await reader.namespaceLabels(credential.namespace).catch((error: unknown) => {
            throw new Stop(describeError(unitError(error)), false);
          })
        : undefined;
      const refused = admissionProblem(credential, object, reader.systemNamespace, labels);
      if (refused) throw new Stop(`Refused: ${refused}`, true);
    }
    const item: ClosureItem = {
      object,
      loaded: !reader.stubs.has(object),
      depth,
      rewrites: [],
      ...(namespace ? { namespace } : {}),
    };
    items.push(item);
    for (const reference of referencesOf(object, reader.entries, scope)) {
      const refused = referenceProblem(mode, credential, object, reference.ref);
      if (refused) throw new Stop(`Refused: ${refused}`, true);
      if (reference.namespaceFieldPath) item.rewrites.push(reference.namespaceFieldPath);
      await visit(reference.ref, depth + 1, reference.namespaceFieldPath ? credential.namespace : undefined);
    }
  };
  // A namespaced identity's copy goes into the Credential's namespace, wherever it was read (as kcm does).
  await visit(source.ref, 0, source.ref.namespace ? credential.namespace : undefined);
  return items;
}

/** A kind's scope; a kind the cluster does not serve (or will not describe) stops the Credential. */
function scopeOf(reader: Reader, apiVersion: string, kind: string, context: string): boolean {
  const scope = reader.scopes.get(`${apiVersion}/${kind}`);
  if (typeof scope === 'boolean') return scope;
  // Not named by any ProviderInterface entry: a reference kind is checked when it is read.
  if (scope === undefined) return true;
  throw new Stop(`${describeError(scope)} (${context})`, false);
}

/**
 * Reads one object of a Credential's graph. One unreadable object (not served, forbidden, missing)
 * stops only its own Credential; a transient failure of the management cluster stops the whole run.
 */
async function readOne(reader: Reader, ref: ObjectRef, context: string): Promise<KubeObject> {
  let object: KubeObject | undefined;
  try {
    object = await reader.read(ref);
  } catch (error) {
    throw new Stop(`${describeError(unitError(error))} (${context})`, false);
  }
  if (!object)
    throw new Stop(
      `NotFound: ${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name} not found in the management cluster (${context})`,
      false,
    );
  return object;
}
