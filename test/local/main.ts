// `npm run local`: the main job on this machine. Starts the testbed, seeds a k0rdent setup (an AWS static
// identity with a Credential in region-a, an Azure identity in region-b, a Giant Swarm credential Secret),
// rotates both cloud secrets in the AWS endpoint, hands the documented `Secret Label Updated` events to
// the real rotation handler, and prints what changed per cluster (key names, versions, hashes; never
// values) and how long each step took. `--keep` leaves the clusters up for kubectl.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { createHandler } from '../../functions/rotation/handler.js';
import { kubeconfigConnector, kubernetesCluster } from '../../lib/adapters/kubernetes.js';
import { secretsManagerSource } from '../../lib/adapters/secrets-manager.js';
import type { KubeObject } from '../../lib/domain/objects.js';
import type { Log, MetricsSink } from '../../lib/ports.js';
import { PROVIDER_INTERFACES } from '../fixtures/provider-interfaces.js';
import { lambdaContext } from '../helpers/lambda.js';
import { startTestbed } from '../testbed/testbed.js';

const SYSTEM = 'kcm-system';
const CAPI = 'infrastructure.cluster.x-k8s.io';
const keep = process.argv.includes('--keep');
const timings: Array<[string, number]> = [];
async function step<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await fn();
  timings.push([name, performance.now() - started]);
  return result;
}

