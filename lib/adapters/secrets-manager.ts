import {
  BatchGetSecretValueCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { BATCH_READ_SIZE, LIST_PAGE_SIZE } from '../domain/drift.js';
import { secretIdMatches } from '../domain/secret-id.js';
import { Forbidden, RelayError, SourceNotFound, TransientFailure } from '../errors.js';
import type { BatchRead, SecretSource, SourceValue, SourceVersionPage } from '../ports.js';

/** Counts of calls made, for metrics and the economy benchmark. */
export interface SecretsManagerCalls {
  getSecretValue: number;
  describeSecret: number;
  listSecrets: number;
  batchGetSecretValue: number;
}

/** The SecretSource port over an injected Secrets Manager client. */
export function secretsManagerSource(client: Pick<SecretsManagerClient, 'send'>): SecretSource &
  Required<Pick<SecretSource, 'listVersions' | 'getCurrentBatch'>> & {
    calls: SecretsManagerCalls;
  } {
  const calls: SecretsManagerCalls = {
    getSecretValue: 0,
    describeSecret: 0,
    listSecrets: 0,
    batchGetSecretValue: 0,
  };
  return {
    calls,
    async getCurrent(secretId: string): Promise<SourceValue> {
      calls.getSecretValue += 1;
      const out = await client
        .send(new GetSecretValueCommand({ SecretId: secretId, VersionStage: 'AWSCURRENT' }))
        .catch((error: unknown) => {
          throw translate(secretId, error);
        });
      const secretString =
        out.SecretString ?? (out.SecretBinary ? Buffer.from(out.SecretBinary).toString('utf8') : undefined);
      if (!out.ARN || !out.Name || !out.VersionId || secretString === undefined) {
        throw new RelayError(
          `source secret ${secretId}: GetSecretValue answered without ARN, name, version or value`,
          {
            retryable: true,
          },
        );
      }
      return {
        arn: out.ARN,
        name: out.Name,
        versionId: out.VersionId,
        ...(out.CreatedDate ? { createdDate: out.CreatedDate } : {}),
        secretString,
      };
    },
    async currentVersion(secretId: string) {
      calls.describeSecret += 1;
      const out = await client
        .send(new DescribeSecretCommand({ SecretId: secretId }))
        .catch((error: unknown) => {
          throw translate(secretId, error);
        });
      if (out.DeletedDate) throw new SourceNotFound(secretId, 'is scheduled for deletion');
      const versionId = Object.entries(out.VersionIdsToStages ?? {}).find(([, stages]) =>
        stages.includes('AWSCURRENT'),
      )?.[0];
      if (!out.ARN || !out.Name || !versionId)
        throw new SourceNotFound(secretId, 'has no AWSCURRENT version');
      return { arn: out.ARN, name: out.Name, versionId };
    },
    async listVersions({ namePrefixes, nextToken }): Promise<SourceVersionPage> {
      calls.listSecrets += 1;
      const out = await client
        .send(
          new ListSecretsCommand({
            MaxResults: LIST_PAGE_SIZE,
            ...(nextToken ? { NextToken: nextToken } : {}),
            ...(namePrefixes ? { Filters: [{ Key: 'name', Values: namePrefixes }] } : {}),
          }),
        )
        .catch((error: unknown) => {
          throw translateBulk('ListSecrets', error);
        });
      const versions = (out.SecretList ?? []).flatMap((entry) => {
        if (!entry.ARN || !entry.Name) return [];
        const versionId = Object.entries(entry.SecretVersionsToStages ?? {}).find(([, stages]) =>
          stages.includes('AWSCURRENT'),
        )?.[0];
        return [{ arn: entry.ARN, name: entry.Name, ...(versionId ? { versionId } : {}) }];
      });
      return { versions, ...(out.NextToken ? { nextToken: out.NextToken } : {}) };
    },
    async getCurrentBatch(secretIds: string[]): Promise<BatchRead[]> {
      if (secretIds.length === 0) return [];
      if (secretIds.length > BATCH_READ_SIZE)
        throw new RelayError(`BatchGetSecretValue reads at most ${BATCH_READ_SIZE} secrets a call`, {
          retryable: false,
        });
      calls.batchGetSecretValue += 1;
      const out = await client
        .send(new BatchGetSecretValueCommand({ SecretIdList: secretIds }))
        .catch((error: unknown) => {
          throw translateBulk('BatchGetSecretValue', error);
        });
      return secretIds.map((secretId): BatchRead => {
        const read = out.SecretValues?.find(
          (v) => v.ARN !== undefined && (secretIdMatches(secretId, v.ARN) || v.Name === secretId),
        );
        if (read) {
          const secretString =
            read.SecretString ??
            (read.SecretBinary ? Buffer.from(read.SecretBinary).toString('utf8') : undefined);
          if (read.ARN && read.Name && read.VersionId && secretString !== undefined)
            return {
              secretId,
              value: {
                arn: read.ARN,
                name: read.Name,
                versionId: read.VersionId,
                ...(read.CreatedDate ? { createdDate: read.CreatedDate } : {}),
                secretString,
              },
            };
        }
        const failure = out.Errors?.find((e) => e.SecretId === secretId);
        // The per-secret error is named by its code, like a single call's exception (never by its text).
        if (failure) return { secretId, error: translate(secretId, { name: failure.ErrorCode }) };
        return {
          secretId,
          error: new TransientFailure(`source secret ${secretId}: BatchGetSecretValue answered without it`),
        };
      });
    },
  };
}

/** A bulk call's failure: forbidden when IAM says so, else transient (the next sweep tries again). */
function translateBulk(operation: string, error: unknown): RelayError {
  const name = (error as { name?: string }).name ?? '';
  if (name === 'AccessDeniedException')
    return new Forbidden(`calling ${operation} (check the function's IAM policy)`, error);
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  return new TransientFailure(
    `${operation}: ${name || 'request failed'}${status ? ` (HTTP ${status})` : ''}`,
    error,
  );
}

/** Decides the error class once, from the SDK's exception name and HTTP status (never the message text). */
function translate(secretId: string, error: unknown): RelayError {
  const name = (error as { name?: string }).name ?? '';
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  switch (name) {
    case 'ResourceNotFoundException':
      return new SourceNotFound(secretId, 'does not exist', error);
    case 'InvalidRequestException':
      // Secrets Manager answers this for a secret scheduled for deletion.
      return new SourceNotFound(secretId, 'is scheduled for deletion or not readable', error);
    case 'AccessDeniedException':
      return new Forbidden(`reading source secret ${secretId} (check the function's IAM policy)`, error);
    case 'DecryptionFailure':
      return new Forbidden(`decrypting source secret ${secretId} (check the KMS key policy)`, error);
    default:
      return new TransientFailure(
        `source secret ${secretId}: ${name || 'request failed'}${status ? ` (HTTP ${status})` : ''}`,
        error,
      );
  }
}

/**
 * A SecretSource that adds every value it reads (and the string fields of a JSON value) to `seen`: the
 * set the log redaction and the CLI's output mask, so a value logged by mistake is still masked.
 */
export function rememberingSource(source: SecretSource, seen: Set<string>): SecretSource {
  const remember = (value: SourceValue) => {
    seen.add(value.secretString);
    try {
      const parsed = JSON.parse(value.secretString) as unknown;
      if (parsed && typeof parsed === 'object')
        for (const field of Object.values(parsed)) if (typeof field === 'string') seen.add(field);
    } catch {
      // a plaintext value is remembered whole
    }
    return value;
  };
  const { listVersions, getCurrentBatch } = source;
  return {
    currentVersion: (secretId) => source.currentVersion(secretId),
    getCurrent: async (secretId) => remember(await source.getCurrent(secretId)),
    ...(listVersions ? { listVersions: (options) => listVersions.call(source, options) } : {}),
    ...(getCurrentBatch
      ? {
          async getCurrentBatch(secretIds) {
            const reads = await getCurrentBatch.call(source, secretIds);
            for (const read of reads) if ('value' in read) remember(read.value);
            return reads;
          },
        }
      : {}),
  };
}
