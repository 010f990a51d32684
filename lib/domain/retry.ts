/**
 * When a failed unit of work comes back: exponential backoff with full jitter over the message's receive
 * count, so a failing secret or region retries on its own schedule and many failures do not return in
 * step. Pure: the random source is an argument.
 */

/** The first retry waits up to this long; each later one doubles it. */
export const BACKOFF_BASE_SECONDS = 5;
/** No retry waits longer than this (well inside the queues' retention and the sweep interval). */
export const BACKOFF_CAP_SECONDS = 300;

/**
 * Seconds until a message received `receiveCount` times is visible again: a uniform draw in
 * [1, min(cap, base · 2^(receiveCount − 1))].
 */
export function backoffSeconds(receiveCount: number, random: () => number = Math.random): number {
  const attempt = Number.isFinite(receiveCount) && receiveCount >= 1 ? Math.floor(receiveCount) : 1;
  const ceiling = Math.min(BACKOFF_CAP_SECONDS, BACKOFF_BASE_SECONDS * 2 ** Math.min(attempt - 1, 30));
  return Math.max(1, Math.ceil(random() * ceiling));
}

/**
 * Tries of one guarded write whose precondition keeps failing: each after a fresh read and a fresh
 * decision. The last goes without the resourceVersion precondition (the version order was just checked
 * again): other field managers writing other fields of the object would otherwise keep it out for ever.
 */
export const WRITE_ATTEMPTS = 4;

/** Whether try `attempt` (from 1) of a guarded write carries its resourceVersion precondition. */
export function guardedTry(attempt: number): boolean {
  return attempt < WRITE_ATTEMPTS;
}
