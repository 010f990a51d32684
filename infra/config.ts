/**
 * The deployment configuration: one entry per environment under the `cdk.json` context key
 * `identity-relay:environments`, chosen with `-c env=<name>`. Validated with zod at synth so a wrong
 * or missing value stops `cdk synth` with one line that names the key and what it expects.
 */
import { z } from 'zod';
import { hostPatternSchema } from '../lib/domain/hosts.js';
import { bindingScopesSchema } from '../lib/domain/policy.js';

/** The cdk.json context key that holds one object per deployment environment. */
export const ENVIRONMENTS_CONTEXT_KEY = 'identity-relay:environments';

/** Retention periods CloudWatch Logs accepts (days). */
const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
// A complete ARN ends in `-` and the six random characters Secrets Manager appends; IAM and the
// EventBridge `resources` match need that exact string.
const FULL_SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const SECRET_NAME_PREFIX = /^[A-Za-z0-9/_+=.@-]+$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9+=,.@_/-]+$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]+$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Error options whose message says what is expected, and whether the value was missing or wrong. */
function expects(what: string) {
  return {
    error: (issue: { input?: unknown }) =>
      issue.input === undefined ? `is required: ${what}` : `must be ${what}`,
  };
}

function text(what: string, pattern: RegExp) {
  return z.string(expects(what)).regex(pattern, expects(what));
}

function integer(min: number, max: number) {
  const what = `an integer from ${min} to ${max}`;
  return z.number(expects(what)).int(expects(what)).min(min, expects(what)).max(max, expects(what));
}

function list<T extends z.ZodType>(item: T, what: string) {
  return z.array(item, expects(`a list of ${what}`));
}

const secretArn = text('a full Secrets Manager secret ARN ending in -<6 characters>', FULL_SECRET_ARN);
const namespace = text('a Kubernetes namespace name (DNS label)', DNS_LABEL);

const watchedSecretsSchema = z
  .strictObject(
    {
      arns: list(secretArn, 'full secret ARNs').default([]),
      namePrefixes: list(
        text('a secret name prefix (letters, digits and /_+=.@-, no wildcards)', SECRET_NAME_PREFIX),
        'secret name prefixes',
      ).default([]),
      // Only needed when the watched secrets use customer managed keys; without it kms:Decrypt is
      // still limited to Secrets Manager and to the watched secrets' encryption context.
      kmsKeyArns: list(text('a KMS key ARN', KMS_KEY_ARN), 'KMS key ARNs').optional(),
    },
    expects('an object { arns, namePrefixes }'),
  )
  .refine((value) => value.arns.length + value.namePrefixes.length > 0, {
    error: 'must list at least one secret in arns or namePrefixes',
  });

/** Secrets that live in other accounts (a security account): their events are forwarded to this stack. */
const sourceAccountsSchema = z.strictObject(
  {
    arns: list(secretArn, 'full secret ARNs').min(1, expects('a non-empty list of full secret ARNs')),
    // With it, the bus accepts the organization's accounts; without it, exactly the accounts of `arns`.
    organizationId: text('an AWS Organizations id (o-…)', /^o-[a-z0-9]{10,32}$/).optional(),
    // The source accounts' customer managed keys, if the secrets use them (the key policy must allow it).
    kmsKeyArns: list(text('a KMS key ARN', KMS_KEY_ARN), 'KMS key ARNs').optional(),
  },
  expects('an object { arns, organizationId?, kmsKeyArns? }'),
);

