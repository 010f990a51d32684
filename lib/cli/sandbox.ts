import { type KubeObject, refKey, refOf } from '../domain/objects.js';
import type { Cluster, ClusterConnector } from '../ports.js';
import type { CliDeps } from './deps.js';

/**
 * The CLI's dry run: the use-cases run for real against clusters whose writes are kept in memory and
 * never sent. A management Secret "applied" here is read back by the rest of the run, so the regional
 * plan of a rotation shows the copies the new value would update — the preview is the run itself.
 * Nothing can be written, whatever the use-case does: apply, label removal, delete and Events stop here.
 */
export function sandboxDeps(deps: CliDeps): CliDeps {
  return {
    ...deps,
    mgmt: sandboxCluster(deps.mgmt),
    connector: sandboxConnector(deps.connector),
  };
}

function sandboxConnector(connector: ClusterConnector): ClusterConnector {
  // One sandbox per real client, so writes planned earlier in the run are seen later in it.
  const sandboxes = new WeakMap<Cluster, Cluster>();
  return {
    connect(name, kubeconfig, version) {
      const real = connector.connect(name, kubeconfig, version);
      let cluster = sandboxes.get(real);
      if (!cluster) {
        cluster = sandboxCluster(real);
        sandboxes.set(real, cluster);
      }
      return cluster;
    },
  };
}

/** A Cluster that reads through to `real` and keeps every write in memory, as server-side apply would merge it. */
export function sandboxCluster(real: Cluster): Cluster {
  const applied = new Map<string, KubeObject>();
  const overlay = (object: KubeObject | undefined): KubeObject | undefined =>
    object ? (applied.get(refKey(refOf(object))) ?? object) : object;
  return {
    name: real.name,
    async get(ref) {
      return applied.get(refKey(ref)) ?? (await real.get(ref));
    },
    async list(apiVersion, kind, options) {
      return (await real.list(apiVersion, kind, options)).map((object) => overlay(object) as KubeObject);
    },
    async apply(object) {
      const key = refKey(refOf(object));
      const merged = mergeApply(applied.get(key) ?? (await real.get(refOf(object))), object);
      applied.set(key, merged);
      return merged;
    },
    async removeLabels() {},
    async annotate() {},
    async delete() {},
    isNamespaced: (apiVersion, kind) => real.isNamespaced(apiVersion, kind),
    async recordEvent() {},
  };
}

/** What an apply of `patch` leaves: its labels, annotations and data keys over the existing object's. */
function mergeApply(existing: KubeObject | undefined, patch: KubeObject): KubeObject {
  if (!existing) return structuredClone(patch);
  const merged: KubeObject = { ...structuredClone(existing), ...structuredClone(patch) };
  merged.metadata = {
    ...existing.metadata,
    labels: { ...existing.metadata.labels, ...patch.metadata.labels },
    annotations: { ...existing.metadata.annotations, ...patch.metadata.annotations },
  };
  if (existing.data || patch.data)
    merged.data = { ...(existing.data as Record<string, string>), ...(patch.data as Record<string, string>) };
  return merged;
}
