import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { CoreV1Api, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler as createWebhook, type HttpResponse } from '../../functions/audit-webhook/handler.js';
import { createHandler as createWorker } from '../../functions/distribution/handler.js';
import { secretsManagerSource } from '../../lib/adapters/secrets-manager.js';
import { sqsQueue } from '../../lib/adapters/sqs.js';
import { DEFAULT_IDENTITY_KINDS, identityResources } from '../../lib/domain/audit.js';
import type { KubeObject } from '../../lib/domain/objects.js';
import type { QueueMessage } from '../../lib/ports.js';
import { secretTokenVerifier } from '../../lib/use-cases/audit-intake.js';
import {
  type AuditedApiserver,
  functionUrlEvent,
  shippedAuditPolicy,
  startAuditedApiserver,
  startReceiver,
} from '../helpers/audit.js';
import { capturingLog, capturingMetrics, leakedSecrets, rememberSecret } from '../helpers/capture.js';
import {
  createRegion,
  createSource,
  credential,
  ensureNamespace,
  prepareK0rdent,
  SYSTEM_NAMESPACE,
  testRuntime,
} from '../helpers/k0rdent.js';
import { lambdaContext } from '../helpers/lambda.js';
import {
  kubeClients,
  kubeConfigFor,
  secretsManager,
  testbed,
  uniqueName,
} from '../helpers/testbed-clients.js';

// The testbed's mgmt control plane gains a second apiserver (same etcd prefix, as in an HA control
// plane) whose audit webhook is the real middy handler behind a local HTTPS adapter; its queue is a
// real SQS FIFO queue in the AWS endpoint, drained into the real distribution worker.

