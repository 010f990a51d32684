// Row 7: head-of-line. Healthy rotations go through a real SQS queue on the testbed's AWS endpoint,
// drained by pollers that act as Lambda's event source mapping (batches of 10, partial batch responses,
// a few invocations at once): once alone, and once with a poisoned secret (a value its format rejects) and
// a secret whose Region never answers (a TCP listener that accepts and stays silent) queued ahead of them.
// A rotation's propagation is the time from its message being sent to its regional copy being applied.
import { createServer, type Socket } from 'node:net';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { createHandler } from '../../functions/rotation/handler.js';
import type { KubeObject } from '../../lib/domain/objects.js';
import { lambdaContext } from '../helpers/lambda.js';
import { Probe, percentile, round } from './instrument.js';
import { type Bench, boundSecret, labelUpdated, SYSTEM, unique } from './setup.js';
import type { Row } from './table.js';

const HEALTHY = 20;
const BATCH = 10;
/** Invocations at once, as the event source mapping scales a standard queue (the stack's default cap). */
const POLLERS = 5;
const LIMIT_MS = 120_000;
const IDENTITY_API = 'infrastructure.cluster.x-k8s.io/v1beta2';

interface Source {
  name: string;
  arn: string;
}

/** A bound Secret, its identity and a Credential in `region`, all in the system namespace. */
function regionalBinding(source: Source, region: string): KubeObject[] {
  return [
    boundSecret(source.name, source.arn),
    {
      apiVersion: IDENTITY_API,
      kind: 'AWSClusterStaticIdentity',
      metadata: { name: source.name },
      spec: { secretRef: source.name },
    },
    {
      apiVersion: 'k0rdent.mirantis.com/v1beta1',
      kind: 'Credential',
      metadata: { name: source.name, namespace: SYSTEM },
      spec: {
        region,
        identityRef: { apiVersion: IDENTITY_API, kind: 'AWSClusterStaticIdentity', name: source.name },
      },
    },
  ];
}

/** A standard queue with a dead-letter queue, as the stack deploys the rotation queue. */
async function createQueue(sqs: SQSClient): Promise<{ url: string; arn: string }> {
  const name = unique('bench-hol');
  const dlq = await sqs.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const dlqArn = await queueArn(sqs, dlq.QueueUrl ?? '');
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: '20',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 5 }),
      },
    }),
  );
  const url = queue.QueueUrl ?? '';
  return { url, arn: await queueArn(sqs, url) };
}

async function queueArn(sqs: SQSClient, url: string): Promise<string> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }));
  return out.Attributes?.QueueArn ?? '';
}

function record(message: Message, arn: string): Record<string, unknown> {
  return {
    messageId: message.MessageId,
    receiptHandle: message.ReceiptHandle,
    body: message.Body,
    attributes: { ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? '1' },
    messageAttributes: {},
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: arn,
    awsRegion: 'us-east-1',
  };
}

/** Pollers acting as the event source mapping until `done()` or the time limit. */
async function drain(
  sqs: SQSClient,
  queue: { url: string; arn: string },
  handler: ReturnType<typeof createHandler>,
  done: () => boolean,
): Promise<void> {
  const started = Date.now();
  await Promise.all(
    Array.from({ length: POLLERS }, async () => {
      while (!done() && Date.now() - started < LIMIT_MS) {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queue.url,
            MaxNumberOfMessages: BATCH,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ['ApproximateReceiveCount'],
          }),
        );
        const messages = out.Messages ?? [];
        if (messages.length === 0) continue;
        const response = await handler(
          { Records: messages.map((m) => record(m, queue.arn)) },
          lambdaContext(),
        );
        const failed = new Set(response?.batchItemFailures.map((f) => f.itemIdentifier));
        for (const m of messages)
          if (!failed.has(m.MessageId ?? ''))
            await sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: m.ReceiptHandle }));
      }
    }),
  );
}

