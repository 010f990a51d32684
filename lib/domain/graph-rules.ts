import { getPath, isRecord, type KubeObject, type ObjectRef } from './objects.js';

// Which objects a Credential may make identity-relay read and copy. identity-relay can read every
// identity and Secret of the management cluster; whoever writes a Credential (or an identity in their
// own namespace) must not be able to use that to get an object they could not read copied where they
// can read it (docs/fan-out.md › Threat model: the graph). Pure functions: the use-case reads, these decide.

/** How a Credential's objects are followed: from the platform (system namespace, cluster scope) or its own namespace. */
export type GraphMode = 'platform' | 'own';

/** Where a Credential's identity is read from, or why it is refused. */
export type IdentitySource = { ref: ObjectRef; mode: GraphMode } | { refused: string };

/** The Credential's side of the rules. */
export interface CredentialScope {
  namespace: string;
  name: string;
  identityRef: ObjectRef;
}

/**
 * Where to read the identity a Credential names. As kcm does, a namespaced identity is read from the
 * system namespace; a tenant Credential may instead name an identity of its own namespace (the shape of
 * kcm's documented examples, and of AccessManagement's copies), and never one of another namespace.
 */
export function identitySource(
  credential: CredentialScope,
  namespaced: boolean,
  systemNamespace: string,
): IdentitySource {
  const { namespace: named, ...rest } = credential.identityRef;
  if (!namespaced) return { ref: rest, mode: 'platform' };
  const tenant = credential.namespace !== systemNamespace;
  if (tenant && named === credential.namespace)
    return { ref: { ...rest, namespace: credential.namespace }, mode: 'own' };
  if (tenant && named !== undefined && named !== systemNamespace)
    return {
      refused: `Credential ${credential.namespace}/${credential.name} names ${rest.kind} ${named}/${rest.name} in another namespace: a Credential may name an identity of its own namespace, or a platform identity (system namespace or cluster-scoped) whose spec.allowedNamespaces admits ${credential.namespace}`,
    };
  return { ref: { ...rest, namespace: systemNamespace }, mode: 'platform' };
}

/**
 * Whether a platform identity may serve a Credential. The system namespace's own Credentials may use
 * any (the platform's operators wrote both). A tenant's may use one only where its
 * `spec.allowedNamespaces` admits the tenant's namespace: that field is how Cluster API (CAPA, CAPV,
 * CAPZ) lets the platform share an identity, and without it identity-relay would hand any tenant any
 * platform credential. undefined when admitted, else the refusal.
 */
export function admissionProblem(
  credential: CredentialScope,
  identity: KubeObject,
  systemNamespace: string,
  namespaceLabels: Record<string, string> | undefined,
): string | undefined {
  if (credential.namespace === systemNamespace) return undefined;
  const allowed = getPath(identity, 'spec.allowedNamespaces');
  if (admits(allowed, credential.namespace, namespaceLabels)) return undefined;
  const where = identity.metadata.namespace ? `${identity.metadata.namespace}/` : '';
  return `${identity.kind} ${where}${identity.metadata.name} does not admit namespace ${credential.namespace} (spec.allowedNamespaces ${allowed === undefined || allowed === null ? 'is not set' : 'excludes it'}): add the namespace to spec.allowedNamespaces.list, or give the Credential an identity of its own namespace`;
}

/** Whether `spec.allowedNamespaces` needs the Namespace's labels to decide (it has a selector). */
export function needsNamespaceLabels(identity: KubeObject): boolean {
  const selector = getPath(identity, 'spec.allowedNamespaces.selector');
  return isRecord(selector) && hasTerms(selector);
}

/**
 * Cluster API's `allowedNamespaces`: absent or null admits no namespace, `{}` (no list entries, no
 * selector terms) admits all, else a namespace is admitted when `list` names it or `selector` matches
 * its labels. An empty selector beside a list adds nothing (stricter than a selector matching all).
 */
export function admits(
  allowed: unknown,
  namespace: string,
  labels: Record<string, string> | undefined,
): boolean {
  if (!isRecord(allowed)) return false;
  const list = Array.isArray(allowed.list) ? allowed.list : [];
  const selector = isRecord(allowed.selector) ? allowed.selector : undefined;
  const selecting = selector !== undefined && hasTerms(selector);
  if (list.length === 0 && !selecting) return true;
  if (list.includes(namespace)) return true;
  return selecting && labels !== undefined && selectorMatches(selector, labels);
}

/** A Kubernetes label selector (`matchLabels`, `matchExpressions` with In, NotIn, Exists, DoesNotExist) against labels. */
export function selectorMatches(selector: Record<string, unknown>, labels: Record<string, string>): boolean {
  const matchLabels = isRecord(selector.matchLabels) ? selector.matchLabels : {};
  for (const [key, value] of Object.entries(matchLabels)) if (labels[key] !== value) return false;
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions : [];
  return expressions.every((expression: unknown) => {
    if (!isRecord(expression) || typeof expression.key !== 'string') return false;
    const values = Array.isArray(expression.values) ? expression.values : [];
    const has = Object.hasOwn(labels, expression.key);
    const value = labels[expression.key];
    switch (expression.operator) {
      case 'In':
        return has && values.includes(value);
      case 'NotIn':
        return !has || !values.includes(value);
      case 'Exists':
        return has;
      case 'DoesNotExist':
        return !has;
      default:
        return false; // an unknown operator matches nothing, as the apiserver would reject it
    }
  });
}

/**
 * Whether an object reached from a Credential's identity may be followed. A platform identity's
 * references are followed as kcm does (the platform wrote them). From a tenant's own namespace, every
 * reference must stay in that namespace: a namespace path naming another team's or the system
 * namespace, or a cluster-scoped object, would copy what the tenant cannot read to where it can.
 */
export function referenceProblem(
  mode: GraphMode,
  credential: CredentialScope,
  from: KubeObject,
  ref: ObjectRef,
): string | undefined {
  if (mode === 'platform' || ref.namespace === credential.namespace) return undefined;
  const target = `${ref.kind} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name}`;
  return `${from.kind} ${from.metadata.namespace}/${from.metadata.name} references ${target}, outside namespace ${credential.namespace}: an identity of a tenant namespace may reference only objects of that namespace`;
}

function hasTerms(selector: Record<string, unknown>): boolean {
  const labels = isRecord(selector.matchLabels) ? Object.keys(selector.matchLabels).length : 0;
  const expressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions.length : 0;
  return labels + expressions > 0;
}
