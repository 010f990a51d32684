import type { DistributionJob } from '../domain/audit.js';
import type { JobQueue } from '../ports.js';

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