const testbed = await step('start testbed (etcd, 3 kube-apiservers, AWS endpoint)', () => startTestbed());
const { info } = testbed;
try {
  const kubeconfigs = Object.fromEntries(
    Object.values(info.clusters).map((c) => [c.name, readFileSync(c.kubeconfig, 'utf8')]),
  );
  const client = (name: string) => {
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfigs[name] ?? '');
    return { core: kc.makeApiClient(CoreV1Api), objects: KubernetesObjectApi.makeApiClient(kc), kc };
  };
  const apply = async (cluster: string, objects: KubeObject[]) => {
    for (const object of objects)
      await client(cluster).objects.patch(
        object,
        undefined,
        undefined,
        'local-seed',
        true,
        PatchStrategy.ServerSideApply,
      );
  };
  const aws = new SecretsManagerClient({
    endpoint: info.aws.endpoint,
    region: info.aws.region,
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  const value = {
    aws: () =>
      JSON.stringify({
        AccessKeyID: `AKIA${randomBytes(8).toString('hex').toUpperCase()}`,
        SecretAccessKey: randomBytes(20).toString('base64'),
      }),
    azure: () => `azure-${randomBytes(16).toString('hex')}`,
  };

  const sources = await step('seed k0rdent setup and Secrets Manager secrets', async () => {
    for (const cluster of Object.keys(kubeconfigs)) {
      await client(cluster)
        .core.createNamespace({ body: { metadata: { name: SYSTEM } } })
        .catch(() => undefined);
    }
    await client('region-b').core.createNamespace({ body: { metadata: { name: 'team-azure' } } });
    await client('mgmt').core.createNamespace({ body: { metadata: { name: 'team-aws' } } });
    await client('mgmt').core.createNamespace({ body: { metadata: { name: 'team-azure' } } });
    const awsSource = await aws.send(
      new CreateSecretCommand({ Name: 'capa/static-credentials', SecretString: value.aws() }),
    );
    const azureSource = await aws.send(
      new CreateSecretCommand({ Name: 'capz/service-principal', SecretString: value.azure() }),
    );
    const gsSource = await aws.send(
      new CreateSecretCommand({
        Name: 'giantswarm/acme',
        SecretString: JSON.stringify({
          'aws.admin.arn': 'arn:aws:iam::123456789012:role/GiantSwarmAdmin',
          'aws.awsoperator.arn': 'arn:aws:iam::123456789012:role/GiantSwarmAWSOperator',
        }),
      }),
    );
    const bind = (
      name: string,
      source: string,
      format: string,
      labels: Record<string, string> = {},
    ): KubeObject => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name,
        namespace: SYSTEM,
        labels: { 'identity-relay.dev/bound': 'true', ...labels },
        annotations: { 'identity-relay.dev/source': source, 'identity-relay.dev/format': format },
      },
    });
    const region = (name: string): KubeObject[] => [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `${name}-kubeconfig`, namespace: SYSTEM },
        stringData: { value: kubeconfigs[name] ?? '' },
      },
      {
        apiVersion: 'k0rdent.mirantis.com/v1beta1',
        kind: 'Region',
        metadata: { name },
        spec: { kubeConfig: { name: `${name}-kubeconfig`, key: 'value' } },
      },
    ];
    // kcm looks an identity up in the target: every region has the ProviderInterfaces too.
    for (const regionCluster of ['region-a', 'region-b']) await apply(regionCluster, PROVIDER_INTERFACES);
    await apply('mgmt', [
      ...PROVIDER_INTERFACES,
      ...region('region-a'),
      ...region('region-b'),
      bind('aws-credentials', 'capa/static-credentials', 'aws-static'),
      {
        apiVersion: `${CAPI}/v1beta2`,
        kind: 'AWSClusterStaticIdentity',
        metadata: { name: 'aws-static' },
        spec: { secretRef: 'aws-credentials', allowedNamespaces: { list: ['team-aws'] } },
      },
      {
        apiVersion: 'k0rdent.mirantis.com/v1beta1',
        kind: 'Credential',
        metadata: { name: 'aws', namespace: 'team-aws' },
        spec: {
          region: 'region-a',
          identityRef: {
            apiVersion: `${CAPI}/v1beta2`,
            kind: 'AWSClusterStaticIdentity',
            name: 'aws-static',
          },
        },
      },
      bind('azure-client-secret', azureSource.ARN ?? '', 'azure-sp'),
      {
        apiVersion: `${CAPI}/v1beta1`,
        kind: 'AzureClusterIdentity',
        // A platform identity in the system namespace, shared with team-azure by allowedNamespaces.
        metadata: { name: 'azure', namespace: SYSTEM },
        spec: {
          allowedNamespaces: { list: ['team-azure'] },
          type: 'ServicePrincipal',
          clientID: randomUUID(),
          tenantID: randomUUID(),
          clientSecret: { name: 'azure-client-secret', namespace: SYSTEM },
        },
      },
      {
        apiVersion: 'k0rdent.mirantis.com/v1beta1',
        kind: 'Credential',
        metadata: { name: 'azure', namespace: 'team-azure' },
        spec: {
          region: 'region-b',
          identityRef: {
            apiVersion: `${CAPI}/v1beta1`,
            kind: 'AzureClusterIdentity',
            name: 'azure',
          },
        },
      },
      bind('credential-acme', gsSource.ARN ?? '', 'giantswarm-aws', {
        app: 'credentiald',
        'giantswarm.io/managed-by': 'credentiald',
        'giantswarm.io/organization': 'acme',
      }),
    ]);
    return { aws: awsSource, azure: azureSource, gs: gsSource };
  });

  const rotated = await step('rotate both cloud secrets (PutSecretValue)', async () => ({
    aws: await aws.send(new PutSecretValueCommand({ SecretId: sources.aws.ARN, SecretString: value.aws() })),
    azure: await aws.send(
      new PutSecretValueCommand({ SecretId: sources.azure.ARN, SecretString: value.azure() }),
    ),
  }));

  // The handler's own log lines say what changed; they carry names, versions and hashes, never values.
  const converged: Array<Record<string, unknown>> = [];
  const log: Log = {
    info: (message, fields) => {
      if (message === 'rotation converged' && fields) converged.push(fields);
    },
    warn: () => {},
    error: (message, fields) => converged.push({ ...fields, message }),
  };
  const metrics: MetricsSink = { count: () => {}, milliseconds: () => {}, flush: () => {} };
  const deps = {
    source: secretsManagerSource(aws),
    mgmt: kubernetesCluster('mgmt', client('mgmt').kc),
    // The testbed's apiservers are on 127.0.0.1: the local-testing switch (ALLOW_LOOPBACK_CLUSTERS).
    connector: kubeconfigConnector({ hosts: { allow: [], allowLoopback: true } }),
    log,
    systemNamespace: SYSTEM,
    watchNamespaces: [SYSTEM],
    now: () => new Date(),
  };
  const handler = createHandler({ log, metrics, deps: async () => deps });
  const event = (arn: string, versionId: string) => ({
    version: '0',
    id: randomUUID(),
    'detail-type': 'Secret Label Updated',
    source: 'aws.secretsmanager',
    account: arn.split(':')[4],
    time: new Date().toISOString(),
    region: info.aws.region,
    resources: [arn],
    detail: { name: arn.split(':secret:')[1]?.slice(0, -7), labelUpdated: 'AWSCURRENT', versionId },
  });
  const events = [
    ['AWS', event(sources.aws.ARN ?? '', rotated.aws.VersionId ?? '')],
    ['Azure', event(sources.azure.ARN ?? '', rotated.azure.VersionId ?? '')],
    ['Giant Swarm (first sync)', event(sources.gs.ARN ?? '', sources.gs.VersionId ?? '')],
  ] as const;
  for (const [name, detail] of events) {
    await step(`${name}: Secret Label Updated → rotation handler → every region`, () =>
      handler(detail, lambdaContext()),
    );
  }
  console.log('\nWhat changed, per cluster (key names, versions and content hashes; never values):');
  for (const fields of converged) {
    const { secretId, versionId, bindings, regions, error } = fields as {
      secretId: string;
      versionId: string;
      bindings: Array<{ secret: string; op: string; keys?: string[] }>;
      regions: Array<{ region: string; changes: string[]; error?: string }>;
      error?: string;
    };
    console.log(
      `\n  ${secretId.split(':secret:')[1]}  AWSCURRENT=${versionId}${error ? `  FAILED: ${error}` : ''}`,
    );
    for (const b of bindings)
      console.log(`    mgmt      ${b.op.padEnd(7)} Secret ${b.secret}  keys=${b.keys?.join(',')}`);
    for (const r of regions)
      for (const change of r.changes) console.log(`    ${r.region.padEnd(9)} ${change}`);
  }
  converged.length = 0;
  await step('the same three events again (expect no writes)', async () => {
    for (const [, detail] of events) await handler(detail, lambdaContext());
  });
  const repeatWrites = converged.reduce((sum, f) => sum + Number(f.writes ?? 0), 0);
  console.log(`\nRepeated events: ${repeatWrites} writes.`);
  console.log('\nTimings:');
  for (const [name, ms] of timings) console.log(`  ${ms.toFixed(0).padStart(6)} ms  ${name}`);
} finally {
  if (keep) {
    console.log('\n--keep: clusters stay up until Ctrl-C');
    for (const cluster of Object.values(info.clusters))
      console.log(`  ${cluster.name.padEnd(9)} KUBECONFIG=${cluster.kubeconfig}`);
    console.log(`  aws       AWS_ENDPOINT_URL=${info.aws.endpoint}`);
    await new Promise(() => {});
  } else {
    await testbed.stop();
  }
}