const CAPI = 'infrastructure.cluster.x-k8s.io';
const token = rememberSecret(randomBytes(24).toString('hex'));
const webhookLog = capturingLog();
const worker = testRuntime();
const workerHandler = createWorker(worker.runtime);
const sqs = () =>
  new SQSClient({
    endpoint: testbed().aws.endpoint,
    region: testbed().aws.region,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
const enqueued: QueueMessage[] = [];
/** When each job was enqueued by the webhook and received by the worker, to break the latency down. */
const enqueuedAt: Array<{ at: number; body: string }> = [];
const receivedAt: Array<{ at: number; body: string }> = [];
let processed = 0;

describe('audit webhook end to end', () => {
  let queueUrl = '';
  let receiver: { url: string; close(): Promise<void> } | undefined;
  let audited: AuditedApiserver | undefined;
  let draining = true;
  let drained: Promise<void> = Promise.resolve();

  beforeAll(async () => {
    await prepareK0rdent();
    const info = testbed();
    queueUrl =
      (
        await sqs().send(
          new CreateQueueCommand({
            QueueName: `${uniqueName('relay-jobs')}.fifo`,
            Attributes: { FifoQueue: 'true' },
          }),
        )
      ).QueueUrl ?? '';
    const tokenSecret = await createSource(`identity-relay/${uniqueName('audit-token')}`, token);
    const queue = sqsQueue(sqs(), queueUrl);
    const webhook = createWebhook({
      log: webhookLog,
      metrics: capturingMetrics(),
      deps: async () => ({
        queue: {
          async send(messages) {
            await queue.send(messages);
            enqueued.push(...messages);
            for (const m of messages) enqueuedAt.push({ at: Date.now(), body: m.body });
          },
        },
        token: secretTokenVerifier(secretsManagerSource(secretsManager()), tokenSecret.arn),
        filter: {
          identityResources: identityResources(DEFAULT_IDENTITY_KINDS),
          relayUsername: 'system:serviceaccount:identity-relay-system:identity-relay',
        },
        maxBodyBytes: 6 * 1024 * 1024,
        log: webhookLog,
        metrics: capturingMetrics(),
        now: () => new Date(),
      }),
    });
    receiver = await startReceiver(info, async (received) => {
      const response = (await webhook(functionUrlEvent(received), lambdaContext())) as HttpResponse;
      return { statusCode: response.statusCode, body: response.body };
    });
    audited = await startAuditedApiserver(info, {
      webhookUrl: receiver.url,
      token,
      policy: shippedAuditPolicy(),
      batchMaxWait: '100ms',
    });
    drained = drain();
  });

  afterAll(async () => {
    draining = false;
    await drained;
    await audited?.stop();
    await receiver?.close();
    if (queueUrl) await sqs().send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
  });

  /** Receives jobs from the FIFO queue and runs them through the worker, as the SQS event source would. */
  async function drain(): Promise<void> {
    const client = sqs();
    while (draining) {
      const out = await client.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) continue;
      for (const m of messages) receivedAt.push({ at: Date.now(), body: m.Body ?? '' });
      const event = {
        Records: messages.map((m) => ({
          messageId: m.MessageId ?? '',
          body: m.Body ?? '',
          receiptHandle: m.ReceiptHandle,
        })),
      };
      const response = await workerHandler(event, lambdaContext());
      const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
      const done = messages.filter((m) => !failed.has(m.MessageId ?? ''));
      processed += messages.length;
      if (done.length > 0)
        await client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? '' })),
          }),
        );
    }
  }

  it('carries an edit of a bound Secret made through the audited apiserver to the region', async () => {
    // Prepare: an AWS identity with its Credential in region-a, created through the audited apiserver, so
    // the Credential's own audit event has it copied there.
    const region = uniqueName('ra');
    await createRegion(region, 'region-a');
    const name = uniqueName('aws');
    const team = uniqueName('team');
    await ensureNamespace('mgmt', team);
    const api = KubernetesObjectApi.makeApiClient(audited?.kubeconfig ?? kubeConfigFor('mgmt'));
    const objects: KubeObject[] = [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace: SYSTEM_NAMESPACE },
        data: awsData('before'),
      },
      {
        apiVersion: `${CAPI}/v1beta2`,
        kind: 'AWSClusterStaticIdentity',
        metadata: { name },
        spec: { secretRef: name, allowedNamespaces: { list: [team] } },
      },
      credential(team, 'aws', region, {
        apiVersion: `${CAPI}/v1beta2`,
        kind: 'AWSClusterStaticIdentity',
        name,
      }),
    ];
    for (const object of objects)
      await api.patch(object, undefined, undefined, 'e2e-engineer', true, PatchStrategy.ServerSideApply);
    await until(async () => (await regionValue(name)) === secretOf('before'), 30_000);
    const secrets = audited?.kubeconfig.makeApiClient(CoreV1Api);
    const latencies: number[] = [];
    const breakdown: string[] = [];

    for (let round = 0; round < 5; round++) {
      await quiet();
      const edited = rememberSecret(`e2e-secret-key-${randomUUID()}`);

      // Act: an engineer edits the Secret through the audited apiserver.
      const started = Date.now();
      await secrets?.patchNamespacedSecret({
        name,
        namespace: SYSTEM_NAMESPACE,
        body: [
          { op: 'replace', path: '/data/SecretAccessKey', value: Buffer.from(edited).toString('base64') },
        ],
      });
      await until(async () => (await regionValue(name)) === edited, 30_000);
      latencies.push(Date.now() - started);
      const first = (list: Array<{ at: number; body: string }>) =>
        (list.find((e) => e.at >= started && e.body.includes(`"name":"${name}"`))?.at ?? Number.NaN) -
        started;
      breakdown.push(`enqueued +${first(enqueuedAt)} ms, worker +${first(receivedAt)} ms`);

      // Assess
      expect(await regionValue(name)).toBe(edited);
    }
    // The latency is reported, not asserted: it depends on the machine.
    const sorted = [...latencies].sort((a, b) => a - b);
    console.log(
      `audit webhook latency, edit in mgmt → copy in region-a (batch max wait 100ms), 5 edits: ` +
        `min ${sorted[0]} ms, median ${sorted[2]} ms, max ${sorted[4]} ms; ${latencies.join(', ')} ms; ${breakdown.join(' | ')}`,
    );
    const job = enqueued.map((m) => JSON.parse(m.body)).find((j) => j.name === name);
    expect(job).toMatchObject({ kind: 'Secret', namespace: SYSTEM_NAMESPACE, verb: 'patch' });
  });

  it('rejects a wrong token with 401 and enqueues nothing', async () => {
    // Prepare: a recorded EventList naming an object no other request touches.
    const body = readFileSync(new URL('../fixtures/audit/scenario.json', import.meta.url), 'utf8');

    // Act
    const wrong = await post(receiver?.url ?? '', body, 'Bearer not-the-token');
    const missing = await post(receiver?.url ?? '', body, undefined);

    // Assess
    expect([wrong, missing]).toEqual([401, 401]);
    expect(enqueued.some((m) => m.body.includes('capture-full'))).toBe(false);
    expect(webhookLog.lines.some((line) => line.includes('audit request rejected'))).toBe(true);
  });

  it('never prints a secret value or the token in any log line', () => {
    expect(leakedSecrets([...webhookLog.lines, ...worker.log.lines])).toEqual([]);
  });
});

const awsData = (tag: string) => ({
  AccessKeyID: Buffer.from('AKIAE2EAUDIT00000001').toString('base64'),
  SecretAccessKey: Buffer.from(secretOf(tag)).toString('base64'),
});
const secretOf = (tag: string) => rememberSecret(`e2e-${tag}-${testRunId}`);
const testRunId = randomUUID();

async function regionValue(name: string): Promise<string | undefined> {
  const secret = (await kubeClients('region-a')
    .core.readNamespacedSecret({ name, namespace: SYSTEM_NAMESPACE })
    .catch(() => undefined)) as unknown as KubeObject | undefined;
  const encoded = (secret?.data as Record<string, string> | undefined)?.SecretAccessKey;
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString();
}

/** Waits until every enqueued job went through the worker and no audit batch is pending. */
async function quiet(): Promise<void> {
  for (;;) {
    await until(async () => processed >= enqueued.length, 30_000);
    const seen = enqueued.length;
    await new Promise((resolve) => setTimeout(resolve, 500));
    if (enqueued.length === seen && processed >= seen) return;
  }
}

async function until(probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function post(url: string, body: string, authorization: string | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        ca: readFileSync(testbed().caFile),
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
      },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}
