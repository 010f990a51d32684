import { describe, expect, it } from 'vitest';
import { policiesFromEnvironment, readEnvironment } from '../../../lib/adapters/relay-environment.js';
import { parseHostPattern } from '../../../lib/domain/hosts.js';
import { InvalidInput } from '../../../lib/errors.js';

const KUBECONFIG = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:relay/kubeconfig-AbC123';
const TOKEN = 'arn:aws:secretsmanager:eu-west-1:111111111111:secret:AuditWebhookToken-XyZ789';

describe('policiesFromEnvironment', () => {
  it('reads scopes, allowlist, loopback switch and the own secrets', () => {
    // Act
    const policies = policiesFromEnvironment(
      readEnvironment({
        BINDING_SCOPES: JSON.stringify({ 'team-a': { namePrefixes: ['team-a/'] } }),
        CLUSTER_HOSTS: '*.eks.amazonaws.com, 10.0.0.0/16',
        ALLOW_LOOPBACK_CLUSTERS: 'true',
        MANAGEMENT_KUBECONFIG_SECRET_ARN: KUBECONFIG,
        AUDIT_TOKEN_SECRET_ARN: TOKEN,
        AWS_REGION: 'eu-west-1',
      }),
    );

    // Assess
    expect(policies.bindingPolicy).toEqual({
      scopes: { 'team-a': { arns: [], namePrefixes: ['team-a/'] } },
      protectedSources: [KUBECONFIG, TOKEN],
    });
    expect(policies.regions.hosts).toEqual({
      allow: [parseHostPattern('*.eks.amazonaws.com'), parseHostPattern('10.0.0.0/16')],
      allowLoopback: true,
    });
    expect(policies.management.hosts).toEqual({ allow: [], allowLoopback: true });
    expect(policies.regions.eks).toBeDefined();
  });

  it('defaults to no scopes, no allowlist, no loopback', () => {
    // Act
    const policies = policiesFromEnvironment(readEnvironment({}));

    // Assess
    expect(policies.bindingPolicy).toEqual({ protectedSources: [] });
    expect(policies.regions.hosts).toEqual({ allow: [], allowLoopback: false });
    expect(policies.regions.allowInsecureTls).toBe(false);
  });

  it.each([
    ['BINDING_SCOPES that is not JSON', { BINDING_SCOPES: '{team-a' }, 'BINDING_SCOPES: is not JSON'],
    [
      'BINDING_SCOPES with a partial ARN',
      {
        BINDING_SCOPES: JSON.stringify({
          'team-a': { arns: ['arn:aws:secretsmanager:eu-west-1:1:secret:x'] },
        }),
      },
      'BINDING_SCOPES.team-a.arns.0: must be a full Secrets Manager secret ARN ending in -<6 characters>',
    ],
    [
      'CLUSTER_HOSTS with a URL',
      { CLUSTER_HOSTS: 'https://api.example.com' },
      'CLUSTER_HOSTS.0: "https://api.example.com" is a URL: give its hostname only',
    ],
  ])('refuses %s with one line naming the variable', (_, env, message) => {
    // Act
    const error = (() => {
      try {
        policiesFromEnvironment(readEnvironment(env));
      } catch (e) {
        return e as Error;
      }
      return undefined;
    })();

    // Assess
    expect(error).toBeInstanceOf(InvalidInput);
    expect(error?.message).toBe(message);
  });
});

describe('readEnvironment', () => {
  it("reads the functions' and the CLI's variables with their defaults", () => {
    // Act
    const config = readEnvironment({});

    // Assess
    expect(config).toMatchObject({
      SYSTEM_NAMESPACE: 'kcm-system',
      watchNamespaces: ['kcm-system'],
      POWERTOOLS_METRICS_NAMESPACE: 'IdentityRelay',
      RELAY_USERNAME: 'system:serviceaccount:identity-relay-system:identity-relay',
      AUDIT_MAX_BODY_BYTES: 6 * 1024 * 1024,
    });
    expect(config.MAX_RECEIVE_COUNT).toBeUndefined();
    expect(config.IDENTITY_KINDS).toBeUndefined();
  });

  it('reads lists and numbers, and an empty variable as unset', () => {
    // Act
    const config = readEnvironment({
      SYSTEM_NAMESPACE: 'platform',
      WATCH_NAMESPACES: 'platform, team-a',
      MAX_RECEIVE_COUNT: '5',
      IDENTITY_KINDS: 'FooClusterIdentity',
      EVENT_BUS_NAME: '',
    });

    // Assess
    expect(config).toMatchObject({
      watchNamespaces: ['platform', 'team-a'],
      MAX_RECEIVE_COUNT: 5,
      IDENTITY_KINDS: ['FooClusterIdentity'],
    });
    expect(config.EVENT_BUS_NAME).toBeUndefined();
  });

  it.each([
    ['MAX_RECEIVE_COUNT', { MAX_RECEIVE_COUNT: 'five' }],
    ['AUDIT_MAX_BODY_BYTES', { AUDIT_MAX_BODY_BYTES: '-1' }],
    ['IDENTITY_RELAY_POLL_MS', { IDENTITY_RELAY_POLL_MS: '1.5' }],
  ])('refuses %s that is not a positive integer, naming it', (name, env) => {
    expect(() => readEnvironment(env)).toThrow(new InvalidInput(`${name}: is not a positive integer`));
  });
});
