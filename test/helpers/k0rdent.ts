import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { type KubeConfig, loadAllYaml, PatchStrategy } from '@kubernetes/client-node';
import type { Runtime } from '../../functions/shared/runtime.js';
import type { AccessOptions } from '../../lib/adapters/kubeconfig.js';
import { kubeconfigConnector, kubernetesCluster } from '../../lib/adapters/kubernetes.js';
import { secretsManagerSource } from '../../lib/adapters/secrets-manager.js';
import type { KubeObject } from '../../lib/domain/objects.js';
import type { Cluster } from '../../lib/ports.js';
import type { RotateDeps } from '../../lib/use-cases/rotate.js';
import { PROVIDER_INTERFACES } from '../fixtures/provider-interfaces.js';
import { grantRegionalSecrets } from '../testbed/rbac.js';
import { capturingLog, capturingMetrics, rememberSecret } from './capture.js';
import { kubeClients, kubeConfigFor, kubeconfigText, secretsManager, uniqueName } from './testbed-clients.js';

export const SYSTEM_NAMESPACE = 'kcm-system';

/** The testbed's apiservers listen on 127.0.0.1: what `ALLOW_LOOPBACK_CLUSTERS=true` turns on, for tests only. */
export const TESTBED_ACCESS: AccessOptions = { hosts: { allow: [], allowLoopback: true } };

/** Lets identity-relay write Secrets in one more regional namespace (the shipped regional Role, bound there). */
export async function grantRegionalNamespace(cluster: string, namespace: string): Promise<void> {
  await ensureNamespace(cluster, namespace);
  await grantRegionalSecrets(kubeconfigText(cluster), namespace);
}

/** Lets identity-relay read and patch Secrets in one more management namespace (the shipped Secrets Role, bound there). */
export async function grantManagementNamespace(namespace: string): Promise<void> {
  await applyManagementRole('secrets-role.yaml', namespace);
}

/** Lets identity-relay keep AccessManagement copies in one more management namespace (the shipped Role, bound there). */
export async function grantAccessCopies(namespace: string): Promise<void> {
  await applyManagementRole('access-copies-role.yaml', namespace);
}

/** Applies a shipped per-namespace management manifest (a Role and its binding) to `namespace`. */
async function applyManagementRole(file: string, namespace: string): Promise<void> {
  await ensureNamespace('mgmt', namespace);
  const manifest = readFileSync(new URL(`../../infra/k8s/management/${file}`, import.meta.url), 'utf8');
  const docs = loadAllYaml(manifest) as KubeObject[];
  await applyAll(
    'mgmt',
    docs.map((doc) => ({ ...doc, metadata: { ...doc.metadata, namespace } })),
  );
}

/** Creates a namespace if it is not there yet. */
export async function ensureNamespace(cluster: string, name: string): Promise<void> {
  await kubeClients(cluster)
    .core.createNamespace({ body: { metadata: { name } } })
    .catch((error: { code?: number }) => {
      if (error.code !== 409) throw error;
    });
}

/** Reads one object as the admin; undefined when it is not there. */
export async function readObject(
  cluster: string,
  apiVersion: string,
  kind: string,
  name: string,
  namespace?: string,
): Promise<KubeObject | undefined> {
  return (await kubeClients(cluster)
    .objects.read({ apiVersion, kind, metadata: { name, ...(namespace ? { namespace } : {}) } })
    .catch((error: { code?: number }) => {
      if (error.code === 404) return undefined;
      throw error;
    })) as KubeObject | undefined;
}

/** A Secret's data, decoded. */
export function decodedData(secret: KubeObject | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries((secret?.data ?? {}) as Record<string, string>).map(([k, v]) => [
      k,
      Buffer.from(v, 'base64').toString(),
    ]),
  );
}

/** Server-side applies objects as the test harness (not as identity-relay). */
export async function applyAll(cluster: string, objects: KubeObject[]): Promise<void> {
  const { objects: api } = kubeClients(cluster);
  for (const object of objects)
    await api.patch(object, undefined, undefined, 'test-harness', true, PatchStrategy.ServerSideApply);
}

/**
 * The system namespace and kcm's ProviderInterfaces in every cluster (kcm looks an identity up in the
 * target): the k0rdent ground every test stands on.
 */
export async function prepareK0rdent(): Promise<void> {
  for (const cluster of ['mgmt', 'region-a', 'region-b']) {
    await ensureNamespace(cluster, SYSTEM_NAMESPACE);
    await applyAll(cluster, PROVIDER_INTERFACES);
  }
}

