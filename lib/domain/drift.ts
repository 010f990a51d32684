/**
 * What the drift sweep decides without reading a secret value: whether a bound Secret still holds what
 * identity-relay applied, and which name prefixes narrow its ListSecrets calls.
 */
import { type Binding, dataHash } from './binding.js';
import { FORMATS } from './formats.js';
import { ANNOTATIONS, type KubeObject } from './objects.js';
import { parseSecretArn } from './secret-id.js';

/** How a bound Secret compares with its source: up to date, behind AWSCURRENT, or its data edited by hand. */
export type BindingDrift = 'current' | 'moved' | 'edited';

/**
 * Above this many candidate keys only the whole candidate set is hashed (2^n subsets would be tried): a
 * `raw` binding with that many keys and a key added by hand then reads as edited, which costs one value
 * read per sweep and no write.
 */
const MAX_SUBSET_KEYS = 10;

/**
 * Compares a bound Secret with the source's AWSCURRENT version and with the content hash identity-relay
 * recorded when it applied the data (`identity-relay.dev/content-hash`, over the keys it filled).
 */
export function bindingDrift(secret: KubeObject, binding: Binding, currentVersionId: string): BindingDrift {
  const annotations = secret.metadata.annotations ?? {};
  if (annotations[ANNOTATIONS.sourceVersion] !== currentVersionId) return 'moved';
  const recorded = annotations[ANNOTATIONS.contentHash];
  // Nothing recorded, nothing to compare: the next rotation records a hash.
  if (recorded === undefined) return 'current';
  return holdsRecordedData(secret, binding, recorded) ? 'current' : 'edited';
}

/**
 * Whether the Secret's data still contains exactly what was hashed. Which keys were filled can depend on
 * the value (optional keys such as `SessionToken`, or every field for `raw`), so every subset of the
 * candidate keys present is tried: a changed or removed bound key matches no subset, while a key someone
 * added beside the bound ones is not mistaken for an edit.
 */
function holdsRecordedData(secret: KubeObject, binding: Binding, recorded: string): boolean {
  const data = (secret.data ?? {}) as Record<string, string>;
  const candidates = candidateKeys(binding, data).filter((key) => Object.hasOwn(data, key));
  const pick = (keys: string[]) => Object.fromEntries(keys.map((key) => [key, data[key] ?? '']));
  if (candidates.length > MAX_SUBSET_KEYS) return dataHash(pick(candidates)) === recorded;
  for (let mask = (1 << candidates.length) - 1; mask > 0; mask -= 1) {
    const keys = candidates.filter((_, i) => (mask & (1 << i)) !== 0);
    if (dataHash(pick(keys)) === recorded) return true;
  }
  return false;
}

/** The data keys a binding can fill: its keys annotation, else its format's keys, else (raw) any key. */
function candidateKeys(binding: Binding, data: Record<string, string>): string[] {
  if (binding.keys !== undefined) return Object.keys(binding.keys).sort();
  const spec = FORMATS[binding.format];
  const keys = new Set(Object.keys(spec.defaultKeys));
  if (spec.plaintextKey !== undefined) keys.add(spec.plaintextKey);
  return keys.size > 0 ? [...keys].sort() : Object.keys(data).sort();
}

/** ListSecrets' largest page. */
export const LIST_PAGE_SIZE = 100;
/** BatchGetSecretValue's largest SecretIdList. */
export const BATCH_READ_SIZE = 20;
/** ListSecrets accepts at most this many values in one name filter. */
export const MAX_NAME_FILTER_VALUES = 10;

/**
 * Name prefixes (at most 10, ListSecrets' limit per filter) that cover every source's name, so the sweep
 * lists only what it watches; undefined when no such set exists (then it lists every secret and matches).
 * Tried in order: the names themselves, their folders (up to the last `/`), their longest common prefix.
 */
export function sourceNamePrefixes(sources: string[]): string[] | undefined {
  const names = sources.map(sourceNamePrefix);
  if (names.length === 0) return undefined;
  const folders = names.map((name) => name.slice(0, name.lastIndexOf('/') + 1) || name);
  for (const candidate of [names, folders]) {
    const prefixes = minimalPrefixes(candidate);
    if (prefixes.length <= MAX_NAME_FILTER_VALUES) return prefixes;
  }
  const common = names.reduce((prefix, name) => {
    let i = 0;
    while (i < prefix.length && prefix[i] === name[i]) i += 1;
    return prefix.slice(0, i);
  });
  return common.length > 0 ? [common] : undefined;
}

/**
 * A prefix of the secret's name: the name itself, or for an ARN the part after `secret:` without what
 * could be the six-character suffix (if those characters belong to the name, it is still a prefix).
 */
function sourceNamePrefix(source: string): string {
  return parseSecretArn(source)?.name ?? source;
}

/** The distinct prefixes, without those another one already covers. */
function minimalPrefixes(prefixes: string[]): string[] {
  const sorted = [...new Set(prefixes)].sort();
  return sorted.filter((prefix, i) => !sorted.slice(0, i).some((shorter) => prefix.startsWith(shorter)));
}

/**
 * Whether every bound Secret already holds `versionId` with its recorded data intact: then a rotation
 * event for that version needs no secret value read (the regional copies are built from these Secrets).
 */
export function appliedEverywhere(
  bound: ReadonlyArray<{ object: KubeObject; binding: Binding }>,
  versionId: string,
): boolean {
  return (
    bound.length > 0 &&
    bound.every(({ object, binding }) => bindingDrift(object, binding, versionId) === 'current')
  );
}
