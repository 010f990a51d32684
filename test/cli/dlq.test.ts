import {
  CreateArchiveCommand,
  CreateEventBusCommand,
  EventBridgeClient,
  PutEventsCommand,
} from '@aws-sdk/client-eventbridge';
import { DeleteSecretCommand } from '@aws-sdk/client-secrets-manager';
import {
  CreateQueueCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { beforeAll, describe, expect, it } from 'vitest';
import { leakedSecrets } from '../helpers/capture.js';
import {
  createRegion,
  labelUpdated,
  prepareK0rdent,
  rotateSource,
  SYSTEM_NAMESPACE,
  writeCounts,
} from '../helpers/k0rdent.js';
import { kubeClients, secretsManager, testbed, uniqueName } from '../helpers/testbed-clients.js';
import { awsIdentity, cli, printed } from './run-cli.js';
import { dlqSchema } from './schemas.js';

const value = (n: number) =>
  JSON.stringify({
    AccessKeyID: `AKIACLIDLQ${String(n).padStart(10, '0')}`,
    SecretAccessKey: `cli-dlq-secret-${n}-${uniqueName('x')}`,
  });
const aws = () => {
  const { endpoint, region } = testbed().aws;
  return { endpoint, region, credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' } };
};

async function count(sqs: SQSClient, queue: string): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queue, AttributeNames: ['ApproximateNumberOfMessages'] }),
  );
  return Number(out.Attributes?.ApproximateNumberOfMessages ?? -1);
}

