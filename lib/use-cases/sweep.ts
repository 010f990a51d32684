import type { RotationHint } from '../domain/events.js';
import { ANNOTATIONS, LABELS } from '../domain/objects.js';
import { describeError } from '../errors.js';
import type { MetricsSink } from '../ports.js';
import { readScopedBinding } from './binding-scope.js';
import { settleAll } from './concurrency.js';
import { type DistributeResult, distribute } from './distribute.js';
import { type RotateDeps, rotate, type SecretOutcome } from './rotate.js';
import { writesOf } from './run-jobs.js';

/** What one sweep found and did (names and versions, never values). */
export interface SweepResult {
  /** Bound Secrets whose binding was checked against AWSCURRENT. */
  checked: number;
  /** Bound Secrets whose `source-version` was not AWSCURRENT. */
  stale: string[];
  /** Writes made: bound Secrets updated and regional copies created, updated, released or deleted. */
  repaired: number;
  /** Bindings, sources and regions that could not be converged, with the reason. */
  failed: string[];
  rotations: SecretOutcome[];
  distribution: DistributeResult;
}

/**
 * The drift sweep: compares every bound Secret's `source-version` with AWSCURRENT by DescribeSecret (no
 * value is read), rotates only those that moved, then converges every region, which re-checks every
 * copy's content hash. When nothing drifted it reads no secret value and writes nothing.
 */
export async function sweep(
  deps: RotateDeps & { metrics: MetricsSink },
  options: { dryRun?: boolean } = {},
): Promise<SweepResult> {
  const failed: string[] = [];
  const lists = await Promise.all(
    deps.watchNamespaces.map((namespace) =>
      deps.mgmt.list('v1', 'Secret', { namespace, labelSelector: `${LABELS.bound}=true` }),
    ),
  );
  const bound = lists.flat();
  const versions = new Map<string, ReturnType<RotateDeps['source']['currentVersion']>>();
  const stale: string[] = [];
  const hints = new Map<string, RotationHint>();
  const at = deps.now().toISOString();
  const describe = (source: string) => {
    // One DescribeSecret per source, however many Secrets are bound to it.
    let version = versions.get(source);
    if (!version) {
      version = deps.source.currentVersion(source);
      versions.set(source, version);
    }
    return version;
  };
  await settleAll(bound, 16, async (secret) => {
    const name = `${secret.metadata.namespace}/${secret.metadata.name}`;
    try {
      const binding = await readScopedBinding(deps, secret, options);
      const current = await describe(binding.source);
      if (secret.metadata.annotations?.[ANNOTATIONS.sourceVersion] === current.versionId) return;
      stale.push(name);
      hints.set(current.arn, {
        secretId: current.arn,
        // The same hint a `Secret Label Updated` event gives: AWSCURRENT now points at this version.
        source: 'label-updated',
        eventId: `sweep-${at}`,
        eventTime: at,
        versionId: current.versionId,
        replayed: false,
      });
    } catch (error) {
      failed.push(`${name}: ${describeError(error)}`);
    }
  });
  const rotations =
    hints.size === 0
      ? []
      : await rotate(deps, { hints: [...hints.values()], failures: [], ignored: [], malformed: [] }, options);
  for (const outcome of rotations) if (outcome.error) failed.push(`${outcome.secretId}: ${outcome.error}`);
  const distribution = await distribute(deps, [{ kind: 'all' }], options);
  for (const region of distribution.regions)
    if (region.error) failed.push(`region ${region.region}: ${region.error}`);

  const repaired =
    writesOf(distribution) +
    rotations.reduce(
      (sum, o) =>
        sum +
        o.bindings.filter((b) => b.op === 'update').length +
        (o.distribution ? writesOf(o.distribution) : 0),
      0,
    );
  const result = { checked: bound.length, stale, repaired, failed, rotations, distribution };
  deps.metrics.count('BindingsChecked', result.checked);
  deps.metrics.count('Stale', stale.length);
  deps.metrics.count('Repaired', repaired);
  deps.metrics.count('Failed', failed.length);
  deps.log[failed.length > 0 ? 'warn' : 'info']('sweep done', {
    checked: result.checked,
    stale,
    repaired,
    failed,
    dryRun: options.dryRun ?? false,
  });
  return result;
}
