import { ANNOTATIONS, type KubeObject } from './objects.js';

// When a (secret, version) has reached every place it must be: the management Secrets bound to the
// secret, and every copy of them that a served Credential has in its target (a Region, or the management
// cluster for AccessManagement's copies). Computed from what the clusters hold, never from what a run
// did, so whichever run converges the last target (the rotation, a retry, the sweep, a resync) sees it.
// Pure: the use-case reads, this decides.

/** One copy as its target holds it. */
export interface HeldCopy {
  /** `Secret ns/name` */
  object: string;
  /** What the target holds, or undefined when the copy is absent. */
  held: KubeObject | undefined;
  /** The copy belongs to a Credential that gets nothing now (unreadable objects): absent is fine there. */
  optional: boolean;
}

/** A target's copies, or why they could not be read. */
export interface TargetCopies {
  /** A Region's name, or `(management)`. */
  target: string;
  copies: HeldCopy[];
  error?: string;
}

/** Per target: how many of its copies hold the version. */
export interface TargetOutcome {
  target: string;
  holding: number;
  total: number;
  error?: string;
}

/** Whether the version is everywhere, with the per-target count and the last write's time. */
export interface PropagationState {
  complete: boolean;
  /** Targets holding the version / all targets, the management cluster's bound Secrets counted as one. */
  holding: number;
  total: number;
  targets: TargetOutcome[];
  /** The latest `synced-at` among the management Secrets and copies (the last write), when all hold it. */
  lastWriteAt?: string;
}

/** Whether an object carries the source version `versionId`. */
export function holds(object: KubeObject | undefined, versionId: string): boolean {
  return object?.metadata.annotations?.[ANNOTATIONS.sourceVersion] === versionId;
}

/**
 * The state of `versionId`: the bound management Secrets must all hold it, and every target every copy
 * (an absent copy of a Credential that gets nothing now is not waited for: it holds no older value).
 */
export function propagationState(
  versionId: string,
  management: KubeObject[],
  targets: TargetCopies[],
): PropagationState {
  const outcomes: TargetOutcome[] = [
    {
      target: 'management Secrets',
      holding: management.filter((m) => holds(m, versionId)).length,
      total: management.length,
    },
  ];
  for (const target of targets) {
    const counted = target.copies.filter((c) => !(c.optional && c.held === undefined));
    outcomes.push({
      target: target.target,
      holding: counted.filter((c) => holds(c.held, versionId)).length,
      total: counted.length,
      ...(target.error ? { error: target.error } : {}),
    });
  }
  const done = (o: TargetOutcome) => !o.error && o.holding === o.total;
  const complete = outcomes.every(done);
  const written = [...management, ...targets.flatMap((t) => t.copies.map((c) => c.held))]
    .map((o) => o?.metadata.annotations?.[ANNOTATIONS.syncedAt])
    .filter((at): at is string => typeof at === 'string' && Number.isFinite(Date.parse(at)))
    .sort((a, b) => Date.parse(a) - Date.parse(b));
  return {
    complete,
    holding: outcomes.filter(done).length,
    total: outcomes.length,
    targets: outcomes,
    ...(complete && written.length > 0 ? { lastWriteAt: written.at(-1) } : {}),
  };
}

/** Seconds from the version's creation to the last write, when both are known. */
export function propagationSeconds(
  createdAt: string | undefined,
  lastWriteAt: string | undefined,
): number | undefined {
  const from = Date.parse(createdAt ?? '');
  const to = Date.parse(lastWriteAt ?? '');
  return Number.isFinite(from) && Number.isFinite(to) ? Math.max(0, (to - from) / 1000) : undefined;
}
