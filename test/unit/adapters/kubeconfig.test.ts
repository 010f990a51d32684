import { dumpYaml } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { type AccessOptions, kubeConfigOf, parseKubeconfig } from '../../../lib/adapters/kubeconfig.js';
import { InvalidInput, UnsupportedAuth } from '../../../lib/errors.js';

const pem = (label: string) => `-----BEGIN ${label}-----\nTUlJQmZha2U=\n-----END ${label}-----\n`;
const b64 = (text: string) => Buffer.from(text).toString('base64');
const CA = b64(pem('CERTIFICATE'));
const TOKEN = 'kubeconfig-test-bearer-token-0123456789';

type Config = {
  clusters: Array<{ name: string; cluster: Record<string, unknown> }>;
  users: Array<{ name: string; user: Record<string, unknown> }>;
  contexts: Array<{ name: string; context: Record<string, unknown> }>;
  'current-context'?: string;
};

/** The baseline: one https cluster with CA data, a bearer-token user, current-context set. */
function baseline(): Config {
  return {
    clusters: [
      { name: 'eu', cluster: { server: 'https://eu.example.com:6443', 'certificate-authority-data': CA } },
    ],
    users: [{ name: 'relay', user: { token: TOKEN } }],
    contexts: [{ name: 'eu', context: { cluster: 'eu', user: 'relay' } }],
    'current-context': 'eu',
  };
}

function parse(tweak: (c: Config) => void = () => {}, options: AccessOptions = {}) {
  const config = baseline();
  tweak(config);
  return parseKubeconfig('region-eu', dumpYaml({ apiVersion: 'v1', kind: 'Config', ...config }), options);
}

const setUser = (user: Record<string, unknown>) => (c: Config) => {
  c.users = [{ name: 'relay', user }];
};
const setCluster = (extra: Record<string, unknown>) => (c: Config) => {
  Object.assign(c.clusters[0]?.cluster ?? {}, extra);
};
const replace = (patch: Partial<Config>) => (c: Config) => {
  Object.assign(c, patch);
};
const exec = (command: string, args: string[], env?: Array<{ name: string; value: string }>) =>
  setUser({
    exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command, args, ...(env ? { env } : {}) },
  });

