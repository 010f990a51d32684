import type { KubeObject } from '../domain/objects.js';
import { describeError, RelayError } from '../errors.js';
import { copyKey } from './closure.js';
import { settleAll } from './concurrency.js';
import {
  connectRegion,
  convergeRegion,
  DEADLINE_RESERVE_MS,
  type DistributeDeps,
  openTarget,
  type PlannedAction,
  type RegionResult,
  readTarget,
} from './converge-region.js';
import { recordCredentialEvents } from './credential-events.js';
import { allTargets, type Graph, hasTarget, loadGraph, loadSecrets } from './graph.js';

export type { DistributeDeps, PlannedAction, RegionResult };
export { connectRegion, DEADLINE_RESERVE_MS };

/** What changed in the management cluster; each is only a hint, the state is re-read. */
export type Change =
  | { kind: 'secret'; namespace: string; name: string }
  | { kind: 'credential'; namespace: string; name: string }
  | { kind: 'region'; name: string }
  | { kind: 'object'; apiVersion: string; objectKind: string; name: string; namespace?: string }
  | { kind: 'all' };

/** What a caller's management writes settled: the Secrets that changed (or hold what is wanted), and those it wrote. */
export interface Written {
  changes: Change[];
  /** The written Secrets as the apiserver answered: their content, not read again. */
  objects: KubeObject[];
}

export interface DistributeResult {
  regions: RegionResult[];
  /** Credentials that get nothing (refused by the graph rules, unreadable, or lacking in their target), with the reason. */
  problems: string[];
}

// The graph a run read (its Credentials' target problems included) stays beside its result, never in it:
// a result is logged and printed, and the graph holds the Secrets it read, values included.
const graphs = new WeakMap<DistributeResult, Graph>();

/** The graph a distribution run read, for the callers of the same invocation (status, the closed loop). */
export function graphOf(result: DistributeResult | undefined): Graph | undefined {
  return result ? graphs.get(result) : undefined;
}

/** `{ graph }` when the run kept one: the context option of reportPropagation. */
export function withGraph(result: DistributeResult | undefined): { graph?: Graph } {
  const graph = graphOf(result);
  return graph ? { graph } : {};
}

/**
 * Converges every region affected by `changes` to the management cluster: plans each region from all
 * of its Credentials, writes referenced objects before identities, releases and deletes stale copies.
 * Regions run in parallel and fail independently.
 */
