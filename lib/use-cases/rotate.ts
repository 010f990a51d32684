import {
  type Binding,
  buildManagementApply,
  isCurrent,
  readBinding,
  toSecretData,
} from '../domain/binding.js';
import { type CoalescedSecret, coalesceBySecret, type RotationHints } from '../domain/events.js';
import { renderSecretData } from '../domain/formats.js';
import { GIANT_SWARM_LABELS, giantSwarmServing } from '../domain/giantswarm.js';
import { type KubeObject, LABELS, refOf } from '../domain/objects.js';
import type { BindingPolicy } from '../domain/policy.js';
import { secretIdMatches } from '../domain/secret-id.js';
import { describeError, InvalidCredentialFormat } from '../errors.js';
import type { Cluster, Log, SecretSource } from '../ports.js';
import { type Change, type DistributeDeps, type DistributeResult, distribute } from './distribute.js';
import { correlationOf, withFields } from './telemetry.js';

export interface RotateDeps extends DistributeDeps {
  source: SecretSource;
  /** Namespaces holding bound Secrets (listed with the `identity-relay.dev/bound` label). */
  watchNamespaces: string[];
  /** Which sources each namespace's bindings may name (README › Threat model); absent: no scopes. */
  bindingPolicy?: BindingPolicy;
}

/** What happened to one bound Secret in the management cluster. */
export interface BindingOutcome {
  secret: string;
  format: string;
  op: 'update' | 'noop' | 'invalid' | 'failed';
  versionId?: string;
  keys?: string[];
  hash?: string;
  error?: string;
  /** Giant Swarm formats: which clusters this credential serves under the defaulting rules. */
  serves?: string;
  warning?: string;
}

/** One Secrets Manager secret's rotation: its bindings, then the regions they reach. */
export interface SecretOutcome {
  secretId: string;
  versionId?: string;
  /** When AWSCURRENT's version was created: the start of propagation latency. */
  sourceCreatedAt?: Date;
  bindings: BindingOutcome[];
  distribution?: DistributeResult;
  /** Set when the secret's messages must be retried (or dead-lettered). */
  error?: string;
  messageIds: string[];
}

/**
 * Converges every Secret bound to a rotated secret: reads AWSCURRENT once per secret, validates it
 * against each binding's format BEFORE any write, applies changed data with server-side apply, then
 * distributes to the regions. Each secret fails or succeeds on its own.
 */
export async function rotate(
  deps: RotateDeps,
  input: RotationHints,
  options: { dryRun?: boolean } = {},
): Promise<SecretOutcome[]> {
  const bound = await listBoundSecrets(deps, deps.watchNamespaces);
  const outcomes: SecretOutcome[] = [];
  for (const secret of coalesceBySecret(input.hints)) {
    // Every line logged for this secret, down to each region's writes, carries the triggering event's ids.
    const log = withFields(deps.log, correlationOf(secret));
    outcomes.push(await rotateOne({ ...deps, log }, secret, bound, options.dryRun ?? false));
  }
  return outcomes;
}

async function rotateOne(
  deps: RotateDeps,
  secret: CoalescedSecret,
  bound: BoundSecret[],
  dryRun: boolean,
): Promise<SecretOutcome> {
  const outcome: SecretOutcome = { secretId: secret.secretId, bindings: [], messageIds: secret.messageIds };
  const matching = bound.filter((b) => b.binding && secretIdMatches(b.binding.source, secret.secretId));
  if (matching.length === 0) {
    deps.log.info('no binding for secret', { secretId: secret.secretId });
    return outcome;
  }
  let current: Awaited<ReturnType<SecretSource['getCurrent']>>;
  try {
    current = await deps.source.getCurrent(secret.secretId);
  } catch (error) {
    outcome.error = describeError(error);
    for (const { object } of matching) await warn(deps, object, 'SourceUnreadable', outcome.error, dryRun);
    return outcome;
  }
  outcome.versionId = current.versionId;
  if (current.createdDate) outcome.sourceCreatedAt = current.createdDate;
  const changes: Change[] = [];
  for (const { object, binding } of matching) {
    if (!binding) continue;
    // The event's id can be ambiguous (a name that is also a partial ARN); the read ARN settles it.
    if (!secretIdMatches(binding.source, current.arn) && binding.source !== current.name) continue;
    const result = await applyBinding(deps, object, binding, current, dryRun);
    outcome.bindings.push(result);
    if (result.op === 'update' || result.op === 'noop')
      changes.push({ kind: 'secret', namespace: binding.secret.namespace ?? '', name: binding.secret.name });
  }
  const failed = outcome.bindings.filter((b) => b.op === 'invalid' || b.op === 'failed');
  if (changes.length > 0) {
    outcome.distribution = await distribute(deps, changes, { dryRun });
    const regionErrors = outcome.distribution.regions
      .filter((r) => r.error)
      .map((r) => `${r.region}: ${r.error}`);
    if (regionErrors.length > 0) outcome.error = `regions failed: ${regionErrors.join('; ')}`;
  }
  if (failed.length > 0)
    outcome.error = [outcome.error, ...failed.map((b) => `${b.secret}: ${b.error}`)]
      .filter(Boolean)
      .join('; ');
  return outcome;
}

