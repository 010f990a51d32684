import { selectorMatches } from './graph-rules.js';
import { getPath, isRecord, type KubeObject } from './objects.js';

// kcm's AccessManagement (the cluster-scoped singleton `kcm`) copies Credentials from the system namespace
// into target namespaces. identity-relay serves such a copy only where an access rule grants it: the copy
// sits in a tenant namespace, and anyone who can write a Credential there could otherwise label one
// `managed` and have the platform's identity copied next to it. Pure functions over the objects read.

/** One object as a rule sees it: its name and labels. */
export interface Labelled {
  name: string;
  labels: Record<string, string>;
}

const K0RDENT_GROUP = 'k0rdent.mirantis.com';

/**
 * Whether any AccessManagement rule distributes Credential `credential` (as it sits in the system
 * namespace) to `namespace`. A rule names Credentials by the deprecated `credentials` list or by a
 * `resources` entry of kind Credential (names, selector, stringSelector; none of them: every one); its
 * `targetNamespaces` (list, selector, stringSelector; none of them: every namespace) must match too.
 */
export function grantsCredential(
  accessManagements: KubeObject[],
  credential: Labelled,
  namespace: Labelled,
): boolean {
  return accessManagements.some((am) => {
    const rules = getPath(am, 'spec.accessRules');
    return Array.isArray(rules) && rules.some((rule) => ruleGrants(rule, credential, namespace));
  });
}

function ruleGrants(rule: unknown, credential: Labelled, namespace: Labelled): boolean {
  if (!isRecord(rule)) return false;
  if (!matchesSet(rule.targetNamespaces, namespace, 'list')) return false;
  const named = Array.isArray(rule.credentials) && rule.credentials.includes(credential.name);
  const resources = Array.isArray(rule.resources) ? rule.resources : [];
  return (
    named ||
    resources.some(
      (resource) =>
        isRecord(resource) &&
        resource.kind === 'Credential' &&
        (resource.apiGroup === undefined ||
          resource.apiGroup === '' ||
          resource.apiGroup === K0RDENT_GROUP) &&
        matchesSet(resource, credential, 'names'),
    )
  );
}

/** kcm's selection convention: a name list, a selector, a string selector; none of them selects all. */
function matchesSet(set: unknown, object: Labelled, listField: 'list' | 'names'): boolean {
  if (set === undefined || set === null) return true;
  if (!isRecord(set)) return false;
  const list = Array.isArray(set[listField]) ? (set[listField] as unknown[]) : undefined;
  const selector = isRecord(set.selector) ? set.selector : undefined;
  const query =
    typeof set.stringSelector === 'string' && set.stringSelector.trim() ? set.stringSelector : undefined;
  if (!list?.length && !selector && !query) return true;
  return (
    (list?.includes(object.name) ?? false) ||
    (selector !== undefined && selectorMatches(selector, object.labels)) ||
    (query !== undefined && labelQueryMatches(query, object.labels))
  );
}

/**
 * A label query in string form (`a=b,c!=d,e in (f,g),h notin (i),j,!k`) against labels. A term it cannot
 * read matches nothing, so an unreadable selector grants nothing.
 */
export function labelQueryMatches(query: string, labels: Record<string, string>): boolean {
  const terms = query.match(/[^,(]+(\([^)]*\))?/g) ?? [];
  return terms.every((raw) => {
    const term = raw.trim();
    const set = /^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
    if (set) {
      const [, key = '', op, list = ''] = set;
      const values = list.split(',').map((v) => v.trim());
      const has = Object.hasOwn(labels, key);
      return op === 'in'
        ? has && values.includes(labels[key] ?? '')
        : !has || !values.includes(labels[key] ?? '');
    }
    const compare = /^([\w./-]+)\s*(==|=|!=)\s*([\w.-]*)$/.exec(term);
    if (compare) {
      const [, key = '', op, value] = compare;
      return op === '!=' ? labels[key] !== value : labels[key] === value;
    }
    const exists = /^(!?)([\w./-]+)$/.exec(term);
    if (exists) return (exists[1] === '!') !== Object.hasOwn(labels, exists[2] ?? '');
    return false;
  });
}
