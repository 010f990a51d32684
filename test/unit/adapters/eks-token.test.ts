import type { DescribeClusterCommand } from '@aws-sdk/client-eks';
import type { AssumeRoleCommand, STSClient } from '@aws-sdk/client-sts';
import { describe, expect, it } from 'vitest';
import {
  type AwsCredentials,
  type ClusterEndpointRequest,
  describeClusterEndpoint,
  ENDPOINT_TTL_MS,
  eksTokens,
  presignEksToken,
  REFRESH_MARGIN_MS,
  TOKEN_LIFETIME_MS,
} from '../../../lib/adapters/eks-token.js';
import { Forbidden, Refused, RelayError } from '../../../lib/errors.js';

// The SigV4 vector: fixed credentials (the AWS documentation's example key), time and region.
// EXPECTED_* were produced independently of this code by botocore 1.44.5 (the library behind
// `aws eks get-token`), with test/unit/adapters/eks-token-vector.py: generate_presigned_url of STS
// GetCallerIdentity, ExpiresIn=60, the x-k8s-aws-id header added before signing, the clock fixed.
const SIGNED_AT = new Date('2026-01-02T03:04:05Z');
const KEYS: AwsCredentials = {
  accessKeyId: 'AKIDEXAMPLE',
  secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
};
const SESSION_TOKEN = 'FQoGZXIvYXdzEXAMPLESESSIONTOKEN/+=';
const EXPECTED_URL =
  'https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15' +
  '&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20260102%2Feu-west-1%2Fsts%2Faws4_request' +
  '&X-Amz-Date=20260102T030405Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id' +
  '&X-Amz-Signature=bb4a9d798eb5344788af0792214fc253000310ce5d97940fb5e485824ca14950';
const EXPECTED_TOKEN =
  'k8s-aws-v1.aHR0cHM6Ly9zdHMuZXUtd2VzdC0xLmFtYXpvbmF3cy5jb20vP0FjdGlvbj1HZXRDYWxsZXJJZGVudGl0eSZWZXJzaW9uPTIwMTEtMDYtMTUmWC1BbXotQWxnb3JpdGhtPUFXUzQtSE1BQy1TSEEyNTYmWC1BbXotQ3JlZGVudGlhbD1BS0lERVhBTVBMRSUyRjIwMjYwMTAyJTJGZXUtd2VzdC0xJTJGc3RzJTJGYXdzNF9yZXF1ZXN0JlgtQW16LURhdGU9MjAyNjAxMDJUMDMwNDA1WiZYLUFtei1FeHBpcmVzPTYwJlgtQW16LVNpZ25lZEhlYWRlcnM9aG9zdCUzQngtazhzLWF3cy1pZCZYLUFtei1TaWduYXR1cmU9YmI0YTlkNzk4ZWI1MzQ0Nzg4YWYwNzkyMjE0ZmMyNTMwMDAzMTBjZTVkOTc5NDBmYjVlNDg1ODI0Y2ExNDk1MA';
const EXPECTED_SESSION_URL =
  'https://sts.eu-west-1.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15' +
  '&X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIDEXAMPLE%2F20260102%2Feu-west-1%2Fsts%2Faws4_request' +
  '&X-Amz-Date=20260102T030405Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host%3Bx-k8s-aws-id' +
  '&X-Amz-Security-Token=FQoGZXIvYXdzEXAMPLESESSIONTOKEN%2F%2B%3D' +
  '&X-Amz-Signature=30924bff7c2abeb3d7c96641fa1ad7e39abd481858145f1e298c96354d388520';

const urlOf = (token: string) => Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString();

describe('presignEksToken', () => {
  it('matches the botocore vector for fixed credentials, time and region', async () => {
    // Act
    const token = await presignEksToken('prod-eu', 'eu-west-1', KEYS, SIGNED_AT);

    // Assess
    expect(token).toBe(EXPECTED_TOKEN);
    expect(urlOf(token)).toBe(EXPECTED_URL);
    expect(token).not.toContain('=');
  });

  it('signs the session token of temporary credentials (as Lambda has) into the URL', async () => {
    // Act
    const token = await presignEksToken(
      'prod-eu',
      'eu-west-1',
      { ...KEYS, sessionToken: SESSION_TOKEN },
      SIGNED_AT,
    );

    // Assess
    expect(urlOf(token)).toBe(EXPECTED_SESSION_URL);
  });

  it('signs for the China partition host in a cn- region', async () => {
    // Act
    const token = await presignEksToken('c', 'cn-north-1', KEYS, SIGNED_AT);

    // Assess
    expect(new URL(urlOf(token)).host).toBe('sts.cn-north-1.amazonaws.com.cn');
  });
});

const ENDPOINT = 'https://0123456789ABCDEF.gr7.eu-west-1.eks.amazonaws.com';

/**
 * A clock the test moves, STS answering AssumeRole with fixed keys, a count of credential reads, and
 * DescribeCluster (the narrow ClusterEndpoint port) answering from `endpoints`.
 */
