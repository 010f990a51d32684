import { describe, expect, it } from 'vitest';
import { readBinding } from '../../../lib/domain/binding.js';
import {
  type BindingPolicy,
  bindingAllowed,
  bindingRefusal,
  bindingScopesSchema,
} from '../../../lib/domain/policy.js';
import { Refused } from '../../../lib/errors.js';

const BASE = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:';
const KUBECONFIG = `${BASE}identity-relay/management-kubeconfig-AbC123`;
const TOKEN = `${BASE}AuditWebhookToken3F2A-XyZ789`;
const TEAM_A_DB = `${BASE}team-a/capa-AbC123`;
const SHARED = `${BASE}shared/vsphere-Qwe456`;

const POLICY: BindingPolicy = {
  protectedSources: [KUBECONFIG, TOKEN],
  scopes: {
    'kcm-system': { arns: [SHARED], namePrefixes: ['cloud-credentials/', 'identity-relay/'] },
    'team-a': { arns: [TEAM_A_DB], namePrefixes: ['team-a/'] },
  },
};

describe('bindingAllowed', () => {
  it.each([
    ['a name under its prefix', 'team-a', 'team-a/aws'],
    ['a full ARN under its prefix', 'team-a', `${BASE}team-a/aws-ZZZ999`],
    ['its exact ARN', 'team-a', TEAM_A_DB],
    ['its exact ARN by name', 'team-a', 'team-a/capa'],
    ['its exact ARN by partial ARN', 'kcm-system', `${BASE}shared/vsphere`],
    ['a system source', 'kcm-system', 'cloud-credentials/aws'],
  ])('allows %s', (_, namespace, source) => {
    // Act / Assess
    expect(bindingAllowed(POLICY, namespace, source)).toBe(true);
  });

  it.each([
    [
      'another team’s name',
      'team-a',
      'cloud-credentials/aws',
      'is not in the binding scopes of namespace team-a',
    ],
    ['another team’s ARN', 'team-a', SHARED, 'is not in the binding scopes of namespace team-a'],
    ['another team’s full ARN', 'team-a', `${BASE}team-b/capa-QQQ111`, 'is not in the binding scopes'],
    [
      'a partial ARN whose tail reads as a suffix',
      'kcm-system',
      `${BASE}shared/vsphere-abcdef`,
      'is not in the binding scopes',
    ],
    [
      'a namespace without an entry',
      'team-b',
      'team-b/aws',
      'namespace team-b has no entry in the binding scopes',
    ],
    ['a prefix look-alike', 'team-a', 'team-ab/aws', 'is not in the binding scopes'],
  ])('refuses %s', (_, namespace, source, reason) => {
    // Act / Assess
    expect(bindingRefusal(POLICY, namespace, source)).toContain(reason);
  });

  it.each([
    ['its full ARN', KUBECONFIG],
    ['its partial ARN', `${BASE}identity-relay/management-kubeconfig`],
    ['its name', 'identity-relay/management-kubeconfig'],
    ['its name in another case', 'Identity-Relay/Management-Kubeconfig'],
    ['the webhook token by name', 'AuditWebhookToken3F2A'],
  ])(
    'never allows identity-relay’s own secrets, named by %s, even where a prefix covers them',
    (_, source) => {
      // Act
      const withScopes = bindingRefusal(POLICY, 'kcm-system', source);
      const withoutScopes = bindingRefusal(
        { protectedSources: POLICY.protectedSources },
        'kcm-system',
        source,
      );

      // Assess
      for (const refusal of [withScopes, withoutScopes])
        expect(refusal).toBe(
          `source ${source} is one of identity-relay's own secrets (management kubeconfig or audit webhook token) and is never copied`,
        );
    },
  );

  it('allows any other source in any namespace when no scopes are configured', () => {
    // Act / Assess
    expect(bindingAllowed({ protectedSources: [KUBECONFIG] }, 'team-z', SHARED)).toBe(true);
  });

  it('does not treat inherited object keys as namespaces', () => {
    // Act / Assess
    expect(bindingRefusal(POLICY, 'constructor', 'x')).toContain('has no entry');
  });
});

describe('readBinding with a policy', () => {
  const secret = (namespace: string, source: string) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'stolen',
      namespace,
      annotations: { 'identity-relay.dev/source': source, 'identity-relay.dev/format': 'raw' },
    },
  });

  it('throws Refused naming the Secret and the reason', () => {
    // Act
    const read = () => readBinding(secret('team-a', SHARED), POLICY);

    // Assess
    expect(read).toThrow(Refused);
    expect(read).toThrow(
      `refused: Secret team-a/stolen: source ${SHARED} is not in the binding scopes of namespace team-a`,
    );
  });

  it('reads an allowed binding as before', () => {
    // Act / Assess
    expect(readBinding(secret('team-a', 'team-a/aws'), POLICY).source).toBe('team-a/aws');
  });
});

describe('bindingScopesSchema', () => {
  it('defaults missing lists and refuses a partial ARN or a bad namespace', () => {
    // Act / Assess
    expect(bindingScopesSchema.parse({ 'team-a': { namePrefixes: ['team-a/'] } })).toEqual({
      'team-a': { arns: [], namePrefixes: ['team-a/'] },
    });
    expect(bindingScopesSchema.safeParse({ 'team-a': { arns: [`${BASE}team-a/capa`] } }).success).toBe(false);
    expect(bindingScopesSchema.safeParse({ Team_A: { arns: [] } }).success).toBe(false);
    expect(bindingScopesSchema.safeParse({ 'team-a': { prefixes: [] } }).success).toBe(false);
  });
});
