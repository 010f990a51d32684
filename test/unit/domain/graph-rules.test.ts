import { describe, expect, it } from 'vitest';
import {
  admissionProblem,
  admits,
  type CredentialScope,
  identitySource,
  needsNamespaceLabels,
  referenceProblem,
  selectorMatches,
} from '../../../lib/domain/graph-rules.js';
import type { KubeObject, ObjectRef } from '../../../lib/domain/objects.js';

const SYSTEM = 'kcm-system';
const CAPI = 'infrastructure.cluster.x-k8s.io';

// One valid baseline per rule; each case names the one tweak it makes and what the rule must then say.

const TENANT: CredentialScope = {
  namespace: 'team-b',
  name: 'azure',
  identityRef: { apiVersion: `${CAPI}/v1beta1`, kind: 'AzureClusterIdentity', name: 'azure' },
};

describe('identitySource', () => {
  it.each<[string, Partial<CredentialScope> & { identityNamespace?: string }, boolean, unknown]>([
    [
      'baseline: a tenant Credential without a namespace reads the system namespace, as kcm does',
      {},
      true,
      { ref: { ...TENANT.identityRef, namespace: SYSTEM }, mode: 'platform' },
    ],
    [
      'naming the system namespace reads the system namespace',
      { identityNamespace: SYSTEM },
      true,
      { ref: { ...TENANT.identityRef, namespace: SYSTEM }, mode: 'platform' },
    ],
    [
      'naming its own namespace reads its own namespace, under the own-namespace rules',
      { identityNamespace: 'team-b' },
      true,
      { ref: { ...TENANT.identityRef, namespace: 'team-b' }, mode: 'own' },
    ],
    [
      'a system Credential reads the system namespace whatever identityRef.namespace says',
      { namespace: SYSTEM, identityNamespace: 'team-a' },
      true,
      { ref: { ...TENANT.identityRef, namespace: SYSTEM }, mode: 'platform' },
    ],
    [
      'a cluster-scoped kind drops the namespace, whatever it says',
      { identityNamespace: 'team-a' },
      false,
      { ref: TENANT.identityRef, mode: 'platform' },
    ],
  ])('%s', (_case, tweak, namespaced, expected) => {
    // Prepare
    const { identityNamespace, ...rest } = tweak;
    const credential = {
      ...TENANT,
      ...rest,
      identityRef: {
        ...TENANT.identityRef,
        ...(identityNamespace ? { namespace: identityNamespace } : {}),
      },
    };

    // Act
    const source = identitySource(credential, namespaced, SYSTEM);

    // Assess
    expect(source).toEqual(expected);
  });

  it('refuses a tenant Credential naming another tenant namespace, and says what would be allowed', () => {
    // Act
    const source = identitySource(
      { ...TENANT, identityRef: { ...TENANT.identityRef, namespace: 'team-a' } },
      true,
      SYSTEM,
    );

    // Assess
    expect(source).toEqual({ refused: expect.stringContaining('AzureClusterIdentity team-a/azure') });
    expect((source as { refused: string }).refused).toMatch(
      /another namespace.*allowedNamespaces admits team-b/,
    );
  });
});

const IDENTITY: KubeObject = {
  apiVersion: `${CAPI}/v1beta2`,
  kind: 'AWSClusterStaticIdentity',
  metadata: { name: 'aws' },
  spec: { secretRef: 'aws', allowedNamespaces: { list: ['team-b'] } },
};

describe('admissionProblem', () => {
  it.each<[string, unknown, string, Record<string, string> | undefined, boolean]>([
    ['baseline: a list naming the namespace admits it', { list: ['team-b'] }, 'team-b', undefined, true],
    ['a list naming only another namespace refuses', { list: ['team-a'] }, 'team-b', undefined, false],
    ['an absent allowedNamespaces refuses', undefined, 'team-b', undefined, false],
    ['a null allowedNamespaces refuses', null, 'team-b', undefined, false],
    ['an empty object admits every namespace', {}, 'team-b', undefined, true],
    [
      'an empty list and an empty selector admit every namespace',
      { list: [], selector: {} },
      'team-b',
      {},
      true,
    ],
    [
      'a matching selector admits',
      { selector: { matchLabels: { team: 'b' } } },
      'team-b',
      { team: 'b' },
      true,
    ],
    [
      'a selector that does not match refuses',
      { selector: { matchLabels: { team: 'b' } } },
      'team-b',
      { team: 'a' },
      false,
    ],
    [
      'a selector refuses when the labels are unknown',
      { selector: { matchLabels: { team: 'b' } } },
      'team-b',
      undefined,
      false,
    ],
    ['a list that is not an array is no list: only the rest decides', { list: 'team-b' }, 'team-b', {}, true],
    ['a string is not an allowedNamespaces', 'team-b', 'team-b', undefined, false],
    ['the system namespace itself is always served (the platform’s own)', undefined, SYSTEM, undefined, true],
  ])('%s', (_case, allowedNamespaces, namespace, labels, admitted) => {
    // Prepare
    const identity = { ...IDENTITY, spec: { secretRef: 'aws', allowedNamespaces } };

    // Act
    const problem = admissionProblem({ ...TENANT, namespace }, identity, SYSTEM, labels);

    // Assess
    expect(problem === undefined).toBe(admitted);
  });

  it('names the identity, the namespace and the fix', () => {
    // Act
    const problem = admissionProblem(TENANT, { ...IDENTITY, spec: {} }, SYSTEM, undefined);

    // Assess
    expect(problem).toBe(
      'AWSClusterStaticIdentity aws does not admit namespace team-b (spec.allowedNamespaces is not set): add the namespace to spec.allowedNamespaces.list, or give the Credential an identity of its own namespace',
    );
  });

  it('refuses a system-namespace Secret identity for a tenant: a Secret has no allowedNamespaces', () => {
    // Prepare
    const secret: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'r-kubeconfig', namespace: SYSTEM },
    };

    // Act
    const problem = admissionProblem(TENANT, secret, SYSTEM, {});

    // Assess
    expect(problem).toMatch(/^Secret kcm-system\/r-kubeconfig does not admit namespace team-b/);
  });
});

