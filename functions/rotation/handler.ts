import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { readRotationHints } from '../../lib/domain/events.js';
import { RelayError } from '../../lib/errors.js';
import { rotate } from '../../lib/use-cases/rotate.js';
import { reportRotation } from '../../lib/use-cases/telemetry.js';
import { type Runtime, runtimeFromEnvironment } from '../shared/runtime.js';

/** SQS partial-batch response, or nothing for a direct EventBridge invocation. */
export type RotationResponse = { batchItemFailures: Array<{ itemIdentifier: string }> } | undefined;

/** The rotation function: EventBridge events, directly or in SQS records, converge the bound Secrets. */
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
    runtime.metrics.flush();
    const failed = [
      ...hints.malformed.map((m) => m.messageId),
      ...outcomes.filter((o) => o.error).flatMap((o) => o.messageIds),
    ];
    if (isSqsEvent(event)) {
      return {
        batchItemFailures: [...new Set(failed)]
          .filter((id) => id !== undefined)
          .map((id) => ({ itemIdentifier: id })),
      };
    }
    const error = outcomes.find((o) => o.error)?.error;
    if (error) throw new RelayError(error, { retryable: true });
    return undefined;
  });
}

function isSqsEvent(event: unknown): boolean {
  return (
    typeof event === 'object' && event !== null && Array.isArray((event as { Records?: unknown }).Records)
  );
}

export const handler = createHandler(runtimeFromEnvironment('identity-relay-rotation'));
