import { describe, expect, it } from 'vitest';
import {
  type Binding,
  buildManagementApply,
  readBinding,
  toSecretData,
} from '../../../lib/domain/binding.js';
import { bindingDrift, sourceNamePrefixes } from '../../../lib/domain/drift.js';
import type { KubeObject } from '../../../lib/domain/objects.js';

const NOW = new Date('2026-08-01T12:00:00.000Z');
const SOURCE = 'arn:aws:secretsmanager:us-west-2:012345678901:secret:prod/aws/capa-a1B2c3';
const AWS_KEYS = { AccessKeyID: 'AKIAIOSFODNN7EXAMPLE', SecretAccessKey: 'wJalrXUtnFEMI-K7MDENG' };

/** A bound Secret as identity-relay leaves it after applying `stringData` at version v1, plus `extra` data. */
function applied(
  format: string,
  stringData: Record<string, string>,
  options: { keys?: string; extra?: Record<string, string> } = {},
): { secret: KubeObject; binding: Binding } {
  const annotations: Record<string, string> = {
    'identity-relay.dev/source': SOURCE,
    'identity-relay.dev/format': format,
    ...(options.keys ? { 'identity-relay.dev/keys': options.keys } : {}),
  };
  const apply = buildManagementApply(
    { apiVersion: 'v1', kind: 'Secret', namespace: 'kcm-system', name: 'capa' },
    toSecretData(stringData),
    'v1',
    NOW,
  );
  const secret: KubeObject = {
    ...apply,
    metadata: { ...apply.metadata, annotations: { ...annotations, ...apply.metadata.annotations } },
    data: { ...toSecretData(options.extra ?? {}), ...(apply.data as Record<string, string>) },
  };
  return { secret, binding: readBinding(secret) };
}

/** The same Secret with its data changed as `kubectl edit` would. */
function edited(secret: KubeObject, change: (data: Record<string, string>) => void): KubeObject {
  const data = { ...(secret.data as Record<string, string>) };
  change(data);
  return { ...secret, data };
}

const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('bindingDrift', () => {
  it('finds a Secret current when its version and its bound data are what was applied', () => {
    // Prepare
    const { secret, binding } = applied('aws-static', AWS_KEYS);

    // Act / Assess
    expect(bindingDrift(secret, binding, 'v1')).toBe('current');
  });

  it('finds a Secret moved when AWSCURRENT is another version, whatever its data', () => {
    // Prepare
    const { secret, binding } = applied('aws-static', AWS_KEYS);

    // Act / Assess
    expect(bindingDrift(secret, binding, 'v2')).toBe('moved');
  });

  it.each([
    [
      'a bound value changed',
      (d: Record<string, string>) => {
        d.SecretAccessKey = b64('edited-by-hand');
      },
    ],
    [
      'a bound key removed',
      (d: Record<string, string>) => {
        delete d.SecretAccessKey;
      },
    ],
    [
      'a bound value changed while an optional key was added',
      (d: Record<string, string>) => {
        d.SessionToken = b64('token');
        d.AccessKeyID = b64('AKIAEDITEDBYHAND0000');
      },
    ],
  ])('finds a Secret edited when %s although its version matches', (_, change) => {
    // Prepare
    const { secret, binding } = applied('aws-static', AWS_KEYS);

    // Act / Assess
    expect(bindingDrift(edited(secret, change), binding, 'v1')).toBe('edited');
  });

  it('leaves alone a key added beside the bound ones (another manager owns it)', () => {
    // Prepare
    const { secret, binding } = applied('aws-static', AWS_KEYS);
    const withToken = edited(secret, (d) => {
      d.SessionToken = b64('added-by-someone-else');
      d.region = b64('us-west-2');
    });

    // Act / Assess
    expect(bindingDrift(withToken, binding, 'v1')).toBe('current');
  });

  it('checks a raw binding over every key it filled', () => {
    // Prepare
    const { secret, binding } = applied('raw', { user: 'admin', password: 'hunter22' });

    // Act / Assess
    expect(bindingDrift(secret, binding, 'v1')).toBe('current');
    expect(
      bindingDrift(
        edited(secret, (d) => Object.assign(d, { password: b64('x') })),
        binding,
        'v1',
      ),
    ).toBe('edited');
  });

  it('checks a binding with a keys annotation over the keys it names', () => {
    // Prepare
    const { secret, binding } = applied(
      'azure-sp',
      { clientSecret: 'abc-def-123' },
      { keys: '{"clientSecret":"secret"}', extra: { note: 'kept' } },
    );

    // Act / Assess
    expect(bindingDrift(secret, binding, 'v1')).toBe('current');
    expect(
      bindingDrift(
        edited(secret, (d) => Object.assign(d, { clientSecret: b64('x') })),
        binding,
        'v1',
      ),
    ).toBe('edited');
  });

  it('finds a Secret without a recorded hash current when its version matches (nothing to compare)', () => {
    // Prepare
    const { secret, binding } = applied('aws-static', AWS_KEYS);
    const annotations = { ...secret.metadata.annotations };
    delete annotations['identity-relay.dev/content-hash'];

    // Act / Assess
    expect(bindingDrift({ ...secret, metadata: { ...secret.metadata, annotations } }, binding, 'v1')).toBe(
      'current',
    );
  });
});

describe('sourceNamePrefixes', () => {
  const arn = (name: string) => `arn:aws:secretsmanager:us-west-2:012345678901:secret:${name}-a1B2c3`;

  it('filters by the names themselves when there are at most 10 (ARNs lose their suffix)', () => {
    expect(sourceNamePrefixes(['team-a/capa', arn('team-b/capz'), 'team-a/capa'])).toEqual([
      'team-a/capa',
      'team-b/capz',
    ]);
  });

  it('drops a name another one already covers', () => {
    expect(sourceNamePrefixes(['capa', 'capa-eu', 'capz'])).toEqual(['capa', 'capz']);
  });

  it('filters by folders when there are more than 10 names', () => {
    const names = Array.from({ length: 120 }, (_, i) => `identity-relay/run-1/s-${i}`);

    expect(sourceNamePrefixes([...names, 'team-b/capz'])).toEqual(['identity-relay/run-1/', 'team-b/']);
  });

  it('falls back to the longest common prefix when the folders are more than 10', () => {
    const names = Array.from({ length: 12 }, (_, i) => `relay-${i}/capa`);

    expect(sourceNamePrefixes(names)).toEqual(['relay-']);
  });

  it('lists every secret when nothing is common to more than 10 folders', () => {
    const names = Array.from({ length: 12 }, (_, i) => `${String.fromCharCode(97 + i)}/capa`);

    expect(sourceNamePrefixes(names)).toBeUndefined();
  });

  it('has nothing to filter when there are no sources', () => {
    expect(sourceNamePrefixes([])).toBeUndefined();
  });
});
