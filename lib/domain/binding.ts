import { InvalidInput } from '../errors.js';
import { type FormatName, isFormatName, parseKeysAnnotation } from './formats.js';
import { contentHash } from './hash.js';
import { ANNOTATIONS, type KubeObject, LABELS, type ObjectRef, refOf } from './objects.js';
import { type BindingPolicy, checkBindingSource } from './policy.js';

/** A management-cluster Secret bound to a Secrets Manager secret by identity-relay's annotations. */
export interface Binding {
  secret: ObjectRef;
  source: string;
  format: FormatName;
  keys?: Record<string, string>;
  /** Deployments to restart in each target after the copy changes (off unless annotated). */
  restart?: Array<{ namespace: string; name: string }>;
}

/**
 * Reads the binding of a Secret labelled `identity-relay.dev/bound`; throws InvalidInput naming the bad
 * annotation, and Refused when `policy` does not let the Secret's namespace name its source.
 */
export function readBinding(secret: KubeObject, policy?: BindingPolicy): Binding {
  const annotations = secret.metadata.annotations ?? {};
  const where = `Secret ${secret.metadata.namespace}/${secret.metadata.name}`;
  const source = annotations[ANNOTATIONS.source]?.trim();
  if (!source)
    throw new InvalidInput(`${where}: annotation ${ANNOTATIONS.source} is missing (a secret ARN or name)`);
  if (policy) checkBindingSource(policy, where, secret.metadata.namespace ?? '', source);
  const format = annotations[ANNOTATIONS.format]?.trim() ?? '';
  if (!isFormatName(format)) {
    throw new InvalidInput(
      `${where}: annotation ${ANNOTATIONS.format} must be one of the formats in README, got ${JSON.stringify(format.slice(0, 40))}`,
    );
  }
  const keysText = annotations[ANNOTATIONS.keys];
  const binding: Binding = { secret: refOf(secret), source, format };
  const restart = annotations[ANNOTATIONS.restartDeployments];
  if (restart !== undefined) {
    try {
      binding.restart = parseRestartDeployments(restart);
    } catch (error) {
      throw new InvalidInput(`${where}: ${(error as Error).message}`, error);
    }
  }
  if (keysText !== undefined) {
    try {
      binding.keys = parseKeysAnnotation(keysText);
    } catch (error) {
      throw new InvalidInput(`${where}: ${(error as Error).message}`, error);
    }
  }
  return binding;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * The Deployments a binding restarts in each target after its copy changes: `namespace/name`, comma-
 * separated. Throws naming the first entry that is not one.
 */
export function parseRestartDeployments(text: string): Array<{ namespace: string; name: string }> {
  const entries = text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean);
  return entries.map((entry) => {
    const [namespace = '', name = '', extra] = entry.split('/');
    if (extra !== undefined || !DNS_LABEL.test(namespace) || !DNS_SUBDOMAIN.test(name))
      throw new Error(
        `annotation ${ANNOTATIONS.restartDeployments}: ${JSON.stringify(entry.slice(0, 80))} is not NAMESPACE/NAME of a Deployment`,
      );
    return { namespace, name };
  });
}

/** The source version a Secret reports it holds. */
export interface SourceVersion {
  versionId: string;
  arn: string;
}

/** The hash identity-relay records for the data it manages in a Secret (base64 values, sorted keys). */
export function dataHash(data: Record<string, string>): string {
  return contentHash(data);
}

/** Base64 of every value, as a Secret's `data` holds it. */
export function toSecretData(stringData: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(stringData).map(([k, v]) => [k, Buffer.from(v, 'utf8').toString('base64')]),
  );
}

/** Whether the Secret already holds `data` for its managed keys and records `versionId`: then nothing is written. */
export function isCurrent(secret: KubeObject, data: Record<string, string>, versionId: string): boolean {
  const existing = (secret.data ?? {}) as Record<string, string>;
  const sameData = Object.entries(data).every(([k, v]) => existing[k] === v);
  return sameData && secret.metadata.annotations?.[ANNOTATIONS.sourceVersion] === versionId;
}

/**
 * The server-side apply body for a bound Secret: only the fields identity-relay owns (its data keys and
 * its annotations), so other managers' fields and keys stay theirs.
 */
export function buildManagementApply(
  secret: ObjectRef,
  data: Record<string, string>,
  versionId: string,
  now: Date,
  /** When the version was created (its order), and the resourceVersion the write was planned from. */
  guard: { createdAt?: Date; resourceVersion?: string } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: secret.name,
      ...(secret.namespace ? { namespace: secret.namespace } : {}),
      ...(guard.resourceVersion ? { resourceVersion: guard.resourceVersion } : {}),
      labels: { [LABELS.bound]: 'true' },
      annotations: {
        [ANNOTATIONS.sourceVersion]: versionId,
        ...(guard.createdAt ? { [ANNOTATIONS.sourceCreated]: guard.createdAt.toISOString() } : {}),
        [ANNOTATIONS.contentHash]: dataHash(data),
        [ANNOTATIONS.syncedAt]: now.toISOString(),
      },
    },
    data,
  };
}
