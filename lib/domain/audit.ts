/**
 * Kubernetes audit events, read into distribution jobs. Pure: no I/O.
 *
 * Input: an `audit.k8s.io/v1` EventList (the kube-apiserver audit webhook's body), or the decoded data
 * of a CloudWatch Logs subscription (EKS), whose `logEvents[].message` each hold one audit Event.
 * Kept: stage ResponseComplete, verbs create/update/patch/delete, a 2xx response, no subresource, on
 * `secrets` (core group), `credentials` / `regions` / `providerinterfaces` (k0rdent.mirantis.com) and the
 * ClusterIdentity resources; events of identity-relay's own user are dropped (no feedback loop).
 * Only the fields named in `auditEventSchema` are read: `requestObject` / `responseObject` are never
 * parsed, kept or forwarded (they can hold Secret data at the Request levels).
 */
import { createHash } from 'node:crypto';
import * as z from 'zod';
import { InvalidInput } from '../errors.js';
import { describeIssue } from './formats.js';

/** The ClusterIdentity kinds k0rdent's ProviderInterfaces name (as in infra/k8s/audit/audit-policy.yaml); others via config. */
export const DEFAULT_IDENTITY_KINDS = [
  'AWSClusterStaticIdentity',
  'AWSClusterRoleIdentity',
  'AWSClusterControllerIdentity',
  'AzureClusterIdentity',
  'VSphereClusterIdentity',
  'OpenStackClusterIdentity',
] as const;

const K0RDENT_GROUP = 'k0rdent.mirantis.com';
const K0RDENT_RESOURCES: Record<string, string> = {
  credentials: 'Credential',
  regions: 'Region',
  providerinterfaces: 'ProviderInterface',
};
const VERBS = new Set(['create', 'update', 'patch', 'delete']);

/** The fields of an audit Event identity-relay reads; everything else (request/response bodies) is stripped. */
export const auditEventSchema = z.object({
  auditID: z.string().min(1),
  stage: z.string(),
  verb: z.string(),
  user: z.object({ username: z.string().optional() }).optional(),
  objectRef: z
    .object({
      resource: z.string().optional(),
      namespace: z.string().optional(),
      name: z.string().optional(),
      apiGroup: z.string().optional(),
      apiVersion: z.string().optional(),
      subresource: z.string().optional(),
    })
    .optional(),
  responseStatus: z.object({ code: z.number().int().optional() }).optional(),
  stageTimestamp: z.string().optional(),
});
export type AuditEvent = z.infer<typeof auditEventSchema>;

const eventListSchema = z.object({
  kind: z.literal('EventList'),
  apiVersion: z.string().startsWith('audit.k8s.io/'),
  items: z.array(z.unknown()),
});

const cloudWatchLogsSchema = z.object({
  messageType: z.string(),
  logEvents: z.array(z.object({ id: z.string(), message: z.string() })),
});

/** One object to converge: the queue message the webhook sends and the worker reads. */
export const distributionJobSchema = z.object({
  resource: z.string().min(1),
  /** The kind, resolved from the resource (the audit event names only the resource). */
  kind: z.string().min(1),
  apiVersion: z.string().min(1),
  namespace: z.string().optional(),
  name: z.string().min(1),
  verb: z.string(),
  /** The last audit event that touched the object in its batch (deduplication id). */
  auditID: z.string().min(1),
  stageTimestamp: z.string().optional(),
});
export type DistributionJob = z.infer<typeof distributionJobSchema>;

/** An item that could not be read: its position and auditID (when readable) and why, never its content. */
export interface QuarantinedItem {
  index: number;
  auditID?: string;
  reason: string;
}

/** What a batch of audit events amounts to. */
export interface AuditBatch {
  jobs: DistributionJob[];
  quarantined: QuarantinedItem[];
  /** Events read, kept (before coalescing) and dropped as irrelevant. */
  counts: { received: number; kept: number; dropped: number };
}

/** What the filter needs: the watched resources (plural → kind) and identity-relay's own username. */
export interface AuditFilter {
  identityResources: Map<string, string>;
  relayUsername?: string;
}

/**
 * The resources of the given kinds, by Kubernetes' own guess (`meta.UnsafeGuessKindToResource`, the rule
 * controller-gen also follows): lower-case, `s` → `ses`, `y` → `ies`, else `+s`. `Kind=plural` names an
 * irregular plural explicitly.
 */
export function identityResources(kinds: readonly string[]): Map<string, string> {
  const resources = new Map<string, string>();
  for (const entry of kinds) {
    const [kind = '', plural] = entry.split('=').map((part) => part.trim());
    if (!kind) continue;
    resources.set(plural || guessPlural(kind), kind);
  }
  return resources;
}

