import { describe, expect, it } from 'vitest';
import { buildManagementApply, toSecretData } from '../../../lib/domain/binding.js';
import type { KubeObject } from '../../../lib/domain/objects.js';
import { SourceNotFound, TransientFailure } from '../../../lib/errors.js';
import type { BatchRead, Cluster, SecretSource, SourceValue } from '../../../lib/ports.js';
import { sweep } from '../../../lib/use-cases/sweep.js';
import { capturingLog, capturingMetrics } from '../../helpers/capture.js';

const NAMESPACE = 'team-a';
const arnOf = (i: number) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:team-a/s-${i}-AbC123`;

/** Bound Secret i, holding `value` at `version` exactly as identity-relay applies it. */
function boundSecret(i: number, value: string, version: string): KubeObject {
  const applied = buildManagementApply(
    { apiVersion: 'v1', kind: 'Secret', namespace: NAMESPACE, name: `s-${i}` },
    toSecretData({ clientSecret: value }),
    version,
    new Date(0),
  );
  return {
    ...applied,
    metadata: {
      ...applied.metadata,
      annotations: {
        'identity-relay.dev/source': arnOf(i),
        'identity-relay.dev/format': 'azure-sp',
        ...applied.metadata.annotations,
      },
    },
  };
}

/** A management cluster holding `secrets` (and nothing else); applies replace data and annotations. */
function mgmtWith(secrets: KubeObject[]): Cluster & { events: string[]; applied: string[] } {
  const events: string[] = [];
  const applied: string[] = [];
  const byName = new Map(secrets.map((s) => [s.metadata.name, s]));
  return {
    name: 'mgmt',
    events,
    applied,
    get: async (ref) => (ref.kind === 'Secret' ? byName.get(ref.name) : undefined),
    list: async (_, kind, options) =>
      kind === 'Secret' && options?.namespace === NAMESPACE ? [...byName.values()] : [],
    apply: async (object) => {
      applied.push(object.metadata.name);
      const held = byName.get(object.metadata.name);
      const merged: KubeObject = {
        ...(held ?? object),
        data: { ...((held?.data ?? {}) as object), ...((object.data ?? {}) as object) },
        metadata: {
          ...(held?.metadata ?? object.metadata),
          annotations: { ...held?.metadata.annotations, ...object.metadata.annotations },
        },
      };
      byName.set(object.metadata.name, merged);
      return merged;
    },
    removeLabels: async () => {},
    annotate: async () => {},
    delete: async () => {},
    isNamespaced: async () => true,
    recordEvent: async (regarding, event) =>
      void events.push(`${event.type} ${event.reason} ${regarding.metadata.name}`),
  };
}

/** Secrets Manager with secrets 0..n-1 at `versions[i]`; bulk reads only, and batch call k may fail. */
function bulkSource(
  versions: string[],
  options: { failBatch?: number; missing?: number; otherAccount?: number } = {},
) {
  const calls = {
    list: [] as Array<string[] | undefined>,
    batches: [] as string[][],
    describe: [] as string[],
  };
  const value = (i: number): SourceValue => ({
    arn: arnOf(i),
    name: `team-a/s-${i}`,
    versionId: versions[i] ?? '',
    secretString: `value-${i}-${versions[i]}`,
  });
  // ListSecrets lists its own account only: a secret of another account, like a missing one, is not listed.
  const listed = versions.map((_, i) => i).filter((i) => i !== options.missing && i !== options.otherAccount);
  const source: SecretSource = {
    getCurrent: async () => {
      throw new Error('the sweep must not call GetSecretValue');
    },
    currentVersion: async (id) => {
      calls.describe.push(id);
      if (id === arnOf(options.otherAccount ?? -1)) {
        const { arn, name, versionId } = value(options.otherAccount ?? -1);
        return { arn, name, versionId };
      }
      if (id === arnOf(options.missing ?? -1)) throw new SourceNotFound(id, 'ResourceNotFoundException');
      throw new Error('the sweep must not call DescribeSecret for a secret ListSecrets lists');
    },
    async listVersions({ namePrefixes, nextToken }) {
      calls.list.push(namePrefixes);
      const start = Number(nextToken ?? 0);
      const page = listed.slice(start, start + 100).map((i) => value(i));
      return {
        versions: page.map(({ arn, name, versionId }) => ({ arn, name, versionId })),
        ...(start + 100 < listed.length ? { nextToken: String(start + 100) } : {}),
      };
    },
    async getCurrentBatch(ids) {
      calls.batches.push(ids);
      if (calls.batches.length === options.failBatch)
        throw new TransientFailure('BatchGetSecretValue: throttled');
      return ids.map((id): BatchRead => ({ secretId: id, value: value(Number(/s-(\d+)-/.exec(id)?.[1])) }));
    },
  };
  return { source, calls };
}

function deps(mgmt: Cluster, source: SecretSource) {
  return {
    source,
    mgmt,
    connector: { connect: () => mgmt },
    log: capturingLog(),
    metrics: capturingMetrics(),
    systemNamespace: 'kcm-system',
    watchNamespaces: [NAMESPACE],
    now: () => new Date(0),
  };
}

describe('sweep', () => {
  it('reads only the moved sources, 20 a batch, and applies what it read without reading again', async () => {
    // Prepare: 150 bindings; sources 0..44 moved to v2.
    const secrets = Array.from({ length: 150 }, (_, i) => boundSecret(i, `value-${i}-v1`, 'v1'));
    const versions = secrets.map((_, i) => (i < 45 ? 'v2' : 'v1'));
    const { source, calls } = bulkSource(versions);
    const mgmt = mgmtWith(secrets);

    // Act
    const result = await sweep(deps(mgmt, source));

    // Assess
    expect(result.calls).toEqual({ listSecrets: 2, batchGetSecretValue: 3, describeSecret: 0 });
    // s-1 covers s-10..s-19 and s-100..s-149: ten name prefixes cover all 150 (ListSecrets' limit is 10).
    const prefixes = Array.from({ length: 10 }, (_, i) => `team-a/s-${i}`);
    expect(calls.list).toEqual([prefixes, prefixes]);
    expect(calls.batches.map((b) => b.length)).toEqual([20, 20, 5]);
    expect(result).toMatchObject({ checked: 150, failed: [] });
    expect(result.stale).toHaveLength(45);
    expect(mgmt.applied.sort()).toEqual(Array.from({ length: 45 }, (_, i) => `s-${i}`).sort());
  });

  it('re-applies a Secret edited by hand whose version still matches', async () => {
    // Prepare
    const edited = boundSecret(1, 'value-1-v1', 'v1');
    edited.data = { clientSecret: Buffer.from('edited-by-hand').toString('base64') };
    const { source, calls } = bulkSource(['v1', 'v1']);
    const mgmt = mgmtWith([boundSecret(0, 'value-0-v1', 'v1'), edited]);

    // Act
    const result = await sweep(deps(mgmt, source));

    // Assess
    expect(result).toMatchObject({ stale: [`${NAMESPACE}/s-1`], edited: [`${NAMESPACE}/s-1`], failed: [] });
    expect(calls.batches).toEqual([[arnOf(1)]]);
    expect(mgmt.applied).toEqual(['s-1']);
  });

  it('fails only the secrets of a failed batch call, and the others are applied', async () => {
    // Prepare: 25 moved sources, the first batch (20) fails.
    const secrets = Array.from({ length: 25 }, (_, i) => boundSecret(i, `value-${i}-v1`, 'v1'));
    const { source } = bulkSource(
      secrets.map(() => 'v2'),
      { failBatch: 1 },
    );
    const mgmt = mgmtWith(secrets);

    // Act
    const result = await sweep(deps(mgmt, source));

    // Assess
    expect(result.failed).toHaveLength(20);
    expect(
      result.failed.every((line) => line.includes('TransientFailure: BatchGetSecretValue: throttled')),
    ).toBe(true);
    expect(mgmt.applied.sort()).toEqual(['s-20', 's-21', 's-22', 's-23', 's-24']);
    expect(mgmt.events.filter((e) => e.startsWith('Warning SourceUnreadable'))).toHaveLength(20);
  });

  it('reports a source missing from the list with a Warning Event on its bound Secret alone', async () => {
    // Prepare
    const { source } = bulkSource(['v1', 'v2'], { missing: 0 });
    const mgmt = mgmtWith([boundSecret(0, 'value-0-v1', 'v1'), boundSecret(1, 'value-1-v1', 'v1')]);

    // Act
    const result = await sweep(deps(mgmt, source));

    // Assess
    expect(result.failed).toEqual([
      `${NAMESPACE}/s-0: SourceNotFound: source secret ${arnOf(0)} does not exist or is scheduled for deletion`,
    ]);
    expect(mgmt.events).toContain('Warning SourceUnreadable s-0');
    expect(mgmt.applied).toEqual(['s-1']);
  });

  it('asks for a source ListSecrets does not list (another account) with one DescribeSecret', async () => {
    // Prepare: s-1 lives in another account and moved to v2.
    const { source, calls } = bulkSource(['v1', 'v2'], { otherAccount: 1 });
    const mgmt = mgmtWith([boundSecret(0, 'value-0-v1', 'v1'), boundSecret(1, 'value-1-v1', 'v1')]);

    // Act
    const result = await sweep(deps(mgmt, source));

    // Assess
    expect(calls.describe).toEqual([arnOf(1)]);
    expect(result).toMatchObject({ failed: [], stale: [`${NAMESPACE}/s-1`] });
    expect(result.calls).toMatchObject({ describeSecret: 1, batchGetSecretValue: 1 });
    expect(mgmt.applied).toEqual(['s-1']);
  });

  it('reads no value and writes nothing when nothing drifted', async () => {
    // Prepare
    const { source, calls } = bulkSource(['v1', 'v1']);
    const mgmt = mgmtWith([boundSecret(0, 'value-0-v1', 'v1'), boundSecret(1, 'value-1-v1', 'v1')]);

    // Act
    const result = await sweep(deps(mgmt, source));

    // Assess
    expect(result).toMatchObject({
      checked: 2,
      stale: [],
      repaired: 0,
      calls: { listSecrets: 1, batchGetSecretValue: 0 },
    });
    expect(calls.batches).toEqual([]);
    expect(mgmt.applied).toEqual([]);
  });
});
