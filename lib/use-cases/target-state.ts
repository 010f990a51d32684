import { type KubeObject, LABELS, refKey, refOf } from '../domain/objects.js';
import { buildCopy, type DesiredCopy, isCredentialLabel, type RegionAction } from '../domain/regional.js';
import { describeError, Forbidden } from '../errors.js';
import type { Cluster, Log } from '../ports.js';
import { copyKey } from './closure.js';
import type { CredentialClosure, Graph } from './graph.js';

// What a target should hold for its Credentials, and what of it the target holds: the inputs of its plan.

/**
 * Every object the target's Credentials need, merged so each carries the labels of all its Credentials.
 * In the management cluster an object whose copy would be itself (a cluster-scoped identity, a Secret of
 * the system namespace) is the source, not a copy: it is left alone, as kcm leaves it.
 */
export function desiredCopies(
  closures: CredentialClosure[],
  now: Date,
  only: Set<string> | undefined,
  management: boolean,
): DesiredCopy[] {
  const merged = new Map<
    string,
    {
      closure: CredentialClosure;
      item: CredentialClosure['items'][number];
      credentials: Array<{ namespace: string; name: string }>;
    }
  >();
  for (const closure of closures) {
    if (closure.problems.length > 0) continue;
    for (const item of closure.items) {
      const key = copyKey(item);
      if (only && !only.has(key)) continue;
      if (management && key === refKey(refOf(item.object))) continue;
      const entry = merged.get(key) ?? { closure, item, credentials: [] };
      // Build from a read object: another Credential's item may hold the same Secret by name only.
      if (!entry.item.loaded && item.loaded) Object.assign(entry, { closure, item });
      entry.credentials.push({ namespace: closure.credential.namespace, name: closure.credential.name });
      merged.set(key, entry);
    }
  }
  // Never build a copy from a Secret known by name only: it would carry no data.
  return [...merged.values()]
    .filter(({ item }) => item.loaded)
    .map(({ closure, item, credentials }) =>
      buildCopy(item.object, {
        credentials,
        tier: item.depth,
        ...(item.namespace ? { namespace: item.namespace } : {}),
        rewrite: { paths: item.rewrites, namespace: closure.credential.namespace },
        now,
      }),
    );
}

/** Objects in the region that carry kcm's managed label and a credential label: candidates for clean-up. */
export async function labelledObjects(
  cluster: Cluster,
  graph: Graph,
  namespaces: Set<string>,
  log: Log,
  namespacedOnly: boolean,
): Promise<KubeObject[]> {
  const kinds = new Map<string, { apiVersion: string; kind: string }>([
    ['v1/Secret', { apiVersion: 'v1', kind: 'Secret' }],
  ]);
  for (const entry of graph.entries) {
    const apiVersion = entry.group ? `${entry.group}/${entry.version}` : entry.version;
    kinds.set(`${apiVersion}/${entry.kind}`, { apiVersion, kind: entry.kind });
  }
  const selector = `${LABELS.managed}=true`;
  const lists = await Promise.all(
    [...kinds.values()].map(async ({ apiVersion, kind }) => {
      const namespaced = await cluster.isNamespaced(apiVersion, kind).catch(() => undefined);
      if (namespaced === undefined || (namespacedOnly && !namespaced)) return [];
      if (!namespaced) return cluster.list(apiVersion, kind, { labelSelector: selector });
      const perNamespace = await Promise.all(
        [...namespaces].map((namespace) =>
          cluster.list(apiVersion, kind, { namespace, labelSelector: selector }).catch((error: unknown) => {
            // The shipped regional RBAC grants Secrets only where copies go: what it cannot see it cannot clean.
            if (!(error instanceof Forbidden)) throw error;
            log.warn('clean-up skipped a namespace', {
              region: cluster.name,
              namespace,
              kind,
              error: describeError(error),
            });
            return [];
          }),
        ),
      );
      return perNamespace.flat();
    }),
  );
  return lists.flat().filter((object) => Object.keys(object.metadata.labels ?? {}).some(isCredentialLabel));
}

/** A create step for every namespace the plan creates copies in that the cluster does not have. */
export async function missingNamespaces(cluster: Cluster, plan: RegionAction[]): Promise<RegionAction[]> {
  const namespaces = new Set(
    plan.flatMap((a) => (a.op === 'create' && a.ref.namespace ? [a.ref.namespace] : [])),
  );
  const steps = await Promise.all(
    [...namespaces].map(async (name): Promise<RegionAction | undefined> => {
      const ref = { apiVersion: 'v1', kind: 'Namespace', name };
      // Without the right to read Namespaces (an older regional RBAC), the write itself will tell.
      const found = await cluster.get(ref).catch((error: unknown) => {
        if (error instanceof Forbidden) return ref;
        throw error;
      });
      if (found) return undefined;
      const object: KubeObject = { apiVersion: 'v1', kind: 'Namespace', metadata: { name } };
      return { op: 'create', ref, object, hash: '', tier: Number.MAX_SAFE_INTEGER };
    }),
  );
  return steps.filter((step): step is RegionAction => step !== undefined);
}

/** The management Secrets whose copies a plan created or updated (their bindings may name restarts). */
export function writtenSources(
  closures: CredentialClosure[],
  actions: Array<{ op: string; key: string }>,
): KubeObject[] {
  const written = new Set(
    actions
      .filter((a) => (a.op === 'create' || a.op === 'update') && a.key.startsWith('v1/Secret/'))
      .map((a) => a.key),
  );
  const sources = new Map<string, KubeObject>();
  for (const closure of closures)
    for (const item of closure.items)
      if (item.loaded && written.has(copyKey(item))) sources.set(refKey(refOf(item.object)), item.object);
  return [...sources.values()];
}
