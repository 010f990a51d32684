import type { Binding } from '../domain/binding.js';
import { appliedEverywhere } from '../domain/drift.js';
import { type CoalescedSecret, coalesceBySecret, type RotationHints } from '../domain/events.js';
import { ANNOTATIONS, type KubeObject } from '../domain/objects.js';
import type { BindingPolicy } from '../domain/policy.js';
import { secretIdMatches } from '../domain/secret-id.js';
import { describeError, Refused, RelayError } from '../errors.js';
import type { Cluster, EventPublisher, SecretSource } from '../ports.js';
import {
  applyBinding,
  type BindingOutcome,
  type BoundSecret,
  listBoundSecrets,
  warn,
} from './bound-secrets.js';
import { settleAll } from './concurrency.js';
import {
  type Change,
  type DistributeDeps,
  type DistributeResult,
  distribute,
  type Written,
  withGraph,
} from './distribute.js';
import { loadGraph } from './graph.js';
import { type HandOff, handOffFailedRegions } from './hand-off.js';
import { correlationOf, withFields } from './log-fields.js';
import { reportPropagation } from './propagation.js';

export type { BindingOutcome } from './bound-secrets.js';

export interface RotateDeps extends DistributeDeps {
  source: SecretSource;
  /** Namespaces holding bound Secrets (listed with the `identity-relay.dev/bound` label). */
  watchNamespaces: string[];
  /** Which sources each namespace's bindings may name (docs/threat-model.md › Threat model); absent: no scopes. */
  bindingPolicy?: BindingPolicy;
  /**
   * Hands regions that failed retryably to their own retried jobs (the distribution queue), with the
   * correlation id; without it a region's failure stays its secret's, to be retried with the message.
   */
  handOff?: HandOff;
  /** Secrets of one batch converged at once. */
  secretConcurrency?: number;
  /** Where `Credential Propagated` goes once a version is everywhere (lib/use-cases/propagation.ts). */
  events?: EventPublisher;
  /**
   * List the management cluster consistently instead of from the watch cache: an operator's replay or
   * resync follows a change they just made. Functions leave it unset (docs/triggers.md).
   */
  consistentLists?: boolean;
}

/** One Secrets Manager secret's rotation: its bindings, then the regions they reach. */
export interface SecretOutcome {
  secretId: string;
  versionId?: string;
  /** When AWSCURRENT's version was created: the start of propagation latency. */
  sourceCreatedAt?: Date;
  bindings: BindingOutcome[];
  distribution?: DistributeResult;
  /** Set when something of this secret did not converge: retried when `retryable`, else recorded. */
  error?: string;
  /** Whether trying this secret again can help (a transient failure) or not (bad input, refused). */
  retryable?: boolean;
  /** The error class of the first failure that cannot be retried (the dead-letter record's ERROR_CODE). */
  errorCode?: string;
  /** Every bound Secret already held the hinted or current version: no secret value was read. */
  readSkipped?: boolean;
  /** Regions that failed retryably and were handed to their own retried job. */
  handedOff?: string[];
  messageIds: string[];
}

/**
 * Converges every Secret bound to a rotated secret: reads AWSCURRENT once per secret (none when every
 * binding already holds it), validates it against each binding's format BEFORE any write, applies
 * changed data with server-side apply, then distributes to the regions. Each secret fails or succeeds
 * on its own, and a few run at once.
 */
export async function rotate(
  deps: RotateDeps,
  input: RotationHints,
  options: { dryRun?: boolean } = {},
): Promise<SecretOutcome[]> {
  const secrets = coalesceBySecret(input.hints);
  // One read of the k0rdent graph for the whole batch, started at once so that it overlaps the Secrets
  // Manager reads and the management writes: each secret's run then reads only its own Secrets.
  if (secrets.length > 0) {
    if (!deps.consistentLists) deps = { ...deps, mgmt: listingFromCache(deps.mgmt) };
    const graph = loadGraph(deps.mgmt, deps.systemNamespace, {
      keptProviderInterfaces: !deps.consistentLists,
    });
    graph.catch(() => {}); // a failed read fails the secrets that need it, when they ask
    deps = { ...deps, graph: () => graph };
  }
  // Whether AWSCURRENT is already applied is asked (DescribeSecret, no value) alongside the bound-Secret
  // list; a secret whose event names a version every binding holds never waits for the answer.
  const current = new Map(
    secrets.map((secret) => {
      const asked = deps.source.currentVersion(secret.secretId);
      asked.catch(() => {}); // its secret's failure, when awaited
      return [secret.secretId, asked];
    }),
  );
  const bound = await listBoundSecrets(deps, deps.watchNamespaces);
  const settled = await settleAll(secrets, deps.secretConcurrency ?? SECRET_CONCURRENCY, (secret) =>
    // Every line logged for this secret, down to each region's writes, carries the triggering event's ids.
    rotateOne(
      { ...deps, log: withFields(deps.log, correlationOf(secret)) },
      secret,
      bound,
      current.get(secret.secretId) as Promise<SourceVersion>,
      options.dryRun ?? false,
    ),
  );
  return settled.map((result, index): SecretOutcome => {
    if (result.status === 'fulfilled') return result.value;
    const secret = secrets[index] as CoalescedSecret;
    return settle({ secretId: secret.secretId, bindings: [], messageIds: secret.messageIds }, [
      problemOf(result.reason),
    ]);
  });
}

