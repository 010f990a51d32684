import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { contentHash } from '../../../lib/domain/hash.js';

const BASELINE = {
  type: 'Opaque',
  data: { AccessKeyID: 'QUtJQQ==', SecretAccessKey: 'c2VjcmV0' },
  spec: { secretRef: 'capa', allowedNamespaces: { list: ['a', 'b'] } },
};

describe('contentHash', () => {
  it('is a sha256-prefixed 32-digit hex text', () => {
    // Act
    const hash = contentHash(BASELINE);

    // Assess
    expect(hash).toMatch(/^sha256:[0-9a-f]{32}$/);
  });

  it('hashes the same content the same whatever the key order, at every level', () => {
    // Prepare
    const reordered = {
      spec: { allowedNamespaces: { list: ['a', 'b'] }, secretRef: 'capa' },
      data: { SecretAccessKey: 'c2VjcmV0', AccessKeyID: 'QUtJQQ==' },
      type: 'Opaque',
    };

    // Act
    const hash = contentHash(reordered);

    // Assess
    expect(hash).toBe(contentHash(BASELINE));
  });

  it.each([
    ['a top-level field set to undefined', { ...BASELINE, extra: undefined }],
    ['a nested field set to undefined', { ...BASELINE, spec: { ...BASELINE.spec, region: undefined } }],
  ])('ignores %s', (_case, content) => {
    // Act
    const hash = contentHash(content);

    // Assess
    expect(hash).toBe(contentHash(BASELINE));
  });

  it.each([
    ['a changed data value', { ...BASELINE, data: { ...BASELINE.data, SecretAccessKey: 'b3RoZXI=' } }],
    ['an added data key', { ...BASELINE, data: { ...BASELINE.data, SessionToken: 'dG9rZW4=' } }],
    ['a removed data key', { ...BASELINE, data: { AccessKeyID: 'QUtJQQ==' } }],
    ['a renamed key with the same value', { ...BASELINE, type: undefined, kind: 'Opaque' }],
    [
      'a reordered array',
      { ...BASELINE, spec: { ...BASELINE.spec, allowedNamespaces: { list: ['b', 'a'] } } },
    ],
    ['a number instead of a numeric string', { ...BASELINE, type: 1 }],
    ['null instead of an empty object', { ...BASELINE, spec: null }],
    ['a value moved one level down', { ...BASELINE, data: { nested: BASELINE.data } }],
  ])('tells apart content with %s', (_case, content) => {
    // Act
    const hash = contentHash(content);

    // Assess
    expect(hash).not.toBe(contentHash(BASELINE));
  });

  it('gives a known digest for a known input, so hashes stay stable across releases', () => {
    // Prepare: the digest of the canonical JSON {"a":1,"b":[true,null]}, computed independently
    const content = { b: [true, null], a: 1 };

    // Act
    const hash = contentHash(content);

    // Assess
    expect(hash).toBe(`sha256:${sha256Hex('{"a":1,"b":[true,null]}').slice(0, 32)}`);
  });
});

function sha256Hex(text: string): string {
  // Pins the canonical form (sorted keys, no whitespace), not the hash function itself.
  return createHash('sha256').update(text).digest('hex');
}
