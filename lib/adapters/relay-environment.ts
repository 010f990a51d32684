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
  MANAGEMENT_KUBECONFIG_SECRET_ARN: z.string().optional(),
  AUDIT_TOKEN_SECRET_ARN: z.string().optional(),
  ALLOW_LOOPBACK_CLUSTERS: z.string().optional(),
  ALLOW_INSECURE_TLS: z.string().optional(),
  AWS_REGION: z.string().optional(),
});

/**
 * Reads the policies from the environment (`BINDING_SCOPES`, `CLUSTER_HOSTS`, `ASSUME_ROLE_ARNS`,
 * `ALLOW_LOOPBACK_CLUSTERS`, `ALLOW_INSECURE_TLS`, the two own secrets' ARNs); throws InvalidInput
 * naming the variable. EKS tokens are signed with the SDK's default credentials.
 */
export function policiesFromEnvironment(env: NodeJS.ProcessEnv): RelayPolicies {
  const parsed = environmentSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidInput(`${issue?.path.join('.') ?? 'environment'}: ${issue?.message ?? 'is invalid'}`);
  }
  const config = parsed.data;
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