export async function distribute(
  deps: DistributeDeps,
  changes: Change[],
  options: {
    dryRun?: boolean;
    /**
     * The caller's writes to the management cluster, still under way: `changes` are then the Secrets
     * it may write, whose targets are read meanwhile, and only those it settles as changed converge.
     * A rejection stops the run before any target write.
     */
    written?: Promise<Written>;
  } = {},
): Promise<DistributeResult> {
  const graph = deps.graph ? ownCopy(await deps.graph()) : await loadGraph(deps.mgmt, deps.systemNamespace);
  const scope = (of: Change[]) => {
    const targets = affectedRegions(graph, of);
    // A changed Secret changes no Credential's needs: only the objects of the Credentials that use it
    // are read and written, and nothing can need cleaning up. Every other change, and the sweep,
    // converges whole regions, clean-up included.
    const cleanUp = of.some((c) => c.kind !== 'secret');
    const inTargets = graph.closures.filter((c) => targets.has(c.target));
    const focus = cleanUp
      ? inTargets
      : inTargets.filter((c) => c.items.some((i) => of.some((ch) => matches(ch, i.object))));
    const only = cleanUp ? undefined : new Set(focus.flatMap((c) => c.items.map(copyKey)));
    return { targets, cleanUp, inTargets, focus, only };
  };
  const early = scope(changes);
  // Each target's client opens (its kubeconfig read) while the changed Secrets are read; its region's
  // run reports a failure.
  const opened = new Map([...early.targets].map((t) => [t, openTarget(deps, graph, t)]));
  for (const opening of opened.values()) opening.catch(() => {});
  // While the caller still writes (a rotation: a few targets), each target also reads what it holds;
  // otherwise each reads in its turn, at most `concurrency` at once.
  const held = new Map(
    options.written
      ? [...early.targets].map((t) => [t, readTarget(deps, graph, t, early.only, opened.get(t))])
      : [],
  );
  for (const reading of held.values()) reading.catch(() => {});
  const written = options.written ? await options.written : undefined;
  const { targets, cleanUp, inTargets, focus, only } = written ? scope(written.changes) : early;
  await loadSecrets(deps.mgmt, focus, written?.objects);
  // A deleted Credential's copies may sit in its own namespace (a reference with a namespace path).
  const extraNamespaces = changes.flatMap((c) => (c.kind === 'credential' ? [c.namespace] : []));
  const results = await settleAll([...targets], deps.concurrency ?? 8, (region) =>
    convergeRegion(
      deps,
      graph,
      region,
      options.dryRun ?? false,
      cleanUp ? extraNamespaces : undefined,
      only,
      held.get(region) ?? readTarget(deps, graph, region, only, opened.get(region)),
    ),
  );
  const regions = results.map((settled, index): RegionResult => {
    const region = [...targets][index] ?? '';
    if (settled.status === 'fulfilled') return settled.value;
    const retryable = settled.reason instanceof RelayError ? settled.reason.retryable : true;
    deps.log.warn('region failed', { region, error: describeError(settled.reason) });
    return { region, actions: [], error: describeError(settled.reason), retryable };
  });
  // Events go to the Credentials this run was about: after a Secret change, only those using it (a
  // rotation must not repeat every other Credential's Warning); otherwise all of the converged regions.
  if (!options.dryRun) await recordCredentialEvents(deps, cleanUp ? inTargets : focus, regions);
  const problems = graph.closures.flatMap((c) =>
    c.problems.map((p) => `Credential ${c.credential.namespace}/${c.credential.name}: ${p}`),
  );
  const result = { regions, problems };
  graphs.set(result, graph);
  return result;
}

/** A shared graph with closures of this run's own: the Secrets it reads are read after its own writes. */
function ownCopy(graph: Graph): Graph {
  return {
    ...graph,
    closures: graph.closures.map((c) => ({
      ...c,
      items: c.items.map((item) => ({ ...item })),
      problems: [...c.problems],
    })),
  };
}

/** The targets (Regions, and the management cluster for AccessManagement's copies) a set of changes can touch. */
export function affectedRegions(graph: Graph, changes: Change[]): Set<string> {
  const regions = new Set<string>();
  for (const change of changes) {
    if (change.kind === 'credential') {
      // An existing Credential's region is immutable: only it can need work. A deleted one may have
      // left copies anywhere, so every region is checked.
      const region = graph.closures.find(
        (c) => c.credential.namespace === change.namespace && c.credential.name === change.name,
      )?.target;
      if (region) regions.add(region);
      else for (const name of allTargets(graph)) regions.add(name);
      continue;
    }
    if (change.kind === 'all') {
      for (const name of allTargets(graph)) regions.add(name);
      continue;
    }
    if (change.kind === 'region') {
      if (hasTarget(graph, change.name)) regions.add(change.name);
      continue;
    }
    for (const closure of graph.closures) {
      if (closure.items.some((item) => matches(change, item.object))) regions.add(closure.target);
    }
  }
  return new Set([...regions].filter((name) => hasTarget(graph, name)));
}

function matches(change: Change, object: KubeObject): boolean {
  const { name, namespace } = object.metadata;
  if (change.kind === 'secret') {
    return (
      object.kind === 'Secret' &&
      object.apiVersion === 'v1' &&
      name === change.name &&
      namespace === change.namespace
    );
  }
  if (change.kind === 'object') {
    return (
      object.kind === change.objectKind &&
      object.apiVersion === change.apiVersion &&
      name === change.name &&
      (change.namespace ?? undefined) === (namespace ?? undefined)
    );
  }
  return false;
}
