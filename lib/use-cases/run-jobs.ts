import { type DistributionJob, distributionJobSchema, objectKey } from '../domain/audit.js';
import { describeError } from '../errors.js';
import type { MetricsSink } from '../ports.js';
import { type Change, type DistributeDeps, type DistributeResult, distribute } from './distribute.js';
import { withFields } from './telemetry.js';

/** One queued message: its id (for a partial-batch failure) and its body. */
export interface JobMessage {
  messageId: string;
  body: string;
}

/** The outcome of one message: failed ones are retried by SQS, then dead-lettered. */
export interface JobOutcome {
  messageId: string;
  object?: string;
  change?: string;
  error?: string;
}

/** The distribute Change a job stands for; the object itself is re-read, the job is only a hint. */
export function changeOf(job: DistributionJob): Change {
  if (job.kind === 'Secret' && job.apiVersion === 'v1')
    return { kind: 'secret', namespace: job.namespace ?? '', name: job.name };
  if (job.kind === 'Credential')
    return { kind: 'credential', namespace: job.namespace ?? '', name: job.name };
  if (job.kind === 'Region') return { kind: 'region', name: job.name };
  // A ProviderInterface can add or drop references of any identity: every region is checked.
  if (job.kind === 'ProviderInterface') return { kind: 'all' };
  return {
    kind: 'object',
    apiVersion: job.apiVersion,
    objectKind: job.kind,
    name: job.name,
    ...(job.namespace ? { namespace: job.namespace } : {}),
  };
}

/**
 * Converges the regions each job's object affects. Identical changes in one batch run once; a job fails
 * when its body is unreadable or any region it reaches failed, so SQS retries just those messages.
 */
export async function runJobs(
  deps: DistributeDeps & { metrics: MetricsSink },
  messages: JobMessage[],
): Promise<JobOutcome[]> {
  const runs = new Map<string, Promise<DistributeResult>>();
  const outcomes: JobOutcome[] = [];
  // In order: a FIFO batch holds one group's messages in sequence; a later job must not overtake.
  for (const message of messages) {
    const job = readJob(message.body);
    if (!job) {
      deps.log.warn('unreadable distribution job', { messageId: message.messageId });
      outcomes.push({ messageId: message.messageId, error: 'unreadable job' });
      continue;
    }
    const change = changeOf(job);
    const key = JSON.stringify(change);
    let run = runs.get(key);
    if (!run) {
      // The audit event's id follows the job into every region's log line.
      const log = withFields(deps.log, { correlationId: job.auditID, messageId: message.messageId });
      run = distribute({ ...deps, log }, [change]);
      runs.set(key, run);
      run.then(
        (result) => deps.metrics.count('Writes', writesOf(result)),
        () => {},
      );
    }
    const outcome: JobOutcome = { messageId: message.messageId, object: objectKey(job), change: change.kind };
    try {
      const result = await run;
      const failed = result.regions.filter((region) => region.error);
      if (failed.length > 0) outcome.error = failed.map((r) => `${r.region}: ${r.error}`).join('; ');
    } catch (error) {
      outcome.error = describeError(error);
    }
    if (outcome.error) deps.metrics.count('JobsFailed', 1);
    deps.log[outcome.error ? 'error' : 'info']('distribution job done', { ...outcome, verb: job.verb });
    outcomes.push(outcome);
  }
  return outcomes;
}

/** Writes a distribute run made (or, in a dry run, would make). */
export function writesOf(result: DistributeResult): number {
  return result.regions
    .flatMap((region) => region.actions)
    .filter((action) => action.op !== 'noop' && action.op !== 'skip-unmanaged').length;
}

function readJob(body: string): DistributionJob | undefined {
  try {
    return distributionJobSchema.safeParse(JSON.parse(body)).data;
  } catch {
    return undefined;
  }
}