/**
 * A rotation is triggered by Secrets Manager, not by a change to the management cluster, so its lists
 * come from the apiserver's watch cache (Cluster.list › cached): a change made milliseconds before is
 * converged by the audit path it triggers, which lists consistently.
 */
function listingFromCache(cluster: Cluster): Cluster {
  let wrapped = cacheListing.get(cluster);
  if (!wrapped) {
    const list: Cluster['list'] = (apiVersion, kind, options) =>
      cluster.list(apiVersion, kind, { ...options, cached: true });
    wrapped = { ...cluster, list };
    cacheListing.set(cluster, wrapped);
  }
  return wrapped;
}

/** One wrapper per client, so what is kept per client (its ProviderInterfaces) lasts between invocations. */
const cacheListing = new WeakMap<Cluster, Cluster>();

/** What DescribeSecret says of a secret: its AWSCURRENT version. */
type SourceVersion = Awaited<ReturnType<SecretSource['currentVersion']>>;

/** Secrets of one batch converged at once: each waits only for its own reads and writes. */
const SECRET_CONCURRENCY = 4;

/** The problem an error that stopped a secret's work makes (its one line names the secret itself). */
function problemOf(error: unknown, what = ''): Problem {
  const retryable = error instanceof RelayError ? error.retryable : true;
  return {
    what,
    error: describeError(error),
    retryable,
    ...(retryable ? {} : { code: error instanceof Error ? error.name : 'Error' }),
  };
}

