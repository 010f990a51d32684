import { ANNOTATIONS } from '../domain/objects.js';
import { describeError } from '../errors.js';
import type { MetricsSink } from '../ports.js';
import { type DistributeResult, distribute, withGraph } from './distribute.js';
import { reportPropagation, sourcesOf } from './propagation.js';
import { type RotateDeps, rotate, type SecretOutcome } from './rotate.js';
import { resolveScope, type Scope } from './scope.js';
import { sweep } from './sweep.js';

/** What a bound Secret held before the run: for the plan's "version a → b, hash x → y". */
export interface HeldVersion {
  version?: string;
  hash?: string;
}

/** What a resync did (or, dry run, would do): per source its bindings and regions, then the rest of the scope. */
export interface ResyncResult {
  dryRun: boolean;
  rotations: SecretOutcome[];
  /** Regions of the scope not already converged by a rotation above. */
  distribution: DistributeResult;
  /** Bound Secrets (`ns/name`) and what they held before. */
  before: Record<string, HeldVersion>;
  failed: string[];
}

/**
 * The sweep on demand. `all` is the scheduled sweep itself (sources compared by ListSecrets). A narrower
 * scope re-reads AWSCURRENT of every source it covers (so hand-edited management data is repaired too),
 * converges those bindings and their regions through `rotate`, then converges the scope's other regions.
 */
export async function resync(
  deps: RotateDeps & { metrics: MetricsSink },
  scope: Scope,
  options: { dryRun?: boolean } = {},
): Promise<ResyncResult> {
  const dryRun = options.dryRun ?? false;
  const state = await resolveScope(deps, scope);
  const before: Record<string, HeldVersion> = {};
  for (const bound of state.bindings) {
    const annotations = bound.object.metadata.annotations ?? {};
    before[bound.name] = {
      ...(annotations[ANNOTATIONS.sourceVersion] ? { version: annotations[ANNOTATIONS.sourceVersion] } : {}),
      ...(annotations[ANNOTATIONS.contentHash] ? { hash: annotations[ANNOTATIONS.contentHash] } : {}),
    };
  }
  if (scope.kind === 'all') {
    const result = await sweep(deps, { dryRun });
    return {
      dryRun,
      rotations: result.rotations,
      distribution: result.distribution,
      before,
      failed: result.failed,
    };
  }
  const failed = state.bindings.filter((b) => b.error).map((b) => `${b.name}: ${b.error}`);
  const sources = [...new Set(state.bindings.flatMap((b) => (b.binding ? [b.binding.source] : [])))];
  const at = deps.now().toISOString();
  const rotations =
    sources.length === 0
      ? []
      : await rotate(
          deps,
          {
            hints: sources.map((secretId) => ({
              secretId,
              source: 'label-updated' as const,
              eventId: `resync-${at}`,
              eventTime: at,
              replayed: false,
            })),
            failures: [],
            ignored: [],
            malformed: [],
          },
          { dryRun },
        );
  for (const outcome of rotations) if (outcome.error) failed.push(`${outcome.secretId}: ${outcome.error}`);
  const done = new Set(rotations.flatMap((o) => o.distribution?.regions.map((r) => r.region) ?? []));
  const remaining = state.regions.filter((region) => !done.has(region));
  const distribution =
    remaining.length === 0
      ? { regions: [], problems: [] }
      : await distribute(
          deps,
          remaining.map((name) => ({ kind: 'region', name })),
          { dryRun },
        );
  for (const region of distribution.regions)
    if (region.error) failed.push(`region ${region.region}: ${region.error}`);
  if (!dryRun && remaining.length > 0)
    await reportPropagation(deps, sourcesOf(distribution), {
      correlationId: `resync-${at}`,
      ...withGraph(distribution),
    }).catch((error: unknown) => failed.push(`Credential Propagated event: ${describeError(error)}`));
  const problems = state.closures.flatMap((c) =>
    c.problems.map((p) => `Credential ${c.credential.namespace}/${c.credential.name}: ${p}`),
  );
  return { dryRun, rotations, distribution: { ...distribution, problems }, before, failed };
}
