import type { RegionInfo } from '../domain/graph.js';
import { type KubeObject, LABELS, refKey, refOf } from '../domain/objects.js';
import {
  buildCopy,
  credentialLabelKey,
  type DesiredCopy,
  isCredentialLabel,
  isWrite,
  planRegion,
  type RegionAction,
} from '../domain/regional.js';
import { describeError, Forbidden, RelayError, TransientFailure, WriteConflict } from '../errors.js';
import type { Cluster, ClusterConnector, Log, MetricsSink } from '../ports.js';
import { settleAll } from './concurrency.js';
import { recordCredentialEvents } from './credential-events.js';
import { type ClosureItem, type CredentialClosure, type Graph, loadGraph, loadSecrets } from './graph.js';

/** What changed in the management cluster; each is only a hint, the state is re-read. */
export type Change =
  | { kind: 'secret'; namespace: string; name: string }
  | { kind: 'credential'; namespace: string; name: string }
  | { kind: 'region'; name: string }
  | { kind: 'object'; apiVersion: string; objectKind: string; name: string; namespace?: string }
  | { kind: 'all' };

export interface DistributeDeps {
  mgmt: Cluster;
  connector: ClusterConnector;
  log: Log;
  systemNamespace: string;
  now: () => Date;
  /** Regions converged at once. */
  concurrency?: number;
  /**
   * Milliseconds the invocation has left (a Lambda context's `getRemainingTimeInMillis`). Below
   * `DEADLINE_RESERVE_MS` no new write starts: a region stops between writes, which the planner orders
   * referenced-first, rather than being frozen mid-plan; its error is retryable, so the message is retried.
   */
  remainingMs?: () => number;
  /**
   * The management graph, when a caller shares one read among several runs (a rotation batch reads it
   * once for all its secrets); absent: each run reads its own.
   */
  graph?: () => Promise<Graph>;
  /** Where the caller has one: counts `CredentialProblems` (Credentials refused or unreadable). */
  metrics?: MetricsSink;
}

/** Time kept back at the end of an invocation to finish a write in flight and report the batch. */
export const DEADLINE_RESERVE_MS = 3_000;

/** One region's outcome: the plan (executed unless dry-run) or the one-line reason it failed. */
export interface RegionResult {
  region: string;
  actions: PlannedAction[];
  error?: string;
  retryable?: boolean;
}

/** A plan step as shown to people: never a value, only names, operations and hashes. */
export interface PlannedAction {
  op: RegionAction['op'];
  object: string;
  hash?: string;
  previousHash?: string;
  detail?: string;
}

export interface DistributeResult {
  regions: RegionResult[];
  /** Credentials that get nothing (refused by the graph rules, or unreadable), with the reason. */
  problems: string[];
}

/**
 * Converges every region affected by `changes` to the management cluster: plans each region from all
 * of its Credentials, writes referenced objects before identities, releases and deletes stale copies.
 * Regions run in parallel and fail independently.
 */