async function rotateOne(
  deps: RotateDeps,
  secret: CoalescedSecret,
  bound: BoundSecret[],
  asked: Promise<SourceVersion>,
  dryRun: boolean,
): Promise<SecretOutcome> {
  const outcome: SecretOutcome = { secretId: secret.secretId, bindings: [], messageIds: secret.messageIds };
  const problems: Problem[] = [];
  const matching = bound.flatMap((b) =>
    b.binding && secretIdMatches(b.binding.source, secret.secretId)
      ? [{ object: b.object, binding: b.binding }]
      : [],
  );
  // A binding that names this secret but cannot be read (invalid annotations, refused by its scope) is
  // this secret's non-retryable failure: a Warning Event on the Secret its owner wrote, never a silent skip.
  for (const { object, error } of bound) {
    if (!error || !sourceNames(object, secret.secretId)) continue;
    const name = `${object.metadata.namespace}/${object.metadata.name}`;
    const message = describeError(error);
    await warn(deps, object, error instanceof Refused ? 'BindingRefused' : 'InvalidBinding', message, dryRun);
    outcome.bindings.push({
      secret: name,
      format: object.metadata.annotations?.[ANNOTATIONS.format] ?? '',
      op: 'invalid',
      error: message,
    });
    problems.push({ what: name, error: message, retryable: false, code: error.name });
  }
  if (matching.length === 0) {
    if (problems.length === 0) deps.log.info('no binding for secret', { secretId: secret.secretId });
    return settle(outcome, problems);
  }
  const changes: Change[] = [];
  // The Normal Events of the management writes are recorded while the regions converge.
  const pending: Array<Promise<unknown>> = [];
  const written: KubeObject[] = [];
  const secretChange = (binding: Binding): Change => ({
    kind: 'secret',
    namespace: binding.secret.namespace ?? '',
    name: binding.secret.name,
  });
  const change = (binding: Binding) => changes.push(secretChange(binding));
  // The regions open and read what they hold while the value is read and the management cluster written.
  const writes = Promise.withResolvers<Written>();
  writes.promise.catch(() => {}); // a failed read is this secret's, reported below; the run only stops
  const distribution = distribute(
    deps,
    matching.map(({ binding }) => secretChange(binding)),
    { dryRun, written: writes.promise },
  );
  distribution.catch(() => {}); // awaited below when anything is to converge
  try {
    // Duplicates are cheap: a version every binding already holds needs no value read at all.
    const hinted =
      secret.versionIds.length > 0 && secret.versionIds.every((v) => appliedEverywhere(matching, v));
    const current = hinted ? undefined : await asked;
    if (hinted || (current && appliedEverywhere(matching, current.versionId))) {
      outcome.readSkipped = true;
      outcome.versionId = current?.versionId ?? secret.versionIds.at(-1);
      for (const { binding } of matching) {
        change(binding);
        const name = `${binding.secret.namespace}/${binding.secret.name}`;
        outcome.bindings.push({
          secret: name,
          format: binding.format,
          op: 'noop',
          ...(outcome.versionId ? { versionId: outcome.versionId } : {}),
        });
      }
    } else {
      const value = await deps.source.getCurrent(secret.secretId);
      outcome.versionId = value.versionId;
      if (value.createdDate) outcome.sourceCreatedAt = value.createdDate;
      for (const { object, binding } of matching) {
        // The event's id can be ambiguous (a name that is also a partial ARN); the read ARN settles it.
        if (!secretIdMatches(binding.source, value.arn) && binding.source !== value.name) continue;
        const result = await applyBinding({ ...deps, pending, written }, object, binding, value, dryRun);
        outcome.bindings.push(result);
        if (result.op === 'update' || result.op === 'noop') change(binding);
        else
          problems.push({
            what: result.secret,
            error: result.error ?? result.op,
            retryable: result.retryable ?? false,
            ...(result.retryable
              ? {}
              : { code: result.op === 'invalid' ? 'InvalidCredentialFormat' : 'InvalidInput' }),
          });
      }
    }
  } catch (error) {
    writes.reject(error);
    const problem = problemOf(error);
    for (const { object } of matching) await warn(deps, object, 'SourceUnreadable', problem.error, dryRun);
    return settle(outcome, [...problems, problem]);
  }
  writes.resolve({ changes, objects: written });
  if (changes.length > 0) {
    outcome.distribution = await distribution;
    // One region is one unit of failure: it retries in its own job, and this secret's message is done.
    const { handedOff, left } = await handOffFailedRegions(
      { log: deps.log, handOff: dryRun ? undefined : deps.handOff },
      outcome.distribution.regions,
      outcome.messageIds[0] ?? secret.eventIds[0] ?? '',
    );
    if (handedOff.length > 0) outcome.handedOff = handedOff;
    for (const region of left) {
      problems.push({
        what: `region ${region.region}`,
        error: region.error ?? '',
        retryable: region.retryable !== false,
        ...(region.retryable === false ? { code: 'RegionRefused' } : {}),
      });
    }
  }
  await Promise.all(pending);
  // Level-triggered: this run, a retry or a replay announces the version once it is everywhere.
  if (!dryRun && problems.length === 0 && !outcome.handedOff) {
    try {
      await reportPropagation(deps, [secret.secretId], {
        correlationId: secret.messageIds[0] ?? secret.eventIds[0] ?? secret.secretId,
        ...withGraph(outcome.distribution),
      });
    } catch (error) {
      problems.push(problemOf(error, 'Credential Propagated event'));
    }
  }
  return settle(outcome, problems);
}

/** Something of one secret that did not converge; `code` names a failure that cannot be retried. */
interface Problem {
  what: string;
  error: string;
  retryable: boolean;
  code?: string;
}

/** Folds a secret's problems into its outcome: retried if any can be, else recorded with the first code. */
function settle(outcome: SecretOutcome, problems: Problem[]): SecretOutcome {
  if (problems.length === 0) return outcome;
  outcome.error = problems.map((p) => (p.what ? `${p.what}: ${p.error}` : p.error)).join('; ');
  outcome.retryable = problems.some((p) => p.retryable);
  if (!outcome.retryable) outcome.errorCode = problems.find((p) => p.code)?.code ?? 'Error';
  return outcome;
}

/** Whether a bound Secret's raw source annotation names `secretId` (read even when the binding is invalid). */
function sourceNames(object: KubeObject, secretId: string): boolean {
  const source = object.metadata.annotations?.[ANNOTATIONS.source];
  return typeof source === 'string' && source !== '' && secretIdMatches(source, secretId);
}
