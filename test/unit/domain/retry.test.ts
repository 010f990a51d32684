import { describe, expect, it } from 'vitest';
import { BACKOFF_CAP_SECONDS, backoffSeconds } from '../../../lib/domain/retry.js';

describe('backoffSeconds', () => {
  it.each([
    // receive count, random draw, seconds
    [1, 1, 5],
    [2, 1, 10],
    [3, 1, 20],
    [4, 0.5, 20],
    [7, 1, 300],
    [50, 1, BACKOFF_CAP_SECONDS],
    [1, 0, 1],
    [0, 1, 5],
    [Number.NaN, 1, 5],
  ])('after %s receive(s) with a draw of %s waits %s s', (count, draw, seconds) => {
    expect(backoffSeconds(count, () => draw)).toBe(seconds);
  });

  it('spreads retries of the same attempt over its whole window (jitter)', () => {
    const draws = [0.1, 0.35, 0.6, 0.85];
    const waits = draws.map((d) => backoffSeconds(4, () => d));

    expect(new Set(waits).size).toBe(draws.length);
    expect(Math.max(...waits)).toBeLessThanOrEqual(40);
  });
});
