import { backoffSeconds } from '../domain/retry.js';
import { describeError } from '../errors.js';
import type { EventPublisher, JobQueue, Log, MessageVisibility, MetricsSink } from '../ports.js';

/** A queued message as a consuming function received it. */
export interface ReceivedMessage {
  messageId: string;
  body: string;
  receiptHandle?: string;
  /** SQS's ApproximateReceiveCount: 1 on the first delivery. */
  receiveCount: number;
  /** A FIFO message's group (a dead-letter record keeps it). */
  groupId?: string;
}

/** Messages whose work did not converge, and whether trying again can help. */
export interface MessageFailure {
  messageIds: string[];
  retryable: boolean;
  /** The error class of a failure that cannot be retried (the record's ERROR_CODE). */
  code?: string;
  /** One line, never a value (the record's ERROR_MESSAGE). */
  error: string;
  /** What the unit is (`secretId` and `versionId`, or the job's object), for `Credential Propagation Failed`. */
  unit?: Record<string, string>;
}

/** Where failed messages go: back later (backoff) or, when retrying cannot help, to the dead-letter queue. */
export interface SettleDeps {
  log: Log;
  metrics: MetricsSink;
  visibility?: MessageVisibility;
  deadLetters?: JobQueue;
  random?: () => number;
  /** Where `Credential Propagation Failed` goes when a unit is out of tries. */
  events?: EventPublisher;
  /** The queue's redrive maxReceiveCount: a retryable failure on that delivery is the last. */
  maxReceiveCount?: number;
}

/**
 * Settles a batch's failures; returns the ids to report as batch item failures. A failure that cannot be
 * retried is recorded on the dead-letter queue (the original body, with ERROR_CODE and ERROR_MESSAGE as
 * EventBridge writes them) and acknowledged, so nothing waits behind it; without a dead-letter queue, or
 * when the record cannot be sent, it is retried like the others and SQS dead-letters it in the end. Every
 * retried message comes back after its own jittered, growing delay.
 */
export async function settleMessages(
  deps: SettleDeps,
  messages: ReceivedMessage[],
  failures: MessageFailure[],
): Promise<string[]> {
  const byId = new Map(messages.map((m) => [m.messageId, m]));
  const retry = new Set(failures.filter((f) => f.retryable).flatMap((f) => f.messageIds));
  const records = failures
    .filter((f) => !f.retryable)
    .flatMap((f) => f.messageIds.filter((id) => !retry.has(id)).map((id) => ({ id, failure: f })));
  const recorded = deps.deadLetters ? await record(deps, deps.deadLetters, records, byId) : false;
  if (!recorded) for (const { id } of records) retry.add(id);
  await announceFailures(deps, byId, failures, recorded);
  await Promise.all(
    [...retry].map(async (id) => {
      const message = byId.get(id);
      if (!deps.visibility || !message?.receiptHandle) return;
      const seconds = backoffSeconds(message.receiveCount, deps.random);
      await deps.visibility.delay(message.receiptHandle, seconds).catch((error: unknown) =>
        // The message still comes back, after the queue's own visibility timeout.
        deps.log.warn('backoff not set', { messageId: id, error: describeError(error) }),
      );
    }),
  );
  return [...retry].filter((id) => byId.has(id));
}

/**
 * `Credential Propagation Failed` for each unit out of tries: recorded as non-retryable, or failing
 * retryably on the delivery after which SQS dead-letters it. Best effort: the failure is already loud
 * (dead-letter queue, metric, alarm), so a bus that refuses is logged.
 */
async function announceFailures(
  deps: SettleDeps,
  byId: Map<string, ReceivedMessage>,
  failures: MessageFailure[],
  recorded: boolean,
): Promise<void> {
  const { events, maxReceiveCount } = deps;
  if (!events) return;
  const final = failures.filter((f) =>
    f.retryable || !recorded
      ? maxReceiveCount !== undefined &&
        f.messageIds.some((id) => (byId.get(id)?.receiveCount ?? 0) >= maxReceiveCount)
      : true,
  );
  await Promise.all(
    final.map((f) =>
      events
        .publish('Credential Propagation Failed', {
          ...(f.unit ?? {}),
          error: f.error,
          ...(f.code ? { code: f.code } : {}),
          outcome: f.retryable || !recorded ? 'dead-lettered after its last try' : 'recorded, not retried',
          messageIds: f.messageIds,
        })
        .catch((error: unknown) =>
          deps.log.warn('failure event not sent', { messageIds: f.messageIds, error: describeError(error) }),
        ),
    ),
  );
}

async function record(
  deps: SettleDeps,
  deadLetters: JobQueue,
  records: Array<{ id: string; failure: MessageFailure }>,
  byId: Map<string, ReceivedMessage>,
): Promise<boolean> {
  const entries = records.flatMap(({ id, failure }) => {
    const message = byId.get(id);
    return message ? [{ message, failure }] : [];
  });
  if (entries.length === 0) return true;
  try {
    await deadLetters.send(
      entries.map(({ message, failure }) => ({
        body: message.body,
        attributes: { ERROR_CODE: failure.code ?? 'Error', ERROR_MESSAGE: failure.error.slice(0, 1000) },
        ...(message.groupId ? { groupId: message.groupId, deduplicationId: message.messageId } : {}),
      })),
    );
  } catch (error) {
    deps.log.error('dead-letter record not sent; the messages are retried', { error: describeError(error) });
    return false;
  }
  for (const { message, failure } of entries) {
    deps.metrics.count('NonRetryable', 1, { Reason: failure.code ?? 'Error' });
    deps.log.warn('recorded, not retried', {
      messageId: message.messageId,
      code: failure.code,
      error: failure.error,
    });
  }
  return true;
}

/** The messages of an SQS event as the settle step needs them (invalid records are skipped). */
export function receivedMessages(event: unknown): ReceivedMessage[] {
  const records = (event as { Records?: unknown }).Records;
  if (!Array.isArray(records)) return [];
  return records.flatMap((r: unknown) => {
    const record = r as {
      messageId?: unknown;
      body?: unknown;
      receiptHandle?: unknown;
      attributes?: { ApproximateReceiveCount?: unknown; MessageGroupId?: unknown };
    };
    if (typeof record.messageId !== 'string' || typeof record.body !== 'string') return [];
    const count = Number(record.attributes?.ApproximateReceiveCount ?? 1);
    const group = record.attributes?.MessageGroupId;
    return [
      {
        messageId: record.messageId,
        body: record.body,
        ...(typeof record.receiptHandle === 'string' ? { receiptHandle: record.receiptHandle } : {}),
        receiveCount: Number.isFinite(count) ? count : 1,
        ...(typeof group === 'string' ? { groupId: group } : {}),
      },
    ];
  });
}
