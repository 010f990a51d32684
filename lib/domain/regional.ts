import { createHash } from 'node:crypto';
import { contentHash } from './hash.js';
import {
  ANNOTATIONS,
  isOlderSource,
  type KubeObject,
  LABELS,
  type ObjectRef,
  refKey,
  refOf,
  setPath,
} from './objects.js';

// What a regional cluster should hold, and the steps to get it there. Pure: `now` is an argument.

/**
 * kcm's per-Credential label key. kcm writes `credential.<ns>.<name>`, which breaks past 63 characters;
 * identity-relay then uses a fixed-length hashed form that stays valid.
 */
export function credentialLabelKey(namespace: string, name: string): string {
  const plain = `credential.${namespace}.${name}`;
  if (plain.length <= 63) return `${LABELS.k0rdentPrefix}${plain}`;
  const digest = createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 40);
  return `${LABELS.k0rdentPrefix}credential-sha.${digest}`;
}

/** Whether a label key is a kcm/identity-relay per-Credential label. */
export function isCredentialLabel(key: string): boolean {
  return (
    key.startsWith(`${LABELS.k0rdentPrefix}credential.`) ||
    key.startsWith(`${LABELS.k0rdentPrefix}credential-sha.`)
  );
}

/** The content a copy must match: a Secret's type and data, or any other object's spec. */
export function bodyOf(object: KubeObject): Record<string, unknown> {
  if (object.apiVersion === 'v1' && object.kind === 'Secret') {
    return { type: object.type ?? 'Opaque', data: object.data ?? {} };
  }
  return { spec: object.spec ?? {} };
}

/** The hash of what a regional copy carries: its body and the source version it came from. */
export function copyHash(object: KubeObject): string {
  return contentHash({
    body: bodyOf(object),
    sourceVersion: object.metadata.annotations?.[ANNOTATIONS.sourceVersion],
  });
}

/** One object wanted in a region, with the Credentials that need it. */
export interface DesiredCopy {
  object: KubeObject;
  hash: string;
  /** Distance from the identity a Credential names (0); deeper objects are written first. */
  tier: number;
}

/**
 * Builds the copy of a management object for a region: same body (with the namespace field rewritten
 * when the reference has a namespace path), kcm's labels for every Credential that needs it, and no
 * owner references, finalizers or server-set metadata.
 */
export function buildCopy(
  source: KubeObject,
  options: {
    credentials: Array<{ namespace: string; name: string }>;
    tier: number;
    /** Where the copy goes when a reference's namespace path moves it into the Credential's namespace. */
    namespace?: string;
    /** Namespace fields of the body to point at the Credential's namespace. */
    rewrite?: { paths: string[]; namespace: string };
    now: Date;
  },
): DesiredCopy {
  const labels: Record<string, string> = {};
  for (const [key, value] of Object.entries(source.metadata.labels ?? {})) {
    if (key !== LABELS.bound && !isCredentialLabel(key)) labels[key] = value;
  }
  labels[LABELS.managed] = 'true';
  for (const credential of options.credentials)
    labels[credentialLabelKey(credential.namespace, credential.name)] = 'true';

  const annotations: Record<string, string> = {};
  for (const key of [ANNOTATIONS.sourceVersion, ANNOTATIONS.sourceCreated]) {
    const value = source.metadata.annotations?.[key];
    if (value) annotations[key] = value;
  }

  let body = bodyOf(source);
  for (const path of options.rewrite?.paths ?? []) body = setPath(body, path, options.rewrite?.namespace);
  const ref = refOf(source);
  if (options.namespace && ref.namespace) ref.namespace = options.namespace;
  const metadata = {
    name: ref.name,
    ...(ref.namespace ? { namespace: ref.namespace } : {}),
    labels,
    annotations,
  };
  const draft: KubeObject = { apiVersion: source.apiVersion, kind: source.kind, metadata, ...body };
  const hash = copyHash(draft);
  annotations[ANNOTATIONS.contentHash] = hash;
  annotations[ANNOTATIONS.syncedAt] = options.now.toISOString();
  return { object: draft, hash, tier: options.tier };
}

