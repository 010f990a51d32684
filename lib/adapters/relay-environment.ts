import { STSClient } from '@aws-sdk/client-sts';
import * as z from 'zod';
import { type HostPolicy, hostPatternSchema, parseHostPattern } from '../domain/hosts.js';
import { type BindingPolicy, bindingScopesSchema } from '../domain/policy.js';
import { InvalidInput } from '../errors.js';
import { describeClusterEndpoint, eksTokens } from './eks-token.js';
import type { AccessOptions } from './kubeconfig.js';

/** The rules the functions and the CLI alike act under, from one environment (docs/threat-model.md › Threat model). */
export interface RelayPolicies {
  /** Which sources each namespace's bindings may name; identity-relay's own secrets never. */
  bindingPolicy: BindingPolicy;
  /** How regional clusters are reached: host allowlist, insecure TLS, EKS tokens under the role list. */
  regions: AccessOptions;
  /** The management cluster: operator-provided, so no allowlist, but the always-refused hosts still. */
  management: AccessOptions;
}

const list = (text: string | undefined) =>
  (text ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter(Boolean);

/** An optional variable; set but empty counts as unset. */
const optionalText = z
  .string()
  .optional()
  .transform((text) => (text ? text : undefined));

/** An optional positive integer given as text. */
const positiveInteger = z
  .string()
  .optional()
  .transform((text, ctx) => {
    if (!text) return undefined;
    const value = Number(text);
    if (Number.isInteger(value) && value > 0) return value;
    ctx.addIssue({ code: 'custom', message: 'is not a positive integer' });
    return z.NEVER;
  });

/** The user the functions act as in the management cluster (the audit filter drops its own writes). */
const RELAY_USERNAME = 'system:serviceaccount:identity-relay-system:identity-relay';

/**
 * Every variable the functions and the CLI read, in one schema: the contract of docs/deploy.md ›
 * Configuration (environment of the functions).
 */
const environmentSchema = z.object({
  BINDING_SCOPES: z
    .string()
    .optional()
    .transform((text, ctx) => {
      if (!text) return undefined;
      try {
        return JSON.parse(text) as unknown;
      } catch {
        ctx.addIssue({ code: 'custom', message: 'is not JSON' });
        return z.NEVER;
      }
    })
    .pipe(bindingScopesSchema.optional()),
  CLUSTER_HOSTS: z
    .string()
    .optional()
    .transform((text) => list(text))
    .pipe(z.array(hostPatternSchema)),
  ASSUME_ROLE_ARNS: z
    .string()
    .optional()
    .transform((text) => list(text)),
  MANAGEMENT_KUBECONFIG_SECRET_ARN: optionalText,
  AUDIT_TOKEN_SECRET_ARN: optionalText,
  ALLOW_LOOPBACK_CLUSTERS: z.string().optional(),
  ALLOW_INSECURE_TLS: z.string().optional(),
  AWS_REGION: optionalText,
  SYSTEM_NAMESPACE: z
    .string()
    .optional()
    .transform((text) => text || 'kcm-system'),
  /** Namespaces with bound Secrets; empty: the system namespace alone. */
  WATCH_NAMESPACES: z
    .string()
    .optional()
    .transform((text) => list(text)),
  WORK_QUEUE_URL: optionalText,
  DEAD_LETTER_QUEUE_URL: optionalText,
  DISTRIBUTION_QUEUE_URL: optionalText,
  QUARANTINE_QUEUE_URL: optionalText,
  EVENT_BUS_NAME: optionalText,
  MAX_RECEIVE_COUNT: positiveInteger,
  POWERTOOLS_METRICS_NAMESPACE: z
    .string()
    .optional()
    .transform((text) => text || 'IdentityRelay'),
  RELAY_USERNAME: z
    .string()
    .optional()
    .transform((text) => text || RELAY_USERNAME),
  IDENTITY_KINDS: z
    .string()
    .optional()
    .transform((text) => (text ? list(text) : undefined)),
  AUDIT_MAX_BODY_BYTES: positiveInteger.transform((value) => value ?? 6 * 1024 * 1024),
  // The CLI's own.
  KUBECONFIG: optionalText,
  IDENTITY_RELAY_POLL_MS: positiveInteger,
});

/** The environment, read and checked once. */
export type RelayEnvironment = z.output<typeof environmentSchema> & {
  /** The namespaces to look for bound Secrets in: WATCH_NAMESPACES, else the system namespace. */
  watchNamespaces: string[];
};

/** Reads every variable identity-relay knows; throws InvalidInput naming the first bad one. */
export function readEnvironment(env: NodeJS.ProcessEnv): RelayEnvironment {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidInput(`${issue?.path.join('.') ?? 'environment'}: ${issue?.message ?? 'is invalid'}`);
  }
  const config = parsed.data;
  const watchNamespaces =
    config.WATCH_NAMESPACES.length > 0 ? config.WATCH_NAMESPACES : [config.SYSTEM_NAMESPACE];
  return { ...config, watchNamespaces };
}

/**
 * The policies of a read environment (`BINDING_SCOPES`, `CLUSTER_HOSTS`, `ASSUME_ROLE_ARNS`,
 * `ALLOW_LOOPBACK_CLUSTERS`, `ALLOW_INSECURE_TLS`, the two own secrets' ARNs). EKS tokens are signed with
 * the SDK's default credentials.
 */
export function policiesFromEnvironment(config: RelayEnvironment): RelayPolicies {
  const allowLoopback = config.ALLOW_LOOPBACK_CLUSTERS === 'true';
  const sts = new STSClient({});
  const shared: AccessOptions = {
    allowInsecureTls: config.ALLOW_INSECURE_TLS === 'true',
    eks: eksTokens({
      sts,
      credentials: () => sts.config.credentials(),
      region: config.AWS_REGION ?? 'us-east-1',
      allowedRoles: config.ASSUME_ROLE_ARNS,
      clusterEndpoint: describeClusterEndpoint(),
    }),
  };
  const regionHosts: HostPolicy = { allow: config.CLUSTER_HOSTS.map(parseHostPattern), allowLoopback };
  return {
    bindingPolicy: {
      ...(config.BINDING_SCOPES ? { scopes: config.BINDING_SCOPES } : {}),
      protectedSources: [config.MANAGEMENT_KUBECONFIG_SECRET_ARN, config.AUDIT_TOKEN_SECRET_ARN].filter(
        (arn): arn is string => Boolean(arn),
      ),
    },
    regions: { ...shared, hosts: regionHosts },
    management: { ...shared, hosts: { allow: [], allowLoopback } },
  };
}
