import { describe, expect, it } from 'vitest';
import { parseSecretArn, secretIdMatches, secretIdSpecificity } from '../../../lib/domain/secret-id.js';

const FULL = 'arn:aws:secretsmanager:us-west-2:012345678901:secret:prod/aws/capa-a1B2c3';
const PARTIAL = 'arn:aws:secretsmanager:us-west-2:012345678901:secret:prod/aws/capa';
const NAME = 'prod/aws/capa';

describe('parseSecretArn', () => {
  it('reads a full ARN into partition, region, account, name and suffix', () => {
    // Act
    const arn = parseSecretArn(FULL);

    // Assess
    expect(arn).toEqual({
      partition: 'aws',
      region: 'us-west-2',
      accountId: '012345678901',
      resource: 'prod/aws/capa-a1B2c3',
      name: 'prod/aws/capa',
      suffix: 'a1B2c3',
    });
  });

  it('reads a partial ARN as a name without a suffix', () => {
    // Act
    const arn = parseSecretArn(PARTIAL);

    // Assess
    expect(arn).toMatchObject({ resource: 'prod/aws/capa', name: 'prod/aws/capa', suffix: undefined });
  });

  it.each([
    [
      'a GovCloud partition',
      'arn:aws-us-gov:secretsmanager:us-gov-west-1:012345678901:secret:x-AbCdEf',
      'aws-us-gov',
    ],
    ['a China partition', 'arn:aws-cn:secretsmanager:cn-north-1:012345678901:secret:x-AbCdEf', 'aws-cn'],
  ])('accepts %s', (_case, text, partition) => {
    // Act
    const arn = parseSecretArn(text);

    // Assess
    expect(arn?.partition).toBe(partition);
  });

  it.each([
    ['a plain name', NAME],
    ['an ARN of another service', 'arn:aws:ssm:us-west-2:012345678901:parameter/x'],
    ['an account id that is not 12 digits', 'arn:aws:secretsmanager:us-west-2:0123:secret:x-AbCdEf'],
    ['an empty resource', 'arn:aws:secretsmanager:us-west-2:012345678901:secret:'],
  ])('returns undefined for %s', (_case, text) => {
    // Act
    const arn = parseSecretArn(text);

    // Assess
    expect(arn).toBeUndefined();
  });
});

describe('secretIdMatches', () => {
  it.each([
    ['a name and the full ARN', NAME, FULL],
    ['the full ARN and a name', FULL, NAME],
    ['a name and the partial ARN', NAME, PARTIAL],
    ['the partial ARN and the full ARN', PARTIAL, FULL],
    ['the full ARN and the partial ARN', FULL, PARTIAL],
    ['the full ARN and itself', FULL, FULL],
    ['a name and itself', NAME, NAME],
    [
      'a name with every allowed punctuation and its full ARN',
      'team_a/+=.@-x',
      'arn:aws:secretsmanager:us-west-2:012345678901:secret:team_a/+=.@-x-Zz9Zz9',
    ],
    // `…:secret:my-secret` may be the full ARN of `my`: Secrets Manager's own ambiguity, read both ways.
    [
      'a name and an ARN whose name could end in a suffix-like part',
      'my',
      'arn:aws:secretsmanager:us-west-2:012345678901:secret:my-secret',
    ],
  ])('matches %s', (_case, bindingSource, eventSecretId) => {
    // Act
    const matches = secretIdMatches(bindingSource, eventSecretId);

    // Assess
    expect(matches).toBe(true);
  });

  it.each([
    ['two different names', NAME, 'prod/aws/other'],
    ['a name that is a prefix of the secret name', 'prod/aws', FULL],
    ['a name and a full ARN of a longer name', 'prod/aws/cap', FULL],
    ['full ARNs of a deleted and a recreated secret', FULL, FULL.replace('a1B2c3', 'zZ9yY8')],
    ['the same name in another region', FULL, FULL.replace('us-west-2', 'eu-west-1')],
    ['the same name in another account', PARTIAL, PARTIAL.replace('012345678901', '210987654321')],
    ['the same name in another partition', FULL, FULL.replace('arn:aws:', 'arn:aws-cn:')],
    ['a name that differs only in case', NAME, FULL.replace('capa', 'CAPA')],
    ['an empty binding source', '', FULL],
  ])('does not match %s', (_case, bindingSource, eventSecretId) => {
    // Act
    const matches = secretIdMatches(bindingSource, eventSecretId);

    // Assess
    expect(matches).toBe(false);
  });
});

describe('secretIdSpecificity', () => {
  it('ranks a full ARN over a partial ARN over a name', () => {
    // Act
    const ranks = [FULL, PARTIAL, NAME].map(secretIdSpecificity);

    // Assess
    expect(ranks).toEqual([2, 1, 0]);
  });
});