describe('needsNamespaceLabels', () => {
  it.each<[string, unknown, boolean]>([
    ['a selector with matchLabels', { selector: { matchLabels: { a: 'b' } } }, true],
    [
      'a selector with matchExpressions',
      { selector: { matchExpressions: [{ key: 'a', operator: 'Exists' }] } },
      true,
    ],
    ['an empty selector', { selector: {} }, false],
    ['a list only', { list: ['x'] }, false],
    ['no allowedNamespaces', undefined, false],
  ])('%s: %s', (_case, allowedNamespaces, expected) => {
    expect(needsNamespaceLabels({ ...IDENTITY, spec: { allowedNamespaces } })).toBe(expected);
  });
});

describe('selectorMatches', () => {
  const labels = { team: 'b', tier: 'prod' };
  it.each<[string, Record<string, unknown>, boolean]>([
    ['baseline: matchLabels all present', { matchLabels: { team: 'b' } }, true],
    ['matchLabels with a different value', { matchLabels: { team: 'a' } }, false],
    [
      'In with the value',
      { matchExpressions: [{ key: 'tier', operator: 'In', values: ['prod', 'dev'] }] },
      true,
    ],
    ['In without the value', { matchExpressions: [{ key: 'tier', operator: 'In', values: ['dev'] }] }, false],
    ['In on a missing key', { matchExpressions: [{ key: 'x', operator: 'In', values: ['prod'] }] }, false],
    [
      'NotIn without the value',
      { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['dev'] }] },
      true,
    ],
    [
      'NotIn with the value',
      { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['prod'] }] },
      false,
    ],
    ['NotIn on a missing key', { matchExpressions: [{ key: 'x', operator: 'NotIn', values: ['a'] }] }, true],
    ['Exists', { matchExpressions: [{ key: 'team', operator: 'Exists' }] }, true],
    ['Exists on a missing key', { matchExpressions: [{ key: 'x', operator: 'Exists' }] }, false],
    ['DoesNotExist', { matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] }, true],
    [
      'DoesNotExist on a present key',
      { matchExpressions: [{ key: 'team', operator: 'DoesNotExist' }] },
      false,
    ],
    ['an unknown operator', { matchExpressions: [{ key: 'team', operator: 'Like' }] }, false],
    ['an expression without a key', { matchExpressions: [{ operator: 'Exists' }] }, false],
    [
      'matchLabels and an expression that fails',
      { matchLabels: { team: 'b' }, matchExpressions: [{ key: 'x', operator: 'Exists' }] },
      false,
    ],
    [
      'a key inherited from Object.prototype is not a label',
      { matchExpressions: [{ key: 'toString', operator: 'Exists' }] },
      false,
    ],
  ])('%s', (_case, selector, expected) => {
    expect(selectorMatches(selector, labels)).toBe(expected);
  });

  it('agrees with admits for a selector', () => {
    expect(admits({ selector: { matchLabels: { team: 'b' } } }, 'team-b', labels)).toBe(true);
    expect(admits({ selector: { matchLabels: { team: 'c' } } }, 'team-b', labels)).toBe(false);
  });
});

describe('referenceProblem', () => {
  const own: KubeObject = {
    apiVersion: `${CAPI}/v1beta1`,
    kind: 'AzureClusterIdentity',
    metadata: { name: 'azure', namespace: 'team-b' },
  };
  const secret = (namespace?: string): ObjectRef => ({
    apiVersion: 'v1',
    kind: 'Secret',
    name: 's',
    ...(namespace ? { namespace } : {}),
  });

  it.each<[string, 'own' | 'platform', ObjectRef, boolean]>([
    ['baseline: own namespace, a Secret of the same namespace', 'own', secret('team-b'), true],
    ['own namespace, a Secret of the system namespace (a Region kubeconfig)', 'own', secret(SYSTEM), false],
    ['own namespace, a Secret of another tenant', 'own', secret('team-a'), false],
    [
      'own namespace, a cluster-scoped object',
      'own',
      { apiVersion: `${CAPI}/v1beta2`, kind: 'AWSClusterControllerIdentity', name: 'c' },
      false,
    ],
    ['platform identity, a Secret of the system namespace', 'platform', secret(SYSTEM), true],
    ['platform identity, a Secret its platform author placed elsewhere', 'platform', secret('team-a'), true],
  ])('%s', (_case, mode, ref, followed) => {
    // Act
    const problem = referenceProblem(mode, TENANT, own, ref);

    // Assess
    expect(problem === undefined).toBe(followed);
  });

  it('names the referring object, the target and the rule', () => {
    expect(referenceProblem('own', TENANT, own, secret(SYSTEM))).toBe(
      'AzureClusterIdentity team-b/azure references Secret kcm-system/s, outside namespace team-b: an identity of a tenant namespace may reference only objects of that namespace',
    );
  });
});
