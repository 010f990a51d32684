import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../lib/domain/objects.js';
import { holds, propagationSeconds, propagationState } from '../../../lib/domain/propagation.js';

const at = (version: string, syncedAt = '2026-12-05T10:00:00.000Z'): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: 's',
    annotations: { 'identity-relay.dev/source-version': version, 'identity-relay.dev/synced-at': syncedAt },
  },
});
const copy = (held: KubeObject | undefined, optional = false) => ({
  object: 'Secret kcm-system/s',
  held,
  optional,
});

describe('propagationState', () => {
  it('is complete when the management Secrets and every copy hold the version, with the last write', () => {
    // Act
    const state = propagationState(
      'v2',
      [at('v2', '2026-12-05T10:00:01.000Z')],
      [
        { target: 'eu', copies: [copy(at('v2', '2026-12-05T10:00:03.000Z'))] },
        { target: 'us', copies: [copy(at('v2', '2026-12-05T10:00:02.000Z'))] },
      ],
    );

    // Assess
    expect(state).toMatchObject({
      complete: true,
      holding: 3,
      total: 3,
      lastWriteAt: '2026-12-05T10:00:03.000Z',
    });
  });

  it.each([
    ['a region behind', [{ target: 'eu', copies: [copy(at('v1'))] }]],
    ['a copy absent', [{ target: 'eu', copies: [copy(undefined)] }]],
    ['a region unreadable', [{ target: 'eu', copies: [copy(at('v2'))], error: 'ClusterUnreachable' }]],
    [
      'an older copy kept by a Credential that gets nothing now',
      [{ target: 'eu', copies: [copy(at('v1'), true)] }],
    ],
  ])('is not complete with %s', (_case, targets) => {
    // Act
    const state = propagationState('v2', [at('v2')], targets);

    // Assess
    expect(state.complete).toBe(false);
    expect(state.lastWriteAt).toBeUndefined();
    expect(state.holding).toBe(1);
  });

  it('does not wait for a copy a Credential that gets nothing never had', () => {
    // Act
    const state = propagationState('v2', [at('v2')], [{ target: 'eu', copies: [copy(undefined, true)] }]);

    // Assess
    expect(state).toMatchObject({ complete: true, holding: 2, total: 2 });
  });

  it('is not complete while a management Secret is behind', () => {
    // Act
    const state = propagationState('v2', [at('v2'), at('v1')], []);

    // Assess
    expect(state.targets[0]).toEqual({ target: 'management Secrets', holding: 1, total: 2 });
    expect(state.complete).toBe(false);
  });
});

describe('holds and propagationSeconds', () => {
  it('reads the source version and the seconds between two times', () => {
    expect([holds(at('v1'), 'v1'), holds(at('v1'), 'v2'), holds(undefined, 'v1')]).toEqual([
      true,
      false,
      false,
    ]);
    expect(propagationSeconds('2026-12-05T10:00:00Z', '2026-12-05T10:00:02.500Z')).toBe(2.5);
    expect(propagationSeconds(undefined, '2026-12-05T10:00:02Z')).toBeUndefined();
  });
});
