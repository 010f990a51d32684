import type { Logger } from '@aws-lambda-powertools/logger';
import { describe, expect, it } from 'vitest';
import { powertoolsLog, redact } from '../../../lib/adapters/log.js';
import { rememberingSource } from '../../../lib/adapters/secrets-manager.js';
import { describeError } from '../../../lib/errors.js';

const VALUE = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';

/** A Powertools Logger stand-in that keeps what would be written. */
function fakeLogger(): { logger: Logger; written: string[] } {
  const written: string[] = [];
  const keep = (message: string, fields: unknown) => written.push(JSON.stringify({ message, fields }));
  return { logger: { info: keep, warn: keep, error: keep } as unknown as Logger, written };
}

describe('log redaction', () => {
  it.each([
    [
      'a field named innocently',
      (log: ReturnType<typeof powertoolsLog>) => log.info('rotated', { note: VALUE }),
    ],
    [
      'an error message',
      (log: ReturnType<typeof powertoolsLog>) =>
        log.error('apply failed', { error: describeError(new Error(`bad value ${VALUE} in body`)) }),
    ],
    ['the message itself', (log: ReturnType<typeof powertoolsLog>) => log.warn(`value was ${VALUE}`)],
    [
      'a nested array of objects',
      (log: ReturnType<typeof powertoolsLog>) =>
        log.info('regions', { regions: [{ detail: [`x${VALUE}x`] }] }),
    ],
    [
      'its base64 form',
      (log: ReturnType<typeof powertoolsLog>) =>
        log.info('copy', { body: Buffer.from(VALUE).toString('base64') }),
    ],
  ])('masks a known secret value logged by mistake in %s', (_, act) => {
    // Prepare
    const { logger, written } = fakeLogger();
    const log = powertoolsLog(logger, new Set([VALUE]));

    // Act
    act(log);

    // Assess
    expect(written).toHaveLength(1);
    expect(written[0]).not.toContain(VALUE);
    expect(written[0]).not.toContain(Buffer.from(VALUE).toString('base64'));
    expect(written[0]).toContain('[redacted]');
  });

  it('masks every value read through the remembering source, and each JSON field of it', async () => {
    // Prepare: the set the function shares between its Secrets Manager source and its log.
    const seen = new Set<string>();
    const source = rememberingSource(
      {
        getCurrent: async () => ({
          arn: 'arn',
          name: 'n',
          versionId: 'v1',
          secretString: JSON.stringify({ AccessKeyID: 'AKIAUNITTEST00000001', SecretAccessKey: VALUE }),
        }),
        currentVersion: async () => ({ arn: 'arn', name: 'n', versionId: 'v1' }),
      },
      seen,
    );
    const { logger, written } = fakeLogger();
    const log = powertoolsLog(logger, seen);

    // Act
    const value = await source.getCurrent('n');
    log.info('by mistake', {
      context: JSON.parse(value.secretString).SecretAccessKey,
      whole: value.secretString,
    });

    // Assess
    expect(written.join('\n')).not.toContain(VALUE);
    expect(written.join('\n')).not.toContain('AKIAUNITTEST00000001');
  });

  it('drops the values of fields named like secret data, whether or not the value is known', () => {
    // Act
    const safe = redact({
      data: { key: 'c2VjcmV0' },
      SecretAccessKey: 'abc',
      secretString: '{}',
      kubeconfig: 'x',
    });

    // Assess
    expect(safe).toEqual({
      data: '[redacted]',
      SecretAccessKey: '[redacted]',
      secretString: '[redacted]',
      kubeconfig: '[redacted]',
    });
  });

  it('cuts long text, so a response body cannot be logged whole', () => {
    // Act
    const safe = redact({ error: 'x'.repeat(5000) });

    // Assess
    expect(String(safe.error).length).toBeLessThanOrEqual(301);
  });
});
