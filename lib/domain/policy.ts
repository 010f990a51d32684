/**
 * Which Secrets Manager secrets a namespace's bindings may name. Whoever can create a Secret in a watched
 * namespace can annotate it with any source; these rules keep identity-relay from copying into it a
 * value its author could not read otherwise (a confused deputy).
 *
 * - identity-relay's own secrets (the management kubeconfig, the audit webhook token) are never a source.
 * - With binding scopes configured, a namespace may name only the sources of its entry: exact ARNs
 *   (named by full ARN, partial ARN or name) and name prefixes (names, or ARNs whose name has the prefix);
 *   a namespace without an entry may name none. Without binding scopes every namespace may name any
 *   source the functions can read (their IAM), as before the setting existed.
 *
 * Ids are compared the way lib/domain/secret-id.ts reads them; an ambiguous id (a partial ARN that also
 * reads as another secret's full ARN) is matched when refusing and not when allowing.
 */
import * as z from 'zod';
import { Refused } from '../errors.js';
import { isSecretName, parseSecretArn, secretIdMatches } from './secret-id.js';

/** The sources one namespace's bindings may name. */
export interface SourceScope {
  arns: string[];
  namePrefixes: string[];
}

/** The binding rules of a deployment. */
export interface BindingPolicy {
  /** Namespace → its sources; undefined when no scopes are configured. */
  scopes?: Record<string, SourceScope>;
  /** identity-relay's own secrets (ARNs or names): refused as a source in every namespace. */
  protectedSources: string[];
}

const FULL_SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const NAME_PREFIX = /^[A-Za-z0-9/_+=.@-]+$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The zod schema of binding scopes: `{ "<namespace>": { arns: [full ARNs], namePrefixes: [prefixes] } }`. */
export const bindingScopesSchema = z.record(
  z.string().regex(DNS_LABEL, 'must be a Kubernetes namespace name (DNS label)'),
  z.strictObject({
    arns: z
      .array(
        z
          .string()
          .regex(FULL_SECRET_ARN, 'must be a full Secrets Manager secret ARN ending in -<6 characters>'),
      )
      .default([]),
    namePrefixes: z
      .array(
        z
          .string()
          .regex(NAME_PREFIX, 'must be a secret name prefix (letters, digits and /_+=.@-, no wildcards)'),
      )
      .default([]),
  }),
  {
    error: (issue) =>
      issue.code === 'invalid_key'
        ? 'has a key that is not a Kubernetes namespace name (DNS label)'
        : undefined,
  },
);

/** Why `sourceId` may not be bound in `namespace`, or undefined when it may. */
export function bindingRefusal(
  policy: BindingPolicy,
  namespace: string,
  sourceId: string,
): string | undefined {
  // Compared without case: refusing a look-alike costs nothing, copying the real one costs everything.
  const lower = sourceId.toLowerCase();
  if (policy.protectedSources.some((own) => secretIdMatches(own.toLowerCase(), lower)))
    return `source ${sourceId} is one of identity-relay's own secrets (management kubeconfig or audit webhook token) and is never copied`;
  if (policy.scopes === undefined) return undefined;
  const scope = Object.hasOwn(policy.scopes, namespace) ? policy.scopes[namespace] : undefined;
  if (!scope)
    return `namespace ${namespace} has no entry in the binding scopes, so its Secrets may bind no source`;
  if (
    scope.arns.some((arn) => namesArn(sourceId, arn)) ||
    scope.namePrefixes.some((p) => hasPrefix(sourceId, p))
  )
    return undefined;
  return `source ${sourceId} is not in the binding scopes of namespace ${namespace}`;
}

/** Whether `namespace`'s bindings may name `sourceId`. */
export function bindingAllowed(policy: BindingPolicy, namespace: string, sourceId: string): boolean {
  return bindingRefusal(policy, namespace, sourceId) === undefined;
}

/** Throws Refused when `namespace`'s bindings may not name `sourceId`; `where` names the bound Secret. */
export function checkBindingSource(
  policy: BindingPolicy,
  where: string,
  namespace: string,
  sourceId: string,
): void {
  const refusal = bindingRefusal(policy, namespace, sourceId);
  if (refusal) throw new Refused(`${where}: ${refusal}`);
}

/** Whether `sourceId` (name, partial or full ARN) names exactly the secret of the full ARN `arn`. */
function namesArn(sourceId: string, arn: string): boolean {
  if (sourceId === arn) return true;
  const allowed = parseSecretArn(arn);
  if (!allowed) return false;
  // A name resolves in the deployment's own account and region, where configured ARNs must be.
  if (isSecretName(sourceId)) return sourceId === allowed.name;
  const source = parseSecretArn(sourceId);
  if (!source || source.suffix !== undefined) return false; // a different full ARN is a different secret
  // A partial ARN: the same secret unless its own tail reads as a suffix (then it may name another one).
  return (
    source.partition === allowed.partition &&
    source.region === allowed.region &&
    source.accountId === allowed.accountId &&
    source.resource === allowed.name
  );
}

/**
 * Whether `sourceId` is a name with `prefix`, or an ARN whose name has it (its account and region are
 * bounded by the functions' IAM, which reads only the deployment's own watched secrets).
 */
function hasPrefix(sourceId: string, prefix: string): boolean {
  if (isSecretName(sourceId)) return sourceId.startsWith(prefix);
  const source = parseSecretArn(sourceId);
  // Both readings of an ARN must carry the prefix: its name with and without a possible suffix.
  return source ? source.resource.startsWith(prefix) && source.name.startsWith(prefix) : false;
}
