import { gunzipSync } from 'node:zlib';
import { readEnvironment } from '../adapters/relay-environment.js';
import {
  auditJobs,
  DEFAULT_IDENTITY_KINDS,
  distributionJobSchema,
  identityResources,
  readCloudWatchLogs,
  readEventList,
} from '../domain/audit.js';
import { readRotationHints } from '../domain/events.js';
import type { Change, DistributeResult } from '../use-cases/distribute.js';
import { rotate, type SecretOutcome } from '../use-cases/rotate.js';
import { runJobs } from '../use-cases/run-jobs.js';
import { reportRotation } from '../use-cases/telemetry.js';
import { UsageError } from './args.js';
import type { CliDeps } from './deps.js';

/** What a replay input holds, sorted by the use-case that takes it. */
export interface ReplayInput {
  /** SQS records whose body is an EventBridge event (events given bare are wrapped as records). */
  rotationRecords: Array<{ messageId: string; body: string; eventSource: 'aws:sqs' }>;
  /** Distribution jobs: SQS records of the job queue, or audit events kept by the audit filter. */
  jobs: Array<{ messageId: string; body: string }>;
  audit: { received: number; kept: number; dropped: number; quarantined: number };
  unsupported: string[];
}

/** One distribution job's outcome. */
export interface JobResult {
  messageId: string;
  object: string;
  change: Change['kind'];
  result?: DistributeResult;
  error?: string;
}

/** What a replay did (or would do). */
export interface ReplayResult {
  rotations: SecretOutcome[];
  jobs: JobResult[];
  input: Omit<ReplayInput, 'rotationRecords' | 'jobs'>;
  ignored: string[];
  failed: string[];
}

/** Reads JSON (one value or an array) or JSON lines; throws UsageError naming the line that is not JSON. */
export function parseReplayText(text: string): unknown[] {
  const trimmed = text.trim();
  if (trimmed === '') throw new UsageError('replay input is empty');
  try {
    const whole = JSON.parse(trimmed) as unknown;
    return Array.isArray(whole) ? whole : [whole];
  } catch {
    // not one JSON document: JSON lines
  }
  return trimmed.split('\n').flatMap((line, index) => {
    if (line.trim() === '') return [];
    try {
      return [JSON.parse(line) as unknown];
    } catch {
      throw new UsageError(`replay input: line ${index + 1} is not JSON (expected JSON or JSON lines)`);
    }
  });
}

/** Sorts input items: EventBridge events and SQS records → rotation, audit EventLists and jobs → distribution. */
export function classify(items: unknown[], env: NodeJS.ProcessEnv = {}): ReplayInput {
  const input: ReplayInput = {
    rotationRecords: [],
    jobs: [],
    audit: { received: 0, kept: 0, dropped: 0, quarantined: 0 },
    unsupported: [],
  };
  const config = readEnvironment(env);
  const filter = {
    identityResources: identityResources(config.IDENTITY_KINDS ?? [...DEFAULT_IDENTITY_KINDS]),
    relayUsername: config.RELAY_USERNAME,
  };
  const addAudit = (events: unknown[]) => {
    const batch = auditJobs(events, filter);
    input.audit.received += batch.counts.received;
    input.audit.kept += batch.counts.kept;
    input.audit.dropped += batch.counts.dropped;
    input.audit.quarantined += batch.quarantined.length;
    for (const job of batch.jobs) input.jobs.push({ messageId: job.auditID, body: JSON.stringify(job) });
  };
  const addBody = (messageId: string, body: string) => {
    if (isJob(body)) input.jobs.push({ messageId, body });
    else input.rotationRecords.push({ messageId, body, eventSource: 'aws:sqs' });
  };
  items.forEach((item, index) => {
    const record = item as Record<string, unknown> | null;
    if (record === null || typeof record !== 'object') {
      input.unsupported.push(`item ${index + 1}: not a JSON object`);
    } else if (Array.isArray(record.Records)) {
      for (const [n, r] of (record.Records as Array<Record<string, unknown>>).entries())
        addBody(
          String(r?.messageId ?? `item-${index + 1}-${n + 1}`),
          typeof r?.body === 'string' ? r.body : '',
        );
    } else if (record.kind === 'EventList') {
      addAudit(readEventList(record));
    } else if (typeof (record.awslogs as { data?: unknown } | undefined)?.data === 'string') {
      const data = (record.awslogs as { data: string }).data;
      addAudit(readCloudWatchLogs(JSON.parse(gunzipSync(Buffer.from(data, 'base64')).toString('utf8'))));
    } else if (typeof record['detail-type'] === 'string') {
      addBody(String(record.id ?? `item-${index + 1}`), JSON.stringify(record));
    } else if (distributionJobSchema.safeParse(record).success) {
      const job = distributionJobSchema.parse(record);
      input.jobs.push({ messageId: job.auditID, body: JSON.stringify(job) });
    } else {
      input.unsupported.push(
        `item ${index + 1}: not an EventBridge event, SQS event, audit EventList, CloudWatch Logs event or distribution job`,
      );
    }
  });
  return input;
}

/**
 * Runs a replay input through the functions' use-cases: rotation events through `rotate` (and its
 * telemetry), distribution jobs through `runJobs` (the worker's path), each distinct object once, in
 * order. A dry run passes sandboxed deps (lib/cli/sandbox.ts).
 */
export async function replay(deps: CliDeps, input: ReplayInput): Promise<ReplayResult> {
  const failed = [...input.unsupported];
  const ignored: string[] = [];
  let rotations: SecretOutcome[] = [];
  if (input.rotationRecords.length > 0) {
    const hints = readRotationHints({ Records: input.rotationRecords });
    rotations = await rotate(deps, hints);
    reportRotation(deps, hints, rotations, deps.now());
    for (const m of hints.malformed) failed.push(`message ${m.messageId ?? '?'}: ${m.reason}`);
    for (const f of hints.failures) failed.push(`${f.secretId}: Secrets Manager reported ${f.reason}`);
    for (const i of hints.ignored) ignored.push(`event ${i.eventId}: ${i.reason}`);
    for (const o of rotations) if (o.error) failed.push(`${o.secretId}: ${o.error}`);
  }
  // The distribution worker's own path: each distinct object once, in order (runJobs). The CLI never
  // hands regions off to the queue: a failed region is shown, and the replay can be run again.
  const outcomes = await runJobs({ ...deps, handOff: undefined }, input.jobs);
  const jobs = outcomes.map(
    (o): JobResult => ({
      messageId: o.messageId,
      object: o.object ?? 'unreadable job',
      change: (o.change ?? 'object') as Change['kind'],
      ...(o.result ? { result: o.result } : {}),
      ...(o.error ? { error: o.error } : {}),
    }),
  );
  for (const job of jobs) if (job.error) failed.push(`${job.object}: ${job.error}`);
  const { rotationRecords: _r, jobs: _j, ...rest } = input;
  return { rotations, jobs, input: rest, ignored, failed };
}

function isJob(body: string): boolean {
  try {
    return distributionJobSchema.safeParse(JSON.parse(body)).success;
  } catch {
    return false;
  }
}