function harness(
  options: {
    denyAssumeRole?: boolean;
    failCredentials?: number;
    allowedRoles?: string[];
    endpoints?: Record<string, string>;
  } = {},
) {
  let now = SIGNED_AT.getTime();
  const assumed: Array<AssumeRoleCommand['input']> = [];
  const described: ClusterEndpointRequest[] = [];
  const endpoints = options.endpoints ?? { 'prod-eu': ENDPOINT, x: ENDPOINT };
  let credentialReads = 0;
  let failures = options.failCredentials ?? 0;
  const sts = {
    async send(command: AssumeRoleCommand) {
      assumed.push(command.input);
      if (options.denyAssumeRole) throw Object.assign(new Error('denied'), { name: 'AccessDenied' });
      return {
        Credentials: {
          AccessKeyId: 'ASIAASSUMED',
          SecretAccessKey: 'assumed-secret',
          SessionToken: 'assumed-session',
        },
      };
    },
  } as unknown as Pick<STSClient, 'send'>;
  const tokens = eksTokens({
    sts,
    credentials: async () => {
      credentialReads++;
      if (failures-- > 0) throw new Error('no credentials yet');
      return KEYS;
    },
    region: 'eu-west-1',
    ...(options.allowedRoles ? { allowedRoles: options.allowedRoles } : {}),
    clusterEndpoint: async (request) => {
      described.push(request);
      const endpoint = endpoints[request.clusterName];
      if (!endpoint) throw new Refused(`EKS cluster ${request.clusterName} not found`);
      return endpoint;
    },
    now: () => new Date(now),
  });
  return {
    tokens,
    assumed,
    described,
    reads: () => credentialReads,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

describe('eksTokens', () => {
  const spec = { clusterId: 'prod-eu', server: ENDPOINT.toLowerCase() };

  it('mints from the function credentials in its region and reuses the token until shortly before expiry', async () => {
    // Prepare
    const h = harness();
    const first = await h.tokens.token(spec);

    // Act
    h.advance(TOKEN_LIFETIME_MS - REFRESH_MARGIN_MS - 1);
    const reused = await h.tokens.token(spec);
    h.advance(1);
    const renewed = await h.tokens.token(spec);

    // Assess
    expect(first).toBe(EXPECTED_TOKEN);
    expect(reused).toBe(first);
    expect(renewed).not.toBe(first);
    expect(urlOf(renewed)).toContain('X-Amz-Date=20260102T031805Z');
    // Two mints, and the endpoint described again once its TTL had passed (the reuse).
    expect(h.described).toHaveLength(2);
    expect(h.reads()).toBe(3);
  });

  it('mints a new token after invalidate (a 401)', async () => {
    // Prepare
    const h = harness();
    const first = await h.tokens.token(spec);
    h.advance(1000);

    // Act
    h.tokens.invalidate(spec);
    const second = await h.tokens.token(spec);

    // Assess
    expect(second).not.toBe(first);
    expect(h.reads()).toBe(2);
  });

  it('signs with the credentials of the kubeconfig role, in the kubeconfig region', async () => {
    // Prepare
    const h = harness();
    const roleArn = 'arn:aws:iam::111122223333:role/eks-admin';

    // Act
    const token = await h.tokens.token({ ...spec, roleArn, region: 'us-west-2' });

    // Assess
    expect(h.assumed).toEqual([
      { RoleArn: roleArn, RoleSessionName: 'identity-relay', DurationSeconds: 900 },
    ]);
    const url = new URL(urlOf(token));
    expect(url.host).toBe('sts.us-west-2.amazonaws.com');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/^ASIAASSUMED\/20260102\/us-west-2\/sts\//);
    expect(url.searchParams.get('X-Amz-Security-Token')).toBe('assumed-session');
    expect(h.reads()).toBe(0);
    // The endpoint is described as the role, in the kubeconfig's region: the cluster is the role's.
    expect(h.described).toEqual([
      {
        clusterName: 'prod-eu',
        region: 'us-west-2',
        credentials: {
          accessKeyId: 'ASIAASSUMED',
          secretAccessKey: 'assumed-secret',
          sessionToken: 'assumed-session',
        },
      },
    ]);
  });

  it('reports a refused AssumeRole as Forbidden, naming the role', async () => {
    // Prepare
    const h = harness({ denyAssumeRole: true });

    // Act
    const error = await h.tokens
      .token({ clusterId: 'x', server: ENDPOINT, roleArn: 'arn:aws:iam::1:role/r' })
      .catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(Forbidden);
    expect(error.message).toBe('forbidden: sts:AssumeRole on arn:aws:iam::1:role/r');
  });

  it('refuses a role outside the configured ones without calling STS', async () => {
    // Prepare
    const h = harness({ allowedRoles: ['arn:aws:iam::1:role/allowed'] });

    // Act
    const error = await h.tokens
      .token({ clusterId: 'x', server: ENDPOINT, roleArn: 'arn:aws:iam::1:role/other' })
      .catch((e) => e);

    // Assess
    expect(error).toBeInstanceOf(Forbidden);
    expect(error.message).toBe(
      'forbidden: sts:AssumeRole on arn:aws:iam::1:role/other (not in ASSUME_ROLE_ARNS)',
    );
    expect(h.assumed).toEqual([]);
  });

  it('does not remember a failed mint', async () => {
    // Prepare
    const h = harness({ failCredentials: 1 });
    await expect(h.tokens.token(spec)).rejects.toThrow('no credentials yet');

    // Act
    const token = await h.tokens.token(spec);

    // Assess
    expect(token).toBe(EXPECTED_TOKEN);
  });

  it('mints no token when the kubeconfig server is not the DescribeCluster endpoint of the cluster', async () => {
    // Prepare
    const h = harness();

    // Act
    const errors = await Promise.all(
      ['https://attacker.example.com', 'https://169.254.169.254', `${ENDPOINT}:8443`].map((server) =>
        h.tokens.token({ clusterId: 'prod-eu', server }).catch((e: unknown) => e),
      ),
    );

    // Assess
    for (const error of errors) expect(error).toBeInstanceOf(Refused);
    expect((errors[0] as Error).message).toBe(
      'refused: kubeconfig server attacker.example.com is not the endpoint of EKS cluster prod-eu (DescribeCluster: 0123456789abcdef.gr7.eu-west-1.eks.amazonaws.com); no token minted',
    );
    expect(h.reads()).toBe(1); // the endpoint was described once, then cached
    expect(h.described).toHaveLength(1);
  });

  it('refuses a cluster DescribeCluster does not know, and asks again after the endpoint TTL', async () => {
    // Prepare
    const endpoints: Record<string, string> = {};
    const h = harness({ endpoints });
    const first = await h.tokens.token(spec).catch((e: unknown) => e);

    // Act: the cluster now exists (failures are not cached), and later moves to another endpoint.
    endpoints['prod-eu'] = ENDPOINT;
    const token = await h.tokens.token(spec);
    endpoints['prod-eu'] = 'https://moved.gr7.eu-west-1.eks.amazonaws.com';
    const cached = await h.tokens.token(spec);
    h.advance(ENDPOINT_TTL_MS);
    const moved = await h.tokens.token(spec).catch((e: unknown) => e);

    // Assess
    expect(first).toBeInstanceOf(Refused);
    expect(token).toBe(EXPECTED_TOKEN);
    expect(cached).toBe(token);
    expect(moved).toBeInstanceOf(Refused);
  });
});

describe('describeClusterEndpoint', () => {
  const request = { clusterName: 'prod-eu', region: 'eu-west-1', credentials: KEYS };

  /** DescribeCluster answering `outcome`; records the region and input of each call. */
  function client(outcome: () => unknown) {
    const calls: Array<{ region: string; input: unknown }> = [];
    const endpoint = describeClusterEndpoint(
      (region) =>
        ({
          async send(command: DescribeClusterCommand) {
            calls.push({ region, input: command.input });
            return outcome();
          },
        }) as never,
    );
    return { endpoint, calls };
  }

  it('returns cluster.endpoint, asking the region of the cluster for it by name', async () => {
    // Prepare
    const { endpoint, calls } = client(() => ({ cluster: { endpoint: ENDPOINT } }));

    // Act
    const answer = await endpoint(request);

    // Assess
    expect(answer).toBe(ENDPOINT);
    expect(calls).toEqual([{ region: 'eu-west-1', input: { name: 'prod-eu' } }]);
  });

  it.each([
    [
      'an unknown cluster',
      { name: 'ResourceNotFoundException' },
      Refused,
      'refused: EKS cluster prod-eu not found in eu-west-1 (DescribeCluster); no token minted',
    ],
    [
      'a denied call',
      { name: 'AccessDeniedException' },
      Forbidden,
      'forbidden: eks:DescribeCluster on prod-eu in eu-west-1',
    ],
    [
      'a throttled call',
      { name: 'ThrottlingException' },
      RelayError,
      'DescribeCluster prod-eu in eu-west-1 failed: ThrottlingException',
    ],
  ])('names %s for what it is', async (_, thrown, type, message) => {
    // Prepare
    const { endpoint } = client(() => {
      throw Object.assign(new Error('x'), thrown);
    });

    // Act
    const error = await endpoint(request).catch((e: unknown) => e);

    // Assess
    expect(error).toBeInstanceOf(type);
    expect((error as Error).message).toBe(message);
  });

  it('refuses a cluster with no endpoint yet (still creating)', async () => {
    // Prepare
    const { endpoint } = client(() => ({ cluster: { status: 'CREATING' } }));

    // Act / Assess
    await expect(endpoint(request)).rejects.toThrow(Refused);
  });
});
