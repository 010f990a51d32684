import { type DistributionJob, distributionJobSchema, objectKey } from '../domain/audit.js';
import { isWrite } from '../domain/regional.js';
import { describeError, RelayError } from '../errors.js';
import type { Log, MetricsSink } from '../ports.js';
import {
  type Change,
  type DistributeDeps,
  type DistributeResult,
  distribute,
  withGraph,
} from './distribute.js';
import { type HandOff, handOffFailedRegions } from './hand-off.js';
import { withFields } from './log-fields.js';
import { type PropagationDeps, reportPropagation, sourcesOf } from './propagation.js';

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
  /** Whether trying the job again can help; a job that cannot succeed is recorded, not retried. */
  retryable?: boolean;
  /** The error class of a failure that cannot be retried. */
  code?: string;
  /** Regions that failed and went to their own retried jobs. */
  handedOff?: string[];
  /** The run's plan and results, on the first job of the identical ones that shared it (for display). */
  result?: DistributeResult;
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
  deps: DistributeDeps &
    Partial<PropagationDeps> & {
      metrics: MetricsSink;
      handOff?: HandOff;
    },
  messages: JobMessage[],
): Promise<JobOutcome[]> {
  const runs = new Map<string, Promise<DistributeResult>>();
  const outcomes: JobOutcome[] = [];
  // In order: a FIFO batch holds one group's messages in sequence; a later job must not overtake.
  for (const message of messages) {
    const job = readJob(message.body);
    if (!job) {
      deps.log.warn('unreadable distribution job', { messageId: message.messageId });
      outcomes.push({
        messageId: message.messageId,
        error: 'unreadable job',
        retryable: false,
        code: 'InvalidInput',
      });
      continue;
    }
    const change = changeOf(job);
    const key = JSON.stringify(change);
    let run = runs.get(key);
    const first = !run;
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
      if (first) outcome.result = result;
      await settleRegions(deps, job, result, outcome);
      // The job may have converged the last target of a rotated version: announce it (once) if so.
      if (!outcome.error && deps.events)
        await reportPropagation(
          { ...deps, watchNamespaces: deps.watchNamespaces ?? [deps.systemNamespace] },
          sourcesOf(result),
          {
            correlationId: job.auditID ?? message.messageId,
            ...withGraph(result),
          },
        );
      // A Credential the job could not serve is that Credential's (its Warning Event says why): said here too.
      if (result.problems.length > 0)
        deps.log.warn('distribution job: Credentials not served', {
          object: outcome.object,
          problems: result.problems,
        });
    } catch (error) {
      outcome.error = describeError(error);
      outcome.retryable = error instanceof RelayError ? error.retryable : true;
      if (!outcome.retryable) outcome.code = error instanceof Error ? error.name : 'Error';
    }
    if (outcome.error) deps.metrics.count('JobsFailed', 1);
    const { result: _plan, ...line } = outcome; // the plan is for the CLI's screen, not the log
    deps.log[outcome.error ? 'error' : 'info']('distribution job done', { ...line, verb: job.verb });
    outcomes.push(outcome);
  }
  return outcomes;
}

/**
 * A job for one region fails with it (and is retried); any other job hands the regions that failed
 * retryably to their own region jobs. A region that retrying cannot converge (forbidden, refused) fails
 * the job without retry, to be recorded.
 */
async function settleRegions(
  deps: { log: Log; handOff?: HandOff },
  job: DistributionJob,
  result: DistributeResult,
  outcome: JobOutcome,
): Promise<void> {
  const { handedOff, left } = await handOffFailedRegions(
    { log: deps.log, handOff: job.kind === 'Region' ? undefined : deps.handOff },
    result.regions,
    job.auditID,
  );
  if (handedOff.length > 0) outcome.handedOff = handedOff;
  if (left.length === 0) return;
  outcome.error = left.map((r) => `${r.region}: ${r.error}`).join('; ');
  outcome.retryable = left.some((r) => r.retryable !== false);
  if (!outcome.retryable) outcome.code = 'RegionRefused';
}

/** Writes a distribute run made (or, in a dry run, would make). */
export function writesOf(result: DistributeResult): number {
  return result.regions.flatMap((region) => region.actions).filter((action) => isWrite(action.op)).length;
}

function readJob(body: string): DistributionJob | undefined {
  try {
    return distributionJobSchema.safeParse(JSON.parse(body)).data;
  } catch {
    return undefined;
  }
}