describe('parseKubeconfig', () => {
  it('reads a bearer-token kubeconfig with CA data', () => {
    // Act
    const access = parse();

    // Assess
    expect(access).toStrictEqual({
      server: 'https://eu.example.com:6443',
      caData: CA,
      skipTlsVerify: false,
      auth: { kind: 'static', token: TOKEN },
    });
  });

  it.each([
    ['base64 client certificate data', b64(pem('CERTIFICATE')), b64(pem('RSA PRIVATE KEY'))],
    ['PEM pasted as is', pem('CERTIFICATE'), pem('RSA PRIVATE KEY')],
  ])('reads a client certificate given as %s', (_, cert, key) => {
    // Act
    const access = parse(setUser({ 'client-certificate-data': cert, 'client-key-data': key }));

    // Assess
    expect(access.auth).toStrictEqual({
      kind: 'static',
      certData: b64(pem('CERTIFICATE')),
      keyData: b64(pem('RSA PRIVATE KEY')),
    });
  });

  it('uses a named context instead of current-context', () => {
    // Act
    const access = parse(
      (c) => {
        c.clusters.push({ name: 'us', cluster: { server: 'https://us.example.com' } });
        c.contexts.push({ name: 'us', context: { cluster: 'us', user: 'relay' } });
      },
      { context: 'us' },
    );

    // Assess
    expect(access.server).toBe('https://us.example.com');
  });

  it('uses the only context when current-context is not set', () => {
    // Act
    const access = parse((c) => {
      delete c['current-context'];
    });

    // Assess
    expect(access.server).toBe('https://eu.example.com:6443');
  });

  it('accepts insecure-skip-tls-verify only when configured to', () => {
    // Act
    const access = parse(setCluster({ 'insecure-skip-tls-verify': true }), { allowInsecureTls: true });

    // Assess
    expect(access.skipTlsVerify).toBe(true);
  });

  it.each([
    ['an absent named context', replace({ 'current-context': 'nowhere' }), 'has no context nowhere'],
    ['insecure-skip-tls-verify', setCluster({ 'insecure-skip-tls-verify': true }), 'ALLOW_INSECURE_TLS=true'],
    ['an http:// server', setCluster({ server: 'http://eu.example.com' }), 'server must be https://'],
    ['a proxy', setCluster({ 'proxy-url': 'http://proxy:3128' }), 'proxy-url is not supported'],
    [
      'a CA file',
      replace({
        clusters: [{ name: 'eu', cluster: { server: 'https://eu', 'certificate-authority': '/ca' } }],
      }),
      'certificate-authority is a file',
    ],
    ['a certificate without its key', setUser({ 'client-certificate-data': CA }), 'go together'],
    ['CA data that is not PEM', setCluster({ 'certificate-authority-data': b64('junk') }), 'not base64 PEM'],
    ['a cluster list that is not a list', replace({ clusters: {} as never }), 'clusters:'],
  ])('refuses %s with InvalidInput', (_, tweak, reason) => {
    // Act
    const error = captured(() => parse(tweak));

    // Assess
    expect(error).toBeInstanceOf(InvalidInput);
    expect(error.message).toContain('cluster region-eu');
    expect(error.message).toContain(reason);
    expect(error.message).not.toContain(TOKEN);
  });

  it('refuses text that is not YAML without quoting it', () => {
    // Act
    const error = captured(() => parseKubeconfig('region-eu', `users: [token: ${TOKEN}\n  - :`));

    // Assess
    expect(error).toBeInstanceOf(InvalidInput);
    expect(error.message).toBe('cluster region-eu: kubeconfig is not YAML');
  });

  it.each([
    [
      'aws eks get-token',
      exec('aws', ['eks', 'get-token', '--cluster-name', 'prod-eu']),
      { clusterId: 'prod-eu' },
    ],
    [
      'aws eks get-token with a role and region',
      exec('/usr/local/bin/aws', [
        '--region',
        'eu-west-1',
        'eks',
        'get-token',
        '--cluster-name=prod-eu',
        '--role-arn',
        'arn:aws:iam::1:role/r',
      ]),
      { clusterId: 'prod-eu', roleArn: 'arn:aws:iam::1:role/r', region: 'eu-west-1' },
    ],
    [
      'aws eks get-token by cluster id, region from the exec env',
      exec(
        'aws',
        ['eks', 'get-token', '--cluster-id', 'abc123'],
        [{ name: 'AWS_REGION', value: 'us-east-2' }],
      ),
      { clusterId: 'abc123', region: 'us-east-2' },
    ],
    [
      'aws-iam-authenticator token',
      exec('aws-iam-authenticator', ['token', '-i', 'prod-eu', '-r', 'arn:aws:iam::1:role/r']),
      { clusterId: 'prod-eu', roleArn: 'arn:aws:iam::1:role/r' },
    ],
  ])('reads an EKS token exec: %s', (_, tweak, spec) => {
    // Act
    const access = parse(tweak);

    // Assess
    expect(access.auth).toStrictEqual({ kind: 'eks', spec });
  });

  it.each([
    [
      'another exec plugin',
      exec('gke-gcloud-auth-plugin', []),
      'cluster region-eu: exec plugin "gke-gcloud-auth-plugin" cannot run inside Lambda',
    ],
    [
      'another aws command',
      exec('aws', ['sso', 'login', '--profile', 'x']),
      'cluster region-eu: exec plugin "aws sso login" cannot run inside Lambda',
    ],
    [
      'a plugin whose flags hold a secret',
      exec('kubelogin', ['get-token', '--client-secret', TOKEN, 'x']),
      'cluster region-eu: exec plugin "kubelogin get-token" cannot run inside Lambda',
    ],
    [
      'an EKS exec naming no cluster',
      exec('aws', ['eks', 'get-token']),
      'cluster region-eu: exec plugin aws names no cluster',
    ],
    [
      'an auth-provider',
      setUser({ 'auth-provider': { name: 'oidc', config: { 'id-token': TOKEN } } }),
      'cluster region-eu: auth-provider oidc is not supported inside Lambda',
    ],
    [
      'a token file',
      setUser({ tokenFile: '/var/run/token' }),
      'cluster region-eu: kubeconfig refers to credential files; inline token or client-*-data',
    ],
    [
      'basic authentication',
      setUser({ username: 'admin', password: TOKEN }),
      'cluster region-eu: basic authentication (username/password) is not supported',
    ],
    [
      'no credentials',
      setUser({}),
      'cluster region-eu: kubeconfig user has no token, client certificate or EKS exec',
    ],
  ])('reports %s as UnsupportedAuth in one line', (_, tweak, message) => {
    // Act
    const error = captured(() => parse(tweak));

    // Assess
    expect(error).toBeInstanceOf(UnsupportedAuth);
    expect(error.message).toBe(message);
    expect((error as UnsupportedAuth).cluster).toBe('region-eu');
    expect(error.retryable).toBe(false);
  });
});

describe('kubeConfigOf', () => {
  it('carries the validated cluster and a minted token in place of the exec', () => {
    // Prepare
    const access = parse(exec('aws', ['eks', 'get-token', '--cluster-name', 'prod-eu']));

    // Act
    const kc = kubeConfigOf(access, 'k8s-aws-v1.minted');

    // Assess
    expect(kc.getCurrentCluster()).toMatchObject({
      server: 'https://eu.example.com:6443',
      caData: CA,
      skipTLSVerify: false,
    });
    expect(kc.getCurrentUser()).toStrictEqual({ name: 'user', token: 'k8s-aws-v1.minted' });
  });
});

function captured(fn: () => unknown): Error & { retryable?: boolean } {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error');
}
