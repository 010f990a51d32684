import type { RequestOptions } from 'node:https';
import { dumpYaml } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { type AccessOptions, connectionOf, parseKubeconfig } from '../../../lib/adapters/kubeconfig.js';
import { parseHostPattern } from '../../../lib/domain/hosts.js';
import { ClusterUnreachable, InvalidInput, Refused, UnsupportedAuth } from '../../../lib/errors.js';

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
      checkAddresses: expect.any(Function), // a hostname: its addresses are checked before each connection
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
    expect(access.auth).toStrictEqual({
      kind: 'eks',
      spec: { ...spec, server: 'https://eu.example.com:6443' },
    });
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

describe('connectionOf', () => {
  it('carries the validated cluster and a minted token in place of the exec', async () => {
    // Prepare
    const access = parse(exec('aws', ['eks', 'get-token', '--cluster-name', 'prod-eu']));
    const opts: RequestOptions = {};

    // Act
    const connection = connectionOf(access, 'k8s-aws-v1.minted');
    await connection.applyToHTTPSOptions(opts);

    // Assess
    expect(connection.getCurrentCluster()).toStrictEqual({ server: 'https://eu.example.com:6443' });
    expect(opts).toStrictEqual({
      ca: Buffer.from(CA, 'base64'),
      headers: { Authorization: 'Bearer k8s-aws-v1.minted' },
    });
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

describe('parseKubeconfig server hosts', () => {
  const server = (url: string) => setCluster({ server: url });
  const hosts = (allow: string[], allowLoopback = false): AccessOptions => ({
    hosts: { allow: allow.map(parseHostPattern), allowLoopback },
  });
  const refusal = (tweak: (c: Config) => void, options: AccessOptions = {}) => {
    try {
      parse(tweak, options);
    } catch (error) {
      expect(error).toBeInstanceOf(Refused);
      return (error as Error).message;
    }
    return 'accepted';
  };

  it.each([
    [
      'the metadata address',
      'https://169.254.169.254',
      hosts([]),
      '169.254.169.254 is the instance metadata address',
    ],
    [
      'the metadata address in decimal',
      'https://2852039166',
      hosts([]),
      '169.254.169.254 is the instance metadata address',
    ],
    [
      'the IPv6 metadata address',
      'https://[fd00:ec2::254]',
      hosts([]),
      'fd00:ec2::254 is the instance metadata address',
    ],
    [
      'a link-local address, even allowlisted',
      'https://169.254.10.1',
      hosts(['169.254.0.0/16']),
      '169.254.10.1 is a link-local address',
    ],
    [
      'an IPv4-mapped metadata address',
      'https://[::ffff:169.254.169.254]',
      hosts([], true),
      '::ffff:a9fe:a9fe is the instance metadata address',
    ],
    [
      'loopback without the switch',
      'https://127.0.0.1:6443',
      {},
      '127.0.0.1 is a loopback address (allowed only with ALLOW_LOOPBACK_CLUSTERS=true, for the local testbed)',
    ],
    [
      'localhost without the switch',
      'https://localhost:6443',
      hosts([]),
      'localhost is a loopback name (allowed only with ALLOW_LOOPBACK_CLUSTERS=true, for the local testbed)',
    ],
    [
      'a host outside the allowlist',
      'https://10.0.9.9',
      hosts(['10.1.0.0/16', '*.example.com']),
      '10.0.9.9 is not in the allowed cluster hosts',
    ],
    [
      'a name outside the allowlist',
      'https://eks.attacker.example',
      hosts(['*.example.com']),
      'eks.attacker.example is not in the allowed cluster hosts',
    ],
  ])('refuses %s before any request', (_, url, options, reason) => {
    // Act / Assess
    expect(refusal(server(url), options)).toBe(
      `refused: cluster region-eu: server ${reason}; no request is sent`,
    );
  });

  it.each([
    ['loopback with the switch', 'https://127.0.0.1:6443', hosts([], true)],
    ['any public host with an empty allowlist', 'https://203.0.113.7', hosts([])],
    ['an address inside an allowed CIDR', 'https://10.1.2.3:6443', hosts(['10.1.0.0/16'])],
    [
      'a name under an allowed suffix',
      'https://abc.gr7.eu-west-1.eks.amazonaws.com',
      hosts(['*.eks.amazonaws.com']),
    ],
  ])('accepts %s', (_, url, options) => {
    // Act / Assess
    expect(refusal(server(url), options)).toBe('accepted');
  });

  it('refuses a name whose addresses include a refused one (DNS rebinding), before any token is used', async () => {
    // Prepare
    const resolved: string[] = [];
    const access = parse(server('https://api.eu.example.com'), {
      ...hosts(['*.example.com']),
      lookup: async (name) => {
        resolved.push(name);
        return ['203.0.113.7', '169.254.169.254'];
      },
    });

    // Act
    const error = await access.checkAddresses?.().catch((e: unknown) => e);

    // Assess
    expect(resolved).toEqual(['api.eu.example.com']);
    expect(error).toBeInstanceOf(Refused);
    expect((error as Error).message).toBe(
      'refused: cluster region-eu: server api.eu.example.com resolves to 169.254.169.254 is the instance metadata address; no request is sent',
    );
  });

  it('accepts a name allowed by CIDR only when every address is inside one', async () => {
    // Prepare
    const answers = [['10.1.0.5'], ['10.1.0.5', '10.9.0.1']];
    const access = parse(server('https://api.internal'), {
      ...hosts(['10.1.0.0/16']),
      lookup: async () => answers.shift() ?? [],
    });

    // Act
    const first = await access.checkAddresses?.().then(() => 'accepted');
    const parsedAgain = parse(server('https://api.internal'), {
      ...hosts(['10.1.0.0/16']),
      lookup: async () => answers.shift() ?? [],
    });
    const second = await parsedAgain.checkAddresses?.().catch((e: unknown) => (e as Error).message);

    // Assess
    expect(first).toBe('accepted');
    expect(second).toBe(
      'refused: cluster region-eu: server api.internal resolves to 10.9.0.1, outside the allowed cluster hosts; no request is sent',
    );
  });
});

describe('parseKubeconfig server resolution', () => {
  it('reports a name that does not resolve as unreachable (retryable), not as refused', async () => {
    // Prepare
    const access = parse(setCluster({ server: 'https://api.gone.example.com' }), {
      lookup: async () => {
        throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
      },
    });

    // Act
    const error = await access.checkAddresses?.().catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(ClusterUnreachable);
    expect((error as ClusterUnreachable).retryable).toBe(true);
    expect((error as Error).message).toBe(
      'cluster region-eu unreachable: server api.gone.example.com does not resolve (ENOTFOUND)',
    );
  });
});
