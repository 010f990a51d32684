import { describe, expect, it } from 'vitest';
import { buildManagementApply, readBinding, toSecretData } from '../../../lib/domain/binding.js';
import { appliedEverywhere } from '../../../lib/domain/drift.js';
import type { KubeObject } from '../../../lib/domain/objects.js';

const SOURCE = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:team-a/aws-AbCdEf';

/** A bound Secret as identity-relay leaves it after applying `versionId`. */
function applied(name: string, versionId: string, tweak: (s: KubeObject) => void = () => {}): KubeObject {
  const data = toSecretData({ AccessKeyID: 'AKIAEXAMPLE', SecretAccessKey: 'not-a-real-key-1234' });
  const secret = buildManagementApply(
    { apiVersion: 'v1', kind: 'Secret', namespace: 'kcm-system', name },
    data,
    versionId,
    new Date(0),
  );
  secret.metadata.annotations = {
    ...secret.metadata.annotations,
    'identity-relay.dev/source': SOURCE,
    'identity-relay.dev/format': 'aws-static',
  };
  tweak(secret);
  return secret;
}

const bound = (...secrets: KubeObject[]) =>
  secrets.map((object) => ({ object, binding: readBinding(object) }));

describe('appliedEverywhere', () => {
  it('holds when every binding records the version and its data still hashes as recorded', () => {
    expect(appliedEverywhere(bound(applied('a', 'v2'), applied('b', 'v2')), 'v2')).toBe(true);
  });

  it.each([
    ['one binding is behind', bound(applied('a', 'v2'), applied('b', 'v1'))],
    [
      'one binding was edited by hand',
      bound(
        applied('a', 'v2'),
        applied('b', 'v2', (s) => {
          (s.data as Record<string, string>).SecretAccessKey = Buffer.from('edited').toString('base64');
        }),
      ),
    ],
    ['there is no binding', []],
  ])('does not hold when %s', (_case, secrets) => {
    expect(appliedEverywhere(secrets, 'v2')).toBe(false);
  });
});
