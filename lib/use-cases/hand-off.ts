import type { DistributionJob } from '../domain/audit.js';
import { describeError } from '../errors.js';
import type { JobQueue, Log } from '../ports.js';
import type { RegionResult } from './converge-region.js';

/**
 * Hands regions that failed to their own retried jobs on the distribution queue: one FIFO message group
 * per region, so a region that keeps failing holds only its own later jobs, and each job converges the
 * whole region from the management cluster's state when it runs (the job is only a hint).
 */
export function regionHandOff(queue: JobQueue, now: () => Date) {
  return async (regions: string[], correlationId: string): Promise<void> => {
    const at = now().toISOString();
    const id = correlationId || `hand-off-${at}`;
    await queue.send(
      regions.map((region) => {
        const job: DistributionJob = {
          resource: 'regions',
          kind: 'Region',
          apiVersion: 'k0rdent.mirantis.com/v1beta1',
          name: region,
          verb: 'retry',
          auditID: id,
          stageTimestamp: at,
        };
        return {
          body: JSON.stringify(job),
          groupId: `region:${region}`.slice(0, 128),
          deduplicationId: `${region}:${id}`.slice(0, 128),
        };
      }),
    );
  };
}

/** Hands regions to their own retried jobs, with the correlation id of the work they came from. */
export type HandOff = (regions: string[], correlationId: string) => Promise<void>;

/**
 * One region is one unit of failure: the regions that failed retryably go to their own jobs (when a
 * hand-off is given), and what is left is still the caller's to retry or record. A hand-off that fails
 * leaves its regions with the caller, to be retried with its message.
 */
export async function handOffFailedRegions(
  deps: { log: Log; handOff?: HandOff | undefined },
  regions: RegionResult[],
  correlationId: string,
): Promise<{ handedOff: string[]; left: RegionResult[] }> {
  const failed = regions.filter((region) => region.error);
  const retry = failed.filter((r) => r.retryable !== false).map((r) => r.region);
  let handedOff: string[] = [];
  if (retry.length > 0 && deps.handOff) {
    try {
      await deps.handOff(retry, correlationId);
      handedOff = retry;
    } catch (error) {
      deps.log.warn('hand-off failed; the regions stay with their message', {
        regions: retry,
        error: describeError(error),
      });
    }
  }
  return { handedOff, left: failed.filter((r) => !handedOff.includes(r.region)) };
}