function guessPlural(kind: string): string {
  const singular = kind.toLowerCase();
  if (singular.endsWith('s')) return `${singular}es`;
  if (singular.endsWith('y')) return `${singular.slice(0, -1)}ies`;
  return `${singular}s`;
}

/** Reads a webhook body; throws with a one-line reason when it is not an EventList at all. */
export function readEventList(body: unknown): unknown[] {
  const parsed = eventListSchema.safeParse(body);
  if (!parsed.success) throw new InvalidInput(`not an audit EventList: ${firstIssue(parsed.error)}`);
  return parsed.data.items;
}

/** Reads decoded CloudWatch Logs subscription data into audit events (each message one Event JSON). */
export function readCloudWatchLogs(data: unknown): unknown[] {
  const parsed = cloudWatchLogsSchema.safeParse(data);
  if (!parsed.success)
    throw new InvalidInput(`not CloudWatch Logs subscription data: ${firstIssue(parsed.error)}`);
  // CloudWatch sends a CONTROL_MESSAGE when the subscription is created: it carries no events.
  if (parsed.data.messageType !== 'DATA_MESSAGE') return [];
  return parsed.data.logEvents.map((event) => {
    try {
      return JSON.parse(event.message) as unknown;
    } catch {
      return { unreadable: 'message is not JSON' };
    }
  });
}

/** Filters audit events to the ones that can change what a region needs, one job per object (the latest wins). */
export function auditJobs(items: readonly unknown[], filter: AuditFilter): AuditBatch {
  const byObject = new Map<string, DistributionJob>();
  const quarantined: QuarantinedItem[] = [];
  let kept = 0;
  for (const [index, item] of items.entries()) {
    const parsed = auditEventSchema.safeParse(item);
    if (!parsed.success) {
      const auditID = (item as { auditID?: unknown } | null)?.auditID;
      quarantined.push({
        index,
        ...(typeof auditID === 'string' && auditID.length <= 64 ? { auditID } : {}),
        reason: firstIssue(parsed.error),
      });
      continue;
    }
    const job = toJob(parsed.data, filter);
    if (!job) continue;
    kept += 1;
    const key = objectKey(job);
    const previous = byObject.get(key);
    if (!previous || (previous.stageTimestamp ?? '') <= (job.stageTimestamp ?? '')) byObject.set(key, job);
  }
  return {
    jobs: [...byObject.values()],
    quarantined,
    counts: { received: items.length, kept, dropped: items.length - kept - quarantined.length },
  };
}

function toJob(event: AuditEvent, filter: AuditFilter): DistributionJob | undefined {
  const ref = event.objectRef;
  const code = event.responseStatus?.code ?? 0;
  if (event.stage !== 'ResponseComplete' || !VERBS.has(event.verb) || code < 200 || code > 299) return;
  if (!ref?.resource || !ref.name || !ref.apiVersion || ref.subresource) return;
  if (filter.relayUsername && event.user?.username === filter.relayUsername) return;
  const group = ref.apiGroup ?? '';
  const kind =
    group === ''
      ? ref.resource === 'secrets'
        ? 'Secret'
        : undefined
      : group === K0RDENT_GROUP
        ? K0RDENT_RESOURCES[ref.resource]
        : filter.identityResources.get(ref.resource);
  if (!kind) return;
  return {
    resource: ref.resource,
    kind,
    apiVersion: group ? `${group}/${ref.apiVersion}` : ref.apiVersion,
    ...(ref.namespace ? { namespace: ref.namespace } : {}),
    name: ref.name,
    verb: event.verb,
    auditID: event.auditID,
    ...(event.stageTimestamp ? { stageTimestamp: event.stageTimestamp } : {}),
  };
}

/** The object a job is about, as `group/resource/namespace/name` (the queue's message group). */
export function objectKey(
  job: Pick<DistributionJob, 'apiVersion' | 'resource' | 'namespace' | 'name'>,
): string {
  const group = job.apiVersion.includes('/') ? job.apiVersion.split('/')[0] : '';
  return `${group}/${job.resource}/${job.namespace ?? ''}/${job.name}`;
}

/** SQS FIFO ids allow 128 characters of `[A-Za-z0-9!-~]`: longer or other ids are replaced by their hash. */
export function fifoId(text: string): string {
  if (text.length <= 128 && /^[!-~]+$/.test(text)) return text;
  return `sha256-${createHash('sha256').update(text).digest('hex')}`;
}

function firstIssue(error: z.ZodError): string {
  const [issue] = error.issues;
  return issue === undefined ? 'invalid' : describeIssue(issue);
}
