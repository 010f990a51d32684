import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import { CreateClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { STSClient } from '@aws-sdk/client-sts';
import { dumpYaml, KubeConfig, KubernetesObjectApi, loadYaml, PatchStrategy } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler as rotationHandler } from '../../functions/rotation/handler.js';
import { createHandler as sweepHandler } from '../../functions/sweep/handler.js';
import { describeClusterEndpoint, eksTokens } from '../../lib/adapters/eks-token.js';
import type { AccessOptions } from '../../lib/adapters/kubeconfig.js';
import { kubeconfigConnector } from '../../lib/adapters/kubernetes.js';
import { parseHostPattern } from '../../lib/domain/hosts.js';
import type { KubeObject } from '../../lib/domain/objects.js';
import type { BindingPolicy } from '../../lib/domain/policy.js';
import { status } from '../../lib/use-cases/status.js';
import { cli, printed } from '../cli/run-cli.js';
import { leakedSecrets, rememberSecret } from '../helpers/capture.js';
import {
  applyAll,
  awsStaticIdentity,
  boundSecret,
  createRegion,
  createSource,
  grantManagementNamespace,
  labelUpdated,
  prepareK0rdent,
  rotateSource,
  SYSTEM_NAMESPACE,
  sqsBatch,
  testRuntime,
} from '../helpers/k0rdent.js';
import { lambdaContext } from '../helpers/lambda.js';
import {
  kubeClients,
  kubeConfigFor,
  kubeconfigText,
  testbed,
  uniqueName,
} from '../helpers/testbed-clients.js';

// A tenant of a multi-team installation, with rights in its own namespace only, tries to make
// identity-relay copy what it cannot read, or send its tokens where the tenant listens. identity-relay
// runs as its own user under the shipped RBAC (testRuntime), the policy configured as a deployment's.

const teamA = uniqueName('team-a');
const teamB = uniqueName('team-b');
const errors: string[] = [];

/** Runs a handler, keeping what it throws for the leak scan. */
async function run<T>(action: () => Promise<T>): Promise<T> {
  try {
    return await action();
  } catch (error) {
    errors.push(String(error), (error as Error).stack ?? '');
    throw error;
  }
}

/** The management cluster as a tenant who may manage Secrets in `namespace` and nothing else. */
async function tenantIn(namespace: string): Promise<KubernetesObjectApi> {
  const user = `tenant-${namespace}`;
  const rbac = 'rbac.authorization.k8s.io';
  await applyAll('mgmt', [
    {
      apiVersion: `${rbac}/v1`,
      kind: 'Role',
      metadata: { name: user, namespace },
      rules: [
        { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'create', 'patch', 'update'] },
      ],
    } as KubeObject,
    {
      apiVersion: `${rbac}/v1`,
      kind: 'RoleBinding',
      metadata: { name: user, namespace },
      roleRef: { apiGroup: rbac, kind: 'Role', name: user },
      subjects: [{ apiGroup: rbac, kind: 'User', name: user }],
    } as KubeObject,
  ]);
  const admin = kubeConfigFor('mgmt');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: admin.clusters,
    contexts: admin.contexts,
    currentContext: admin.currentContext,
    users: admin.users.map((u) => ({ ...u, impersonateUser: user })),
  });
  return KubernetesObjectApi.makeApiClient(kc);
}

async function applyAs(tenant: KubernetesObjectApi, object: KubeObject): Promise<void> {
  await tenant.patch(object, undefined, undefined, 'tenant', true, PatchStrategy.ServerSideApply);
}

async function secretData(namespace: string, name: string): Promise<Record<string, string>> {
  const secret = await kubeClients('mgmt').core.readNamespacedSecret({ name, namespace });
  return secret.data ?? {};
}

/** The Warning Events the apiserver stores for an object, as `kubectl describe` lists them. */
async function warnings(
  namespace: string,
  name: string,
): Promise<Array<{ reason?: string; message?: string }>> {
  const list = await kubeClients('mgmt').core.listNamespacedEvent({
    namespace,
    fieldSelector: `involvedObject.name=${name},type=Warning`,
  });
  return list.items.map((e) => ({ reason: e.reason, message: e.message }));
}

