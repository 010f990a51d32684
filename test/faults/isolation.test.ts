import { createServer } from 'node:net';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHandler as distributionHandler } from '../../functions/distribution/handler.js';
import { createHandler as rotationHandler } from '../../functions/rotation/handler.js';
import type { Runtime } from '../../functions/shared/runtime.js';
import { kubernetesCluster } from '../../lib/adapters/kubernetes.js';
import { sqsQueue, sqsVisibility } from '../../lib/adapters/sqs.js';
import type { KubeObject } from '../../lib/domain/objects.js';
import { regionHandOff } from '../../lib/use-cases/hand-off.js';
import {
  applyAll,
  boundSecret,
  createRegion,
  labelUpdated,
  rotateSource,
  SYSTEM_NAMESPACE,
  testRuntime,
} from '../helpers/k0rdent.js';
import { lambdaContext } from '../helpers/lambda.js';
import { kubeConfigFor, kubeconfigText, uniqueName } from '../helpers/testbed-clients.js';
import { createQueues, createStandardQueues, deliver, type Queues, receive, sqs } from './sqs.js';
import { rotate, type Scenario, secretAccessKeyIn, see, seedScenario } from './support.js';

// One failure stays one failure: a poisoned secret, a region that does not answer and an invalid binding
// beside healthy work, through real queues on the testbed's AWS endpoint.

let work: Queues;
let distribution: Queues;
const { runtime: base, deps, log, metrics } = testRuntime();
const runtime = (): Runtime => ({
  ...base,
  queues: { visibility: sqsVisibility(sqs(), work.url), deadLetters: sqsQueue(sqs(), work.dlqUrl) },
  deps: async () => ({
    ...deps,
    handOff: regionHandOff(sqsQueue(sqs(), distribution.url), () => new Date()),
  }),
});

async function send(url: string, event: Record<string, unknown>): Promise<void> {
  await sqs().send(new SendMessageCommand({ QueueUrl: url, MessageBody: JSON.stringify(event) }));
}

async function invokeRotation(event: unknown) {
  const response = await rotationHandler(runtime())(event, lambdaContext());
  see(response);
  return response;
}

/** The dead-letter records: ERROR_CODE of each, by the secret ARN its body names. */
async function deadLetters(url: string): Promise<Map<string, string>> {
  const out = await sqs().send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: 10,
      MessageAttributeNames: ['All'],
      WaitTimeSeconds: 1,
    }),
  );
  const records = new Map<string, string>();
  for (const m of out.Messages ?? []) {
    const body = JSON.parse(m.Body ?? '{}') as { resources?: string[] };
    records.set(body.resources?.[0] ?? '', m.MessageAttributes?.ERROR_CODE?.StringValue ?? '');
  }
  return records;
}

async function warnings(name: string): Promise<string[]> {
  const events = await kubernetesCluster('mgmt', kubeConfigFor('mgmt')).list('v1', 'Event', {
    namespace: SYSTEM_NAMESPACE,
  });
  return events
    .filter((e) => (e.involvedObject as { name?: string } | undefined)?.name === name && e.type === 'Warning')
    .map((e) => String(e.reason));
}

