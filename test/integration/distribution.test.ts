import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/distribution/handler.js';
import type { DistributionJob } from '../../lib/domain/audit.js';
import type { KubeObject } from '../../lib/domain/objects.js';
import { sqsJobEvent } from '../helpers/audit.js';
import { rememberSecret, scanForLeaks } from '../helpers/capture.js';
import {
  applyAll,
  createRegion,
  credential,
  ensureNamespace,
  prepareK0rdent,
  readObject,
  SYSTEM_NAMESPACE,
  testRuntime,
} from '../helpers/k0rdent.js';
import { lambdaContext } from '../helpers/lambda.js';
import { kubeClients, uniqueName } from '../helpers/testbed-clients.js';

const CAPI = 'infrastructure.cluster.x-k8s.io';
const { runtime, log, metrics } = testRuntime();
const handler = createHandler(runtime);
const errors: string[] = [];

async function work(jobs: Array<Partial<DistributionJob> | string>) {
  const event = sqsJobEvent(
    jobs.map((job) =>
      typeof job === 'string' ? job : JSON.stringify({ verb: 'patch', auditID: randomUUID(), ...job }),
    ),
  );
  try {
    return { event, response: await handler(event, lambdaContext()) };
  } catch (error) {
    errors.push(String(error), (error as Error).stack ?? '');
    throw error;
  }
}

const read = readObject;

const secretJob = (name: string): Partial<DistributionJob> => ({
  resource: 'secrets',
  kind: 'Secret',
  apiVersion: 'v1',
  namespace: SYSTEM_NAMESPACE,
  name,
});
const value = (key: string) => rememberSecret(`aws-secret-key-${key}-${randomUUID()}`);
const data = (secretKey: string) => ({
  AccessKeyID: Buffer.from('AKIADISTRIBUTION0001').toString('base64'),
  SecretAccessKey: Buffer.from(secretKey).toString('base64'),
});
const decoded = (object: KubeObject | undefined, key: string) =>
  Buffer.from(((object?.data ?? {}) as Record<string, string>)[key] ?? '', 'base64').toString();

/** An AWS static identity with its Secret in the system namespace and a Credential in `region`. */
async function awsIdentity(region: string, secretKey: string) {
  const name = uniqueName('aws');
  const team = uniqueName('team');
  await ensureNamespace('mgmt', team);
  await applyAll('mgmt', [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: SYSTEM_NAMESPACE },
      data: data(secretKey),
    },
    {
      apiVersion: `${CAPI}/v1beta2`,
      kind: 'AWSClusterStaticIdentity',
      metadata: { name },
      spec: { secretRef: name, allowedNamespaces: { list: [team] } },
    },
  ]);
  const cred = credential(team, 'aws', region, {
    apiVersion: `${CAPI}/v1beta2`,
    kind: 'AWSClusterStaticIdentity',
    name,
  });
  return { name, team, cred };
}