describe('a tenant binding another team’s source', () => {
  const { runtime, deps, log, metrics } = testRuntime([teamA, teamB, SYSTEM_NAMESPACE]);
  const rotation = rotationHandler(runtime);
  const sweep = sweepHandler(runtime);
  const tag = uniqueName('run');
  const password = `team-a-database-password-${randomUUID()}`;
  const value = rememberSecret(JSON.stringify({ password }));
  const kubeconfigValue = rememberSecret(`apiVersion: v1\nkind: Config\n# management ${randomUUID()}`);
  const tokenValue = rememberSecret(`webhook-token-${randomUUID()}`);
  let teamASource = '';
  let kubeconfigSecret = '';
  let tokenSecret = '';

  beforeAll(async () => {
    await prepareK0rdent();
    for (const namespace of [teamA, teamB]) await grantManagementNamespace(namespace);
    teamASource = (await createSource(`${teamA}/database`, value)).arn;
    kubeconfigSecret = (await createSource(`identity-relay/${tag}/management-kubeconfig`, kubeconfigValue))
      .arn;
    tokenSecret = (await createSource(`identity-relay/${tag}/audit-webhook-token`, tokenValue)).arn;
    const policy: BindingPolicy = {
      protectedSources: [kubeconfigSecret, tokenSecret],
      // The system namespace's prefix covers identity-relay's own secrets: they stay refused anyway.
      scopes: {
        [SYSTEM_NAMESPACE]: { arns: [], namePrefixes: ['identity-relay/'] },
        [teamA]: { arns: [], namePrefixes: [`${teamA}/`] },
        [teamB]: { arns: [], namePrefixes: [`${teamB}/`] },
      },
    };
    deps.bindingPolicy = policy;
  });

  it('refuses the binding, copies nothing, and says so in a Warning Event, a metric and status', async () => {
    // Prepare: team-a binds its own source; team-b, with rights in its namespace only, binds the same.
    const teamAUser = await tenantIn(teamA);
    const teamBUser = await tenantIn(teamB);
    await applyAs(teamAUser, boundSecret(teamA, 'database', teamASource, 'raw'));
    await applyAs(teamBUser, boundSecret(teamB, 'stolen', teamASource, 'raw'));
    const version = await rotateSource(teamASource, value);

    // Act: the source rotates, then the sweep runs (what a tenant waits for).
    await run(() => rotation(sqsBatch([labelUpdated(teamASource, version)]), lambdaContext()));
    await run(() => sweep({ source: 'aws.scheduler' }, lambdaContext()));
    const report = await status(deps, { kind: 'secret', namespace: teamB, name: 'stolen' });

    // Assess
    expect(Buffer.from((await secretData(teamA, 'database')).password ?? '', 'base64').toString()).toBe(
      password,
    );
    expect(await secretData(teamB, 'stolen')).toEqual({});
    const refusal = `refused: Secret ${teamB}/stolen: source ${teamASource} is not in the binding scopes of namespace ${teamB}`;
    expect(await warnings(teamB, 'stolen')).toContainEqual({ reason: 'BindingRefused', message: refusal });
    expect(metrics.recorded).toContainEqual({ name: 'BindingsRefused', value: 1 });
    expect(report.bindings).toEqual([
      { secret: `${teamB}/stolen`, state: 'error', error: `Refused: ${refusal}` },
    ]);
    // The tenant could not have read the source's binding in the system namespace itself.
    const denied = await teamBUser
      .list('v1', 'Secret', SYSTEM_NAMESPACE)
      .catch((error: { code?: number }) => error.code);
    expect(denied).toBe(403);
  });

  it('never copies the management kubeconfig or the webhook token, even in the system namespace', async () => {
    // Prepare: bindings naming identity-relay's own secrets, by ARN and by name, where the scope's prefix covers them.
    const byArn = uniqueName('own-kubeconfig');
    const byName = uniqueName('own-token');
    await applyAll('mgmt', [
      boundSecret(SYSTEM_NAMESPACE, byArn, kubeconfigSecret, 'raw'),
      boundSecret(SYSTEM_NAMESPACE, byName, `identity-relay/${tag}/audit-webhook-token`, 'raw'),
    ]);

    // Act: their sources rotate, and the sweep runs.
    for (const arn of [kubeconfigSecret, tokenSecret]) {
      const version = await rotateSource(arn, arn === tokenSecret ? tokenValue : kubeconfigValue);
      await run(() => rotation(sqsBatch([labelUpdated(arn, version)]), lambdaContext()));
    }
    await run(() => sweep({ source: 'aws.scheduler' }, lambdaContext()));

    // Assess
    for (const name of [byArn, byName]) {
      expect(await secretData(SYSTEM_NAMESPACE, name)).toEqual({});
      const events = await warnings(SYSTEM_NAMESPACE, name);
      expect(events.map((e) => e.reason)).toContain('BindingRefused');
      expect(events.find((e) => e.reason === 'BindingRefused')?.message).toMatch(
        /is one of identity-relay's own secrets \(management kubeconfig or audit webhook token\) and is never copied$/,
      );
    }
  });

  it('never prints a value it was asked to copy', () => {
    // Assess
    expect(log.lines.length).toBeGreaterThan(0);
    expect(leakedSecrets([...log.lines, ...errors])).toEqual([]);
  });
});

