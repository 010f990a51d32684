import { type Binding, readBinding } from '../domain/binding.js';
import type { KubeObject } from '../domain/objects.js';
import type { BindingPolicy } from '../domain/policy.js';
import { describeError, Refused } from '../errors.js';
import type { Cluster, Log, MetricsSink } from '../ports.js';

/** What a loud binding read needs: the management cluster for the Event, telemetry, and the scopes. */
export interface ScopedBindingDeps {
  mgmt: Cluster;
  log: Log;
  metrics?: MetricsSink;
  bindingPolicy?: BindingPolicy;
}

/**
 * Reads a bound Secret's binding under the binding scopes, for the sweep (which reads every binding each
 * interval, so a refusal is repeated there and nowhere noisier). A refused binding gets a Warning Event
 * `BindingRefused` on the Secret (not in a dry run), the metric `BindingsRefused` and a log line; the
 * Refused error is then thrown, so nothing is written.
 */
export async function readScopedBinding(
  deps: ScopedBindingDeps,
  secret: KubeObject,
  options: { dryRun?: boolean } = {},
): Promise<Binding> {
  try {
    return readBinding(secret, deps.bindingPolicy);
  } catch (error) {
    if (error instanceof Refused) await reportRefused(deps, secret, error, options.dryRun ?? false);
    throw error;
  }
}

async function reportRefused(
  deps: ScopedBindingDeps,
  secret: KubeObject,
  error: Refused,
  dryRun: boolean,
): Promise<void> {
  const name = `${secret.metadata.namespace}/${secret.metadata.name}`;
  deps.log.warn('BindingRefused', { object: name, error: describeError(error) });
  deps.metrics?.count('BindingsRefused', 1);
  if (dryRun) return;
  await deps.mgmt
    .recordEvent(secret, { type: 'Warning', reason: 'BindingRefused', message: error.message })
    .catch((recordError: unknown) =>
      deps.log.warn('event not recorded', { object: name, error: describeError(recordError) }),
    );
}
