import { MANAGEMENT_TARGET } from '../domain/graph.js';
import { ANNOTATIONS, type KubeObject, type ObjectRef, refKey, refOf } from '../domain/objects.js';
import type { BindingPolicy } from '../domain/policy.js';
import {
  type HeldCopy,
  type PropagationState,
  propagationSeconds,
  propagationState,
  type TargetCopies,
} from '../domain/propagation.js';
import { secretIdMatches } from '../domain/secret-id.js';
import { describeError, WriteConflict } from '../errors.js';
import type { EventPublisher } from '../ports.js';
import { listBoundSecrets } from './bound-secrets.js';
import { copyRefs } from './closure.js';
import { connectRegion, type DistributeDeps, type DistributeResult, graphOf } from './distribute.js';
import { type Graph, loadGraph } from './graph.js';

// The closed loop: `Credential Propagated` goes on the bus once a secret's version is everywhere it must
// be, exactly once per (secret, version), whichever run converged the last target. The first bound
// Secret (by namespace/name) of the secret carries the version announced; the claim is a
// compare-and-swap on it (resourceVersion), so two runs that finish together send one event.

export interface PropagationDeps extends DistributeDeps {
  watchNamespaces: string[];
  bindingPolicy?: BindingPolicy;
  /** Where the events go; absent: nothing is announced. */
  events?: EventPublisher;
}

/** One secret's current version, and where it is. */
export interface SourcePropagation {
  secretId: string;
  versionId: string;
  state: PropagationState;
  /** The bound management Secrets, sorted; the first carries the announced version. */
  management: KubeObject[];
}

const CLAIM_ATTEMPTS = 3;

/** The sources (binding source annotations) of the management Secrets a distribution run read. */
export function sourcesOf(result: DistributeResult): string[] {
  const sources = new Set<string>();
  for (const closure of graphOf(result)?.closures ?? [])
    for (const item of closure.items) {
      const source = item.loaded ? item.object.metadata.annotations?.[ANNOTATIONS.source] : undefined;
      if (source) sources.add(source);
    }
  return [...sources];
}

/**
 * For each secret: when its current version is everywhere and was not announced yet, claims it and puts
 * `Credential Propagated` on the bus. A failed put releases the claim and rejects (retryable), so the
 * unit is retried and the event sent then. `graph`: the run's own, when the caller has one.
 */
export async function reportPropagation(
  deps: PropagationDeps,
  secretIds: string[],
  context: { correlationId?: string; graph?: Graph } = {},
): Promise<void> {
  if (!deps.events || secretIds.length === 0) return;
  const graph =
    context.graph ?? (deps.graph ? await deps.graph() : await loadGraph(deps.mgmt, deps.systemNamespace));
  for (const secretId of new Set(secretIds)) {
    for (let attempt = 1; attempt <= CLAIM_ATTEMPTS; attempt++) {
      const found = await propagationOf(deps, graph, secretId);
      if (!found?.state.complete) return;
      const [holder] = found.management;
      if (!holder || found.management.some((m) => announced(m) === found.versionId)) break;
      try {
        await claim(deps, holder, found.versionId);
      } catch (error) {
        if (error instanceof WriteConflict) continue; // another run claimed it, or the Secret changed: look again
        throw error;
      }
      await announce(deps, found, holder, context.correlationId);
      break;
    }
  }
}

/** Where one secret's current version is: its bound management Secrets and every copy of them. */
export async function propagationOf(
  deps: PropagationDeps,
  graph: Graph,
  secretId: string,
): Promise<SourcePropagation | undefined> {
  const bound = await listBoundSecrets(deps, deps.watchNamespaces);
  const management = bound
    .filter((b) => b.binding && secretIdMatches(b.binding.source, secretId))
    .map((b) => b.object)
    .sort((a, b) => nameOf(a).localeCompare(nameOf(b)));
  const versions = new Set(management.map((m) => m.metadata.annotations?.[ANNOTATIONS.sourceVersion]));
  const [versionId] = versions;
  // Bindings that disagree (one not written yet, or failing) are not a version everywhere.
  if (management.length === 0 || versions.size !== 1 || !versionId) return undefined;
  const targets = await heldCopies(deps, graph, new Set(management.map(nameOf)));
  return { secretId, versionId, management, state: propagationState(versionId, management, targets) };
}