const createdRegions = new Set<string>();

/** Deletes the Regions this test file created, so a deliberately broken one cannot fail later files' runs. */
export async function deleteCreatedRegions(): Promise<void> {
  const { objects } = kubeClients('mgmt');
  for (const name of createdRegions) {
    await objects
      .delete({ apiVersion: 'k0rdent.mirantis.com/v1beta1', kind: 'Region', metadata: { name } })
      .catch((error: { code?: number }) => {
        if (error.code !== 404) throw error;
      });
  }
  createdRegions.clear();
}

/** A Region named `name` whose kubeconfig Secret points at testbed cluster `cluster`. */
export async function createRegion(name: string, cluster: string, kubeconfig?: string): Promise<void> {
  createdRegions.add(name);
  // The Region's kubeconfig carries identity-relay's own user, bound by the shipped regional RBAC.
  const text = kubeconfig ?? kubeconfigText(cluster, 'relay');
  await applyAll('mgmt', [
    {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: `${name}-kubeconfig`, namespace: SYSTEM_NAMESPACE },
      data: { kubeconfig: Buffer.from(text).toString('base64') },
    },
    {
      apiVersion: 'k0rdent.mirantis.com/v1beta1',
      kind: 'Region',
      metadata: { name },
      spec: { kubeConfig: { name: `${name}-kubeconfig`, key: 'kubeconfig' } },
    },
  ]);
}

/** A Credential in `namespace` naming an identity, for `region`. */
export function credential(
  namespace: string,
  name: string,
  region: string,
  identityRef: Record<string, string>,
): KubeObject {
  return {
    apiVersion: 'k0rdent.mirantis.com/v1beta1',
    kind: 'Credential',
    metadata: { name, namespace },
    spec: { region, identityRef },
  };
}

/** A management Secret bound to a Secrets Manager secret. */
export function boundSecret(
  namespace: string,
  name: string,
  source: string,
  format: string,
  extra: { keys?: string; labels?: Record<string, string> } = {},
): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace,
      labels: { 'identity-relay.dev/bound': 'true', ...extra.labels },
      annotations: {
        'identity-relay.dev/source': source,
        'identity-relay.dev/format': format,
        ...(extra.keys ? { 'identity-relay.dev/keys': extra.keys } : {}),
      },
    },
  };
}

/** An AWS key pair as the `aws-static` format reads it; `keyId` is 20 capitals or digits. */
export function awsKeys(keyId: string, secretAccessKey = `secret-${randomUUID()}`): string {
  return JSON.stringify({ AccessKeyID: keyId, SecretAccessKey: secretAccessKey });
}

/**
 * An AWSClusterStaticIdentity bound to a new Secrets Manager secret holding `value`, with one
 * Credential per region (each in a namespace of its own). Returns the names, for assertions.
 */
export async function awsStaticIdentity(
  regions: string[],
  value: string,
): Promise<{
  name: string;
  namespaces: string[];
  source: { arn: string; versionId: string };
}> {
  const name = uniqueName('aws');
  const namespaces = regions.map(() => uniqueName('team'));
  for (const namespace of namespaces) await ensureNamespace('mgmt', namespace);
  const source = await createSource(`identity-relay/${name}`, value);
  const identityRef = {
    apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2',
    kind: 'AWSClusterStaticIdentity',
    name,
  };
  await applyAll('mgmt', [
    boundSecret(SYSTEM_NAMESPACE, name, source.arn, 'aws-static'),
    {
      apiVersion: identityRef.apiVersion,
      kind: identityRef.kind,
      metadata: { name },
      // A cluster-scoped identity serves tenant namespaces only where it admits them (docs/threat-model.md › Threat model).
      spec: { secretRef: name, allowedNamespaces: { list: namespaces } },
    },
    ...regions.map((region, i) => credential(namespaces[i] ?? '', 'aws', region, identityRef)),
  ]);
  return { name, namespaces, source };
}

/** Creates a secret in the AWS endpoint (remembered as a value never to print); returns its ARN and version. */
export async function createSource(name: string, value: string): Promise<{ arn: string; versionId: string }> {
  const out = await secretsManager().send(
    new CreateSecretCommand({ Name: name, SecretString: rememberSecret(value) }),
  );
  return { arn: out.ARN ?? '', versionId: out.VersionId ?? '' };
}

