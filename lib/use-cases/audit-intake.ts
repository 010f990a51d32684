import { createHash, timingSafeEqual } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import {
  type AuditBatch,
  type AuditFilter,
  auditJobs,
  fifoId,
  objectKey,
  readCloudWatchLogs,
  readEventList,
} from '../domain/audit.js';
import { describeError, InvalidInput } from '../errors.js';
import type { JobQueue, Log, MetricsSink, SecretSource } from '../ports.js';

export interface AuditIntakeDeps {
  /** The SQS FIFO queue of distribution jobs. */
  queue: JobQueue;
  /** Where unreadable items go (a stub: index, auditID, reason); without it they are only logged. */
  quarantine?: JobQueue;
  token: TokenVerifier;
  filter: AuditFilter;
  /**
   * The namespaces whose Secrets and namespaced identities are queued (the system namespace and the
   * watched ones); Credentials are queued from every namespace. Unset: every namespace.
   */
  namespaces?: ReadonlySet<string>;
  maxBodyBytes: number;
  log: Log;
  metrics: MetricsSink;
  now: () => Date;
}

/** A webhook request as the Function URL hands it over. */
export interface WebhookRequest {
  method: string;
  authorization?: string;
  body: string;
  isBase64Encoded: boolean;
}

export type WebhookOutcome =
  | { status: 'accepted'; jobs: number; quarantined: number }
  | { status: 'method-not-allowed' | 'unauthorized' | 'too-large' | 'malformed'; reason: string };

/**
 * Answers one audit-webhook POST: checks the bearer token, the size and the EventList shape, then
 * enqueues one job per relevant object. Enqueue failures throw, so the apiserver retries the batch.
 */
export async function receiveWebhook(
  deps: AuditIntakeDeps,
  request: WebhookRequest,
): Promise<WebhookOutcome> {
  const reject = (status: Exclude<WebhookOutcome['status'], 'accepted'>, reason: string): WebhookOutcome => {
    deps.metrics.count('AuditRequestsRejected', 1, { Reason: status });
    deps.log.warn('audit request rejected', { status, reason });
    return { status, reason };
  };
  if (request.method.toUpperCase() !== 'POST') return reject('method-not-allowed', 'only POST is accepted');
  if (!(await deps.token.verify(request.authorization)))
    return reject('unauthorized', 'bearer token required');
  const bytes = request.isBase64Encoded
    ? Math.floor((request.body.length * 3) / 4)
    : Buffer.byteLength(request.body);
  if (bytes > deps.maxBodyBytes) return reject('too-large', `body over ${deps.maxBodyBytes} bytes`);
  let items: unknown[];
  try {
    const text = request.isBase64Encoded
      ? Buffer.from(request.body, 'base64').toString('utf8')
      : request.body;
    items = readEventList(parseJson(text));
  } catch (error) {
    return reject('malformed', error instanceof InvalidInput ? error.message : 'body is not readable');
  }
  const batch = inNamespaces(auditJobs(items, deps.filter), deps.namespaces);
  await enqueue(deps, batch, 'webhook');
  return { status: 'accepted', jobs: batch.jobs.length, quarantined: batch.quarantined.length };
}

/** Reads a CloudWatch Logs subscription's `awslogs.data` (EKS audit logs) through the same filter. */
export async function receiveCloudWatchLogs(deps: AuditIntakeDeps, data: string): Promise<AuditBatch> {
  let items: unknown[];
  try {
    items = readCloudWatchLogs(parseJson(gunzipSync(Buffer.from(data, 'base64')).toString('utf8')));
  } catch (error) {
    if (error instanceof InvalidInput) throw error;
    throw new InvalidInput('awslogs.data is not base64 gzip of JSON', error);
  }
  const batch = inNamespaces(auditJobs(items, deps.filter), deps.namespaces);
  await enqueue(deps, batch, 'cloudwatch-logs');
  return batch;
}

/** A batch whose jobs outside the given namespaces were taken out, and how many were. */
type ScopedBatch = AuditBatch & { unwatched: number };

