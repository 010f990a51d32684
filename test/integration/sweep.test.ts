import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHandler, type SweepResponse } from '../../functions/sweep/handler.js';
import { buildManagementApply, toSecretData } from '../../lib/domain/binding.js';
import type { KubeObject } from '../../lib/domain/objects.js';
import { scanForLeaks } from '../helpers/capture.js';
import {
  applyAll,
  boundSecret,
  createRegion,
  createSource,
  credential,
  grantManagementNamespace,
  grantRegionalNamespace,
  prepareK0rdent,
  rotateSource,
  testRuntime,
  writeCounts,
} from '../helpers/k0rdent.js';
import { lambdaContext } from '../helpers/lambda.js';
import { kubeClients, uniqueName } from '../helpers/testbed-clients.js';

const CAPI = 'infrastructure.cluster.x-k8s.io';
// Bound Secrets live in the test's own namespace, the only one the sweep watches: the shared testbed
// holds other files' bindings (some deliberately broken) in the system namespace.
const team = uniqueName('sweep');
const { runtime, log, metrics, source } = testRuntime([team]);
const handler = createHandler(runtime);
const errors: string[] = [];

async function sweep(): Promise<SweepResponse> {
  try {
    return await handler({ source: 'aws.scheduler' }, lambdaContext());
  } catch (error) {
    errors.push(String(error), (error as Error).stack ?? '');
    throw error;
  }
}

const readSecret = async (cluster: string, name: string) =>
  (await kubeClients(cluster).core.readNamespacedSecret({ name, namespace: team })) as unknown as KubeObject;
const clientSecret = (secret: KubeObject) =>
  Buffer.from(((secret.data ?? {}) as Record<string, string>).clientSecret ?? '', 'base64').toString();
const metric = (name: string) => metrics.recorded.filter((m) => m.name === name).at(-1)?.value;

describe('drift sweep', () => {
  const region = uniqueName('ra');
  const name = uniqueName('azure');
  let arn = '';

  beforeAll(async () => {
    // Prepare: an Azure identity in the test namespace, bound to a source, with a Credential in region-a.
    await prepareK0rdent();
    await createRegion(region, 'region-a');
    await grantManagementNamespace(team);
    await grantRegionalNamespace('region-a', team);
    arn = (await createSource(`identity-relay/${name}`, `azure-sweep-${randomUUID()}`)).arn;
    await applyAll('mgmt', [
      boundSecret(team, name, arn, 'azure-sp'),
      {
        apiVersion: `${CAPI}/v1beta1`,
        kind: 'AzureClusterIdentity',
        metadata: { name, namespace: team },
        spec: {
          type: 'ServicePrincipal',
          clientID: randomUUID(),
          tenantID: randomUUID(),
          clientSecret: { name, namespace: team },
        },
      },
      credential(team, 'azure', region, {
        apiVersion: `${CAPI}/v1beta1`,
        kind: 'AzureClusterIdentity',
        name,
        namespace: team,
      }),
    ]);
  });

  it('fills a binding that never received an event and copies it to its region', async () => {
    // Act
    const result = await sweep();

    // Assess
    expect(result).toMatchObject({ checked: 1, stale: 1 });
    expect(result.repaired).toBeGreaterThanOrEqual(3); // the bound Secret, its copy and the identity copy
    expect(clientSecret(await readSecret('region-a', name))).toMatch(/^azure-sweep-/);
  });

  it('repairs a regional copy edited by hand', async () => {
    // Prepare
    const expected = clientSecret(await readSecret('mgmt', name));
    await applyAll('region-a', [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace: team },
        data: { clientSecret: Buffer.from('edited-by-hand').toString('base64') },
      },
    ]);

    // Act
    const result = await sweep();

    // Assess
    expect(result).toMatchObject({ stale: 0, failed: 0 });
    expect(result.repaired).toBeGreaterThanOrEqual(1);
    expect(clientSecret(await readSecret('region-a', name))).toBe(expected);
  });

  it('rotates a binding whose source moved while no event was delivered', async () => {
    // Prepare
    const value = `azure-sweep-${randomUUID()}`;
    const version = await rotateSource(arn, value);

    // Act
    const result = await sweep();

    // Assess
    expect(result).toMatchObject({ checked: 1, stale: 1 });
    const mgmt = await readSecret('mgmt', name);
    expect(clientSecret(mgmt)).toBe(value);
    expect(mgmt.metadata.annotations?.['identity-relay.dev/source-version']).toBe(version);
    expect(clientSecret(await readSecret('region-a', name))).toBe(value);
    expect([metric('BindingsChecked'), metric('Stale'), metric('Failed')]).toEqual([1, 1, 0]);
  });

  it('repairs a hand edit of the bound Secret whose source-version still matches', async () => {
    // Prepare: someone edits the management Secret's bound key; its annotations still name AWSCURRENT.
    const held = await kubeClients('mgmt').core.readNamespacedSecret({ name, namespace: team });
    const expected = clientSecret(held as unknown as KubeObject);
    const version = held.metadata?.annotations?.['identity-relay.dev/source-version'];
    // As `kubectl edit` does it: an update of the whole object, annotations untouched.
    held.data = { ...held.data, clientSecret: Buffer.from('edited-by-hand-in-mgmt').toString('base64') };
    await kubeClients('mgmt').core.replaceNamespacedSecret({ name, namespace: team, body: held });
    const reads = { ...source.calls };

    // Act
    const result = await sweep();

    // Assess: re-applied from one batch read, and the regional copy follows.
    expect(result).toMatchObject({ checked: 1, stale: 1, failed: 0 });
    expect(result.calls).toEqual({ listSecrets: 1, batchGetSecretValue: 1, describeSecret: 0 });
    const mgmt = await readSecret('mgmt', name);
    expect(clientSecret(mgmt)).toBe(expected);
    expect(mgmt.metadata.annotations?.['identity-relay.dev/source-version']).toBe(version);
    expect(clientSecret(await readSecret('region-a', name))).toBe(expected);
    expect(source.calls).toEqual({
      ...reads,
      listSecrets: reads.listSecrets + 1,
      batchGetSecretValue: reads.batchGetSecretValue + 1,
    });
  });

  it('makes zero writes and reads no secret value when nothing drifted', async () => {
    // Prepare: one sweep to converge whatever other test files left behind in the shared testbed.
    await sweep();
    const before = await writeCounts();
    const reads = { ...source.calls };

    // Act
    const result = await sweep();

    // Assess
    expect(result).toMatchObject({ checked: 1, stale: 0, repaired: 0 });
    expect(await writeCounts()).toEqual(before);
    expect(source.calls).toEqual({ ...reads, listSecrets: reads.listSecrets + 1 });
    expect(metric('Repaired')).toBe(0);
  });
});

