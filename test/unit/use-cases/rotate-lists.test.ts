import { describe, expect, it } from 'vitest';
import type { Cluster, SecretSource } from '../../../lib/ports.js';
import { rotate } from '../../../lib/use-cases/rotate.js';

// Which lists of the management cluster a rotation asks from the watch cache: the functions' rotations
// all of them, an operator's (consistentLists) none. An empty cluster: no binding, nothing written.

function harness() {
  const lists: string[] = [];
  const mgmt = {
    name: 'mgmt',
    list: async (_apiVersion: string, kind: string, options?: { cached?: boolean }) => {
      lists.push(`${kind}${options?.cached ? ' cached' : ''}`);
      return [];
    },
    isNamespaced: async () => true,
  } as unknown as Cluster;
  const source = {
    currentVersion: async () => ({ arn: 'arn', name: 'db', versionId: 'v1' }),
  } as unknown as SecretSource;
  const deps = {
    mgmt,
    source,
    connector: { connect: () => mgmt },
    log: { info: () => {}, warn: () => {}, error: () => {} },
    systemNamespace: 'kcm-system',
    watchNamespaces: ['kcm-system'],
    now: () => new Date(),
  };
  const hints = {
    hints: [
      { secretId: 'db', source: 'label-updated' as const, eventId: 'e1', eventTime: '', replayed: false },
    ],
    failures: [],
    ignored: [],
    malformed: [],
  };
  return { deps, hints, lists };
}

describe('rotate: how fresh its lists are', () => {
  it('lists from the watch cache by default', async () => {
    // Prepare
    const h = harness();

    // Act
    await rotate(h.deps, h.hints);

    // Assess
    expect(h.lists.length).toBeGreaterThan(0);
    expect(h.lists.filter((l) => !l.endsWith(' cached'))).toEqual([]);
  });

  it('lists consistently, ProviderInterfaces included, for an operator (consistentLists)', async () => {
    // Prepare
    const h = harness();

    // Act
    await rotate({ ...h.deps, consistentLists: true }, h.hints);

    // Assess
    expect(h.lists.filter((l) => l.endsWith(' cached'))).toEqual([]);
    expect(h.lists).toContain('ProviderInterface');
  });
});
