import type { CoalescedSecret } from '../domain/events.js';
import type { Log } from '../ports.js';

/** A Log that adds `fields` to every line: how a correlation id reaches every region's log lines. */
export function withFields(log: Log, fields: Record<string, unknown>): Log {
  return {
    info: (message, more) => log.info(message, { ...fields, ...more }),
    warn: (message, more) => log.warn(message, { ...fields, ...more }),
    error: (message, more) => log.error(message, { ...fields, ...more }),
  };
}

/**
 * The correlation fields of one secret's work: the first SQS message id (what batch item failures and
 * `identity-relay replay --dlq` show), else the EventBridge event id (direct invocation), with all ids.
 */
export function correlationOf(
  secret: Pick<CoalescedSecret, 'eventIds' | 'messageIds'>,
): Record<string, unknown> {
  return {
    correlationId: secret.messageIds[0] ?? secret.eventIds[0],
    eventIds: secret.eventIds,
    ...(secret.messageIds.length > 0 ? { messageIds: secret.messageIds } : {}),
  };
}
