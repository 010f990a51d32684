import { describe, expect, it } from 'vitest';
import { getPath, setPath } from '../../../lib/domain/objects.js';
import { InvalidInput } from '../../../lib/errors.js';

const OBJECT = { spec: { clientSecret: { name: 'azure', namespace: 'kcm-system' }, list: ['a'] } };

describe('getPath', () => {
  it.each<[string, string, unknown]>([
    ['baseline: a nested string', 'spec.clientSecret.name', 'azure'],
    ['a leading dot, as ProviderInterfaces sometimes write it', '.spec.clientSecret.namespace', 'kcm-system'],
    ['an object', 'spec.clientSecret', { name: 'azure', namespace: 'kcm-system' }],
    ['a missing field', 'spec.secretRef', undefined],
    ['below a string', 'spec.clientSecret.name.length', undefined],
    ['__proto__', 'spec.__proto__', undefined],
    ['constructor', 'spec.constructor', undefined],
    ['prototype', 'constructor.prototype', undefined],
    ['an inherited method', 'spec.toString', undefined],
  ])('%s: %s', (_case, path, expected) => {
    expect(getPath(OBJECT, path)).toEqual(expected);
  });
});

describe('setPath', () => {
  it('sets a nested field on a copy, creating parents, and leaves the original alone', () => {
    // Act
    const copy = setPath(OBJECT, 'spec.clientSecret.namespace', 'team-b');
    const created = setPath(OBJECT, 'spec.extra.deep', 1);

    // Assess
    expect(copy.spec.clientSecret).toEqual({ name: 'azure', namespace: 'team-b' });
    expect(OBJECT.spec.clientSecret.namespace).toBe('kcm-system');
    expect(getPath(created, 'spec.extra.deep')).toBe(1);
  });

  it.each([
    '__proto__.polluted',
    'spec.__proto__.polluted',
    'constructor.prototype.polluted',
    'spec.constructor',
    'prototype',
  ])('refuses %s with InvalidInput and pollutes no prototype', (path) => {
    // Act
    const act = () => setPath(OBJECT, path, 'yes');

    // Assess
    expect(act).toThrow(InvalidInput);
    expect(act).toThrow(/is never written/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect((Object.prototype as Record<string, unknown>).polluted).toBeUndefined();
  });
});