export type RegionAction =
  | {
      op: 'create' | 'update';
      ref: ObjectRef;
      object: KubeObject;
      hash: string;
      previousHash?: string;
      tier: number;
    }
  | { op: 'noop'; ref: ObjectRef; hash: string }
  | { op: 'skip-unmanaged'; ref: ObjectRef; reason: string }
  | { op: 'skip-older'; ref: ObjectRef; reason: string }
  | { op: 'release'; ref: ObjectRef; labels: string[]; tier: number }
  | { op: 'delete'; ref: ObjectRef; tier: number };

/**
 * Plans one region. `existing` maps every desired object's key to what the region holds (undefined when
 * absent); `labelled` lists the region's objects carrying a credential label, for clean-up. A label is
 * stale when its Credential no longer exists (not in `known`), or targets this region (in `active`) but
 * no longer needs that object; labels of Credentials of other regions are left alone. Writes come out
 * deepest tier first (referenced before referencing); releases and deletes come out identities first,
 * so no identity in a region ever points at a missing object.
 */
export function planRegion(input: {
  desired: DesiredCopy[];
  existing: Map<string, KubeObject | undefined>;
  labelled: KubeObject[];
  active: Set<string>;
  known: Set<string>;
}): RegionAction[] {
  const writes: RegionAction[] = [];
  const desiredLabels = new Map<string, Set<string>>();
  for (const copy of input.desired) {
    const ref = refOf(copy.object);
    const key = refKey(ref);
    desiredLabels.set(key, new Set(Object.keys(copy.object.metadata.labels ?? {}).filter(isCredentialLabel)));
    const current = input.existing.get(key);
    if (!current) {
      writes.push({ op: 'create', ref, object: copy.object, hash: copy.hash, tier: copy.tier });
    } else if (current.metadata.labels?.[LABELS.managed] !== 'true') {
      writes.push({ op: 'skip-unmanaged', ref, reason: `exists without label ${LABELS.managed}="true"` });
    } else if (isOlderSource(copy.object, current)) {
      // Another invocation already wrote a newer version: a cluster never moves back.
      writes.push({ op: 'skip-older', ref, reason: 'the region holds a newer source version' });
    } else {
      const previousHash = copyHash(current);
      const labelsMissing = Object.entries(copy.object.metadata.labels ?? {}).some(
        ([k, v]) => current.metadata.labels?.[k] !== v,
      );
      if (previousHash === copy.hash && !labelsMissing) writes.push({ op: 'noop', ref, hash: copy.hash });
      else
        writes.push({
          op: 'update',
          ref,
          // The precondition: the write fails (409) if the object changed since it was read.
          object: withResourceVersion(copy.object, current.metadata.resourceVersion),
          hash: copy.hash,
          previousHash,
          tier: copy.tier,
        });
    }
  }
  writes.sort((a, b) => tierOf(b) - tierOf(a));

  const cleanups: RegionAction[] = [];
  for (const object of input.labelled) {
    if (object.metadata.labels?.[LABELS.managed] !== 'true') continue;
    const ref = refOf(object);
    const wanted = desiredLabels.get(refKey(ref));
    const credentialLabels = Object.keys(object.metadata.labels ?? {}).filter(isCredentialLabel);
    const stale = credentialLabels.filter(
      (label) => !input.known.has(label) || (input.active.has(label) && !wanted?.has(label)),
    );
    if (stale.length === 0) continue;
    const tier = object.apiVersion === 'v1' && object.kind === 'Secret' ? 1 : 0;
    if (stale.length === credentialLabels.length && !wanted) cleanups.push({ op: 'delete', ref, tier });
    else cleanups.push({ op: 'release', ref, labels: stale, tier });
  }
  cleanups.sort((a, b) => tierOf(a) - tierOf(b));
  return [...writes, ...cleanups];
}

function tierOf(action: RegionAction): number {
  return 'tier' in action ? action.tier : 0;
}

function withResourceVersion(object: KubeObject, resourceVersion: string | undefined): KubeObject {
  return resourceVersion ? { ...object, metadata: { ...object.metadata, resourceVersion } } : object;
}

/** Whether a planned step writes to the cluster (skips and no-ops do not). */
export function isWrite(op: RegionAction['op']): boolean {
  return op === 'create' || op === 'update' || op === 'release' || op === 'delete';
}