/** An EKS cluster whose audit log group (CloudWatch Logs) feeds the audit function. */
const eksAuditLogSchema = z.strictObject(
  {
    clusterName: text('an EKS cluster name', /^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$/),
    // EKS writes control-plane logs to /aws/eks/<cluster>/cluster unless told otherwise.
    logGroupName: text('a CloudWatch Logs group name', /^[.\-_/#A-Za-z0-9]{1,512}$/).optional(),
  },
  expects('an object { clusterName, logGroupName? }'),
);

const vpcSchema = z.strictObject(
  {
    vpcId: text('a VPC id (vpc-…)', /^vpc-[0-9a-f]{8,17}$/),
    subnetIds: list(text('a subnet id (subnet-…)', /^subnet-[0-9a-f]{8,17}$/), 'subnet ids').min(
      1,
      expects('a non-empty list of subnet ids'),
    ),
    securityGroupIds: list(
      text('a security group id (sg-…)', /^sg-[0-9a-f]{8,17}$/),
      'security group ids',
    ).min(1, expects('a non-empty list of security group ids')),
  },
  expects('an object { vpcId, subnetIds, securityGroupIds }'),
);

const alarmSchema = z.strictObject(
  {
    email: z.email(expects('an e-mail address')).optional(),
    snsTopicArn: text('an SNS topic ARN', SNS_TOPIC_ARN).optional(),
  },
  expects('an object { email?, snsTopicArn? }'),
);

/** Reserved concurrency of the audit webhook when `reservedConcurrency.auditWebhook` is not set. */
export const DEFAULT_WEBHOOK_CONCURRENCY = 10;

const reservedSchema = z.strictObject(
  {
    rotation: integer(1, 1000).optional(),
    // Reserved by default: a flood of audit batches must neither starve the other functions nor be
    // able to scale the internet-facing webhook to the account's limit.
    auditWebhook: integer(1, 1000).default(DEFAULT_WEBHOOK_CONCURRENCY),
    distribution: integer(1, 1000).optional(),
    sweep: integer(1, 1000).optional(),
  },
  expects('an object { rotation?, auditWebhook?, distribution?, sweep? }'),
);

const environmentSchema = z
  .strictObject(
    {
      account: text('a 12-digit AWS account id', ACCOUNT),
      region: text('an AWS region such as eu-west-1', REGION),
      managementKubeconfigSecretArn: secretArn,
      systemNamespace: namespace.default('kcm-system'),
      watchNamespaces: list(namespace, 'namespace names').default([]),
      watchedSecrets: watchedSecretsSchema,
      sourceAccounts: sourceAccountsSchema.optional(),
      eksAuditLogs: list(eksAuditLogSchema, 'EKS clusters').default([]),
      vpc: vpcSchema.optional(),
      sweepIntervalMinutes: integer(5, 1440).default(30),
      archiveRetentionDays: integer(1, 3650).default(30),
      alarm: alarmSchema.default({}),
      logRetentionDays: z
        .number(expects(`one of ${LOG_RETENTION_DAYS.join(', ')}`))
        .refine((days) => (LOG_RETENTION_DAYS as readonly number[]).includes(days), {
          error: `must be one of ${LOG_RETENTION_DAYS.join(', ')}`,
        })
        .default(30),
      architecture: z.enum(['arm64', 'x86_64'], expects('"arm64" or "x86_64"')).default('arm64'),
      memorySize: integer(128, 10240).default(512),
      assumeRoleArns: list(text('an IAM role ARN', ROLE_ARN), 'IAM role ARNs').default([]),
      cloudTrailRule: z.boolean(expects('true or false')).default(false),
      // The Kubernetes username the functions act as in the management cluster, so the audit webhook can
      // drop their own writes (no feedback loop); unset = the function's default, the ServiceAccount.
      relayUsername: z
        .string(expects('a Kubernetes username'))
        .min(1, expects('a Kubernetes username'))
        .optional(),
      reservedConcurrency: reservedSchema.prefault({}),
      // docs/threat-model.md › Threat model: which sources each namespace may bind, and where cluster servers may be.
      bindingScopes: bindingScopesSchema.optional(),
      clusterHosts: list(hostPatternSchema, 'hostnames, *.suffix wildcards or CIDRs').default([]),
    },
    expects('an object with at least account, region, managementKubeconfigSecretArn, watchedSecrets'),
  )
  .superRefine((env, ctx) => {
    // The default event bus only sees this account's and region's Secrets Manager events. (Skipped
    // when account or region is itself invalid: that issue is the one to report.)
    if (!ACCOUNT.test(env.account) || !REGION.test(env.region)) return;
    env.watchedSecrets.arns.forEach((arn, index) => {
      const [, , , region, account] = arn.split(':');
      if (region !== env.region || account !== env.account) {
        ctx.addIssue({
          code: 'custom',
          path: ['watchedSecrets', 'arns', index],
          message: `must be in account ${env.account} and region ${env.region} (events from elsewhere never reach this stack)`,
          input: arn,
        });
      }
    });
    (env.sourceAccounts?.arns ?? []).forEach((arn, index) => {
      const [, , , region, account] = arn.split(':');
      if (region !== env.region || account === env.account)
        ctx.addIssue({
          code: 'custom',
          path: ['sourceAccounts', 'arns', index],
          message:
            account === env.account
              ? `is in this stack's account ${env.account}: list it in watchedSecrets`
              : `must be in region ${env.region} (the functions read secrets in their own region)`,
          input: arn,
        });
    });
    const elsewhere = new Set(env.sourceAccounts?.arns ?? []);
    for (const [namespace, scope] of Object.entries(env.bindingScopes ?? {}))
      scope.arns.forEach((arn, index) => {
        const [, , , region, account] = arn.split(':');
        if (elsewhere.has(arn)) return;
        if (region !== env.region || account !== env.account)
          ctx.addIssue({
            code: 'custom',
            path: ['bindingScopes', namespace, 'arns', index],
            message: `must be in account ${env.account} and region ${env.region} (the functions read only watched secrets)`,
            input: arn,
          });
      });
  });

/** One environment's validated configuration, defaults applied. */
export type RelayConfig = z.output<typeof environmentSchema> & { name: string };

/** A configuration problem, reported as exactly one line. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`)).join('');
}

function formatIssue(prefix: string, issue: z.core.$ZodIssue): string {
  if (issue.code === 'unrecognized_keys') {
    const keys = issue.keys.map((key) => `${prefix}${formatPath([...issue.path, key])}`).join(', ');
    return `unknown key ${keys} (check the spelling against docs/deploy.md › Deploying identity-relay)`;
  }
  return `${prefix}${formatPath(issue.path)} ${issue.message}`;
}

/** Validates one environment object; throws ConfigError with a one-line message naming the key. */
export function parseEnvironment(name: string, value: unknown): RelayConfig {
  const result = environmentSchema.safeParse(value);
  if (!result.success) {
    const [first] = result.error.issues;
    const more = result.error.issues.length > 1 ? ` (and ${result.error.issues.length - 1} more)` : '';
    const line = first ? formatIssue(`${ENVIRONMENTS_CONTEXT_KEY}.${name}`, first) : 'is invalid';
    throw new ConfigError(`cdk.json context ${line}${more}`);
  }
  return { ...result.data, name };
}

/** Picks the environment named by `-c env=<name>` from the app context and validates it. */
export function loadConfig(context: { tryGetContext(key: string): unknown }): RelayConfig {
  const environments = context.tryGetContext(ENVIRONMENTS_CONTEXT_KEY);
  if (typeof environments !== 'object' || environments === null || Array.isArray(environments)) {
    throw new ConfigError(
      `cdk.json context ${ENVIRONMENTS_CONTEXT_KEY} is required: an object of environments`,
    );
  }
  const names = Object.keys(environments).join(', ');
  const name = context.tryGetContext('env');
  if (typeof name !== 'string' || name === '') {
    throw new ConfigError(`context env is required: pass -c env=<name>, one of: ${names}`);
  }
  if (!Object.hasOwn(environments, name)) {
    throw new ConfigError(`context env must name an entry of ${ENVIRONMENTS_CONTEXT_KEY}, one of: ${names}`);
  }
  return parseEnvironment(name, (environments as Record<string, unknown>)[name]);
}

/** The ARN partition of a region (`aws`, `aws-cn`, `aws-us-gov`), so ARNs can be written literally. */
export function partitionOf(region: string): string {
  if (region.startsWith('cn-')) return 'aws-cn';
  if (region.startsWith('us-gov-')) return 'aws-us-gov';
  return 'aws';
}

/**
 * IAM resource patterns for the watched secrets: exact ARNs, `<prefix>*` for name prefixes, and the
 * secrets of other accounts (exact ARNs).
 */
export function watchedSecretResources(config: RelayConfig): string[] {
  const base = `arn:${partitionOf(config.region)}:secretsmanager:${config.region}:${config.account}:secret:`;
  return [
    ...config.watchedSecrets.arns,
    ...config.watchedSecrets.namePrefixes.map((p) => `${base}${p}*`),
    ...(config.sourceAccounts?.arns ?? []),
  ];
}

/** The KMS keys the watched secrets may be encrypted with, this account's and the source accounts'. */
export function watchedKmsKeyArns(config: RelayConfig): string[] | undefined {
  const keys = [...(config.watchedSecrets.kmsKeyArns ?? []), ...(config.sourceAccounts?.kmsKeyArns ?? [])];
  return keys.length > 0 ? keys : config.watchedSecrets.kmsKeyArns;
}

/** The accounts whose secrets' events this stack's bus accepts (forwarded by their SourceForwarder). */
export function sourceAccountIds(config: RelayConfig): string[] {
  return [...new Set((config.sourceAccounts?.arns ?? []).map((arn) => arn.split(':')[4] ?? ''))].sort();
}

/** The namespaces functions look for bound Secrets in: the system namespace first, then the rest. */
export function allWatchNamespaces(config: RelayConfig): string[] {
  return [...new Set([config.systemNamespace, ...config.watchNamespaces])];
}