/** Every target's copies of the management Secrets `names` (namespace/name), as the targets hold them. */
async function heldCopies(deps: PropagationDeps, graph: Graph, names: Set<string>): Promise<TargetCopies[]> {
  const byTarget = new Map<string, Map<string, { ref: ObjectRef; optional: boolean }>>();
  for (const closure of graph.closures.filter((c) => !c.refused)) {
    const ofNames = (o: KubeObject) => o.apiVersion === 'v1' && o.kind === 'Secret' && names.has(nameOf(o));
    for (const ref of copyRefs(closure, ofNames)) {
      const copies = byTarget.get(closure.target) ?? new Map();
      const key = refKey(ref);
      const optional = closure.problems.length > 0 && (copies.get(key)?.optional ?? true);
      copies.set(key, { ref, optional });
      byTarget.set(closure.target, copies);
    }
  }
  return Promise.all(
    [...byTarget].map(async ([target, copies]): Promise<TargetCopies> => {
      const wanted = [...copies.values()];
      try {
        const info = graph.regions.get(target);
        const cluster = target === MANAGEMENT_TARGET || !info ? deps.mgmt : await connectRegion(deps, info);
        const held = await Promise.all(wanted.map(({ ref }) => cluster.get(ref)));
        return {
          target,
          copies: wanted.map(
            ({ ref, optional }, i): HeldCopy => ({ object: describe(ref), held: held[i], optional }),
          ),
        };
      } catch (error) {
        return {
          target,
          copies: wanted.map(({ ref, optional }) => ({ object: describe(ref), held: undefined, optional })),
          error: describeError(error),
        };
      }
    }),
  );
}

async function claim(deps: PropagationDeps, holder: KubeObject, versionId: string): Promise<void> {
  await deps.mgmt.annotate(
    refOf(holder),
    { [ANNOTATIONS.propagatedVersion]: versionId },
    holder.metadata.resourceVersion,
  );
}

async function announce(
  deps: PropagationDeps,
  found: SourcePropagation,
  holder: KubeObject,
  correlationId: string | undefined,
): Promise<void> {
  const createdAt = holder.metadata.annotations?.[ANNOTATIONS.sourceCreated];
  const seconds = propagationSeconds(createdAt, found.state.lastWriteAt);
  const detail = {
    secretId: found.secretId,
    versionId: found.versionId,
    managementSecrets: found.management.map(nameOf),
    targets: found.state.targets,
    ...(createdAt ? { versionCreatedAt: createdAt } : {}),
    ...(found.state.lastWriteAt ? { lastWriteAt: found.state.lastWriteAt } : {}),
    ...(seconds !== undefined ? { propagationSeconds: seconds } : {}),
    ...(correlationId ? { correlationId } : {}),
  };
  try {
    await deps.events?.publish('Credential Propagated', detail);
  } catch (error) {
    // Released, so the retry of this unit claims and sends it again.
    const previous = announced(holder) ?? null;
    await deps.mgmt
      .annotate(refOf(holder), { [ANNOTATIONS.propagatedVersion]: previous })
      .catch(() => undefined);
    throw error;
  }
  deps.log.info('credential propagated', {
    secretId: found.secretId,
    versionId: found.versionId,
    targets: found.state.total,
    ...(seconds !== undefined ? { propagationSeconds: seconds } : {}),
  });
}

function announced(object: KubeObject): string | undefined {
  return object.metadata.annotations?.[ANNOTATIONS.propagatedVersion];
}

function nameOf(object: KubeObject): string {
  return `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
}

function describe(ref: ObjectRef): string {
  return `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
}