/** Sends every event, then drains until each healthy rotation's regional copy holds its version. */
async function run(
  bench: Bench,
  sqs: SQSClient,
  healthy: Source[],
  ahead: Array<Record<string, unknown>>,
): Promise<number[]> {
  const probe = new Probe();
  const { runtime } = bench.runtime(probe);
  const handler = createHandler(runtime);
  const queue = await createQueue(sqs);
  const rotations = await Promise.all(healthy.map(async (s) => ({ s, ...(await bench.rotate(s.arn)) })));
  for (const event of ahead)
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: JSON.stringify(event) }));
  const sentAt = new Map<string, number>();
  for (const { s, event } of rotations) {
    sentAt.set(s.name, performance.now());
    await sqs.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: JSON.stringify(event) }));
  }
  const appliedAt = (name: string, version: string) =>
    probe.applied.find(
      (a) => a.role === 'region' && a.object === `Secret ${SYSTEM}/${name}` && a.version === version,
    )?.at;
  const done = () => rotations.every(({ s, versionId }) => appliedAt(s.name, versionId) !== undefined);
  await drain(sqs, queue, handler, done);
  if (!done()) throw new Error('bench: head-of-line: healthy rotations did not all propagate in time');
  return rotations.map(({ s, versionId }) => (appliedAt(s.name, versionId) ?? 0) - (sentAt.get(s.name) ?? 0));
}

export async function headOfLine(bench: Bench, regionalCluster: string): Promise<Row> {
  // Prepare: a healthy Region, a silent one, 20 healthy sources, a poisoned one and one in the silent Region.
  const silentSockets: Socket[] = [];
  const silent = createServer((socket) => silentSockets.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  try {
    const healthyRegion = unique('bench-hol');
    await bench.region(healthyRegion, regionalCluster);
    const silentRegion = unique('bench-silent');
    const port = (silent.address() as { port: number }).port;
    await bench.region(silentRegion, regionalCluster, (text) =>
      text.replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${port}`),
    );
    const base = unique('hol');
    const source = async (name: string): Promise<Source> => ({
      name,
      arn: await bench.createSource(`identity-relay/${name}`),
    });
    const healthy = await Promise.all(Array.from({ length: HEALTHY }, (_, i) => source(`${base}-${i}`)));
    const poisoned = await source(`${base}-poisoned`);
    const stuck = await source(`${base}-stuck`);
    await bench.apply('mgmt', [
      ...healthy.flatMap((s) => regionalBinding(s, healthyRegion)),
      ...regionalBinding(poisoned, healthyRegion),
      ...regionalBinding(stuck, silentRegion),
    ]);
    const sqs = new SQSClient({
      endpoint: bench.info.aws.endpoint,
      region: bench.info.aws.region,
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    });
    await run(bench, sqs, healthy, []); // creates the copies and warms the clients

    // Act: the same healthy rotations alone, then behind the poisoned and the stuck ones.
    const alone = await run(bench, sqs, healthy, []);
    const bad = await bench.aws.send(
      new PutSecretValueCommand({ SecretId: poisoned.arn, SecretString: '{"AccessKeyID": 1}' }),
    );
    const { event: stuckEvent } = await bench.rotate(stuck.arn);
    const behind = await run(bench, sqs, healthy, [
      labelUpdated(poisoned.arn, bad.VersionId ?? ''),
      stuckEvent,
    ]);

    // Assess
    const p99Alone = percentile(alone, 99);
    const p99Behind = percentile(behind, 99);
    const ratio = p99Behind / p99Alone;
    return {
      id: 7,
      name: 'head-of-line (20 healthy rotations)',
      figure: `p99 ${round(p99Behind)} ms with a poisoned secret and a silent region in flight vs ${round(p99Alone)} ms without = ${round(ratio, 2)}×; p50 ${round(percentile(behind, 50))} / ${round(percentile(alone, 50))} ms; ${POLLERS} invocations at a time, batches of ${BATCH}`,
      goal: 'p99 ≤ 1.5 × without them',
      met: ratio <= 1.5,
      details: { alone, behind, p99Alone, p99Behind, ratio, pollers: POLLERS, batch: BATCH },
    };
  } finally {
    for (const socket of silentSockets) socket.destroy();
    silent.close();
  }
}
