import type { RequestOptions } from 'node:https';
import { describe, expect, it } from 'vitest';
import type { EksTokenSpec, EksTokens } from '../../../lib/adapters/eks-token.js';
import { type ConnectionSource, HttpError } from '../../../lib/adapters/kube-http.js';
import { type ClusterAccess, refreshingCluster } from '../../../lib/adapters/kubeconfig.js';
import { ClusterUnreachable, Forbidden, Refused, UnsupportedAuth } from '../../../lib/errors.js';
import type { Cluster } from '../../../lib/ports.js';

const STATIC: ClusterAccess = {
  server: 'https://eu.example.com',
  skipTlsVerify: false,
  auth: { kind: 'static', token: 'static-token' },
};
const EKS: ClusterAccess = {
  ...STATIC,
  auth: { kind: 'eks', spec: { clusterId: 'prod-eu', server: 'https://eu.example.com' } },
};
const REF = { apiVersion: 'v1', kind: 'Secret', namespace: 'kcm-system', name: 's' };

const unauthorized = () => new Forbidden('get Secret (HTTP 401)', new HttpError(401, ''));
const forbidden = () => new Forbidden('get Secret (HTTP 403)', new HttpError(403, ''));
const badCertificate = () =>
  new ClusterUnreachable(
    'eu',
    'get: CERT_HAS_EXPIRED',
    Object.assign(new Error('x'), { code: 'CERT_HAS_EXPIRED' }),
  );

/**
 * Clients built over `access`, each answering `get` with the next scripted outcome; records the bearer
 * token every client was built with.
 */
function harness(access: ClusterAccess, outcomes: Array<Error | undefined>, eks?: EksTokens) {
  const tokens: Array<string | undefined> = [];
  const makeCluster = (connection: ConnectionSource): Cluster => {
    const opts: RequestOptions = {};
    void connection.applyToHTTPSOptions(opts);
    const headers = (opts.headers ?? {}) as Record<string, string>;
    tokens.push(headers.Authorization?.replace(/^Bearer /, ''));
    return {
      name: 'eu',
      get: async () => {
        const outcome = outcomes.shift();
        if (outcome) throw outcome;
        return undefined;
      },
    } as unknown as Cluster;
  };
  return { cluster: refreshingCluster('eu', access, eks, makeCluster), tokens };
}

/** EKS tokens numbered by mint; `invalidate` makes the next call mint. */
function fakeTokens(): EksTokens & { invalidated: EksTokenSpec[]; minted: number; expire(): void } {
  let serial = 1;
  const invalidated: EksTokenSpec[] = [];
  return {
    invalidated,
    minted: 0,
    async token() {
      this.minted++;
      return `k8s-aws-v1.token-${serial}`;
    },
    invalidate(spec) {
      invalidated.push(spec);
      serial++;
    },
    expire() {
      serial++;
    },
  };
}

describe('refreshingCluster', () => {
  it('builds its client once and reuses it across calls', async () => {
    // Prepare
    const { cluster, tokens } = harness(STATIC, []);

    // Act
    await cluster.get(REF);
    await cluster.get(REF);

    // Assess
    expect(tokens).toEqual(['static-token']);
  });

  it.each([
    ['a 401', unauthorized],
    ['a TLS failure', badCertificate],
  ])('rebuilds the client after %s and tries once more', async (_, failure) => {
    // Prepare
    const { cluster, tokens } = harness(STATIC, [failure(), undefined]);

    // Act
    const result = await cluster.get(REF);

    // Assess
    expect(result).toBeUndefined();
    expect(tokens).toEqual(['static-token', 'static-token']);
  });

  it('gives up after one retry, reporting the second failure', async () => {
    // Prepare
    const { cluster, tokens } = harness(STATIC, [unauthorized(), unauthorized()]);

    // Act
    const error = await cluster.get(REF).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(Forbidden);
    expect(tokens).toHaveLength(2);
  });

  it('does not retry a 403: the credentials work, RBAC says no', async () => {
    // Prepare
    const { cluster, tokens } = harness(STATIC, [forbidden(), undefined]);

    // Act
    const error = await cluster.get(REF).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(Forbidden);
    expect(tokens).toHaveLength(1);
  });

  it('re-mints the EKS token on a 401 and retries with the new one', async () => {
    // Prepare
    const eks = fakeTokens();
    const { cluster, tokens } = harness(EKS, [unauthorized(), undefined], eks);

    // Act
    await cluster.get(REF);

    // Assess
    expect(eks.invalidated).toEqual([{ clusterId: 'prod-eu', server: 'https://eu.example.com' }]);
    expect(tokens).toEqual(['k8s-aws-v1.token-1', 'k8s-aws-v1.token-2']);
  });

  it('switches to a new client when the EKS token is renewed before expiry', async () => {
    // Prepare
    const eks = fakeTokens();
    const { cluster, tokens } = harness(EKS, [], eks);
    await cluster.get(REF);

    // Act
    await cluster.get(REF);
    eks.expire();
    await cluster.get(REF);

    // Assess
    expect(tokens).toEqual(['k8s-aws-v1.token-1', 'k8s-aws-v1.token-2']);
  });

  it('reports an EKS exec as UnsupportedAuth when no AWS credentials are configured', async () => {
    // Prepare
    const { cluster } = harness(EKS, []);

    // Act
    const error = await cluster.get(REF).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(UnsupportedAuth);
  });

  it('checks the server addresses before minting a token or building a client, and stops there when refused', async () => {
    // Prepare
    const eks = fakeTokens();
    const checks: string[] = [];
    const refused: ClusterAccess = {
      ...EKS,
      checkAddresses: async () => {
        checks.push('checked');
        throw new Refused(
          'cluster eu: server eu.example.com resolves to 169.254.169.254 is the instance metadata address',
        );
      },
    };
    const { cluster, tokens } = harness(refused, [], eks);

    // Act
    const error = await cluster.get(REF).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(Refused);
    expect(checks).toEqual(['checked']);
    expect(eks.minted).toBe(0);
    expect(tokens).toEqual([]);
  });
});