describe('identity-relay replay --dlq', () => {
  const region = uniqueName('r');
  const sqs = new SQSClient(aws());
  let dlq = '';
  let source = '';
  let good = { id: '', arn: '', versionId: '' };
  let gone = '';

  beforeAll(async () => {
    await prepareK0rdent();
    await createRegion(region, 'region-a');
    const name = uniqueName('rotation');
    dlq = (
      await sqs.send(
        new CreateQueueCommand({ QueueName: `${name}-dlq.fifo`, Attributes: { FifoQueue: 'true' } }),
      )
    ).QueueUrl as string;
    const dlqArn = (
      await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ['QueueArn'] }))
    ).Attributes?.QueueArn;
    source = (
      await sqs.send(
        new CreateQueueCommand({
          QueueName: `${name}.fifo`,
          Attributes: {
            FifoQueue: 'true',
            RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 }),
          },
        }),
      )
    ).QueueUrl as string;
    const ok = await awsIdentity(region, value(0));
    good = { ...ok, versionId: await rotateSource(ok.arn, value(1)) };
    // A bound Secret whose source is scheduled for deletion: its re-run keeps failing.
    gone = (await awsIdentity(region, value(2))).arn;
    await secretsManager().send(new DeleteSecretCommand({ SecretId: gone, RecoveryWindowInDays: 7 }));
    const send = (body: string, group: string, dedup: string) =>
      sqs.send(
        new SendMessageCommand({
          QueueUrl: dlq,
          MessageBody: body,
          MessageGroupId: group,
          MessageDeduplicationId: dedup,
          MessageAttributes: { origin: { DataType: 'String', StringValue: 'cli-test' } },
        }),
      );
    await send(JSON.stringify(labelUpdated(good.arn, good.versionId)), good.arn, 'good');
    await send(JSON.stringify(labelUpdated(gone, 'v-gone')), gone, 'gone');
    await send('not json', 'garbage', 'garbage');
  });

  it('lists each dead message (when, how often, which secret) and keeps them all', async () => {
    // Act
    const run = await cli(['replay', '--dlq', dlq, '--json']);
    const text = await cli(['replay', '--dlq', dlq]);

    // Assess
    expect(run.code).toBe(0);
    const result = dlqSchema.parse(JSON.parse(run.stdout));
    expect(result.messages.map((m) => [m.kind, m.subject, m.outcome])).toEqual([
      ['rotation', good.arn, 'listed'],
      ['rotation', gone, 'listed'],
      ['unreadable', undefined, 'listed'],
    ]);
    expect(result.messages[0]).toMatchObject({ groupId: good.arn, attributes: { origin: 'cli-test' } });
    expect(result.messages[0]?.sentAt).toMatch(/^\d{4}-/);
    expect(result.messages[0]?.receiveCount).toBeGreaterThan(0);
    expect(text.stdout).toContain('search the function log for the message id');
    expect(await count(sqs, dlq)).toBe(3);
  });

  it('--rerun --dry-run shows which re-runs would succeed and deletes nothing', async () => {
    // Prepare
    const before = await writeCounts();

    // Act
    const run = await cli(['replay', '--dlq', dlq, '--rerun', '--dry-run', '--json']);

    // Assess
    expect(run.code).toBe(1);
    expect(dlqSchema.parse(JSON.parse(run.stdout)).messages.map((m) => m.outcome)).toEqual([
      'planned',
      'rerun-failed',
      'rerun-failed',
    ]);
    expect(await count(sqs, dlq)).toBe(3);
    expect(await writeCounts()).toEqual(before);
  });

  it('--rerun re-runs each message locally and deletes only those that succeeded', async () => {
    // Act
    const run = await cli(['replay', '--dlq', dlq, '--rerun', '--json']);

    // Assess
    expect(run.code).toBe(1);
    const result = dlqSchema.parse(JSON.parse(run.stdout));
    expect(result.messages.map((m) => [m.subject ?? m.kind, m.outcome])).toEqual([
      [good.arn, 'rerun-ok'],
      [gone, 'rerun-failed'],
      ['unreadable', 'rerun-failed'],
    ]);
    expect(result.messages[1]?.error).toContain('SourceNotFound');
    expect(await count(sqs, dlq)).toBe(2);
    const mgmt = await kubeClients('mgmt').core.readNamespacedSecret({
      name: good.id,
      namespace: SYSTEM_NAMESPACE,
    });
    expect(mgmt.metadata?.annotations?.['identity-relay.dev/source-version']).toBe(good.versionId);
  });

  it('--move keeps every message whose send failed', async () => {
    // Act
    const run = await cli(['replay', '--dlq', dlq, '--move', '--target', `${source}-missing`, '--json']);

    // Assess
    expect(run.code).toBe(1);
    expect(dlqSchema.parse(JSON.parse(run.stdout)).messages.map((m) => m.outcome)).toEqual([
      'move-failed',
      'move-failed',
    ]);
    expect(await count(sqs, dlq)).toBe(2);
  });

  it('--move sends them back to the source queue (found by its redrive policy), then deletes them', async () => {
    // Act
    const run = await cli(['replay', '--dlq', dlq, '--move', '--json']);

    // Assess
    expect(run.code).toBe(0);
    const result = dlqSchema.parse(JSON.parse(run.stdout));
    expect(result).toMatchObject({ ok: true, target: source });
    expect(result.messages.map((m) => m.outcome)).toEqual(['moved', 'moved']);
    expect(await count(sqs, dlq)).toBe(0);
    const back = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: source,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    expect((back.Messages ?? []).map((m) => m.Attributes?.MessageGroupId).sort()).toEqual(
      [gone, 'garbage'].sort(),
    );
  });

  it('replays an EventBridge archive and follows it to completion', async () => {
    // Prepare
    const events = new EventBridgeClient(aws());
    const bus = uniqueName('bus');
    const busArn = (await events.send(new CreateEventBusCommand({ Name: bus }))).EventBusArn;
    const archive = uniqueName('archive');
    await events.send(new CreateArchiveCommand({ ArchiveName: archive, EventSourceArn: busArn }));
    await events.send(
      new PutEventsCommand({
        Entries: [
          {
            EventBusName: bus,
            Source: 'aws.secretsmanager',
            DetailType: 'Secret Label Updated',
            Detail: '{}',
          },
        ],
      }),
    );
    const from = new Date(Date.now() - 3_600_000).toISOString();
    const to = new Date(Date.now() + 60_000).toISOString();

    // Act
    const run = await cli(['replay', '--archive', archive, '--from', from, '--to', to, '--json'], {
      env: { IDENTITY_RELAY_POLL_MS: '100' },
    });

    // Assess
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({
      ok: true,
      archive,
      state: 'COMPLETED',
      destination: busArn,
    });
    expect(run.stderr).toMatch(/replay COMPLETED 100%/);
  });

  it('never prints a secret value', () => {
    expect(leakedSecrets(printed)).toEqual([]);
  });
});
