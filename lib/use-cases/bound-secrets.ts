import {
  type Binding,
  buildManagementApply,
  isCurrent,
  readBinding,
  toSecretData,
} from '../domain/binding.js';
import { renderSecretData } from '../domain/formats.js';
import { GIANT_SWARM_LABELS, giantSwarmServing } from '../domain/giantswarm.js';
import { ANNOTATIONS, isOlderSource, type KubeObject, LABELS, refOf } from '../domain/objects.js';
import type { BindingPolicy } from '../domain/policy.js';
import { guardedTry, WRITE_ATTEMPTS } from '../domain/retry.js';
import type { EventReason } from '../domain/telemetry.js';
import {
  describeError,
  InvalidCredentialFormat,
  InvalidInput,
  RelayError,
  WriteConflict,
} from '../errors.js';
import type { Cluster, Log } from '../ports.js';

// The management side of a rotation: reading the bound Secrets and applying one value to one of them.

/** What writing a bound Secret needs. */
export interface BindingDeps {
  mgmt: Cluster;
  log: Log;
  now: () => Date;
  /** Namespaces holding bound Secrets (Giant Swarm's defaulting looks across them). */
  watchNamespaces: string[];
  /** Where to leave work that need not delay the caller (the Normal Event of a write); awaited by it. */
  pending?: Array<Promise<unknown>>;
  /** Where to collect the Secrets written, as the apiserver answered (their content, for the regions). */
  written?: KubeObject[];
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
  /** For `failed`: whether another try may succeed. */
  retryable?: boolean;
  /** Giant Swarm formats: which clusters this credential serves under the defaulting rules. */
  serves?: string;
  warning?: string;
}

/**
 * Applies one value to one bound Secret: validated against the binding's format before any write, never
 * over a newer version, guarded by the resourceVersion it was read at (re-read on a conflict).
 */
export async function applyBinding(
  deps: BindingDeps,
  object: KubeObject,
  binding: Binding,
  current: { versionId: string; secretString: string; createdDate?: Date },
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
    return {
      ...base,
      op: error instanceof InvalidCredentialFormat ? 'invalid' : 'failed',
      error: message,
      retryable: false,
    };
  }
  const keys = Object.keys(data).sort();
  Object.assign(base, await giantSwarmReport(deps, object, binding));
  let target = object;
  for (let attempt = 1; ; attempt++) {
    if (isCurrent(target, data, current.versionId)) return { ...base, op: 'noop', keys };
    // The write carries the version's creation time (its order) and the resourceVersion it was planned from.
    const apply = buildManagementApply(binding.secret, data, current.versionId, deps.now(), {
      ...(current.createdDate ? { createdAt: current.createdDate } : {}),
      // The last try goes without: other managers' writes to other fields must not keep it out for ever.
      ...(target.metadata.resourceVersion && guardedTry(attempt)
        ? { resourceVersion: target.metadata.resourceVersion }
        : {}),
    });
    if (isOlderSource(apply, target)) {
      deps.log.info('older than applied: not written', { secret: name, versionId: current.versionId });
      return { ...base, op: 'noop', keys };
    }
    const hash = apply.metadata.annotations?.[ANNOTATIONS.contentHash];
    if (dryRun) return { ...base, op: 'update', keys, ...(hash ? { hash } : {}) };
    try {
      const applied = await deps.mgmt.apply(apply);
      deps.written?.push(applied);
      const recorded = deps.mgmt
        .recordEvent(applied, {
          type: 'Normal',
          reason: 'CredentialRotated',
          message: `applied version ${current.versionId} (keys ${keys.join(', ')})`,
        })
        .catch((error: unknown) =>
          deps.log.warn('event not recorded', { secret: name, error: describeError(error) }),
        );
      // Off the critical path where the caller collects it: the regions need not wait for an Event.
      if (deps.pending) deps.pending.push(recorded);
      else await recorded;
      return { ...base, op: 'update', keys, ...(hash ? { hash } : {}) };
    } catch (error) {
      // Another invocation wrote the Secret since it was read: read it again and decide again.
      const fresh =
        error instanceof WriteConflict && attempt < WRITE_ATTEMPTS
          ? await deps.mgmt.get(refOf(object))
          : undefined;
      if (fresh) {
        target = fresh;
        continue;
      }
      await warn(deps, object, 'ApplyFailed', describeError(error), dryRun);
      return {
        ...base,
        op: 'failed',
        error: describeError(error),
        retryable: error instanceof RelayError ? error.retryable : true,
      };
    }
  }
}

/** For Giant Swarm credential Secrets: which clusters they serve, warning when an organization has several. */
async function giantSwarmReport(
  deps: BindingDeps,
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

export interface BoundSecret {
  object: KubeObject;
  binding?: Binding;
  /** Why the Secret's annotations do not make a binding it may have. */
  error?: RelayError;
}

/** Lists bound Secrets once per batch; a Secret with a broken binding is reported, not fatal. */
export async function listBoundSecrets(
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
      const reason = error instanceof RelayError ? error : new InvalidInput(describeError(error), error);
      return { object, error: reason };
    }
  });
}

/** A Warning Event on a bound Secret (none in a dry run), and its log line. */
export async function warn(
  deps: { mgmt: Cluster; log: Log },
  object: KubeObject,
  reason: EventReason,
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
