import { DeleteSecretCommand } from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/rotation/handler.js';
import type { KubeObject } from '../../lib/domain/objects.js';
import { scanForLeaks } from '../helpers/capture.js';
import {
  awsStaticIdentity,
  createRegion,
  labelUpdated,
  prepareK0rdent,
  rotateSource,
  SYSTEM_NAMESPACE,
  sqsBatch,
  testRuntime,
  writeCounts,
} from '../helpers/k0rdent.js';
import { lambdaContext } from '../helpers/lambda.js';
import { kubeClients, secretsManager, uniqueName } from '../helpers/testbed-clients.js';

const awsValue = (n: number) =>
  JSON.stringify({
    AccessKeyID: `AKIAROTATION${String(n).padStart(8, '0')}`,
    SecretAccessKey: `rotation-secret-key-${n}-${uniqueName('x')}`,
  });
const { runtime, log, metrics, source: relaySource } = testRuntime();
const handler = createHandler(runtime);
const errors: string[] = [];

async function invoke(event: unknown) {
  try {
    return await handler(event, lambdaContext());
  } catch (error) {
    errors.push(String(error), (error as Error).stack ?? '');
    throw error;
  }
}

async function readSecret(cluster: string, namespace: string, name: string): Promise<KubeObject> {
  return (await kubeClients(cluster).core.readNamespacedSecret({ name, namespace })) as unknown as KubeObject;
}

const decode = (secret: KubeObject, key: string) =>
  Buffer.from(((secret.data ?? {}) as Record<string, string>)[key] ?? '', 'base64').toString();

/** An AWS static identity bound to a new Secrets Manager secret, with a Credential in `region`. */
async function awsSetup(region: string) {
  const { name: id, namespaces, source } = await awsStaticIdentity([region], awsValue(1));
  return { id, namespace: namespaces[0] ?? '', source };
}

