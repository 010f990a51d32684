// The real SQS path on the testbed's AWS endpoint: a FIFO queue redriving to a FIFO dead-letter queue,
// and a poller that hands received messages to a handler the way Lambda's event source mapping does
// (partial batch response: only the messages not reported as failures are deleted).
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { RotationResponse } from '../../functions/rotation/handler.js';
import { testbed, uniqueName } from '../helpers/testbed-clients.js';

export function sqs(): SQSClient {
  const { aws } = testbed();
  return new SQSClient({
    endpoint: aws.endpoint,
    region: aws.region,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
}

export interface Queues {
  url: string;
  arn: string;
  dlqUrl: string;
}

/** A FIFO queue whose messages move to a FIFO dead-letter queue after `maxReceiveCount` receives. */
export async function createQueues(maxReceiveCount: number): Promise<Queues> {
  const client = sqs();
  const name = uniqueName('rotation');
  const dlq = await client.send(
    new CreateQueueCommand({ QueueName: `${name}-dlq.fifo`, Attributes: { FifoQueue: 'true' } }),
  );
  const dlqArn = await arnOf(dlq.QueueUrl ?? '');
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: `${name}.fifo`,
      Attributes: {
        FifoQueue: 'true',
        // Short, so a failed message is visible again (a retry) within the test.
        VisibilityTimeout: '1',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount }),
      },
    }),
  );
  const url = queue.QueueUrl ?? '';
  return { url, arn: await arnOf(url), dlqUrl: dlq.QueueUrl ?? '' };
}

/** A standard queue (as the rotation queue is deployed) with a standard dead-letter queue. */
export async function createStandardQueues(maxReceiveCount: number): Promise<Queues> {
  const client = sqs();
  const name = uniqueName('work');
  const dlq = await client.send(new CreateQueueCommand({ QueueName: `${name}-dlq` }));
  const queue = await client.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: '1',
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: await arnOf(dlq.QueueUrl ?? ''),
          maxReceiveCount,
        }),
      },
    }),
  );
  const url = queue.QueueUrl ?? '';
  return { url, arn: await arnOf(url), dlqUrl: dlq.QueueUrl ?? '' };
}

async function arnOf(url: string): Promise<string> {
  const out = await sqs().send(
    new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }),
  );
  return out.Attributes?.QueueArn ?? '';
}

/** Sends an EventBridge event the way the rule's SQS target does (group = secret ARN). */
export async function sendEvent(url: string, event: Record<string, unknown>): Promise<void> {
  const group = (event.resources as string[] | undefined)?.[0] ?? 'group';
  await sqs().send(
    new SendMessageCommand({
      QueueUrl: url,
      MessageBody: JSON.stringify(event),
      MessageGroupId: group.slice(-128),
      MessageDeduplicationId: String(event.id),
    }),
  );
}

/** One poll: the messages received (waiting up to `waitMs` for a visible one). */
export async function receive(url: string, waitMs = 3000): Promise<Message[]> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const out = await sqs().send(
      new ReceiveMessageCommand({
        QueueUrl: url,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ['All'],
      }),
    );
    if ((out.Messages?.length ?? 0) > 0 || Date.now() > deadline) return out.Messages ?? [];
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

/** The SQS event Lambda would build from received messages. */
export function lambdaEvent(
  messages: Message[],
  queueArn: string,
): { Records: Array<Record<string, unknown>> } {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId,
      receiptHandle: m.ReceiptHandle,
      body: m.Body,
      attributes: m.Attributes ?? {},
      messageAttributes: {},
      md5OfBody: m.MD5OfBody,
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: 'us-east-1',
    })),
  };
}

/**
 * Receives once from `url`, invokes `handler`, deletes the messages it did not report as failures.
 * Returns the ids received and the ids that failed.
 */
export async function deliver(
  url: string,
  queueArn: string,
  handler: (event: unknown) => Promise<RotationResponse>,
): Promise<{ received: string[]; failed: string[] }> {
  const messages = await receive(url);
  if (messages.length === 0) return { received: [], failed: [] };
  const response = await handler(lambdaEvent(messages, queueArn));
  const failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
  for (const message of messages)
    if (!failed.has(message.MessageId ?? ''))
      await sqs().send(new DeleteMessageCommand({ QueueUrl: url, ReceiptHandle: message.ReceiptHandle }));
  return { received: messages.map((m) => m.MessageId ?? ''), failed: [...failed] };
}
