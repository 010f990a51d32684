import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import * as z from 'zod';
import { InvalidInput } from '../../lib/errors.js';
import { runJobs } from '../../lib/use-cases/run-jobs.js';
import { receivedMessages, settleMessages } from '../../lib/use-cases/settle-messages.js';
import { type Runtime, runtimeFromEnvironment } from '../shared/runtime.js';

const sqsEventSchema = z.object({
  Records: z.array(z.object({ messageId: z.string().min(1), body: z.string() })),
});

export interface BatchResponse {
  batchItemFailures: Array<{ itemIdentifier: string }>;
}

/**
 * The distribution worker: SQS FIFO jobs (from the audit webhook, or regions handed off by a rotation)
 * converge the regions their object affects; one region is one unit of failure (see runJobs).
 */
export function createHandler(runtime: Runtime) {
  return middy(async (event: unknown, context: Context): Promise<BatchResponse> => {
    const parsed = sqsEventSchema.safeParse(event);
    if (!parsed.success) throw new InvalidInput('not an SQS event (Records[].messageId, body)');
    const deps = await runtime.deps();
    // Regions stop starting writes shortly before the deadline; those jobs fail and are retried.
    const remainingMs = () => context.getRemainingTimeInMillis();
    const outcomes = await runJobs({ ...deps, remainingMs, metrics: runtime.metrics }, parsed.data.Records);
    const failures = outcomes.flatMap((o) =>
      o.error
        ? [
            {
              messageIds: [o.messageId],
              retryable: o.retryable ?? true,
              ...(o.code ? { code: o.code } : {}),
              error: o.error,
              unit: { job: o.object ?? 'unreadable job' },
            },
          ]
        : [],
    );
    const retry = await settleMessages({ ...runtime, ...runtime.queues }, receivedMessages(event), failures);
    runtime.metrics.flush();
    return { batchItemFailures: retry.map((id) => ({ itemIdentifier: id })) };
  }).use(runtime.middlewares ?? []);
}

export const handler = createHandler(runtimeFromEnvironment('identity-relay-distribution'));