async function applyBinding(
  deps: RotateDeps,
  object: KubeObject,
  binding: Binding,
  current: { versionId: string; secretString: string },
  dryRun: boolean,
): Promise<BindingOutcome> {
  const name = `${binding.secret.namespace}/${binding.secret.name}`;
  const base: Omit<BindingOutcome, 'op'> = {
    secret: name,
    format: binding.format,
    versionId: current.versionId,
  };
  let data: Record<string, string>;
  try {
    data = toSecretData(renderSecretData(binding.format, current.secretString, binding.keys));
  } catch (error) {
    const message = describeError(error);
    await warn(
      deps,
      object,
      'InvalidCredentialFormat',
      `version ${current.versionId} rejected, old credentials kept: ${message}`,
      dryRun,
    );
    return { ...base, op: error instanceof InvalidCredentialFormat ? 'invalid' : 'failed', error: message };
  }
  const keys = Object.keys(data).sort();
  Object.assign(base, await giantSwarmReport(deps, object, binding));
  if (isCurrent(object, data, current.versionId)) return { ...base, op: 'noop', keys };
  const apply = buildManagementApply(binding.secret, data, current.versionId, deps.now());
  const hash = apply.metadata.annotations?.['identity-relay.dev/content-hash'];
  if (dryRun) return { ...base, op: 'update', keys, ...(hash ? { hash } : {}) };
  try {
    const applied = await deps.mgmt.apply(apply);
    await deps.mgmt
      .recordEvent(applied, {
        type: 'Normal',
        reason: 'CredentialRotated',
        message: `applied version ${current.versionId} (keys ${keys.join(', ')})`,
      })
      .catch((error: unknown) =>
        deps.log.warn('event not recorded', { secret: name, error: describeError(error) }),
      );
    return { ...base, op: 'update', keys, ...(hash ? { hash } : {}) };
  } catch (error) {
    await warn(deps, object, 'ApplyFailed', describeError(error), dryRun);
    return { ...base, op: 'failed', error: describeError(error) };
  }
}

/** For Giant Swarm credential Secrets: which clusters they serve, warning when an organization has several. */
async function giantSwarmReport(
  deps: RotateDeps,
  object: KubeObject,
  binding: Binding,
): Promise<Partial<BindingOutcome>> {
  if (!binding.format.startsWith('giantswarm-')) return {};
  const all = await Promise.all(
    deps.watchNamespaces.map((namespace) =>
      deps.mgmt.list('v1', 'Secret', { namespace, labelSelector: `${GIANT_SWARM_LABELS.app}=credentiald` }),
    ),
  )
    .then((lists) => lists.flat())
    .catch(() => [object]);
  const serving = giantSwarmServing(object, all);
  if (serving.warning)
    deps.log.warn('ambiguous Giant Swarm credential', {
      secret: `${binding.secret.namespace}/${binding.secret.name}`,
      warning: serving.warning,
    });
  return serving;
}

interface BoundSecret {
  object: KubeObject;
  binding?: Binding;
}

/** Lists bound Secrets once per batch; a Secret with a broken binding is reported, not fatal. */
async function listBoundSecrets(
  deps: { mgmt: Cluster; log: Log; bindingPolicy?: BindingPolicy },
  namespaces: string[],
): Promise<BoundSecret[]> {
  const lists = await Promise.all(
    namespaces.map((namespace) =>
      deps.mgmt.list('v1', 'Secret', { namespace, labelSelector: `${LABELS.bound}=true` }),
    ),
  );
  return lists.flat().map((object) => {
    try {
      return { object, binding: readBinding(object, deps.bindingPolicy) };
    } catch (error) {
      deps.log.warn('binding ignored', { error: describeError(error) });
      return { object };
    }
  });
}

async function warn(
  deps: { mgmt: Cluster; log: Log },
  object: KubeObject,
  reason: string,
  message: string,
  dryRun: boolean,
): Promise<void> {
  const ref = refOf(object);
  deps.log.warn(reason, { object: `${ref.namespace}/${ref.name}`, error: message });
  if (dryRun) return;
  await deps.mgmt
    .recordEvent(object, { type: 'Warning', reason, message })
    .catch((error: unknown) => deps.log.warn('event not recorded', { error: describeError(error) }));
}
