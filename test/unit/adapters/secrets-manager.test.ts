import { describe, expect, it } from 'vitest';
import { rememberingSource, secretsManagerSource } from '../../../lib/adapters/secrets-manager.js';
import { Forbidden, SourceNotFound, TransientFailure } from '../../../lib/errors.js';

const ARN = (name: string) => `arn:aws:secretsmanager:us-east-1:123456789012:secret:${name}-AbC123`;

/** A Secrets Manager client that records each command's name and input and answers with `answer`. */
function fakeClient(answer: (name: string, input: Record<string, unknown>) => unknown) {
  const sent: Array<{ name: string; input: Record<string, unknown> }> = [];
  return {
    sent,
    async send(command: { constructor: { name: string }; input: Record<string, unknown> }) {
      sent.push({ name: command.constructor.name, input: command.input });
      return answer(command.constructor.name, command.input);
    },
  };
}

describe('secretsManagerSource.listVersions', () => {
  it('asks for 100 secrets a page filtered by name prefix and reports where AWSCURRENT points', async () => {
    // Prepare
    const client = fakeClient(() => ({
      SecretList: [
        {
          ARN: ARN('team/a'),
          Name: 'team/a',
          SecretVersionsToStages: { v1: ['AWSPREVIOUS'], v2: ['AWSCURRENT'] },
        },
        { ARN: ARN('team/b'), Name: 'team/b', SecretVersionsToStages: { v9: ['AWSPENDING'] } },
      ],
      NextToken: 'page-2',
    }));
    const source = secretsManagerSource(client as never);

    // Act
    const page = await source.listVersions({ namePrefixes: ['team/'], nextToken: 'page-1' });

    // Assess
    expect(client.sent).toEqual([
      {
        name: 'ListSecretsCommand',
        input: { MaxResults: 100, NextToken: 'page-1', Filters: [{ Key: 'name', Values: ['team/'] }] },
      },
    ]);
    expect(page).toEqual({
      versions: [
        { arn: ARN('team/a'), name: 'team/a', versionId: 'v2' },
        { arn: ARN('team/b'), name: 'team/b' },
      ],
      nextToken: 'page-2',
    });
    expect(source.calls).toMatchObject({ listSecrets: 1, describeSecret: 0, getSecretValue: 0 });
  });

  it('names a refused call forbidden', async () => {
    // Prepare
    const client = fakeClient(() => {
      throw Object.assign(new Error('denied'), { name: 'AccessDeniedException' });
    });

    // Act / Assess
    await expect(secretsManagerSource(client as never).listVersions({})).rejects.toBeInstanceOf(Forbidden);
  });
});

describe('secretsManagerSource.getCurrentBatch', () => {
  it('answers each requested secret with its value or its own error, in one call', async () => {
    // Prepare
    const client = fakeClient(() => ({
      SecretValues: [
        { ARN: ARN('team/a'), Name: 'team/a', VersionId: 'v2', SecretString: 'value-a' },
        { ARN: ARN('team/d'), Name: 'team/d', VersionId: 'v1', SecretString: 'value-d' },
      ],
      Errors: [
        { SecretId: ARN('team/b'), ErrorCode: 'ResourceNotFoundException', Message: 'gone' },
        { SecretId: ARN('team/c'), ErrorCode: 'DecryptionFailure', Message: 'kms' },
      ],
    }));
    const source = secretsManagerSource(client as never);
    const ids = [ARN('team/a'), ARN('team/b'), ARN('team/c'), 'team/d', ARN('team/e')];

    // Act
    const reads = await source.getCurrentBatch(ids);

    // Assess
    expect(client.sent).toEqual([{ name: 'BatchGetSecretValueCommand', input: { SecretIdList: ids } }]);
    expect(reads.map((r) => ('value' in r ? r.value.secretString : r.error.constructor))).toEqual([
      'value-a',
      SourceNotFound,
      Forbidden,
      'value-d',
      TransientFailure,
    ]);
    expect(source.calls).toMatchObject({ batchGetSecretValue: 1, getSecretValue: 0 });
  });

  it('refuses more than 20 secrets a call, before calling', async () => {
    // Prepare
    const client = fakeClient(() => ({}));
    const ids = Array.from({ length: 21 }, (_, i) => ARN(`s${i}`));

    // Act / Assess
    await expect(secretsManagerSource(client as never).getCurrentBatch(ids)).rejects.toThrow(/at most 20/);
    expect(client.sent).toEqual([]);
  });

  it('lets the remembering source mask every value a batch read', async () => {
    // Prepare
    const client = fakeClient(() => ({
      SecretValues: [
        { ARN: ARN('a'), Name: 'a', VersionId: 'v1', SecretString: '{"clientSecret":"masked-1","n":1}' },
      ],
    }));
    const seen = new Set<string>();
    const source = rememberingSource(secretsManagerSource(client as never), seen);

    // Act
    await source.getCurrentBatch?.([ARN('a')]);

    // Assess
    expect([...seen]).toEqual(['{"clientSecret":"masked-1","n":1}', 'masked-1']);
  });

  it('names a failed call transient, by its code and status (the next sweep tries again)', async () => {
    // Prepare
    const client = fakeClient(() => {
      throw Object.assign(new Error('boom'), {
        name: 'InternalServiceError',
        $metadata: { httpStatusCode: 500 },
      });
    });

    // Act
    const error = await secretsManagerSource(client as never)
      .getCurrentBatch([ARN('a')])
      .catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(TransientFailure);
    expect((error as Error).message).toBe('BatchGetSecretValue: InternalServiceError (HTTP 500)');
  });
});
