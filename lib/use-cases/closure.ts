import {
  type CredentialInfo,
  findEntry,
  type IdentityEntry,
  MANAGEMENT_TARGET,
  referencesOf,
} from '../domain/graph.js';
import {
  admissionProblem,
  identitySource,
  needsNamespaceLabels,
  referenceProblem,
} from '../domain/graph-rules.js';
import { type KubeObject, type ObjectRef, refKey, refOf } from '../domain/objects.js';
import { describeError, RelayError } from '../errors.js';

// One Credential's closure: its identity and everything that identity references, read from the
// management cluster under the graph rules (lib/domain/graph-rules.ts). Whatever stops it (refused,
// not served, not listed, not found, forbidden) stops that Credential alone.

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
  /** The copy goes into the Credential's namespace (a namespaced identity, or a reference with a namespace path). */
  namespace?: string;
  /** Fields of this object's copy to rewrite to the Credential's namespace. */
  rewrites: string[];
}

/** A Credential with a target and everything its identity needs, read from the management cluster. */
export interface CredentialClosure {
  credential: CredentialInfo;
  /** The Region its copies go to, or MANAGEMENT_TARGET (AccessManagement's copy: the management cluster). */
  target: string;
  items: ClosureItem[];
  /**
   * Why nothing is copied for it, one line each, named for what it is (`Refused: …`, `NotServed: …`,
   * `NotFound: …`, `NotListed: …`, `Forbidden: …`); empty for a healthy Credential.
   */
  problems: string[];
  /** Refused by the graph rules (lib/domain/graph-rules.ts), rather than unreadable. */
  refused: boolean;
}

/** The key of the copy an item becomes in its target (its namespace may move to the Credential's). */
export function copyKey(item: ClosureItem): string {
  const ref = refOf(item.object);
  if (item.namespace && ref.namespace) ref.namespace = item.namespace;
  return refKey(ref);
}

/**
 * The objects a Credential's target should hold for it. In the management cluster, an object whose
 * copy would be itself (a cluster-scoped identity, a system-namespace Secret) is the source, not a copy.
 */
export function copyRefs(
  closure: CredentialClosure,
  only: (source: KubeObject) => boolean = () => true,
): ObjectRef[] {
  return closure.items.flatMap((item) => {
    if (!only(item.object)) return [];
    const ref = refOf(item.object);
    if (item.namespace && ref.namespace) ref.namespace = item.namespace;
    return closure.target === MANAGEMENT_TARGET && refKey(ref) === refKey(refOf(item.object)) ? [] : [ref];
  });
}

/** A failure that belongs to one Credential; rethrows one that is transient (the run is retried). */
export function unitError(error: unknown): RelayError {
  if (error instanceof RelayError && error.retryable) throw error;
  return error instanceof RelayError ? error : new RelayError(describeError(error), { retryable: false });
}

/** What the closure walk reads through, built once per run by `loadGraph`. */
export interface Reader {
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

/**
 * Follows one Credential's identity and references under the graph rules; a problem stops only it.
 * `granted`: an AccessManagement rule distributes this Credential to its namespace, which admits a
 * Secret-kind identity (a Secret has no `allowedNamespaces` of its own).
 */
export async function closureOf(
  credential: CredentialInfo,
  target: string,
  reader: Reader,
  options: { granted?: boolean } = {},
): Promise<CredentialClosure> {
  try {
    const items = await itemsOf(credential, reader, options.granted ?? false);
    return { credential, target, items, problems: [], refused: false };
  } catch (error) {
    if (!(error instanceof Stop)) throw error;
    return stopped(credential, target, error.message, error.refused);
  }
}

/** A Credential that gets nothing, and why (one line, named for what it is). */
export function stopped(
  credential: CredentialInfo,
  target: string,
  problem: string,
  refused: boolean,
): CredentialClosure {
  return { credential, target, items: [], problems: [problem], refused };
}

async function itemsOf(credential: CredentialInfo, reader: Reader, granted: boolean): Promise<ClosureItem[]> {
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
    if (depth === 0 && mode === 'platform' && !(granted && isSecret(object))) {
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

function isSecret(object: KubeObject): boolean {
  return object.apiVersion === 'v1' && object.kind === 'Secret';
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