describe('drift sweep at scale', () => {
  // N sources bound in a namespace of their own, K of them rotated without an event.
  const N = 120;
  const K = 25;
  const scaleTeam = uniqueName('sweep-scale');
  const scale = testRuntime([scaleTeam]);
  const scaleHandler = createHandler(scale.runtime);
  const folder = `identity-relay/${uniqueName('scale')}`;
  const names = Array.from({ length: N }, (_, i) => `s-${i}`);
  const arns: string[] = [];

  beforeAll(async () => {
    // Prepare: every bound Secret already holds its source's AWSCURRENT, as identity-relay applies it.
    await grantManagementNamespace(scaleTeam);
    const objects: KubeObject[] = [];
    for (const secretName of names) {
      const value = `scale-${randomUUID()}`;
      const created = await createSource(`${folder}/${secretName}`, value);
      arns.push(created.arn);
      const ref = { apiVersion: 'v1', kind: 'Secret', namespace: scaleTeam, name: secretName };
      const applied = buildManagementApply(
        ref,
        toSecretData({ clientSecret: value }),
        created.versionId,
        new Date(),
      );
      const bound = boundSecret(scaleTeam, secretName, created.arn, 'azure-sp');
      objects.push({
        ...applied,
        metadata: {
          ...applied.metadata,
          annotations: { ...bound.metadata.annotations, ...applied.metadata.annotations },
        },
      });
    }
    await applyAll('mgmt', objects);
  });

  it('costs ceil(N/100) ListSecrets and ceil(K/20) BatchGetSecretValue, and no per-secret read', async () => {
    // Prepare
    const values = new Map<string, string>();
    for (const [i, arn] of arns.slice(0, K).entries()) {
      const value = `scale-rotated-${randomUUID()}`;
      await rotateSource(arn, value);
      values.set(names[i] ?? '', value);
    }
    const before = { ...scale.source.calls };

    // Act
    const result = await scaleHandler({ source: 'aws.scheduler' }, lambdaContext());

    // Assess
    const calls = {
      listSecrets: Math.ceil(N / 100),
      batchGetSecretValue: Math.ceil(K / 20),
      describeSecret: 0,
    };
    expect(result).toMatchObject({ checked: N, stale: K, failed: 0, calls });
    expect(scale.source.calls).toEqual({
      getSecretValue: before.getSecretValue,
      describeSecret: before.describeSecret,
      listSecrets: before.listSecrets + calls.listSecrets,
      batchGetSecretValue: before.batchGetSecretValue + calls.batchGetSecretValue,
    });
    const held = await kubeClients('mgmt').core.listNamespacedSecret({ namespace: scaleTeam });
    const rotated = held.items
      .filter((secret) => values.has(secret.metadata?.name ?? ''))
      .map((secret) => [secret.metadata?.name, clientSecret(secret as unknown as KubeObject)]);
    expect(Object.fromEntries(rotated)).toEqual(Object.fromEntries(values));
  });

  it('never prints a secret value in any log line', () => {
    expect(scale.log.lines.length).toBeGreaterThan(0);
    expect(scanForLeaks({ logs: scale.log.lines, metrics: scale.metrics.recorded })).toEqual([]);
  });
});

describe('drift sweep telemetry', () => {
  it('never prints a secret value in any log line or error', () => {
    expect(log.lines.length).toBeGreaterThan(0);
    expect(scanForLeaks({ logs: log.lines, errors, metrics: metrics.recorded })).toEqual([]);
  });
});
