import type { Binding } from '../domain/binding.js';
import { BATCH_READ_SIZE, bindingDrift, sourceNamePrefixes } from '../domain/drift.js';
import type { RotationHint } from '../domain/events.js';
import { type KubeObject, LABELS } from '../domain/objects.js';
import { parseSecretArn, secretIdMatches } from '../domain/secret-id.js';
import { describeError, RelayError, SourceNotFound } from '../errors.js';
import type { BatchRead, ListedVersion, MetricsSink, SecretSource } from '../ports.js';
import { readScopedBinding } from './binding-scope.js';
import { type DistributeResult, distribute, withGraph } from './distribute.js';
import { reportPropagation, sourcesOf } from './propagation.js';
import { type RotateDeps, rotate, type SecretOutcome } from './rotate.js';
import { writesOf } from './run-jobs.js';

/**
 * Secrets Manager calls one sweep made: no GetSecretValue, and DescribeSecret only for a source that
 * ListSecrets cannot list (a secret of another account, named by its ARN).
 */
export interface SweepCalls {
  listSecrets: number;
  batchGetSecretValue: number;
  describeSecret: number;
}

/** What one sweep found and did (names and versions, never values). */
export interface SweepResult {
  /** Bound Secrets whose binding was checked against AWSCURRENT. */
  checked: number;
  /** Bound Secrets re-applied: `source-version` was not AWSCURRENT, or their bound data was edited. */
  stale: string[];
  /** Of those, the ones whose version matched but whose bound keys no longer hash to `content-hash`. */
  edited: string[];
  /** Writes made: bound Secrets updated and regional copies created, updated, released or deleted. */
  repaired: number;
  /** Bindings, sources and regions that could not be converged, with the reason. */
  failed: string[];
  calls: SweepCalls;
  rotations: SecretOutcome[];
  distribution: DistributeResult;
}

type BulkSource = SecretSource & Required<Pick<SecretSource, 'listVersions' | 'getCurrentBatch'>>;

/**
 * The drift sweep. Lists the watched sources' AWSCURRENT versions with ListSecrets (100 a page, no value
 * read), finds the bound Secrets that are behind or whose bound data was edited by hand, reads only those
 * sources' values with BatchGetSecretValue (20 a call), hands the values to the rotation path (which
 * reads nothing again), then converges every region, which re-checks every copy's content hash. When
 * nothing drifted it reads no secret value and writes nothing.
 */
export async function sweep(
  deps: RotateDeps & { metrics: MetricsSink },
  options: { dryRun?: boolean } = {},
): Promise<SweepResult> {
  const source = bulkSource(deps.source);
  const calls: SweepCalls = { listSecrets: 0, batchGetSecretValue: 0, describeSecret: 0 };
  const failed: string[] = [];
  const bound = (
    await Promise.all(
      deps.watchNamespaces.map((namespace) =>
        deps.mgmt.list('v1', 'Secret', { namespace, labelSelector: `${LABELS.bound}=true` }),
      ),
    )
  ).flat();
  const bindings: Array<{ name: string; object: KubeObject; binding: Binding }> = [];
  for (const object of bound) {
    const name = `${object.metadata.namespace}/${object.metadata.name}`;
    try {
      bindings.push({ name, object, binding: await readScopedBinding(deps, object, options) });
    } catch (error) {
      failed.push(`${name}: ${describeError(error)}`);
    }
  }

  const listed = await listSources(source, [...new Set(bindings.map((b) => b.binding.source))], calls);
  const stale: string[] = [];
  const edited: string[] = [];
  // Sources to read, by ARN; `moved` when a binding is behind AWSCURRENT (not only edited).
  const toRead = new Map<string, { versionId: string; moved: boolean }>();
  for (const { name, object, binding } of bindings) {
    const entry =
      listed.find((v) => secretIdMatches(binding.source, v.arn) || binding.source === v.name) ??
      (await otherAccount(source, binding.source, listed, calls));
    if (!entry?.versionId) {
      const reason = entry ? 'has no AWSCURRENT version' : 'does not exist or is scheduled for deletion';
      const message = describeError(new SourceNotFound(binding.source, reason));
      failed.push(`${name}: ${message}`);
      if (!options.dryRun)
        await deps.mgmt
          .recordEvent(object, { type: 'Warning', reason: 'SourceUnreadable', message })
          .catch((error: unknown) => deps.log.warn('event not recorded', { error: describeError(error) }));
      continue;
    }
    const drift = bindingDrift(object, binding, entry.versionId);
    if (drift === 'current') continue;
    stale.push(name);
    if (drift === 'edited') edited.push(name);
    const moved = (toRead.get(entry.arn)?.moved ?? false) || drift === 'moved';
    toRead.set(entry.arn, { versionId: entry.versionId, moved });
  }

  const reads = await readValues(source, [...toRead.keys()], calls);
  const at = deps.now().toISOString();
  const hints: RotationHint[] = [...toRead].map(([arn, { versionId, moved }]) => ({
    secretId: arn,
    // The same hint a `Secret Label Updated` event gives. A hand edit names no version: the data, not
    // the version, is what differs, so nothing may be skipped as already applied.
    source: 'label-updated',
    eventId: `sweep-${at}`,
    eventTime: at,
    ...(moved ? { versionId } : {}),
    replayed: false,
  }));
  const rotations =
    hints.length === 0
      ? []
      : await rotate(
          { ...deps, source: preloadedSource(reads) },
          { hints, failures: [], ignored: [], malformed: [] },
          options,
        );
  for (const outcome of rotations) if (outcome.error) failed.push(`${outcome.secretId}: ${outcome.error}`);
  const distribution = await distribute(deps, [{ kind: 'all' }], options);
  for (const region of distribution.regions)
    if (region.error) failed.push(`region ${region.region}: ${region.error}`);
  if (!options.dryRun)
    await reportPropagation(deps, sourcesOf(distribution), {
      correlationId: `sweep-${at}`,
      ...withGraph(distribution),
    }).catch((error: unknown) => failed.push(`Credential Propagated event: ${describeError(error)}`));

  const repaired =
    writesOf(distribution) +
    rotations.reduce(
      (sum, o) =>
        sum +
        o.bindings.filter((b) => b.op === 'update').length +
        (o.distribution ? writesOf(o.distribution) : 0),
      0,
    );
  const result = { checked: bound.length, stale, edited, repaired, failed, calls, rotations, distribution };
  deps.metrics.count('BindingsChecked', result.checked);
  deps.metrics.count('Stale', stale.length);
  deps.metrics.count('Repaired', repaired);
  deps.metrics.count('Failed', failed.length);
  deps.metrics.count(
    'SecretsManagerCalls',
    calls.listSecrets + calls.batchGetSecretValue + calls.describeSecret,
  );
  deps.log[failed.length > 0 ? 'warn' : 'info']('sweep done', {
    checked: result.checked,
    stale,
    edited,
    repaired,
    failed,
    calls,
    dryRun: options.dryRun ?? false,
  });
  return result;
}

