import { MANAGEMENT_TARGET } from '../domain/graph.js';
import { ANNOTATIONS, type KubeObject, refKey } from '../domain/objects.js';
import { isWrite } from '../domain/regional.js';
import type { EventReason } from '../domain/telemetry.js';
import { describeError } from '../errors.js';
import type { Cluster, SecretSource } from '../ports.js';
import { copyRefs } from './closure.js';
import { settleAll } from './concurrency.js';
import { problemReason } from './credential-events.js';
import {
  connectRegion,
  type DistributeDeps,
  distribute,
  graphOf,
  type PlannedAction,
  type RegionResult,
} from './distribute.js';
import type { CredentialClosure, Graph } from './graph.js';
import { propagationOf } from './propagation.js';
import { resolveScope, type Scope, type ScopeDeps, type ScopedState } from './scope.js';

/** A bound Secret: its source's AWSCURRENT (by DescribeSecret, no value read) against what it holds. */
export interface BindingStatus {
  secret: string;
  source?: string;
  format?: string;
  sourceVersion?: string;
  managementVersion?: string;
  syncedAt?: string;
  state: 'ok' | 'stale' | 'error';
  error?: string;
  /** Why a stale binding is stale, when identity-relay knows: the rejection of AWSCURRENT's version. */
  why?: string;
}

/** One object a regional Credential needs, as its region holds it. */
export interface CopyStatus {
  object: string;
  /** What a resync would do to it: `noop` when the copy matches the management cluster. */
  op: PlannedAction['op'] | 'unknown';
  version?: string;
  syncedAt?: string;
  hash?: string;
  previousHash?: string;
  drift: boolean;
}

/** A Credential with a target: each object its identity needs, as its target holds it. */
export interface CredentialStatus {
  credential: string;
  /** Its Region, or `(management)` for AccessManagement's copy. */
  region: string;
  identity: string;
  /** kcm's `status.ready` (absent: false). */
  ready: boolean;
  state: 'ok' | 'drift' | 'error';
  error?: string;
  objects: CopyStatus[];
}

/** A Region: whether it was reached, and clean-ups (releases, deletes) a resync would make. */
export interface RegionStatus {
  region: string;
  state: 'ok' | 'drift' | 'error';
  error?: string;
  cleanup: PlannedAction[];
}

/** The whole `status` answer (the `--json` shape documented in lib/cli/README.md). */
export interface StatusReport {
  ok: boolean;
  bindings: BindingStatus[];
  credentials: CredentialStatus[];
  regions: RegionStatus[];
  /** With `--secret`: where AWSCURRENT's version is, per source (`version X: n/m targets`). */
  propagation?: PropagationStatus[];
}

/** One source's current version: how many targets hold it (the management Secrets count as one). */
export interface PropagationStatus {
  secretId: string;
  versionId: string;
  holding: number;
  total: number;
  /** Whether `Credential Propagated` was sent for this version. */
  announced: boolean;
  targets: Array<{ target: string; holding: number; total: number; error?: string }>;
}

export type StatusDeps = DistributeDeps & ScopeDeps & { source: SecretSource };

/**
 * Reports, for a scope, each binding's source and management versions and each regional copy's version,
 * last sync and drift. Drift is what a distribute dry run would change, so status and resync agree.
 * Reads only: DescribeSecret, Kubernetes gets and lists.
 */
export async function status(deps: StatusDeps, scope: Scope): Promise<StatusReport> {
  const state = await resolveScope(deps, scope);
  const [bindings, distribution] = await Promise.all([
    bindingStatuses(deps, state),
    distribute(
      deps,
      state.regions.map((name) => ({ kind: 'region', name })),
      { dryRun: true },
    ),
  ]);
  const byRegion = new Map(distribution.regions.map((r) => [r.region, r]));
  // The distribution's own read of each Credential knows its target's problems too.
  const checked = new Map((graphOf(distribution)?.closures ?? []).map((c) => [credentialKey(c), c]));
  const credentials = await Promise.all(
    state.closures.map((closure) =>
      credentialStatus(deps, state, checked.get(credentialKey(closure)) ?? closure, byRegion),
    ),
  );
  const regions = state.regions.map((region): RegionStatus => {
    const result = byRegion.get(region);
    const cleanup = (result?.actions ?? []).filter((a) => a.op === 'release' || a.op === 'delete');
    if (result?.error) return { region, state: 'error', error: result.error, cleanup };
    const drift = (result?.actions ?? []).some((a) => isWrite(a.op));
    return { region, state: drift ? 'drift' : 'ok', cleanup };
  });
  const propagation =
    scope.kind === 'secret' ? await propagationStatuses(deps, state, graphOf(distribution)) : undefined;
  const ok =
    bindings.every((b) => b.state === 'ok') &&
    credentials.every((c) => c.state === 'ok') &&
    regions.every((r) => r.state === 'ok');
  return { ok, bindings, credentials, regions, ...(propagation ? { propagation } : {}) };
}

/**
 * The newest InvalidCredentialFormat Event identity-relay recorded on a bound Secret for `versionId`
 * (its message names the format failure, never a value); undefined when there is none or Events cannot
 * be read.
 */