/** Rotates a secret the way moto allows (PutSecretValue moves AWSCURRENT); returns the new version. */
export async function rotateSource(secretId: string, value: string): Promise<string> {
  const out = await secretsManager().send(
    new PutSecretValueCommand({ SecretId: secretId, SecretString: rememberSecret(value) }),
  );
  return out.VersionId ?? '';
}

/** The documented `Secret Label Updated` event (moto emits none). */
export function labelUpdated(
  arn: string,
  versionId: string,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  const name = arn.split(':secret:')[1]?.replace(/-[A-Za-z0-9]{6}$/, '') ?? '';
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Secret Label Updated',
    source: 'aws.secretsmanager',
    account: arn.split(':')[4],
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [arn],
    detail: { name, labelUpdated: 'AWSCURRENT', versionId },
    ...extra,
  };
}

/** EventBridge events as the SQS FIFO queue delivers them to the function. */
export function sqsBatch(events: Array<Record<string, unknown>>): {
  Records: Array<Record<string, unknown>>;
} {
  return {
    Records: events.map((event) => ({
      messageId: randomUUID(),
      receiptHandle: 'test',
      body: JSON.stringify(event),
      attributes: { MessageGroupId: String((event.resources as string[] | undefined)?.[0] ?? 'group') },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:identity-relay-rotation.fifo',
      awsRegion: 'us-east-1',
    })),
  };
}

/**
 * The relay's management client in tests. A test writes objects and rotates within milliseconds, where
 * a rotation's list from the watch cache may not hold them yet (in production they were written long
 * before, and one written just before is converged by its audit event: docs/triggers.md). So each
 * cached list is preceded by a consistent one of the same objects, which brings the cache up to date;
 * the cached list itself is still the product's.
 */
export function settledLists(cluster: Cluster): Cluster {
  const list: Cluster['list'] = async (apiVersion, kind, options) => {
    if (options?.cached) await cluster.list(apiVersion, kind, { ...options, cached: false });
    return cluster.list(apiVersion, kind, options);
  };
  return { ...cluster, list };
}

/** A function runtime wired to the testbed, with captured logs and metrics. */
export function testRuntime(watchNamespaces: string[] = [SYSTEM_NAMESPACE]) {
  const log = capturingLog();
  const metrics = capturingMetrics();
  const source = secretsManagerSource(secretsManager());
  const deps: RotateDeps = {
    source,
    mgmt: settledLists(kubernetesCluster('mgmt', kubeConfigFor('mgmt', 'relay'))),
    connector: kubeconfigConnector(TESTBED_ACCESS),
    log,
    systemNamespace: SYSTEM_NAMESPACE,
    watchNamespaces,
    now: () => new Date(),
  };
  const runtime: Runtime = { log, metrics, deps: async () => deps };
  return { runtime, deps, log, metrics, source };
}

const WRITE_VERBS = new Set(['POST', 'PUT', 'PATCH', 'DELETE', 'APPLY']);
const PRODUCT_GROUPS = new Set(['', 'k0rdent.mirantis.com', 'infrastructure.cluster.x-k8s.io']);

/** Writes an apiserver has served to Secrets and the k0rdent/Cluster API kinds, from its own metrics. */
export async function writeCount(cluster: string): Promise<number> {
  const kc: KubeConfig = kubeConfigFor(cluster);
  const user = kc.getCurrentUser();
  const server = kc.getCurrentCluster();
  const text = await new Promise<string>((resolve, reject) => {
    const req = request(
      `${server?.server}/metrics`,
      {
        ca: Buffer.from(server?.caData ?? '', 'base64'),
        cert: Buffer.from(user?.certData ?? '', 'base64'),
        key: Buffer.from(user?.keyData ?? '', 'base64'),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve(body));
      },
    );
    req.on('error', reject);
    req.end();
  });
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const labels = Object.fromEntries([...line.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const resource = labels.resource ?? '';
    const counted = resource === 'secrets' || (labels.group !== '' && PRODUCT_GROUPS.has(labels.group ?? ''));
    if (counted && WRITE_VERBS.has(labels.verb ?? '')) total += Number(line.split(' ').pop());
  }
  return total;
}

/** Write counts of every testbed cluster. */
export async function writeCounts(): Promise<Record<string, number>> {
  const entries = await Promise.all(
    ['mgmt', 'region-a', 'region-b'].map(async (c) => [c, await writeCount(c)] as const),
  );
  return Object.fromEntries(entries);
}
