import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { Forbidden, InvalidInput, type RelayError, TransientFailure } from '../errors.js';
import type { JobQueue, MessageVisibility, QueueMessage } from '../ports.js';

const BATCH = 10; // SendMessageBatch's limit
const ATTEMPTS = 3;

/** Counts of calls made, for tests and metrics. */
export interface SqsCalls {
  sendMessageBatch: number;
}

/**
 * The JobQueue port over an injected SQS client: SendMessageBatch in chunks of 10; entries SQS reports
 * as failed for a reason of its own (not the sender's) are sent again, up to three attempts in all.
 */
export function sqsQueue(client: Pick<SQSClient, 'send'>, queueUrl: string): JobQueue & { calls: SqsCalls } {
  const calls: SqsCalls = { sendMessageBatch: 0 };
  const sendChunk = async (chunk: QueueMessage[]): Promise<void> => {
    let pending = chunk.map((message, index) => toEntry(message, index));
    for (let attempt = 1; pending.length > 0; attempt++) {
      calls.sendMessageBatch += 1;
      const out = await client
        .send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: pending }))
        .catch((error: unknown) => {
          throw translate(queueUrl, error);
        });
      const failed = out.Failed ?? [];
      if (failed.length === 0) return;
      const senderFault = failed.find((entry) => entry.SenderFault);
      if (senderFault) {
        throw new InvalidInput(`queue ${queueUrl} refused a message: ${senderFault.Code ?? 'sender fault'}`);
      }
      if (attempt >= ATTEMPTS) {
        throw new TransientFailure(
          `queue ${queueUrl}: ${failed.length} message(s) not accepted after ${ATTEMPTS} attempts (${failed[0]?.Code ?? 'unknown'})`,
        );
      }
      const ids = new Set(failed.map((entry) => entry.Id));
      pending = pending.filter((entry) => ids.has(entry.Id));
    }
  };
  return {
    calls,
    async send(messages) {
      const chunks: QueueMessage[][] = [];
      for (let start = 0; start < messages.length; start += BATCH)
        chunks.push(messages.slice(start, start + BATCH));
      // Chunks go out together; any failure fails the whole send, so the caller answers 5xx and is retried.
      await Promise.all(chunks.map(sendChunk));
    },
  };
}

function toEntry(message: QueueMessage, index: number): SendMessageBatchRequestEntry {
  return {
    Id: String(index),
    MessageBody: message.body,
    ...(message.groupId ? { MessageGroupId: message.groupId } : {}),
    ...(message.deduplicationId ? { MessageDeduplicationId: message.deduplicationId } : {}),
    ...(message.attributes
      ? {
          MessageAttributes: Object.fromEntries(
            Object.entries(message.attributes).map(([key, value]) => [
              key,
              { DataType: 'String', StringValue: value },
            ]),
          ),
        }
      : {}),
  };
}

/** The MessageVisibility port over an injected SQS client, for the queue a function consumes. */
export function sqsVisibility(client: Pick<SQSClient, 'send'>, queueUrl: string): MessageVisibility {
  return {
    async delay(receiptHandle, seconds) {
      await client
        .send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: receiptHandle,
            VisibilityTimeout: Math.max(0, Math.min(43_200, Math.round(seconds))),
          }),
        )
        .catch((error: unknown) => {
          throw translate(queueUrl, error);
        });
    },
  };
}

/** Decides the error class once, from the SDK's exception name (never the message text). */
function translate(queueUrl: string, error: unknown): RelayError {
  const name = (error as { name?: string }).name ?? '';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (name === 'AccessDeniedException' || name === 'AccessDenied' || status === 403)
    return new Forbidden(`sending to queue ${queueUrl} (check the function's IAM policy)`, error);
  if (name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue')
    return new InvalidInput(`queue ${queueUrl} does not exist`, error);
  return new TransientFailure(
    `queue ${queueUrl}: ${name || 'request failed'}${status ? ` (HTTP ${status})` : ''}`,
    error,
  );
}
