import { readFileSync } from 'node:fs';
import { CreateClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { STSClient } from '@aws-sdk/client-sts';
import { dumpYaml, loadYaml } from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/rotation/handler.js';
import { describeClusterEndpoint, eksTokens } from '../../lib/adapters/eks-token.js';
import type { KubeObject } from '../../lib/domain/objects.js';
import { Refused } from '../../lib/errors.js';
import { rememberSecret, scanForLeaks } from '../helpers/capture.js';
import {
  awsStaticIdentity,
  createRegion,
  labelUpdated,
  prepareK0rdent,
  rotateSource,
  SYSTEM_NAMESPACE,
  sqsBatch,
  testRuntime,
} from '../helpers/k0rdent.js';
import { lambdaContext } from '../helpers/lambda.js';
import { kubeClients, testbed, uniqueName } from '../helpers/testbed-clients.js';

const { runtime, log, metrics } = testRuntime();
const handler = createHandler(runtime);
const errors: string[] = [];

async function invoke(event: unknown) {
  try {
    return await handler(event, lambdaContext());
  } catch (error) {
    errors.push(String(error), (error as Error).stack ?? '');
    throw error;
  }
}

/** The testbed's admin kubeconfig for `cluster`: with the client certificate, or with the bearer token. */
function kubeconfigOf(cluster: string, auth: 'certificate' | 'token'): string {
  const info = testbed().clusters[cluster];
  const text = readFileSync((auth === 'token' ? info?.tokenKubeconfig : info?.kubeconfig) ?? '', 'utf8');
  for (const line of text.split('\n')) {
    const token = line.match(/^\s+token: (\S+)$/)?.[1];
    if (token) rememberSecret(token); // a bearer token must never be printed either
  }
  return text;
}

type Kubeconfig = { users: Array<{ user: Record<string, unknown> }>; clusters: Array<{ cluster: object }> };

/** A kubeconfig for `cluster` whose user is replaced (e.g. by an exec plugin or a wrong token). */
function withUser(cluster: string, user: Record<string, unknown>): string {
  const config = loadYaml<Kubeconfig>(kubeconfigOf(cluster, 'certificate'));
  for (const entry of config.users) entry.user = user;
  return dumpYaml(config);
}

const value = (n: number) =>
  rememberSecret(
    JSON.stringify({
      AccessKeyID: `AKIAACCESS${String(n).padStart(10, '0')}`,
      SecretAccessKey: `cluster-access-key-${n}-${uniqueName('x')}`,
    }),
  );
const keyOf = (json: string) => (JSON.parse(json) as { SecretAccessKey: string }).SecretAccessKey;

/** A bound AWS static identity with one Credential per region; returns its name and source ARN. */
async function identityIn(regions: string[]): Promise<{ id: string; arn: string }> {
  const { name, source } = await awsStaticIdentity(regions, value(0));
  return { id: name, arn: source.arn };
}

/** Rotates the source to value `n` and delivers the event; returns the function's SQS response. */
async function rotateTo(arn: string, n: number) {
  const json = value(n);
  const version = await rotateSource(arn, json);
  const response = await invoke(sqsBatch([labelUpdated(arn, version)]));
  return { json, response };
}

/** The SecretAccessKey of the regional copy in `cluster`, or undefined when there is none. */
async function copiedKey(cluster: string, id: string): Promise<string | undefined> {
  const secret = (await kubeClients(cluster)
    .core.readNamespacedSecret({ name: id, namespace: SYSTEM_NAMESPACE })
    .catch((error: { code?: number }) => {
      if (error.code === 404) return undefined;
      throw error;
    })) as unknown as KubeObject | undefined;
  const data = (secret?.data ?? {}) as Record<string, string>;
  return data.SecretAccessKey ? Buffer.from(data.SecretAccessKey, 'base64').toString() : undefined;
}

/** The one-line reason the last event gave for `region`, from the function's log. */
function regionError(region: string): string | undefined {
  const lines = log.lines.map(
    (line) => JSON.parse(line) as { message: string; region?: string; error?: string },
  );
  return lines.filter((l) => l.message === 'region failed' && l.region === region).pop()?.error;
}

describe('cluster access', () => {
  beforeAll(async () => {
    await prepareK0rdent();
  });

  it('reaches one region with a client certificate and another with a bearer token', async () => {
    // Prepare
    const certRegion = uniqueName('cert');
    const tokenRegion = uniqueName('token');
    await createRegion(certRegion, 'region-a', kubeconfigOf('region-a', 'certificate'));
    await createRegion(tokenRegion, 'region-b', kubeconfigOf('region-b', 'token'));
    const { id, arn } = await identityIn([certRegion, tokenRegion]);

    // Act
    const { json, response } = await rotateTo(arn, 1);

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await copiedKey('region-a', id)).toBe(keyOf(json));
    expect(await copiedKey('region-b', id)).toBe(keyOf(json));
  });

  it('uses the rotated kubeconfig for the next event, and reports a rejected token for its region', async () => {
    // Prepare: the Region first reaches region-a with the certificate...
    const region = uniqueName('moving');
    await createRegion(region, 'region-a', kubeconfigOf('region-a', 'certificate'));
    const { id, arn } = await identityIn([region]);
    const first = await rotateTo(arn, 1);
    expect(first.response).toEqual({ batchItemFailures: [] });
    expect(await copiedKey('region-a', id)).toBe(keyOf(first.json));

    // Act: ...then its kubeconfig Secret is rotated to region-b's bearer token.
    await createRegion(region, 'region-b', kubeconfigOf('region-b', 'token'));
    const second = await rotateTo(arn, 2);

    // Assess: the second event went where the new kubeconfig points; the old cluster was left alone.
    expect(second.response).toEqual({ batchItemFailures: [] });
    expect(await copiedKey('region-b', id)).toBe(keyOf(second.json));
    expect(await copiedKey('region-a', id)).toBe(keyOf(first.json));

    // Act: a kubeconfig whose token the apiserver rejects (401, retried once with a rebuilt client).
    await createRegion(
      region,
      'region-b',
      withUser('region-b', { token: rememberSecret(uniqueName('revoked-token')) }),
    );
    const third = await rotateTo(arn, 3);

    // Assess
    expect(third.response?.batchItemFailures).toHaveLength(1);
    expect(regionError(region)).toMatch(
      /^Forbidden: forbidden: .* in cluster \S+ \(HTTP 401, Unauthorized\)$/,
    );
    expect(await copiedKey('region-b', id)).toBe(keyOf(second.json));
  });

  it('reports an unsupported exec plugin and a refused insecure kubeconfig for their regions while the others converge', async () => {
    // Prepare
    const execRegion = uniqueName('exec');
    const insecureRegion = uniqueName('insecure');
    const goodRegion = uniqueName('good');
    await createRegion(
      execRegion,
      'region-a',
      withUser('region-a', {
        exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: 'gke-gcloud-auth-plugin' },
      }),
    );
    const insecure = loadYaml<Kubeconfig>(kubeconfigOf('region-a', 'certificate'));
    for (const entry of insecure.clusters) Object.assign(entry.cluster, { 'insecure-skip-tls-verify': true });
    await createRegion(insecureRegion, 'region-a', dumpYaml(insecure));
    await createRegion(goodRegion, 'region-b', kubeconfigOf('region-b', 'certificate'));
    const { id, arn } = await identityIn([execRegion, insecureRegion, goodRegion]);

    // Act
    const { json, response } = await rotateTo(arn, 1);

    // Assess
    expect(response?.batchItemFailures).toHaveLength(1); // retried for the failed regions
    expect(regionError(execRegion)).toBe(
      `UnsupportedAuth: cluster ${execRegion}: exec plugin "gke-gcloud-auth-plugin" cannot run inside Lambda`,
    );
    expect(regionError(insecureRegion)).toBe(
      `InvalidInput: cluster ${insecureRegion}: insecure-skip-tls-verify is refused unless ALLOW_INSECURE_TLS=true is configured`,
    );
    expect(regionError(goodRegion)).toBeUndefined();
    expect(await copiedKey('region-b', id)).toBe(keyOf(json));
    expect(await copiedKey('region-a', id)).toBeUndefined();
  });

  it('mints EKS tokens from the own credentials and from a role assumed through STS, for the cluster endpoint only', async () => {
    // Prepare: the SDK's STS and EKS clients against the testbed's AWS endpoint, as the functions build
    // them, and an EKS cluster there whose endpoint DescribeCluster reports.
    const { aws } = testbed();
    const own = { accessKeyId: 'AKIAOWNCREDENTIALS01', secretAccessKey: 'testing' };
    const sts = new STSClient({ endpoint: aws.endpoint, region: aws.region, credentials: own });
    const eks = (region: string, credentials: typeof own) =>
      new EKSClient({ endpoint: aws.endpoint, region, credentials });
    const clusterId = uniqueName('prod-eu');
    const created = await eks('eu-west-1', own).send(
      new CreateClusterCommand({
        name: clusterId,
        roleArn: 'arn:aws:iam::123456789012:role/eks-cluster',
        resourcesVpcConfig: { subnetIds: ['subnet-0123456789abcdef0'] },
      }),
    );
    const server = created.cluster?.endpoint ?? '';
    const tokens = eksTokens({
      sts,
      credentials: () => sts.config.credentials(),
      region: 'eu-west-1',
      clusterEndpoint: describeClusterEndpoint(eks),
    });
    const credentialOf = (token: string) =>
      new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString()).searchParams;

    // Act
    const mine = credentialOf(await tokens.token({ clusterId, server }));
    const assumed = credentialOf(
      await tokens.token({ clusterId, server, roleArn: 'arn:aws:iam::123456789012:role/identity-relay-eks' }),
    );
    const elsewhere = await tokens
      .token({ clusterId, server: 'https://eks-proxy.attacker.example' })
      .catch((error: unknown) => error);
    const unknown = await tokens
      .token({ clusterId: uniqueName('no-such-cluster'), server })
      .catch((error: unknown) => error);

    // Assess
    expect(server).toMatch(/^https:\/\//);
    expect(mine.get('X-Amz-Credential')).toMatch(
      /^AKIAOWNCREDENTIALS01\/\d{8}\/eu-west-1\/sts\/aws4_request$/,
    );
    expect(mine.get('X-Amz-Security-Token')).toBeNull();
    expect(assumed.get('X-Amz-Credential')).toMatch(/^ASIA\w+\/\d{8}\/eu-west-1\/sts\/aws4_request$/);
    expect(assumed.get('X-Amz-Security-Token')).toBeTruthy();
    expect(assumed.get('X-Amz-SignedHeaders')).toBe('host;x-k8s-aws-id');
    expect(elsewhere).toBeInstanceOf(Refused);
    expect((elsewhere as Error).message).toMatch(
      /^refused: kubeconfig server eks-proxy\.attacker\.example is not the endpoint of EKS cluster \S+ \(DescribeCluster: \S+\); no token minted$/,
    );
    expect(unknown).toBeInstanceOf(Refused);
  });

  it('never prints a secret value or a bearer token in any log line or error', () => {
    // Assess
    expect(log.lines.length).toBeGreaterThan(0);
    expect(scanForLeaks({ logs: log.lines, errors, metrics: metrics.recorded })).toEqual([]);
  });
});
