import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../lib/domain/objects.js';
import { InvalidInput, Refused } from '../../../lib/errors.js';
import type { Cluster, ClusterEvent } from '../../../lib/ports.js';
import { readScopedBinding } from '../../../lib/use-cases/binding-scope.js';

const secret = (namespace: string, source: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: 'db',
    namespace,
    annotations: { 'identity-relay.dev/source': source, 'identity-relay.dev/format': 'raw' },
  },
});

/** A management cluster that only records Events, and telemetry that records metrics and warnings. */
function harness() {
  const events: ClusterEvent[] = [];
  const metrics: string[] = [];
  const warnings: string[] = [];
  const deps = {
    mgmt: {
      recordEvent: async (_: KubeObject, event: ClusterEvent) => void events.push(event),
    } as unknown as Cluster,
    log: { info: () => {}, warn: (message: string) => void warnings.push(message), error: () => {} },
    metrics: { count: (name: string) => void metrics.push(name), milliseconds: () => {}, flush: () => {} },
    bindingPolicy: { protectedSources: [], scopes: { 'team-a': { arns: [], namePrefixes: ['team-a/'] } } },
  };
  return { deps, events, metrics, warnings };
}

describe('readScopedBinding', () => {
  it('returns an allowed binding and records nothing', async () => {
    // Prepare
    const h = harness();

    // Act
    const binding = await readScopedBinding(h.deps, secret('team-a', 'team-a/db'));

    // Assess
    expect(binding.source).toBe('team-a/db');
    expect([h.events, h.metrics, h.warnings]).toEqual([[], [], []]);
  });

  it('records a Warning Event, a metric and a log line for a refused binding, then throws Refused', async () => {
    // Prepare
    const h = harness();

    // Act
    const error = await readScopedBinding(h.deps, secret('team-a', 'team-b/db')).catch((e: unknown) => e);

    // Assess
    const message =
      'refused: Secret team-a/db: source team-b/db is not in the binding scopes of namespace team-a';
    expect(error).toBeInstanceOf(Refused);
    expect(h.events).toEqual([{ type: 'Warning', reason: 'BindingRefused', message }]);
    expect(h.metrics).toEqual(['BindingsRefused']);
    expect(h.warnings).toEqual(['BindingRefused']);
  });

  it('records no Event in a dry run, and nothing for a binding that is merely invalid', async () => {
    // Prepare
    const h = harness();
    const invalid = secret('team-a', 'team-a/db');
    delete invalid.metadata.annotations?.['identity-relay.dev/format'];

    // Act
    const dry = await readScopedBinding(h.deps, secret('team-a', 'team-b/db'), { dryRun: true }).catch(
      (e) => e,
    );
    const bad = await readScopedBinding(h.deps, invalid).catch((e: unknown) => e);

    // Assess
    expect(dry).toBeInstanceOf(Refused);
    expect(bad).toBeInstanceOf(InvalidInput);
    expect(h.events).toEqual([]);
    expect(h.metrics).toEqual(['BindingsRefused']);
  });
});
