import { targetName } from '../domain/graph.js';
import { isWrite } from '../domain/regional.js';
import type { PlannedAction, RegionResult } from '../use-cases/distribute.js';
import type { ResyncResult } from '../use-cases/resync.js';
import type { SecretOutcome } from '../use-cases/rotate.js';
import type { StatusReport } from '../use-cases/status.js';

// Human output of the CLI: names, operations, versions and hashes; values never reach these functions.

const HINTS: Record<string, string> = {
  SourceNotFound:
    'check the identity-relay.dev/source annotation and that the secret exists in this AWS account and region (AWS_REGION)',
  InvalidCredentialFormat:
    'fix the value in Secrets Manager to match the format (README › Binding a secret), then run `identity-relay resync --secret NS/NAME`',
  Forbidden:
    'grant the permission named above (Kubernetes RBAC: `kubectl auth can-i`; AWS: the IAM policy of your credentials), then rerun',
  ClusterUnreachable:
    'check the cluster endpoint and network from here (and the Region kubeconfig Secret), then rerun `identity-relay resync --region NAME`',
  UnsupportedAuth: 'give the cluster a kubeconfig with a token, client certificate or EKS exec user',
  TransientFailure:
    'rerun the command; if it keeps failing, run `identity-relay status` to see what is stuck',
  InvalidInput: 'check the named object or argument (`identity-relay --help`)',
  Refused:
    'identity-relay will not do this (docs/threat-model.md › Threat model): fix the binding or Region kubeconfig, or BINDING_SCOPES / CLUSTER_HOSTS',
  CredentialRefused:
    'a tenant Credential may use objects of its own namespace only, or a system-namespace or cluster-scoped identity whose spec.allowedNamespaces admits its namespace (docs/fan-out.md › Threat model: the graph); fix the Credential or the identity, then run `identity-relay resync --credential NS/NAME`',
  IdentityUnavailable:
    'the object named above is not served, not listed by any ProviderInterface, missing or forbidden: fix the Credential spec.identityRef (or install the CRD, create the object, grant the read), then run `identity-relay resync --credential NS/NAME`',
  NotServed:
    'install the CRD of that kind in the cluster, or correct the apiVersion/kind that names it (a Credential spec.identityRef or a ProviderInterface)',
  UsageError: 'see `identity-relay --help`',
  CredentialsProviderError:
    'set AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)',
  RelayError: 'rerun the command; `identity-relay status` shows what is stuck',
  QueueDoesNotExist: 'check the queue URL (`aws sqs list-queues`) and AWS_REGION',
  'AWS.SimpleQueueService.NonExistentQueue': 'check the queue URL (`aws sqs list-queues`) and AWS_REGION',
  ResourceNotFoundException: 'check the name (`aws events list-archives`) and AWS_REGION',
  AccessDeniedException: 'your AWS credentials lack the permission named above; use a role that has it',
};

/** The one-line "what to do next" for an error, from its class name (the start of `describeError`'s text). */
export function hintFor(error: string): string {
  const name = /^([A-Za-z.]+):/.exec(error)?.[1] ?? '';
  return HINTS[name] ?? 'rerun with --verbose for the log lines; `identity-relay status` shows what is stuck';
}

/** The `status` screen. */
export function formatStatus(report: StatusReport): string[] {
  const lines: string[] = ['bindings (Secrets Manager AWSCURRENT → management Secret):'];
  if (report.bindings.length === 0) lines.push('  (none in scope)');
  for (const b of report.bindings) {
    lines.push(`  ${tag(b.state)} ${b.secret}  ${b.format ?? ''}  ${b.source ?? ''}`.trimEnd());
    lines.push(
      `         AWSCURRENT ${b.sourceVersion ?? '?'}  management ${b.managementVersion ?? '(never synced)'}  synced ${b.syncedAt ?? '-'}`,
    );
    if (b.why) lines.push(`         why: ${b.why}`);
    if (b.error) lines.push(`         ${b.error}`, `         hint: ${hintFor(b.error)}`);
  }
  for (const p of report.propagation ?? []) {
    const announced = p.announced ? ', Credential Propagated sent' : '';
    lines.push(`  version ${p.versionId}: ${p.holding}/${p.total} targets${announced}  (${p.secretId})`);
    for (const t of p.targets)
      lines.push(`         ${t.holding}/${t.total} ${t.target}${t.error ? `  ${t.error}` : ''}`);
  }
  lines.push(
    'credentials (management → region copies, and AccessManagement copies in the management cluster):',
  );
  if (report.credentials.length === 0) lines.push('  (none in scope)');
  for (const c of report.credentials) {
    const ready = c.ready ? '' : ', kcm: not ready';
    lines.push(`  ${tag(c.state)} ${c.credential} → ${targetName(c.region)}  (${c.identity}${ready})`);
    for (const o of c.objects) {
      const hash = o.previousHash && o.hash ? `  ${o.previousHash} → ${o.hash}` : '';
      lines.push(
        `         ${pad(o.drift ? o.op.toUpperCase() : o.op, 14)} ${o.object}  version ${o.version ?? '-'}  synced ${o.syncedAt ?? '-'}${hash}`,
      );
    }
    if (c.error) lines.push(`         ${c.error}`, `         hint: ${hintFor(c.error)}`);
  }
  lines.push('regions:');
  for (const r of report.regions) {
    lines.push(`  ${tag(r.state)} ${r.region}`);
    for (const a of r.cleanup) lines.push(`         ${actionText(a)}`);
    if (r.error) lines.push(`         ${r.error}`, `         hint: ${hintFor(r.error)}`);
  }
  const count = (items: Array<{ state: string }>, state: string) =>
    items.filter((i) => i.state === state).length;
  lines.push(
    `summary: ${report.bindings.length} binding(s), ${count(report.bindings, 'stale')} stale; ` +
      `${report.credentials.length} regional credential(s), ${count(report.credentials, 'drift')} drifted; ` +
      `${count([...report.bindings, ...report.credentials, ...report.regions], 'error')} error(s)` +
      (report.ok ? ' — all in sync' : ' — preview the repair with `identity-relay resync --dry-run`'),
  );
  return lines;
}