describe('distribution worker', () => {
  const region = uniqueName('ra');
  const broken = uniqueName('rdown');
  beforeAll(async () => {
    await prepareK0rdent();
    await createRegion(region, 'region-a');
  });
  afterAll(async () => {
    await kubeClients('mgmt')
      .objects.delete({
        apiVersion: 'k0rdent.mirantis.com/v1beta1',
        kind: 'Region',
        metadata: { name: broken },
      })
      .catch(() => undefined);
  });

  it('copies an identity to the region when its Credential is created, and cleans up when it is deleted', async () => {
    // Prepare
    const { name, team, cred } = await awsIdentity(region, value('c'));
    await applyAll('mgmt', [cred]);
    const job = {
      resource: 'credentials',
      kind: 'Credential',
      apiVersion: 'k0rdent.mirantis.com/v1beta1',
      namespace: team,
      name: 'aws',
    };

    // Act
    const created = await work([job]);

    // Assess
    expect(created.response).toEqual({ batchItemFailures: [] });
    expect(await read('region-a', `${CAPI}/v1beta2`, 'AWSClusterStaticIdentity', name)).toBeDefined();
    expect(await read('region-a', 'v1', 'Secret', name, SYSTEM_NAMESPACE)).toBeDefined();

    // Act: the Credential is deleted; the audit event names it, the worker finds it gone.
    await kubeClients('mgmt').objects.delete(cred);
    const deleted = await work([{ ...job, verb: 'delete' }]);

    // Assess
    expect(deleted.response).toEqual({ batchItemFailures: [] });
    expect(await read('region-a', `${CAPI}/v1beta2`, 'AWSClusterStaticIdentity', name)).toBeUndefined();
    expect(await read('region-a', 'v1', 'Secret', name, SYSTEM_NAMESPACE)).toBeUndefined();
  });

  it('carries a hand edit of the management Secret to the region, and an identity edit too', async () => {
    // Prepare
    const { name, team, cred } = await awsIdentity(region, value('a'));
    await applyAll('mgmt', [cred]);
    await work([
      { resource: 'regions', kind: 'Region', apiVersion: 'k0rdent.mirantis.com/v1beta1', name: region },
    ]);
    const edited = value('b');
    await applyAll('mgmt', [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace: SYSTEM_NAMESPACE },
        data: data(edited),
      },
    ]);

    // Act
    const secret = await work([secretJob(name), secretJob(name)]);

    // Assess
    expect(secret.response).toEqual({ batchItemFailures: [] });
    expect(decoded(await read('region-a', 'v1', 'Secret', name, SYSTEM_NAMESPACE), 'SecretAccessKey')).toBe(
      edited,
    );

    // Act: the identity now points at another Secret.
    const other = uniqueName('aws-other');
    await applyAll('mgmt', [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: other, namespace: SYSTEM_NAMESPACE },
        data: data(value('o')),
      },
      {
        apiVersion: `${CAPI}/v1beta2`,
        kind: 'AWSClusterStaticIdentity',
        metadata: { name },
        spec: { secretRef: other, allowedNamespaces: { list: [team] } },
      },
    ]);
    const identity = await work([
      {
        resource: 'awsclusterstaticidentities',
        kind: 'AWSClusterStaticIdentity',
        apiVersion: `${CAPI}/v1beta2`,
        name,
      },
    ]);

    // Assess
    expect(identity.response).toEqual({ batchItemFailures: [] });
    expect(await read('region-a', 'v1', 'Secret', other, SYSTEM_NAMESPACE)).toBeDefined();
    expect(await read('region-a', 'v1', 'Secret', name, SYSTEM_NAMESPACE)).toBeUndefined();
  });

  it('fails only the jobs whose regions failed, and an unreadable job', async () => {
    // Prepare: a Region whose apiserver refuses connections, and a healthy one.
    await createRegion(broken, 'region-a', unreachableKubeconfig());
    const good = await awsIdentity(region, value('g'));
    const bad = await awsIdentity(broken, value('x'));
    await applyAll('mgmt', [good.cred, bad.cred]);

    // Act
    const { event, response } = await work([secretJob(good.name), secretJob(bad.name), '{"not":"a job"}']);

    // Assess
    const ids = event.Records.map((record) => record.messageId);
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: ids[1] }, { itemIdentifier: ids[2] }] });
    expect(await read('region-a', 'v1', 'Secret', good.name, SYSTEM_NAMESPACE)).toBeDefined();
    await kubeClients('mgmt').objects.delete(bad.cred);
  });

  it('never prints a secret value in any log line or error', () => {
    expect(log.lines.length).toBeGreaterThan(0);
    expect(scanForLeaks({ logs: log.lines, errors, metrics: metrics.recorded })).toEqual([]);
  });
});

function unreachableKubeconfig(): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters: [{name: down, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]',
    'users: [{name: down, user: {token: "unused"}}]',
    'contexts: [{name: down, context: {cluster: down, user: down}}]',
    'current-context: down',
    '',
  ].join('\n');
}