describe('rotation function', () => {
  const regionA = uniqueName('ra');
  beforeAll(async () => {
    await prepareK0rdent();
    await createRegion(regionA, 'region-a');
  });

  it('applies AWSCURRENT to the bound Secret and copies identity and Secret to the region', async () => {
    // Prepare
    const { id, namespace, source } = await awsSetup(regionA);
    const value = awsValue(2);
    const version = await rotateSource(source.arn, value);

    // Act
    const response = await invoke(sqsBatch([labelUpdated(source.arn, version)]));

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const mgmt = await readSecret('mgmt', SYSTEM_NAMESPACE, id);
    expect(decode(mgmt, 'SecretAccessKey')).toBe(JSON.parse(value).SecretAccessKey);
    expect(mgmt.metadata.annotations?.['identity-relay.dev/source-version']).toBe(version);
    expect(mgmt.metadata.annotations?.['identity-relay.dev/content-hash']).toMatch(/^sha256:/);
    const copy = await readSecret('region-a', SYSTEM_NAMESPACE, id);
    expect(decode(copy, 'AccessKeyID')).toBe(JSON.parse(value).AccessKeyID);
    expect(copy.metadata.labels).toMatchObject({
      'k0rdent.mirantis.com/managed': 'true',
      [`k0rdent.mirantis.com/credential.${namespace}.aws`]: 'true',
    });
    const identity = await kubeClients('region-a').objects.read({
      apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2',
      kind: 'AWSClusterStaticIdentity',
      metadata: { name: id },
    });
    expect((identity as unknown as KubeObject).spec).toEqual({
      secretRef: id,
      allowedNamespaces: { list: [namespace] },
    });
    await expect(readSecret('region-b', SYSTEM_NAMESPACE, id)).rejects.toMatchObject({ code: 404 });
  });

  it('makes zero writes for a repeated, a replayed and an older event', async () => {
    // Prepare
    const { source } = await awsSetup(regionA);
    const version = await rotateSource(source.arn, awsValue(3));
    const event = labelUpdated(source.arn, version);
    const initial = await writeCounts();
    await invoke(sqsBatch([event]));
    const before = await writeCounts();
    expect(before.mgmt).toBeGreaterThan(initial.mgmt ?? 0); // the counter sees real writes
    expect(before['region-a']).toBeGreaterThan(initial['region-a'] ?? 0);

    // Act
    const responses = [
      await invoke(sqsBatch([event, event])),
      await invoke(sqsBatch([{ ...event, 'replay-name': 'on-call-replay' }])),
      await invoke(sqsBatch([labelUpdated(source.arn, source.versionId, { time: '2020-01-01T00:00:00Z' })])),
      await invoke(labelUpdated(source.arn, version)),
    ];

    // Assess
    expect(responses.slice(0, 3)).toEqual([
      { batchItemFailures: [] },
      { batchItemFailures: [] },
      { batchItemFailures: [] },
    ]);
    expect(await writeCounts()).toEqual(before);
  });

  it('reads no secret value for a version every binding holds, and only DescribeSecret for an older one', async () => {
    // Prepare
    const { source } = await awsSetup(regionA);
    const version = await rotateSource(source.arn, awsValue(5));
    await invoke(sqsBatch([labelUpdated(source.arn, version)]));
    const before = { ...relaySource.calls };
    const writesBefore = await writeCounts();

    // Act: the same event again, then the first version's (stale) event
    await invoke(sqsBatch([labelUpdated(source.arn, version)]));
    const afterRepeat = { ...relaySource.calls };
    await invoke(sqsBatch([labelUpdated(source.arn, source.versionId)]));

    // Assess: DescribeSecret is asked alongside the bound-Secret list, each time; no value is read
    expect(afterRepeat.getSecretValue - before.getSecretValue).toBe(0);
    expect(afterRepeat.describeSecret - before.describeSecret).toBe(1);
    expect(relaySource.calls.getSecretValue - before.getSecretValue).toBe(0);
    expect(relaySource.calls.describeSecret - afterRepeat.describeSecret).toBe(1);
    expect(await writeCounts()).toEqual(writesBefore);
  });

  it('rejects a value that fails its format: nothing written anywhere, a Warning Event, the message failed', async () => {
    // Prepare
    const { id, source } = await awsSetup(regionA);
    const good = await rotateSource(source.arn, awsValue(4));
    await invoke(sqsBatch([labelUpdated(source.arn, good)]));
    const bad = await rotateSource(source.arn, JSON.stringify({ AccessKeyID: 'AKIAONLYTHEKEYID0001' }));
    const before = await writeCounts();
    const batch = sqsBatch([labelUpdated(source.arn, bad)]);

    // Act
    const response = await invoke(batch);

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: batch.Records[0]?.messageId }] });
    const after = await writeCounts();
    expect(after['region-a']).toBe(before['region-a']);
    const mgmt = await readSecret('mgmt', SYSTEM_NAMESPACE, id);
    expect(mgmt.metadata.annotations?.['identity-relay.dev/source-version']).toBe(good);
    const events = await kubeClients('mgmt').core.listNamespacedEvent({
      namespace: SYSTEM_NAMESPACE,
      fieldSelector: `involvedObject.name=${id}`,
    });
    const warning = events.items.find((e) => e.reason === 'InvalidCredentialFormat');
    expect(warning?.type).toBe('Warning');
    expect(warning?.message).toContain('SecretAccessKey');
  });

  it('fails the message, writing nothing, when the source secret is scheduled for deletion', async () => {
    // Prepare
    const { id, source } = await awsSetup(regionA);
    await secretsManager().send(new DeleteSecretCommand({ SecretId: source.arn, RecoveryWindowInDays: 7 }));
    const batch = sqsBatch([labelUpdated(source.arn, source.versionId)]);

    // Act
    const response = await invoke(batch);

    // Assess
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: batch.Records[0]?.messageId }] });
    const mgmt = await readSecret('mgmt', SYSTEM_NAMESPACE, id);
    expect(mgmt.data).toBeUndefined();
    expect(log.lines.some((line) => line.includes('SourceNotFound'))).toBe(true);
  });

  it('rejects an event that is not an EventBridge or SQS event with a one-line reason', async () => {
    // Act
    const error = await invoke({ hello: 'world' }).catch((e: unknown) => e as Error);

    // Assess
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe('InvalidInput');
    expect((error as Error).message).not.toContain('\n');
  });

  it('never prints a secret value in any log line or error', () => {
    // Assess: every value created through the helpers is scanned for, plain and base64.
    expect(log.lines.length).toBeGreaterThan(0);
    expect(scanForLeaks({ logs: log.lines, errors, metrics: metrics.recorded })).toEqual([]);
  });
});
