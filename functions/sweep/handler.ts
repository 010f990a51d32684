import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { type SweepCalls, sweep } from '../../lib/use-cases/sweep.js';
import { type Runtime, runtimeFromEnvironment } from '../shared/runtime.js';

/** What a sweep reports back (counts and names; the details are in the log line and the metrics). */
export interface SweepResponse {
  checked: number;
  stale: number;
  repaired: number;
  failed: number;
  /** Secrets Manager calls made: ListSecrets pages and BatchGetSecretValue calls. */
  calls: SweepCalls;
}

/**
 * The drift sweep, run by EventBridge Scheduler (its payload is ignored: every run checks everything).
 * Per-binding and per-region failures are metrics, not errors: the next run tries again.
 */
export function createHandler(runtime: Runtime) {
  return middy(async (_event: unknown, context: Context): Promise<SweepResponse> => {
    const deps = await runtime.deps();
    const remainingMs = () => context.getRemainingTimeInMillis();
    const result = await sweep({ ...deps, remainingMs, metrics: runtime.metrics });
    runtime.metrics.flush();
    return {
      checked: result.checked,
      stale: result.stale.length,
      repaired: result.repaired,
      failed: result.failed.length,
      calls: result.calls,
    };
  }).use(runtime.middlewares ?? []);
}

export const handler = createHandler(runtimeFromEnvironment('identity-relay-sweep'));
