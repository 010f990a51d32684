import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { describeError, TransientFailure } from '../errors.js';
import type { EventPublisher } from '../ports.js';

/** The source of every event identity-relay puts on a bus. */
export const EVENT_SOURCE = 'identity-relay';

/**
 * The EventPublisher port over an injected EventBridge client: one PutEvents per event on `busName`.
 * A call that fails, or an entry the bus reports as failed, rejects as retryable: the caller's unit is
 * retried and the event sent again (its sender made sure it is sent once: see lib/use-cases/propagation.ts).
 */
export function eventBridgePublisher(
  client: Pick<EventBridgeClient, 'send'>,
  busName: string,
): EventPublisher {
  return {
    async publish(detailType, detail) {
      const out = await client
        .send(
          new PutEventsCommand({
            Entries: [
              {
                EventBusName: busName,
                Source: EVENT_SOURCE,
                DetailType: detailType,
                Detail: JSON.stringify(detail),
              },
            ],
          }),
        )
        .catch((error: unknown) => {
          throw new TransientFailure(`event bus ${busName}: ${describeError(error)}`, error);
        });
      const failed = out.Entries?.find((entry) => entry.ErrorCode);
      if ((out.FailedEntryCount ?? 0) > 0 || failed)
        throw new TransientFailure(
          `event bus ${busName} refused a ${detailType} event: ${failed?.ErrorCode ?? 'failed'}`,
        );
    },
  };
}