async function rejection(mgmt: Cluster, secret: KubeObject, versionId: string): Promise<string | undefined> {
  const { name, namespace } = secret.metadata;
  const reason: EventReason = 'InvalidCredentialFormat';
  const events = await mgmt
    .list('v1', 'Event', {
      ...(namespace ? { namespace } : {}),
      fieldSelector: `involvedObject.kind=Secret,involvedObject.name=${name},reason=${reason}`,
    })
    .catch(() => []);
  const messages = events
    .filter((e) => typeof e.message === 'string' && e.message.startsWith(`version ${versionId} rejected`))
    .sort((a, b) => String(b.lastTimestamp ?? '').localeCompare(String(a.lastTimestamp ?? '')));
  return messages[0]?.message as string | undefined;
}

/** Per source of the scope's bindings: where its bound version is (the management Secrets' version). */
async function propagationStatuses(
  deps: StatusDeps,
  state: ScopedState,
  graph: Graph | undefined,
): Promise<PropagationStatus[]> {
  const sources = [...new Set(state.bindings.flatMap((b) => (b.binding ? [b.binding.source] : [])))];
  const found = await Promise.all(
    sources.map((secretId) => propagationOf(deps, graph ?? state.graph, secretId)),
  );
  return found.flatMap((f) =>
    f
      ? [
          {
            secretId: f.secretId,
            versionId: f.versionId,
            holding: f.state.holding,
            total: f.state.total,
            announced: f.management.some(
              (m) => m.metadata.annotations?.[ANNOTATIONS.propagatedVersion] === f.versionId,
            ),
            targets: f.state.targets,
          },
        ]
      : [],
  );
}

function credentialKey(closure: CredentialClosure): string {
  return `${closure.credential.namespace}/${closure.credential.name}`;
}

async function bindingStatuses(deps: StatusDeps, state: ScopedState): Promise<BindingStatus[]> {
  const versions = new Map<string, ReturnType<SecretSource['currentVersion']>>();
  const settled = await settleAll(state.bindings, 8, async (bound): Promise<BindingStatus> => {
    const annotations = bound.object.metadata.annotations ?? {};
    const held = {
      ...(annotations[ANNOTATIONS.sourceVersion]
        ? { managementVersion: annotations[ANNOTATIONS.sourceVersion] }
        : {}),
      ...(annotations[ANNOTATIONS.syncedAt] ? { syncedAt: annotations[ANNOTATIONS.syncedAt] } : {}),
    };
    const { binding } = bound;
    if (!binding) return { secret: bound.name, ...held, state: 'error', error: bound.error ?? 'no binding' };
    const base = { secret: bound.name, source: binding.source, format: binding.format, ...held };
    let version = versions.get(binding.source);
    if (!version) {
      version = deps.source.currentVersion(binding.source);
      versions.set(binding.source, version);
    }
    try {
      const current = await version;
      if (current.versionId === held.managementVersion)
        return { ...base, sourceVersion: current.versionId, state: 'ok' };
      const why = await rejection(deps.mgmt, bound.object, current.versionId);
      return { ...base, sourceVersion: current.versionId, state: 'stale', ...(why ? { why } : {}) };
    } catch (error) {
      return { ...base, state: 'error', error: describeError(error) };
    }
  });
  return settled.map((s, i) =>
    s.status === 'fulfilled'
      ? s.value
      : { secret: state.bindings[i]?.name ?? '', state: 'error', error: describeError(s.reason) },
  );
}

async function credentialStatus(
  deps: StatusDeps,
  state: ScopedState,
  closure: CredentialClosure,
  byRegion: Map<string, RegionResult>,
): Promise<CredentialStatus> {
  const { credential } = closure;
  const region = closure.target;
  const id = credential.identityRef;
  const base = {
    credential: `${credential.namespace}/${credential.name}`,
    region,
    identity: `${id.kind} ${id.namespace ? `${id.namespace}/` : ''}${id.name}`,
    ready: credential.ready,
  };
  const management = region === MANAGEMENT_TARGET;
  const info = state.graph.regions.get(region);
  if (!info && !management)
    return { ...base, state: 'error', error: `Region ${region} not found`, objects: [] };
  // Led by the Event's reason (CredentialRefused, IdentityUnavailable): the same word `kubectl describe` shows.
  if (closure.problems.length > 0)
    return {
      ...base,
      state: 'error',
      error: `${problemReason(closure)}: ${closure.problems.join('; ')}`,
      objects: [],
    };
  const result = byRegion.get(region);
  const copies = copyRefs(closure);
  let held: Array<KubeObject | undefined> = [];
  let error = result?.error;
  if (!error) {
    try {
      const cluster = info ? await connectRegion(deps, info) : deps.mgmt;
      held = await Promise.all(copies.map((ref) => cluster.get(ref)));
    } catch (readError) {
      error = describeError(readError);
    }
  }
  const objects = copies.map((ref, index): CopyStatus => {
    const object = `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
    const action = result?.actions.find((a) => a.key === refKey(ref));
    const annotations = held[index]?.metadata.annotations ?? {};
    return {
      object,
      op: action?.op ?? 'unknown',
      ...(annotations[ANNOTATIONS.sourceVersion] ? { version: annotations[ANNOTATIONS.sourceVersion] } : {}),
      ...(annotations[ANNOTATIONS.syncedAt] ? { syncedAt: annotations[ANNOTATIONS.syncedAt] } : {}),
      ...(action?.hash ? { hash: action.hash } : {}),
      ...(action?.previousHash ? { previousHash: action.previousHash } : {}),
      drift: action?.op === 'create' || action?.op === 'update',
    };
  });
  if (error) return { ...base, state: 'error', error, objects };
  return { ...base, state: objects.some((o) => o.drift) ? 'drift' : 'ok', objects };
}