/**
 * Leaves out jobs for namespaced objects in namespaces identity-relay does not watch: a write there
 * cannot change what it copies, and whoever can write Secrets there must not be able to fill the queue.
 * Credentials are the exception: a tenant's Credential may sit in any namespace.
 */
function inNamespaces(batch: AuditBatch, namespaces: ReadonlySet<string> | undefined): ScopedBatch {
  if (!namespaces) return { ...batch, unwatched: 0 };
  const jobs = batch.jobs.filter(
    (job) => job.namespace === undefined || job.kind === 'Credential' || namespaces.has(job.namespace),
  );
  return { ...batch, jobs, unwatched: batch.jobs.length - jobs.length };
}

async function enqueue(deps: AuditIntakeDeps, batch: ScopedBatch, source: string): Promise<void> {
  const { metrics, log } = deps;
  metrics.count('AuditEventsReceived', batch.counts.received);
  metrics.count('AuditEventsKept', batch.counts.kept);
  metrics.count('AuditEventsDropped', batch.counts.dropped);
  if (batch.unwatched > 0) metrics.count('AuditJobsUnwatched', batch.unwatched);
  if (batch.quarantined.length > 0) {
    metrics.count('AuditEventsQuarantined', batch.quarantined.length);
    log.warn('audit events quarantined', { source, items: batch.quarantined });
    const at = deps.now().toISOString();
    await deps.quarantine?.send(
      batch.quarantined.map((item) => ({ body: JSON.stringify({ source, receivedAt: at, ...item }) })),
    );
  }
  try {
    await deps.queue.send(
      batch.jobs.map((job) => ({
        body: JSON.stringify(job),
        groupId: fifoId(objectKey(job)),
        deduplicationId: fifoId(job.auditID),
      })),
    );
  } catch (error) {
    metrics.count('AuditEnqueueFailed', 1);
    log.error('audit jobs not enqueued', { source, jobs: batch.jobs.length, error: describeError(error) });
    throw error;
  }
  metrics.count('AuditJobsEnqueued', batch.jobs.length);
  log.info('audit batch accepted', {
    source,
    ...batch.counts,
    unwatched: batch.unwatched,
    // The first objects only: a batch of 400 would make one very long line.
    jobs: batch.jobs.slice(0, 20).map((job) => `${job.verb} ${objectKey(job)}`),
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new InvalidInput('body is not JSON', error);
  }
}

/** Checks an `Authorization` header against the expected bearer token. */
export interface TokenVerifier {
  verify(authorization: string | undefined): Promise<boolean>;
}

/**
 * A TokenVerifier over a token kept in Secrets Manager: cached for `ttlMs`, so a rotated-out token stops
 * being accepted within that time even in a warm container; on a mismatch read again (at most every
 * `minRefreshMs`, so wrong tokens cannot drive up reads) so that a new token works at once.
 * Compared in constant time over equal-length digests.
 */
export function secretTokenVerifier(
  source: SecretSource,
  secretId: string,
  options: { now?: () => number; minRefreshMs?: number; ttlMs?: number } = {},
): TokenVerifier {
  const now = options.now ?? Date.now;
  const minRefreshMs = options.minRefreshMs ?? 5000;
  const ttlMs = options.ttlMs ?? 5 * 60_000;
  let cached: { digest: Buffer; readAt: number } | undefined;
  const load = async (): Promise<Buffer> => {
    const value = await source.getCurrent(secretId);
    cached = { digest: digest(value.secretString.trim()), readAt: now() };
    return cached.digest;
  };
  return {
    async verify(authorization) {
      const presented = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
      if (!presented) return false;
      const given = digest(presented);
      const expected = cached && now() - cached.readAt < ttlMs ? cached.digest : await load();
      if (timingSafeEqual(given, expected)) return true;
      if (cached && now() - cached.readAt < minRefreshMs) return false;
      return timingSafeEqual(given, await load());
    },
  };
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token).digest();
}
