import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { readRotationHints } from '../../lib/domain/events.js';
import { RelayError } from '../../lib/errors.js';
import { rotate } from '../../lib/use-cases/rotate.js';
import { receivedMessages, settleMessages } from '../../lib/use-cases/settle-messages.js';
import { reportRotation } from '../../lib/use-cases/telemetry.js';
import { type Runtime, runtimeFromEnvironment } from '../shared/runtime.js';

/** SQS partial-batch response, or nothing for a direct EventBridge invocation. */
export type RotationResponse = { batchItemFailures: Array<{ itemIdentifier: string }> } | undefined;

/**
 * The rotation function: EventBridge events, directly or in SQS records, converge the bound Secrets.
 * Each secret is a unit of failure: a transient failure retries its messages alone (with backoff), one
 * that cannot succeed is recorded on the dead-letter queue and acknowledged.
 */
export function createHandler(runtime: Runtime) {
  return middy(async (event: unknown, context: Context): Promise<RotationResponse> => {
    const hints = readRotationHints(event);
    // Regions stop starting writes shortly before the function's deadline (see DistributeDeps).
    const remainingMs = () => context.getRemainingTimeInMillis();
    const callsBefore = runtime.sourceCalls?.() ?? 0;
    const outcomes = await rotate(
      { ...(await runtime.deps()), remainingMs, metrics: runtime.metrics },
      hints,
    );
    reportRotation(runtime, hints, outcomes, new Date());
    if (runtime.sourceCalls)
      runtime.metrics.count('SecretsManagerCalls', runtime.sourceCalls() - callsBefore);
    const failures = [
      ...hints.malformed.flatMap((m) =>
        m.messageId
          ? [{ messageIds: [m.messageId], retryable: false, code: 'InvalidInput', error: m.reason }]
          : [],
      ),
      ...outcomes.flatMap((o) =>
        o.error
          ? [
              {
                messageIds: o.messageIds,
                retryable: o.retryable ?? true,
                ...(o.errorCode ? { code: o.errorCode } : {}),
                error: o.error,
                unit: { secretId: o.secretId, ...(o.versionId ? { versionId: o.versionId } : {}) },
              },
            ]
          : [],
      ),
    ];
    const messages = receivedMessages(event);
    if (messages.length === 0) {
      runtime.metrics.flush();
      const failed = outcomes.find((o) => o.error);
      if (failed?.error) throw new RelayError(failed.error, { retryable: failed.retryable ?? true });
      return undefined;
    }
    const retry = await settleMessages({ ...runtime, ...runtime.queues }, messages, failures);
    runtime.metrics.flush();
    return { batchItemFailures: retry.map((id) => ({ itemIdentifier: id })) };
  }).use(runtime.middlewares ?? []);
}

export const handler = createHandler(runtimeFromEnvironment('identity-relay-rotation'));
