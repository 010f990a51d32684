import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  type SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { Forbidden, RelayError, SourceNotFound, TransientFailure } from '../errors.js';
import type { SecretSource, SourceValue } from '../ports.js';

/** Counts of calls made, for metrics and the economy benchmark. */
export interface SecretsManagerCalls {
  getSecretValue: number;
  describeSecret: number;
}

/** The SecretSource port over an injected Secrets Manager client. */
export function secretsManagerSource(
  client: Pick<SecretsManagerClient, 'send'>,
): SecretSource & { calls: SecretsManagerCalls } {
  const calls: SecretsManagerCalls = { getSecretValue: 0, describeSecret: 0 };
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
  };
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
  return {
    currentVersion: (secretId) => source.currentVersion(secretId),
    async getCurrent(secretId) {
      const value = await source.getCurrent(secretId);
      seen.add(value.secretString);
      try {
        const parsed = JSON.parse(value.secretString) as unknown;
        if (parsed && typeof parsed === 'object')
          for (const field of Object.values(parsed)) if (typeof field === 'string') seen.add(field);
      } catch {
        // a plaintext value is remembered whole
      }
      return value;
    },
  };
}