describe('a Region kubeconfig pointing where tokens must not go', () => {
  const { runtime, deps, log, metrics } = testRuntime();
  const rotation = rotationHandler(runtime);
  let listener: Server;
  let port = 0;
  let connections = 0;

  beforeAll(async () => {
    await prepareK0rdent();
    // A listener standing in for the attacker's server: it counts every connection made to it.
    listener = createServer((socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((ready) => listener.listen(0, '127.0.0.1', ready));
    port = (listener.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise((done) => listener.close(done));
  });

  /** region-a's kubeconfig (identity-relay's own user and token) with its server replaced. */
  function pointedAt(server: string, user?: Record<string, unknown>): string {
    const config = loadYaml<{
      clusters: Array<{ cluster: { server: string } }>;
      users: Array<{ user: unknown }>;
    }>(kubeconfigText('region-a', 'relay'));
    for (const entry of config.clusters) entry.cluster.server = server;
    if (user) for (const entry of config.users) entry.user = user;
    return dumpYaml(config);
  }

  /** A Region at `kubeconfig`, an identity distributed to it, one rotation under `access`; the region's outcome. */
  async function distributeTo(kubeconfig: string, access: AccessOptions) {
    deps.connector = kubeconfigConnector(access);
    const region = uniqueName('hostile');
    await createRegion(region, 'region-a', kubeconfig);
    const value = JSON.stringify({
      AccessKeyID: 'AKIAHOSTILE000000001',
      SecretAccessKey: `key-${randomUUID()}`,
    });
    const { source, namespaces } = await awsStaticIdentity([region], rememberSecret(value));
    const before = connections;
    const version = await rotateSource(source.arn, value);
    const response = await run(() =>
      rotation(sqsBatch([labelUpdated(source.arn, version)]), lambdaContext()),
    );
    const line = log.lines
      .map((l) => JSON.parse(l) as { message: string; region?: string; error?: string })
      .filter((l) => l.message === 'region failed' && l.region === region)
      .pop();
    return {
      region,
      namespace: namespaces[0] ?? '',
      response,
      error: line?.error,
      attempts: connections - before,
    };
  }

  const loopback = { hosts: { allow: [], allowLoopback: true } };
  const refusedLine = (region: string, reason: string) =>
    `Refused: refused: cluster ${region}: server ${reason}; no request is sent`;

  it('connects to a loopback listener only with the local-testing switch (the control)', async () => {
    // Act
    const outcome = await distributeTo(pointedAt(`https://127.0.0.1:${port}`), loopback);

    // Assess: the listener sees the attempt (and the TLS handshake fails).
    expect(outcome.attempts).toBeGreaterThan(0);
    expect(outcome.error).toMatch(/^ClusterUnreachable: /);
  });

  it.each([
    [
      'loopback without the switch',
      `https://127.0.0.1:PORT`,
      {},
      '127.0.0.1 is a loopback address (allowed only with ALLOW_LOOPBACK_CLUSTERS=true, for the local testbed)',
    ],
    [
      'a host outside the allowlist',
      `https://127.0.0.1:PORT`,
      { hosts: { allow: [parseHostPattern('*.clusters.example.com')], allowLoopback: true } },
      '127.0.0.1 is not in the allowed cluster hosts',
    ],
    [
      'the metadata address',
      'https://169.254.169.254',
      loopback,
      '169.254.169.254 is the instance metadata address',
    ],
    [
      'the metadata address, IPv4-mapped',
      'https://[::ffff:a9fe:a9fe]:443',
      loopback,
      '::ffff:a9fe:a9fe is the instance metadata address',
    ],
  ])(
    'refuses %s before any connection: Warning Event, metric and status line',
    async (_, server, access, reason) => {
      // Act
      const outcome = await distributeTo(pointedAt(server.replace('PORT', String(port))), access);
      const report = await status(deps, { kind: 'region', name: outcome.region });

      // Assess
      expect(outcome.attempts).toBe(0);
      expect(outcome.error).toBe(refusedLine(outcome.region, reason));
      expect(outcome.response?.batchItemFailures).toHaveLength(1);
      expect(metrics.recorded).toContainEqual({
        name: 'RegionFailures',
        value: 1,
        dimensions: { Region: outcome.region },
      });
      expect(await warnings(outcome.namespace, 'aws')).toContainEqual({
        reason: 'DistributionFailed',
        message: `region ${outcome.region}: ${refusedLine(outcome.region, reason)}`,
      });
      expect(report.regions).toEqual([
        { region: outcome.region, state: 'error', error: refusedLine(outcome.region, reason), cleanup: [] },
      ]);
    },
  );

  it('mints no EKS token for a kubeconfig whose server is not the cluster’s DescribeCluster endpoint', async () => {
    // Prepare: a real cluster in the AWS endpoint; the kubeconfig names it but points at the listener.
    const { aws } = testbed();
    const own = { accessKeyId: 'AKIAOWNCREDENTIALS01', secretAccessKey: 'testing' };
    const eks = (region: string, credentials: typeof own) =>
      new EKSClient({ endpoint: aws.endpoint, region, credentials });
    const cluster = uniqueName('prod');
    const created = await eks('eu-west-1', own).send(
      new CreateClusterCommand({
        name: cluster,
        roleArn: 'arn:aws:iam::123456789012:role/eks-cluster',
        resourcesVpcConfig: { subnetIds: ['subnet-0123456789abcdef0'] },
      }),
    );
    const sts = new STSClient({ endpoint: aws.endpoint, region: aws.region, credentials: own });
    let credentialReads = 0;
    const access: AccessOptions = {
      ...loopback,
      eks: eksTokens({
        sts,
        credentials: async () => {
          credentialReads++; // once to describe the cluster; a second read would be for signing
          return own;
        },
        region: 'eu-west-1',
        clusterEndpoint: describeClusterEndpoint(eks),
      }),
    };
    const exec = {
      exec: {
        apiVersion: 'client.authentication.k8s.io/v1beta1',
        command: 'aws',
        args: ['eks', 'get-token', '--cluster-name', cluster, '--region', 'eu-west-1'],
      },
    };

    // Act
    const outcome = await distributeTo(pointedAt(`https://127.0.0.1:${port}`, exec), access);

    // Assess
    const endpoint = new URL(created.cluster?.endpoint ?? 'https://missing').host;
    expect(outcome.attempts).toBe(0);
    expect(credentialReads).toBe(1);
    expect(outcome.error).toBe(
      `Refused: refused: kubeconfig server 127.0.0.1:${port} is not the endpoint of EKS cluster ${cluster} (DescribeCluster: ${endpoint}); no token minted`,
    );
  });

  it('never prints a value or a token', () => {
    // Assess
    expect(log.lines.length).toBeGreaterThan(0);
    expect(leakedSecrets([...log.lines, ...errors])).toEqual([]);
  });
});

describe('the on-call CLI, run with the operator’s rights', () => {
  const team = uniqueName('team-c');
  const value = rememberSecret(`apiVersion: v1\nkind: Config\n# management ${randomUUID()}`);

  it('never writes the management kubeconfig into a tenant’s Secret, not even with resync --all', async () => {
    // Prepare: no binding scopes at all; only the management kubeconfig's ARN, as the functions have it.
    await prepareK0rdent();
    await grantManagementNamespace(team);
    const name = `identity-relay/${uniqueName('management-kubeconfig')}`;
    const arn = (await createSource(name, value)).arn;
    await applyAs(
      await tenantIn(team),
      boundSecret(team, 'kubeconfig', name, 'raw', { keys: '{"value":"."}' }),
    );
    const env = { MANAGEMENT_KUBECONFIG_SECRET_ARN: arn };

    // Act
    const resync = await cli(['resync', '--all', '--watch-namespaces', team, '--json'], { env });
    const report = await cli(['status', '--secret', `${team}/kubeconfig`, '--json'], { env });

    // Assess
    const refusal = `refused: Secret ${team}/kubeconfig: source ${name} is one of identity-relay's own secrets (management kubeconfig or audit webhook token) and is never copied`;
    expect(resync.code).toBe(1);
    expect(JSON.parse(resync.stdout).failed).toContain(`${team}/kubeconfig: Refused: ${refusal}`);
    expect(report.code).toBe(1);
    expect(JSON.parse(report.stdout).bindings).toEqual([
      { secret: `${team}/kubeconfig`, state: 'error', error: `Refused: ${refusal}` },
    ]);
    expect(await secretData(team, 'kubeconfig')).toEqual({});
    expect(await warnings(team, 'kubeconfig')).toContainEqual({ reason: 'BindingRefused', message: refusal });
    expect(leakedSecrets(printed)).toEqual([]);
  });
});