/**
 * A source ListSecrets does not list may live in another account (ListSecrets lists only its own): named
 * by its ARN, it is asked for with one DescribeSecret, remembered for the other bindings of the sweep.
 */
async function otherAccount(
  source: BulkSource,
  secretId: string,
  listed: ListedVersion[],
  calls: SweepCalls,
): Promise<ListedVersion | undefined> {
  if (!parseSecretArn(secretId)) return undefined;
  calls.describeSecret += 1;
  const found = await source.currentVersion(secretId).catch((error: unknown) => {
    if (error instanceof SourceNotFound) return undefined;
    throw error;
  });
  if (found) listed.push(found);
  return found;
}

function bulkSource(source: SecretSource): BulkSource {
  if (!source.listVersions || !source.getCurrentBatch)
    throw new RelayError('the sweep needs a SecretSource with ListSecrets and BatchGetSecretValue', {
      retryable: false,
    });
  return source as BulkSource;
}

/** Every page of ListSecrets, filtered by name prefixes when the sources allow (else every secret). */
async function listSources(
  source: BulkSource,
  sources: string[],
  calls: SweepCalls,
): Promise<ListedVersion[]> {
  if (sources.length === 0) return [];
  const namePrefixes = sourceNamePrefixes(sources);
  const versions: ListedVersion[] = [];
  let nextToken: string | undefined;
  do {
    calls.listSecrets += 1;
    const page = await source.listVersions({
      ...(namePrefixes ? { namePrefixes } : {}),
      ...(nextToken ? { nextToken } : {}),
    });
    versions.push(...page.versions);
    nextToken = page.nextToken;
  } while (nextToken);
  return versions;
}

/** AWSCURRENT of `arns`, 20 per BatchGetSecretValue; a failed call fails only its own secrets. */
async function readValues(source: BulkSource, arns: string[], calls: SweepCalls): Promise<BatchRead[]> {
  const reads: BatchRead[] = [];
  for (let i = 0; i < arns.length; i += BATCH_READ_SIZE) {
    const chunk = arns.slice(i, i + BATCH_READ_SIZE);
    calls.batchGetSecretValue += 1;
    try {
      reads.push(...(await source.getCurrentBatch(chunk)));
    } catch (error) {
      reads.push(...chunk.map((secretId) => ({ secretId, error: error as Error })));
    }
  }
  return reads;
}

/**
 * A SecretSource that answers from values already read, so the rotation path reads nothing again; a
 * secret whose batch read failed fails its getCurrent the same way, and the rotation reports it.
 */
function preloadedSource(reads: BatchRead[]): SecretSource {
  const getCurrent = async (secretId: string) => {
    const read = reads.find((r) => secretIdMatches(secretId, r.secretId));
    if (read === undefined)
      throw new RelayError(`source secret ${secretId} was not read by this sweep`, { retryable: true });
    if ('error' in read) throw read.error;
    return read.value;
  };
  return {
    getCurrent,
    async currentVersion(secretId) {
      const { arn, name, versionId } = await getCurrent(secretId);
      return { arn, name, versionId };
    },
  };
}