/** A port on 127.0.0.1 where nothing listens: the region's apiserver is down. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('one failure stays one failure', () => {
  let healthy: Scenario[];
  let poisoned: Scenario;
  beforeAll(async () => {
    work = await createStandardQueues(5);
    distribution = await createQueues(5);
    healthy = [await seedScenario(['region-a']), await seedScenario(['region-a'])];
    poisoned = await seedScenario(['region-a']);
  });

  it('acknowledges and records a poisoned secret while the healthy ones of its batch converge', async () => {
    // Prepare
    const rotated = await Promise.all(healthy.map((s) => rotate(s, 'beside-poison')));
    const bad = await rotateSource(poisoned.arn, JSON.stringify({ AccessKeyID: 1 }));
    for (const [i, s] of healthy.entries())
      await send(work.url, labelUpdated(s.arn, rotated[i]?.versionId ?? ''));
    await send(work.url, labelUpdated(poisoned.arn, bad));

    // Act
    const first = await deliver(work.url, work.arn, invokeRotation);

    // Assess: nothing to retry, the poisoned one on the dead-letter queue, the healthy ones converged.
    expect(first.received).toHaveLength(3);
    expect(first.failed).toEqual([]);
    expect(await receive(work.url, 1500)).toEqual([]);
    expect(await deadLetters(work.dlqUrl)).toEqual(new Map([[poisoned.arn, 'InvalidCredentialFormat']]));
    for (const [i, s] of healthy.entries())
      expect(await secretAccessKeyIn('region-a', s)).toBe(rotated[i]?.secretAccessKey);
    expect(await warnings(poisoned.name)).toContain('InvalidCredentialFormat');
    expect(metrics.recorded).toContainEqual(
      expect.objectContaining({ name: 'NonRetryable', dimensions: { Reason: 'InvalidCredentialFormat' } }),
    );
  });

  it('hands a region that does not answer to its own job, and that job converges it once the region is back', async () => {
    // Prepare: the scenario's Credential names a Region whose apiserver is down.
    const down = uniqueName('down');
    const kubeconfig = kubeconfigText('region-b', 'relay');
    await createRegion(
      down,
      'region-b',
      kubeconfig.replace(
        /server: https:\/\/127\.0\.0\.1:\d+/,
        `server: https://127.0.0.1:${await closedPort()}`,
      ),
    );
    const stuck = await seedScenario(['region-a']);
    await applyAll('mgmt', [credentialIn(stuck, down)]);
    const [fine] = healthy;
    if (!fine) throw new Error('no healthy scenario');
    const next = await rotate(stuck, 'region-down');
    const other = await rotate(fine, 'beside-region-down');
    await send(work.url, labelUpdated(stuck.arn, next.versionId));
    await send(work.url, labelUpdated(fine.arn, other.versionId));

    // Act
    const first = await deliver(work.url, work.arn, invokeRotation);

    // Assess: both rotation messages done; the healthy regions converged; one job for the down region.
    expect(first.failed).toEqual([]);
    expect(await secretAccessKeyIn('region-a', stuck)).toBe(next.secretAccessKey);
    expect(await secretAccessKeyIn('region-a', fine)).toBe(other.secretAccessKey);
    const jobs = await receive(distribution.url);
    expect(jobs.map((j) => JSON.parse(j.Body ?? '{}'))).toEqual([
      expect.objectContaining({ kind: 'Region', name: down }),
    ]);
    expect(jobs[0]?.Attributes?.MessageGroupId).toBe(`region:${down}`);

    // Act: the region comes back; the job is delivered again after its visibility timeout.
    await createRegion(down, 'region-b', kubeconfig);
    const handler = distributionHandler({ ...runtime(), queues: {} });
    const retried = await deliver(distribution.url, distribution.arn, async (event) => {
      const response = await handler(event, lambdaContext());
      see(response);
      return response;
    });

    // Assess
    expect(retried.received).toHaveLength(1);
    expect(retried.failed).toEqual([]);
    expect(await secretAccessKeyIn('region-b', stuck)).toBe(next.secretAccessKey);
  });

  it('records a binding with invalid annotations, with a Warning Event on its Secret, and retries nothing', async () => {
    // Prepare
    const [s] = healthy;
    if (!s) throw new Error('no healthy scenario');
    const name = uniqueName('invalid');
    await applyAll('mgmt', [boundSecret(SYSTEM_NAMESPACE, name, s.arn, 'no-such-format')]);
    const next = await rotate(s, 'invalid-binding');
    await send(work.url, labelUpdated(s.arn, next.versionId));

    // Act
    const first = await deliver(work.url, work.arn, invokeRotation);

    // Assess
    expect(first.failed).toEqual([]);
    expect(await warnings(name)).toEqual(['InvalidBinding']);
    expect(await deadLetters(work.dlqUrl)).toEqual(new Map([[s.arn, 'InvalidInput']]));
    expect(await secretAccessKeyIn('region-a', s)).toBe(next.secretAccessKey);
    expect(log.lines.join('\n')).not.toContain(next.secretAccessKey);
  });
});

/** A second Credential for the scenario's identity, in a Region of its own. */
function credentialIn(scenario: Scenario, region: string): KubeObject {
  return {
    apiVersion: 'k0rdent.mirantis.com/v1beta1',
    kind: 'Credential',
    metadata: { name: `${scenario.name}-${region}`.slice(0, 63), namespace: SYSTEM_NAMESPACE },
    spec: {
      region,
      identityRef: {
        apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2',
        kind: 'AWSClusterStaticIdentity',
        name: scenario.name,
      },
    },
  };
}
