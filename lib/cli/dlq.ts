import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ListDeadLetterSourceQueuesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { objectKey } from '../domain/audit.js';
import { readRotationHints } from '../domain/events.js';
import { describeError, InvalidInput } from '../errors.js';
import type { CliDeps } from './deps.js';
import { classify, replay } from './replay.js';

/** One dead message: what SQS knows about it (it does not keep the failure reason) and what was done. */
export interface DeadMessage {
  messageId: string;
  sentAt?: string;
  firstReceivedAt?: string;
  receiveCount?: number;
  groupId?: string;
  attributes: Record<string, string>;
  kind: 'rotation' | 'distribution' | 'unreadable';
  /** The secret id (rotation) or object (distribution) the message is about. */
  subject?: string;
  outcome: 'listed' | 'rerun-ok' | 'rerun-failed' | 'moved' | 'move-failed' | 'planned';
  /** Why the re-run or move failed (the original reason is in the function's log, by messageId). */
  error?: string;
}

export interface DlqResult {
  queue: string;
  action: 'list' | 'rerun' | 'move';
  target?: string;
  messages: DeadMessage[];
}

const MAX_MESSAGES = 1000;
// Long enough to re-run a message before SQS makes it visible to anyone else.
const VISIBILITY_SECONDS = 300;

/**
 * Lists a dead-letter queue and, on request, re-runs each message locally (deleted only after it
 * succeeded) or sends it back to its source queue (deleted only after the send succeeded). Messages
 * kept are made visible again at the end. In a FIFO queue a kept message holds back the rest of its group.
 */
export async function drainDlq(
  sqs: Pick<SQSClient, 'send'>,
  deps: () => CliDeps,
  options: { queue: string; action: 'list' | 'rerun' | 'move'; target?: string; dryRun: boolean },
): Promise<DlqResult> {
  const { queue, action, dryRun } = options;
  const target = action === 'move' ? (options.target ?? (await sourceQueue(sqs, queue))) : undefined;
  const result: DlqResult = { queue, action, ...(target ? { target } : {}), messages: [] };
  const kept: string[] = [];
  try {
    while (result.messages.length < MAX_MESSAGES) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queue,
          MaxNumberOfMessages: 10,
          VisibilityTimeout: VISIBILITY_SECONDS,
          WaitTimeSeconds: 0,
          MessageSystemAttributeNames: ['All'],
          MessageAttributeNames: ['All'],
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) break;
      for (const message of messages) {
        const dead = describeMessage(message);
        result.messages.push(dead);
        let done = false;
        if (action === 'list' || (action === 'move' && dryRun)) {
          dead.outcome = action === 'list' ? 'listed' : 'planned';
        } else if (action === 'rerun') {
          // A dry run re-runs in the sandbox: it shows whether the re-run would succeed, and deletes nothing.
          dead.error = await rerun(deps(), message);
          dead.outcome = dead.error ? 'rerun-failed' : dryRun ? 'planned' : 'rerun-ok';
          done = !dead.error && !dryRun;
        } else {
          dead.error = await moveBack(sqs, target ?? '', message);
          dead.outcome = dead.error ? 'move-failed' : 'moved';
          done = !dead.error;
        }
        if (done)
          await sqs.send(new DeleteMessageCommand({ QueueUrl: queue, ReceiptHandle: message.ReceiptHandle }));
        else if (message.ReceiptHandle) kept.push(message.ReceiptHandle);
      }
    }
  } finally {
    // Kept messages go back at once instead of after the visibility timeout.
    await Promise.all(
      kept.map((handle) =>
        sqs
          .send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: queue,
              ReceiptHandle: handle,
              VisibilityTimeout: 0,
            }),
          )
          .catch(() => undefined),
      ),
    );
  }
  return result;
}

function describeMessage(message: Message): DeadMessage {
  const attributes = message.Attributes ?? {};
  const at = (ms?: string) => (ms && /^\d+$/.test(ms) ? new Date(Number(ms)).toISOString() : undefined);
  const dead: DeadMessage = {
    messageId: message.MessageId ?? '',
    attributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        (value.StringValue ?? `(${value.DataType ?? 'binary'})`).slice(0, 200),
      ]),
    ),
    kind: 'unreadable',
    outcome: 'listed',
  };
  const sentAt = at(attributes.SentTimestamp);
  if (sentAt) dead.sentAt = sentAt;
  const firstReceivedAt = at(attributes.ApproximateFirstReceiveTimestamp);
  if (firstReceivedAt) dead.firstReceivedAt = firstReceivedAt;
  if (attributes.ApproximateReceiveCount) dead.receiveCount = Number(attributes.ApproximateReceiveCount);
  if (attributes.MessageGroupId) dead.groupId = attributes.MessageGroupId;
  const input = classify(safeParse(message.Body ?? ''));
  const job = input.jobs[0];
  if (job) {
    dead.kind = 'distribution';
    dead.subject = objectKey(JSON.parse(job.body));
  } else if (input.rotationRecords.length > 0) {
    dead.kind = 'rotation';
    const hints = readRotationHints({ Records: input.rotationRecords });
    const subject = hints.hints[0]?.secretId ?? hints.failures[0]?.secretId;
    if (subject) dead.subject = subject;
    else if (hints.malformed[0]) dead.error = hints.malformed[0].reason;
  }
  return dead;
}

/** Re-runs one message through the functions' use-cases; returns why it failed, or undefined. */
async function rerun(deps: CliDeps, message: Message): Promise<string | undefined> {
  const input = classify(safeParse(message.Body ?? ''));
  // The SQS message id, as the function logged it, correlates this re-run with the original failure.
  for (const record of input.rotationRecords) record.messageId = message.MessageId ?? record.messageId;
  if (input.rotationRecords.length === 0 && input.jobs.length === 0)
    return 'body is neither an EventBridge event nor a distribution job';
  try {
    const result = await replay(deps, input);
    return result.failed.length > 0 ? result.failed.join('; ') : undefined;
  } catch (error) {
    return describeError(error);
  }
}

/** Sends one message back to the source queue, keeping its FIFO group; a retried move is deduplicated. */
async function moveBack(
  sqs: Pick<SQSClient, 'send'>,
  target: string,
  message: Message,
): Promise<string | undefined> {
  const groupId = message.Attributes?.MessageGroupId;
  try {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: target,
        MessageBody: message.Body ?? '',
        ...(message.MessageAttributes ? { MessageAttributes: message.MessageAttributes } : {}),
        ...(groupId ? { MessageGroupId: groupId, MessageDeduplicationId: `moved-${message.MessageId}` } : {}),
      }),
    );
    return undefined;
  } catch (error) {
    return `${(error as { name?: string }).name ?? 'Error'}: sending to ${target} failed`;
  }
}

/** The one queue whose redrive policy names this DLQ. */
async function sourceQueue(sqs: Pick<SQSClient, 'send'>, queue: string): Promise<string> {
  const out = await sqs.send(new ListDeadLetterSourceQueuesCommand({ QueueUrl: queue }));
  const urls = out.queueUrls ?? [];
  if (urls.length === 1 && urls[0]) return urls[0];
  throw new InvalidInput(
    urls.length === 0
      ? `no queue names ${queue} as its dead-letter queue; give the source with --target QUEUE_URL`
      : `${urls.length} queues use ${queue} as dead-letter queue; pick one with --target QUEUE_URL`,
  );
}

function safeParse(text: string): unknown[] {
  try {
    return [JSON.parse(text) as unknown];
  } catch {
    return [];
  }
}
