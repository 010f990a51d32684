import { MANAGEMENT_TARGET, type RegionInfo } from '../domain/graph.js';
import { type KubeObject, type ObjectRef, refKey, refOf } from '../domain/objects.js';
import {
  credentialLabelKey,
  type DesiredCopy,
  isWrite,
  planRegion,
  type RegionAction,
} from '../domain/regional.js';
import { guardedTry, WRITE_ATTEMPTS } from '../domain/retry.js';
import { NotServed, RelayError, TransientFailure, WriteConflict } from '../errors.js';
import type { Cluster, ClusterConnector, Log, MetricsSink } from '../ports.js';
import { copyRefs } from './closure.js';
import type { Graph } from './graph.js';
import { restartConsumers } from './restart.js';
import { checkTarget } from './target-checks.js';
import { desiredCopies, labelledObjects, missingNamespaces, writtenSources } from './target-state.js';

// One region's convergence: what it should hold, the plan, and the guarded writes.

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

/** One target's outcome: the plan (executed unless dry-run) or the one-line reason it failed. */
export interface RegionResult {
  /** A Region's name, or MANAGEMENT_TARGET. */
  region: string;
  actions: PlannedAction[];
  error?: string;
  retryable?: boolean;
  /** Deployments restarted after their Secret's copy changed (bindings that ask for it). */
  restarted?: string[];
}

/** A plan step as shown to people: never a value, only names, operations and hashes. */
export interface PlannedAction {
  op: RegionAction['op'];
  /** The object's key (refKey), to match it by; `object` is for people. */
  key: string;
  object: string;
  hash?: string;
  previousHash?: string;
  detail?: string;
}

/** What a target holds of the copies a run converges, and its client: the other input of its plan. */
export interface TargetState {
  cluster: Cluster;
  /** Each copy's current object (undefined: absent), by refKey. */
  existing: Map<string, KubeObject | undefined>;
}

/**
 * Opens a target and reads what it holds of the copies `only` names (all of its Credentials' copies when
 * undefined), alongside its checks (which may only drop Credentials). It needs no Secret's content, so
 * it runs while the management cluster's Secrets are still being read or written.
 */
export async function readTarget(
  deps: DistributeDeps,
  graph: Graph,
  region: string,
  only: Set<string> | undefined,
  connected?: Promise<Cluster>,
): Promise<TargetState> {
  const cluster = await (connected ?? openTarget(deps, graph, region));
  const closures = graph.closures.filter((c) => c.target === region);
  const refs = new Map<string, ObjectRef>();
  for (const closure of closures) {
    if (closure.problems.length > 0) continue;
    for (const ref of copyRefs(closure)) if (!only || only.has(refKey(ref))) refs.set(refKey(ref), ref);
  }
  const existing = new Map<string, KubeObject | undefined>();
  const reads = [...refs].map(async ([key, ref]) => {
    // An unserved kind is the check's to report, on its Credential alone.
    const held = await cluster.get(ref).catch((error: unknown) => {
      if (error instanceof NotServed) return undefined;
      throw error;
    });
    existing.set(key, held);
  });
  await Promise.all([checkTarget(cluster, region, closures), ...reads]);
  return { cluster, existing };
}

/**
 * Converges one target (a Region, or the management cluster for AccessManagement's copies) to the
 * management graph from what it holds (readTarget): plans, writes in order, guarded (see execute).
 */
export async function convergeRegion(
  deps: DistributeDeps,
  graph: Graph,
  region: string,
  dryRun: boolean,
  /** Namespaces to look for stale copies in besides the usual ones; undefined skips the clean-up. */
  extraNamespaces: string[] | undefined,
  /** Keys of the only objects to converge; undefined converges every object of the region. */
  only: Set<string> | undefined,
  /** What the target holds (readTarget), read by the caller alongside its own reads or in its turn. */
  state: Promise<TargetState>,
): Promise<RegionResult> {
  const management = region === MANAGEMENT_TARGET;
  const { cluster, existing } = await state;
  const closures = graph.closures.filter((c) => c.target === region);
  const now = deps.now();
  const desired = desiredCopies(closures, now, only, management);
  // A Credential whose objects could not be read keeps its copies: its label counts as known, not active.
  const active = new Set(
    closures
      .filter((c) => c.problems.length === 0)
      .map((c) => credentialLabelKey(c.credential.namespace, c.credential.name)),
  );

  const namespaces = new Set([
    deps.systemNamespace,
    ...closures.map((c) => c.credential.namespace),
    ...(extraNamespaces ?? []),
  ]);
  for (const copy of desired)
    if (copy.object.metadata.namespace) namespaces.add(copy.object.metadata.namespace);
  // In the management cluster the system namespace and the cluster scope hold sources, never copies.
  if (management) namespaces.delete(deps.systemNamespace);
  const labelled = extraNamespaces
    ? await labelledObjects(cluster, graph, namespaces, deps.log, management)
    : [];
  const plan = planRegion({ desired, existing, labelled, active, known: graph.credentialLabels });
  // As kcm's EnsureNamespace: a copy's namespace that the region lacks is created first.
  if (!management) plan.unshift(...(await missingNamespaces(cluster, plan)));

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
  const restarted = dryRun
    ? []
    : await restartConsumers(cluster, writtenSources(closures, actions), now, deps.log);
  deps.log.info('region converged', { region, writes, dryRun, objects: actions.length });
  return { region, actions, ...(restarted.length > 0 ? { restarted } : {}) };
}

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
      // A namespace created meanwhile by someone else is as good as our own.
      if (error instanceof WriteConflict && step.ref.kind === 'Namespace') return step;
      if (!(error instanceof WriteConflict) || !replan || attempt >= WRITE_ATTEMPTS) throw error;
      step = replan(await cluster.get(step.ref));
      if (!guardedTry(attempt + 1) && step.op === 'update')
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

/** The client of a target: the management cluster itself, or a Region's cluster. */
export function openTarget(
  deps: Pick<DistributeDeps, 'mgmt' | 'connector'>,
  graph: Graph,
  target: string,
): Promise<Cluster> {
  if (target === MANAGEMENT_TARGET) return Promise.resolve(deps.mgmt);
  return connectRegion(deps, graph.regions.get(target) as RegionInfo);
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

function toPlanned(action: RegionAction): PlannedAction {
  const { ref } = action;
  const named = {
    key: refKey(ref),
    object: `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`,
  };
  switch (action.op) {
    case 'create':
      return { op: action.op, ...named, ...(action.hash ? { hash: action.hash } : {}) };
    case 'update':
      return {
        op: action.op,
        ...named,
        hash: action.hash,
        ...(action.previousHash ? { previousHash: action.previousHash } : {}),
      };
    case 'noop':
      return { op: action.op, ...named, hash: action.hash };
    case 'skip-unmanaged':
    case 'skip-older':
      return { op: action.op, ...named, detail: action.reason };
    case 'release':
      return { op: action.op, ...named, detail: `remove ${action.labels.join(', ')}` };
    case 'delete':
      return { op: action.op, ...named };
  }
}