export async function distribute(
  deps: DistributeDeps,
  changes: Change[],
  options: { dryRun?: boolean } = {},
): Promise<DistributeResult> {
  const graph = deps.graph ? ownCopy(await deps.graph()) : await loadGraph(deps.mgmt, deps.systemNamespace);
  const targets = affectedRegions(graph, changes);
  // A changed Secret changes no Credential's needs: only the objects of the Credentials that use it are
  // read and written, and nothing can need cleaning up. Every other change, and the sweep, converges
  // whole regions, clean-up included.
  const cleanUp = changes.some((c) => c.kind !== 'secret');
  const inTargets = graph.closures.filter(
    (c) => c.credential.region !== undefined && targets.has(c.credential.region),
  );
  const focus = cleanUp
    ? inTargets
    : inTargets.filter((c) => c.items.some((i) => changes.some((ch) => matches(ch, i.object))));
  await loadSecrets(deps.mgmt, focus);
  const only = cleanUp ? undefined : new Set(focus.flatMap((c) => c.items.map(copyKey)));
  // A deleted Credential's copies may sit in its own namespace (a reference with a namespace path).
  const extraNamespaces = changes.flatMap((c) => (c.kind === 'credential' ? [c.namespace] : []));
  const results = await settleAll([...targets], deps.concurrency ?? 8, (region) =>
    convergeRegion(deps, graph, region, options.dryRun ?? false, cleanUp ? extraNamespaces : undefined, only),
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
  return { regions, problems };
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

/** The regions a set of changes can touch. */
export function affectedRegions(graph: Graph, changes: Change[]): Set<string> {
  const regions = new Set<string>();
  for (const change of changes) {
    if (change.kind === 'credential') {
      // An existing Credential's region is immutable: only it can need work. A deleted one may have
      // left copies anywhere, so every region is checked.
      const region = graph.closures.find(
        (c) => c.credential.namespace === change.namespace && c.credential.name === change.name,
      )?.credential.region;
      if (region) regions.add(region);
      else for (const name of graph.regions.keys()) regions.add(name);
      continue;
    }
    if (change.kind === 'all') {
      for (const name of graph.regions.keys()) regions.add(name);
      continue;
    }
    if (change.kind === 'region') {
      if (graph.regions.has(change.name)) regions.add(change.name);
      continue;
    }
    for (const closure of graph.closures) {
      if (closure.items.some((item) => matches(change, item.object)) && closure.credential.region) {
        regions.add(closure.credential.region);
      }
    }
  }
  return new Set([...regions].filter((name) => graph.regions.has(name)));
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

async function convergeRegion(
  deps: DistributeDeps,
  graph: Graph,
  region: string,
  dryRun: boolean,
  /** Namespaces to look for stale copies in besides the usual ones; undefined skips the clean-up. */
  extraNamespaces: string[] | undefined,
  /** Keys of the only objects to converge; undefined converges every object of the region. */
  only: Set<string> | undefined,
): Promise<RegionResult> {
  const info = graph.regions.get(region) as RegionInfo;
  const cluster = await connectRegion(deps, info);
  const closures = graph.closures.filter((c) => c.credential.region === region);
  const desired = desiredCopies(closures, deps.now(), only);
  // A Credential whose objects could not be read keeps its copies: its label counts as known, not active.
  const active = new Set(
    closures
      .filter((c) => c.problems.length === 0)
      .map((c) => credentialLabelKey(c.credential.namespace, c.credential.name)),
  );

  const existing = new Map<string, KubeObject | undefined>();
  await Promise.all(
    desired.map(async (copy) => {
      const ref = refOf(copy.object);
      existing.set(refKey(ref), await cluster.get(ref));
    }),
  );
  const namespaces = new Set([
    deps.systemNamespace,
    ...closures.map((c) => c.credential.namespace),
    ...(extraNamespaces ?? []),
  ]);
  for (const copy of desired)
    if (copy.object.metadata.namespace) namespaces.add(copy.object.metadata.namespace);
  const labelled = extraNamespaces ? await labelledObjects(cluster, graph, namespaces, deps.log) : [];
  const plan = planRegion({ desired, existing, labelled, active, known: graph.credentialLabels });

  if (!dryRun) {
    const replan = (copy: DesiredCopy, fresh: KubeObject | undefined) =>
      planRegion({
        desired: [copy],
        existing: new Map([[refKey(refOf(copy.object)), fresh]]),
        labelled: [],
        active,
        known: graph.credentialLabels,
      })[0] as RegionAction;
    for (const [index, action] of plan.entries()) {
      if (isWrite(action.op)) stopNearDeadline(deps, plan.length - index);
      const copy = desired.find((d) => refKey(refOf(d.object)) === refKey(action.ref));
      plan[index] = await execute(cluster, action, copy ? (fresh) => replan(copy, fresh) : undefined);
    }
  }
  const actions = plan.map(toPlanned);
  const writes = actions.filter((a) => isWrite(a.op)).length;
  deps.log.info('region converged', { region, writes, dryRun, objects: actions.length });
  return { region, actions };
}

/**
 * Attempts of one write whose precondition keeps failing. The last one, planned from a fresh read (so the
 * version order was checked again), carries no resourceVersion: other field managers writing other
 * fields of the object (a controller adding owner references) would otherwise keep it out for ever.
 */
const CONFLICT_ATTEMPTS = 4;

/**
 * Runs one planned step. A create or update carries its precondition (absent, or the resourceVersion it
 * was planned from); when another invocation wrote the object first, it is read again and planned again,
 * so an older version never overwrites a newer one. Returns the step that was finally taken.
 */
async function execute(
  cluster: Cluster,
  action: RegionAction,
  replan: ((fresh: KubeObject | undefined) => RegionAction) | undefined,
): Promise<RegionAction> {
  let step = action;
  for (let attempt = 1; ; attempt++) {
    try {
      if (step.op === 'create')
        await (cluster.create ? cluster.create(step.object) : cluster.apply(step.object));
      else if (step.op === 'update') await cluster.apply(step.object);
      else if (step.op === 'release') await cluster.removeLabels(step.ref, step.labels);
      else if (step.op === 'delete') await cluster.delete(step.ref);
      return step;
    } catch (error) {
      if (!(error instanceof WriteConflict) || !replan || attempt >= CONFLICT_ATTEMPTS) throw error;
      step = replan(await cluster.get(step.ref));
      if (attempt === CONFLICT_ATTEMPTS - 1 && step.op === 'update')
        step = { ...step, object: unguarded(step.object) };
    }
  }
}

function unguarded(object: KubeObject): KubeObject {
  const { resourceVersion: _, ...metadata } = object.metadata;
  return { ...object, metadata };
}

function stopNearDeadline(deps: DistributeDeps, left: number): void {
  if (deps.remainingMs && deps.remainingMs() < DEADLINE_RESERVE_MS)
    throw new TransientFailure(
      `function deadline near: stopped with ${left} step(s) left, to resume on retry`,
    );
}

/** Opens a Region's cluster from its kubeconfig Secret in the management cluster (also used by `status`). */
export async function connectRegion(
  deps: Pick<DistributeDeps, 'mgmt' | 'connector'>,
  region: RegionInfo,
): Promise<Cluster> {
  const { namespace, name, key } = region.kubeconfig;
  const secret = await deps.mgmt.get({ apiVersion: 'v1', kind: 'Secret', namespace, name });
  const encoded = (secret?.data as Record<string, string> | undefined)?.[key];
  if (!secret || !encoded) {
    throw new RelayError(
      `region ${region.name}: kubeconfig Secret ${namespace}/${name} key ${key} not found`,
      {
        retryable: true,
      },
    );
  }
  return deps.connector.connect(
    region.name,
    Buffer.from(encoded, 'base64').toString('utf8'),
    secret.metadata.resourceVersion ?? '',
  );
}

/** Every object the region's Credentials need, merged so each carries the labels of all its Credentials. */
/** The key of the copy an item becomes in a region (its namespace may move to the Credential's). */
function copyKey(item: ClosureItem): string {
  const ref = refOf(item.object);
  if (item.namespace && ref.namespace) ref.namespace = item.namespace;
  return refKey(ref);
}

function desiredCopies(closures: CredentialClosure[], now: Date, only?: Set<string>): DesiredCopy[] {
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
async function labelledObjects(
  cluster: Cluster,
  graph: Graph,
  namespaces: Set<string>,
  log: Log,
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
      if (namespaced === undefined) return [];
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

function toPlanned(action: RegionAction): PlannedAction {
  const { ref } = action;
  const object = `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
  switch (action.op) {
    case 'create':
      return { op: action.op, object, hash: action.hash };
    case 'update':
      return {
        op: action.op,
        object,
        hash: action.hash,
        ...(action.previousHash ? { previousHash: action.previousHash } : {}),
      };
    case 'noop':
      return { op: action.op, object, hash: action.hash };
    case 'skip-unmanaged':
    case 'skip-older':
      return { op: action.op, object, detail: action.reason };
    case 'release':
      return { op: action.op, object, detail: `remove ${action.labels.join(', ')}` };
    case 'delete':
      return { op: action.op, object };
  }
}
