import { InvalidInput } from '../errors.js';

/** The slice of a Kubernetes object identity-relay reads and writes. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  [field: string]: unknown;
}

/** Names one object: apiVersion and kind, name, and namespace for namespaced kinds. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  name: string;
  namespace?: string;
}

/** A stable text key of an object reference, used for maps and log fields. */
export function refKey(ref: ObjectRef): string {
  return `${ref.apiVersion}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}

/** The reference of an object. */
export function refOf(object: KubeObject): ObjectRef {
  const { namespace } = object.metadata;
  return namespace
    ? { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name, namespace }
    : { apiVersion: object.apiVersion, kind: object.kind, name: object.metadata.name };
}

/** `group/version` as an apiVersion (the core group is written as `v1`). */
export function apiVersionOf(group: string | undefined, version: string): string {
  return group ? `${group}/${version}` : version;
}

/**
 * Segments a field path may never name: a ProviderInterface is written by users, and these would
 * reach (and let `setPath` pollute) the prototypes of every object in the process.
 */
const FORBIDDEN_SEGMENTS = new Set(['__proto__', 'constructor', 'prototype']);

/** Reads a dotted field path (`spec.secretRef`, `.spec.clientSecret.name`) of an object; own fields only. */
export function getPath(object: unknown, path: string): unknown {
  let current: unknown = object;
  for (const part of splitPath(path)) {
    if (current === null || typeof current !== 'object') return undefined;
    if (FORBIDDEN_SEGMENTS.has(part) || !Object.hasOwn(current, part)) return undefined;
    current = (current as Record<string, unknown>)[part];
  }
  return current;
}

/** Returns a copy of `object` with the dotted field path set to `value`, creating parents as needed. */
export function setPath<T>(object: T, path: string, value: unknown): T {
  const parts = splitPath(path);
  const forbidden = parts.find((part) => FORBIDDEN_SEGMENTS.has(part));
  if (forbidden !== undefined)
    throw new InvalidInput(`field path "${path.slice(0, 100)}" names "${forbidden}", which is never written`);
  const copy = structuredClone(object) as Record<string, unknown>;
  let current = copy;
  for (const [index, part] of parts.entries()) {
    if (index === parts.length - 1) {
      current[part] = value;
    } else {
      const next = Object.hasOwn(current, part) ? current[part] : undefined;
      current[part] = next !== null && typeof next === 'object' ? next : {};
      current = current[part] as Record<string, unknown>;
    }
  }
  return copy as T;
}

function splitPath(path: string): string[] {
  return path.split('.').filter((part) => part.length > 0);
}

/** Annotations, labels and names identity-relay owns or shares with kcm (the contracts in README). */
export const ANNOTATIONS = {
  source: 'identity-relay.dev/source',
  format: 'identity-relay.dev/format',
  keys: 'identity-relay.dev/keys',
  sourceVersion: 'identity-relay.dev/source-version',
  /** When Secrets Manager created the applied version: the order no write may go back on. */
  sourceCreated: 'identity-relay.dev/source-created',
  contentHash: 'identity-relay.dev/content-hash',
  syncedAt: 'identity-relay.dev/synced-at',
  /**
   * On a bound Secret, off by default: Deployments (`namespace/name`, comma-separated) to restart in each
   * target after its copy changes, for consumers that cache credentials.
   */
  restartDeployments: 'identity-relay.dev/restart-deployments',
  /** On a restarted Deployment's pod template: when identity-relay restarted it. */
  restartedAt: 'identity-relay.dev/restarted-at',
  /** On a source's first bound Secret: the version whose `Credential Propagated` event was sent (sent once). */
  propagatedVersion: 'identity-relay.dev/propagated-version',
} as const;

export const LABELS = {
  bound: 'identity-relay.dev/bound',
  managed: 'k0rdent.mirantis.com/managed',
  k0rdentPrefix: 'k0rdent.mirantis.com/',
} as const;

export const FIELD_MANAGER = 'identity-relay';

/**
 * Whether `next` carries an older source version than `current` holds, by the versions' creation times
 * (`identity-relay.dev/source-created`). Unknown on either side is not older: only a known order forbids.
 */
export function isOlderSource(next: KubeObject, current: KubeObject | undefined): boolean {
  const nextAt = Date.parse(next.metadata.annotations?.[ANNOTATIONS.sourceCreated] ?? '');
  const currentAt = Date.parse(current?.metadata.annotations?.[ANNOTATIONS.sourceCreated] ?? '');
  return Number.isFinite(nextAt) && Number.isFinite(currentAt) && nextAt < currentAt;
}

/** Whether a value is a plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
