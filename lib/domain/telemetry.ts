/**
 * identity-relay's telemetry vocabulary: every metric it emits (with its unit, dimensions and emitters)
 * and every Kubernetes Event reason it records. The MetricsSink and ClusterEvent ports are typed by it,
 * the CDK alarms and dashboard name only these metrics, and a test holds the runbook's metrics table (docs/runbook.md) to it.
 */

/** A metric: CloudWatch unit, dimension names, the functions that emit it, and what it counts. */
export interface MetricSpec {
  unit: 'Count' | 'Milliseconds';
  dimensions: readonly string[];
  emittedBy: string;
  meaning: string;
}

export const METRICS = {
  Writes: {
    unit: 'Count',
    dimensions: [],
    emittedBy: 'rotation, distribution',
    meaning: 'writes made: bound Secrets and regional copies (create, update, release, delete)',
  },
  NoOps: { unit: 'Count', dimensions: [], emittedBy: 'rotation', meaning: 'objects found already current' },
  PropagationLatency: {
    unit: 'Milliseconds',
    dimensions: [],
    emittedBy: 'rotation',
    meaning: 'from the version’s creation in Secrets Manager to the last write of its rotation',
  },
  RegionFailures: {
    unit: 'Count',
    dimensions: ['Region'],
    emittedBy: 'rotation',
    meaning: 'regions a rotation could not converge (handed to their own jobs, or recorded)',
  },
  RotationFailed: {
    unit: 'Count',
    dimensions: [],
    emittedBy: 'rotation',
    meaning: 'a value its format rejects, or a rotation Secrets Manager reports as failed or abandoned',
  },
  NonRetryable: {
    unit: 'Count',
    dimensions: ['Reason'],
    emittedBy: 'rotation, distribution',
    meaning: 'messages recorded on the dead-letter queue and acknowledged: retrying cannot help',
  },
  SecretsManagerCalls: {
    unit: 'Count',
    dimensions: [],
    emittedBy: 'rotation, sweep',
    meaning: 'Secrets Manager calls of the invocation (the sweep: ListSecrets pages and BatchGetSecretValue)',
  },
  CredentialProblems: {
    unit: 'Count',
    dimensions: ['Reason'],
    emittedBy: 'rotation, distribution, sweep',
    meaning: 'Credentials of a converged region that got nothing (refused by the graph rules, or unreadable)',
  },
  JobsFailed: {
    unit: 'Count',
    dimensions: [],
    emittedBy: 'distribution',
    meaning: 'jobs that did not converge (retried, or recorded)',
  },
  BindingsChecked: {
    unit: 'Count',
    dimensions: [],
    emittedBy: 'sweep',
    meaning: 'bound Secrets compared with AWSCURRENT',
  },
  Stale: {
    unit: 'Count',
    dimensions: [],
    emittedBy: 'sweep',
    meaning: 'bound Secrets whose source had moved or whose bound data was edited by hand',
  },
  Repaired: {
    unit: 'Count',
    dimensions: [],
    emittedBy: 'sweep',
    meaning: 'writes made: bound Secrets and regional copies',
  },
  Failed: {
    unit: 'Count',
    dimensions: [],
    emittedBy: 'sweep',
    meaning: 'bindings, sources and regions not converged',
  },
  BindingsRefused: {
    unit: 'Count',
    dimensions: [],
    emittedBy: 'sweep',
    meaning: 'bound Secrets refused by the binding scopes or naming identity-relay’s own secrets',
  },
  AuditEventsReceived: {
    unit: 'Count',
    dimensions: [],
    emittedBy: 'audit-webhook',
    meaning: 'audit events in a request or delivery',
  },
  AuditEventsKept: {
    unit: 'Count',
    dimensions: [],
    emittedBy: 'audit-webhook',
    meaning: 'events that passed the filter (before coalescing)',
  },
  AuditEventsDropped: {
    unit: 'Count',
    dimensions: [],
    emittedBy: 'audit-webhook',
    meaning: 'events the filter left out',
  },
  AuditJobsEnqueued: {
    unit: 'Count',
    dimensions: [],
    emittedBy: 'audit-webhook',
    meaning: 'jobs sent to the distribution queue',
  },
  AuditJobsUnwatched: {
    unit: 'Count',
    dimensions: [],
    emittedBy: 'audit-webhook',
    meaning: 'jobs left out: a namespaced object outside the watched namespaces',
  },
  AuditEventsQuarantined: {
    unit: 'Count',
    dimensions: [],
    emittedBy: 'audit-webhook',
    meaning: 'unreadable items, kept on the quarantine queue',
  },
  AuditRequestsRejected: {
    unit: 'Count',
    dimensions: ['Reason'],
    emittedBy: 'audit-webhook',
    meaning: '400/401/405/413 answers',
  },
  AuditEnqueueFailed: {
    unit: 'Count',
    dimensions: [],
    emittedBy: 'audit-webhook',
    meaning: 'requests answered 503 (the queue refused the jobs)',
  },
} as const satisfies Record<string, MetricSpec>;

export type MetricName = keyof typeof METRICS;

/** A Kubernetes Event identity-relay records: its type and the object it lands on. */
export interface EventSpec {
  type: 'Normal' | 'Warning';
  on: 'bound Secret' | 'Credential';
}

export const EVENT_REASONS = {
  CredentialRotated: { type: 'Normal', on: 'bound Secret' },
  InvalidCredentialFormat: { type: 'Warning', on: 'bound Secret' },
  SourceUnreadable: { type: 'Warning', on: 'bound Secret' },
  ApplyFailed: { type: 'Warning', on: 'bound Secret' },
  InvalidBinding: { type: 'Warning', on: 'bound Secret' },
  BindingRefused: { type: 'Warning', on: 'bound Secret' },
  CredentialDistributed: { type: 'Normal', on: 'Credential' },
  DistributionFailed: { type: 'Warning', on: 'Credential' },
  CredentialRefused: { type: 'Warning', on: 'Credential' },
  IdentityUnavailable: { type: 'Warning', on: 'Credential' },
} as const satisfies Record<string, EventSpec>;

export type EventReason = keyof typeof EVENT_REASONS;