/** A resync or replay: per source its bindings and regions, then the other regions of the scope. */
export function formatResync(result: ResyncResult): string[] {
  const lines = formatOutcomes(result.rotations, result.before);
  if (result.distribution.regions.length > 0) lines.push('regions:');
  lines.push(...regionLines(result.distribution.regions));
  for (const problem of result.distribution.problems) lines.push(`  problem: ${problem}`);
  lines.push(...summary(result.dryRun, writes(result), result.failed));
  return lines;
}

/** Rotation outcomes: per source, its management Secrets, then the regions they reach. */
export function formatOutcomes(
  outcomes: SecretOutcome[],
  before: Record<string, { version?: string; hash?: string }> = {},
): string[] {
  const lines: string[] = [];
  for (const outcome of outcomes) {
    lines.push(`source ${outcome.secretId}${outcome.versionId ? ` (AWSCURRENT ${outcome.versionId})` : ''}`);
    if (outcome.bindings.length === 0 && !outcome.error) lines.push('  no bound Secret uses it');
    for (const b of outcome.bindings) {
      const held = before[b.secret];
      const version =
        held?.version === b.versionId
          ? `version ${b.versionId}`
          : `version ${held?.version ?? '-'} → ${b.versionId}`;
      const hash = b.hash ? `  ${held?.hash ?? '-'} → ${b.hash}` : '';
      const keys = b.keys ? `  keys ${b.keys.join(', ')}` : '';
      lines.push(`  ${pad('mgmt', 16)} ${pad(b.op, 14)} Secret ${b.secret}${keys}  ${version}${hash}`);
      if (b.error) lines.push(`    ${b.error}`, `    hint: ${hintFor(b.error)}`);
      if (b.warning) lines.push(`    warning: ${b.warning}`);
    }
    lines.push(...regionLines(outcome.distribution?.regions ?? []));
    if (outcome.error && outcome.bindings.every((b) => !b.error))
      lines.push(`  failed: ${outcome.error}`, `  hint: ${hintFor(outcome.error)}`);
  }
  return lines;
}

/** The closing lines: writes made (or planned) and what failed. */
export function summary(dryRun: boolean, count: number, failed: string[]): string[] {
  const lines = failed.map((f) => `failed: ${f}`);
  lines.push(
    dryRun
      ? `dry run: ${count} write(s) planned, nothing written — run again without --dry-run to apply`
      : `${count} write(s) made${failed.length > 0 ? `, ${failed.length} failure(s)` : ''}`,
  );
  return lines;
}

/** Writes of a resync: bound Secrets updated and regional objects created, updated, released or deleted. */
export function writes(result: Pick<ResyncResult, 'rotations' | 'distribution'>): number {
  const regional = (regions: RegionResult[]) =>
    regions.flatMap((r) => r.actions).filter((a) => isWrite(a.op)).length;
  return (
    regional(result.distribution.regions) +
    result.rotations.reduce(
      (sum, o) =>
        sum + o.bindings.filter((b) => b.op === 'update').length + regional(o.distribution?.regions ?? []),
      0,
    )
  );
}

function regionLines(regions: RegionResult[]): string[] {
  const lines: string[] = [];
  for (const region of regions) {
    for (const action of region.actions) lines.push(`  ${pad(region.region, 16)} ${actionText(action)}`);
    if (region.error)
      lines.push(
        `  ${pad(region.region, 16)} FAILED ${region.error}`,
        `  ${' '.repeat(16)} hint: ${hintFor(region.error)}`,
      );
  }
  return lines;
}

function actionText(action: PlannedAction): string {
  const hash =
    action.op === 'update' && action.previousHash
      ? `  ${action.previousHash} → ${action.hash}`
      : action.hash
        ? `  ${action.hash}`
        : '';
  return `${pad(action.op, 14)} ${action.object}${hash}${action.detail ? `  (${action.detail})` : ''}`;
}

function tag(state: string): string {
  return pad(state === 'ok' ? 'ok' : state.toUpperCase(), 6);
}

function pad(text: string, width: number): string {
  return text.length >= width ? text : text + ' '.repeat(width - text.length);
}
