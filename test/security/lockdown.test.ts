import { randomBytes } from 'node:crypto';
import { CreateQueueCommand, DeleteQueueCommand, SQSClient } from '@aws-sdk/client-sqs';
import { AuthorizationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler as createWebhook, type HttpResponse } from '../../functions/audit-webhook/handler.js';
import { kubernetesCluster } from '../../lib/adapters/kubernetes.js';
import { secretsManagerSource } from '../../lib/adapters/secrets-manager.js';
import { sqsQueue } from '../../lib/adapters/sqs.js';
import { DEFAULT_IDENTITY_KINDS, identityResources } from '../../lib/domain/audit.js';
import type { KubeObject } from '../../lib/domain/objects.js';
import { Forbidden } from '../../lib/errors.js';
import type { QueueMessage } from '../../lib/ports.js';
import { secretTokenVerifier } from '../../lib/use-cases/audit-intake.js';
import {
  type AuditedApiserver,
  functionUrlEvent,
  shippedAuditPolicy,
  startAuditedApiserver,
  startReceiver,
} from '../helpers/audit.js';
import { capturingLog, capturingMetrics, leakedSecrets, rememberSecret } from '../helpers/capture.js';
import {
  applyAll,
  createSource,
  ensureNamespace,
  prepareK0rdent,
  SYSTEM_NAMESPACE,
} from '../helpers/k0rdent.js';
import { lambdaContext } from '../helpers/lambda.js';
import {
  kubeClients,
  kubeConfigFor,
  kubeconfigText,
  secretsManager,
  testbed,
  uniqueName,
} from '../helpers/testbed-clients.js';
import { grantRegionKubeconfigs } from '../testbed/rbac.js';

// Least privilege, tried as a tenant would: identity-relay runs as its own user under the shipped
// manifests (infra/k8s), the webhook as its real handler behind a real audited apiserver.

const POLICY = 'identity-relay-no-token-secrets';
const MANAGED = { 'k0rdent.mirantis.com/managed': 'true' };

const secret = (namespace: string, name: string, extra: Partial<KubeObject> = {}): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace, labels: MANAGED },
  data: { key: Buffer.from(rememberSecret(`lockdown-${randomBytes(8).toString('hex')}`)).toString('base64') },
  ...extra,
});

/** A service-account-token Secret: the token controller would mint a token of `default` into it. */
const tokenSecret = (name: string): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name,
    namespace: SYSTEM_NAMESPACE,
    labels: MANAGED,
    annotations: { 'kubernetes.io/service-account.name': 'default' },
  },
  type: 'kubernetes.io/service-account-token',
});

describe('least privilege in a region', () => {
  beforeAll(prepareK0rdent);

  it('refuses identity-relay a service-account-token Secret in the system namespace by admission policy', async () => {
    // Prepare
    const relay = kubernetesCluster('region-a', kubeConfigFor('region-a', 'relay'));
    const name = uniqueName('token');

    // Act
    const error = await relay.apply(tokenSecret(name)).catch((e: unknown) => e);

    // Assess: refused by the policy (not by RBAC: the same user may create Secrets there), nothing stored.
    expect(error).toBeInstanceOf(Forbidden);
    expect(String(((error as Error).cause as { body?: unknown }).body)).toContain(POLICY);
    expect(await relay.get({ apiVersion: 'v1', kind: 'Secret', namespace: SYSTEM_NAMESPACE, name })).toBe(
      undefined,
    );
  });

  it('lets the administrator create the same Secret, and identity-relay its ordinary Opaque copies', async () => {
    // Prepare
    const relay = kubernetesCluster('region-a', kubeConfigFor('region-a', 'relay'));
    const admin = kubernetesCluster('region-a', kubeConfigFor('region-a'));
    const token = uniqueName('token');
    const copy = secret(SYSTEM_NAMESPACE, uniqueName('copy'));

    // Act
    const byAdmin = await admin.apply(tokenSecret(token));
    const byRelay = await relay.apply(copy);

    // Assess
    expect(byAdmin.type).toBe('kubernetes.io/service-account-token');
    expect(byRelay.type).toBe('Opaque');
    await admin.delete({ apiVersion: 'v1', kind: 'Secret', namespace: SYSTEM_NAMESPACE, name: token });
    await relay.delete({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: SYSTEM_NAMESPACE,
      name: copy.metadata.name,
    });
  });
});

describe('least privilege in the management cluster', () => {
  const regions = uniqueName('regions');
  const tenant = uniqueName('tenant');
  const used = uniqueName('eu-cd');
  const unused = uniqueName('admin-cd');

  beforeAll(async () => {
    await prepareK0rdent();
    for (const namespace of [regions, tenant]) await ensureNamespace('mgmt', namespace);
    // Two ClusterDeployment kubeconfigs side by side; a Region names only the first.
    await applyAll('mgmt', [
      secret(regions, `${used}-kubeconfig`),
      secret(regions, `${unused}-kubeconfig`),
      secret(tenant, 'team-credentials'),
    ]);
    await grantRegionKubeconfigs(kubeconfigText('mgmt'), regions, [`${used}-kubeconfig`]);
  });

  it.each([
    [
      'the kubeconfig of a ClusterDeployment no Region names',
      () => ({ namespace: regions, name: `${unused}-kubeconfig` }),
    ],
    [
      'a Secret in a tenant namespace it does not watch',
      () => ({ namespace: tenant, name: 'team-credentials' }),
    ],
  ])('refuses identity-relay a read of %s', async (_what, target) => {
    // Prepare
    const relay = kubernetesCluster('mgmt', kubeConfigFor('mgmt', 'relay'));
    const { namespace, name } = target();

    // Act
    const read = await relay
      .get({ apiVersion: 'v1', kind: 'Secret', namespace, name })
      .catch((e: unknown) => e);
    const list = await relay.list('v1', 'Secret', { namespace }).catch((e: unknown) => e);

    // Assess
    expect(read).toBeInstanceOf(Forbidden);
    expect(list).toBeInstanceOf(Forbidden);
  });

  it('still lets identity-relay read the kubeconfig a Region names', async () => {
    const relay = kubernetesCluster('mgmt', kubeConfigFor('mgmt', 'relay'));

    const read = await relay.get({
      apiVersion: 'v1',
      kind: 'Secret',
      namespace: regions,
      name: `${used}-kubeconfig`,
    });

    expect(read?.metadata.name).toBe(`${used}-kubeconfig`);
  });
});

describe('audit events from an unwatched namespace', () => {
  const token = rememberSecret(randomBytes(24).toString('hex'));
  const tenant = uniqueName('tenant');
  const log = capturingLog();
  const metrics = capturingMetrics();
  const enqueued: QueueMessage[] = [];
  const sqs = () =>
    new SQSClient({
      endpoint: testbed().aws.endpoint,
      region: testbed().aws.region,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    });
  let queueUrl = '';
  let receiver: { url: string; close(): Promise<void> } | undefined;
  let audited: AuditedApiserver | undefined;

  beforeAll(async () => {
    await prepareK0rdent();
    await ensureNamespace('mgmt', tenant);
    // The tenant: a user with rights on Secrets of its own namespace only.
    await applyAll('mgmt', [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'secrets', namespace: tenant },
        rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['create', 'get', 'patch', 'update'] }],
      } as KubeObject,
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'secrets', namespace: tenant },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'secrets' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: tenant }],
      } as KubeObject,
    ]);
    queueUrl =
      (
        await sqs().send(
          new CreateQueueCommand({
            QueueName: `${uniqueName('lockdown-jobs')}.fifo`,
            Attributes: { FifoQueue: 'true' },
          }),
        )
      ).QueueUrl ?? '';
    const queue = sqsQueue(sqs(), queueUrl);
    const tokenSecret = await createSource(`identity-relay/${uniqueName('audit-token')}`, token);
    // The webhook as deployed: filtered to the system namespace and the watched ones.
    const webhook = createWebhook({
      log,
      metrics,
      deps: async () => ({
        queue: {
          async send(messages) {
            await queue.send(messages);
            enqueued.push(...messages);
          },
        },
        token: secretTokenVerifier(secretsManagerSource(secretsManager()), tokenSecret.arn),
        filter: {
          identityResources: identityResources(DEFAULT_IDENTITY_KINDS),
          relayUsername: 'system:serviceaccount:identity-relay-system:identity-relay',
        },
        namespaces: new Set([SYSTEM_NAMESPACE]),
        maxBodyBytes: 6 * 1024 * 1024,
        log,
        metrics,
        now: () => new Date(),
      }),
    });
    receiver = await startReceiver(testbed(), async (received) => {
      const response = (await webhook(functionUrlEvent(received), lambdaContext())) as HttpResponse;
      return { statusCode: response.statusCode, body: response.body };
    });
    audited = await startAuditedApiserver(testbed(), {
      webhookUrl: receiver.url,
      token,
      policy: shippedAuditPolicy(),
      batchMaxWait: '100ms',
    });
  });

  afterAll(async () => {
    await audited?.stop();
    await receiver?.close();
    if (queueUrl) await sqs().send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
  });

  it('queues none of a tenant flood of Secret writes, counts them, and still queues a watched write', async () => {
    // Prepare: the tenant's client, through the audited apiserver.
    const asTenant = new KubeConfig();
    asTenant.loadFromString(audited?.kubeconfig.exportConfig() ?? '');
    asTenant.users = asTenant.users.map((user) => ({ ...user, impersonateUser: tenant }));
    const tenantApi = asTenant.makeApiClient(CoreV1Api);
    const flood = 20;
    const marker = uniqueName('marker');
    // A freshly started apiserver serves before its RBAC cache has the tenant's Role.
    const review = asTenant.makeApiClient(AuthorizationV1Api);
    const allowed = { allowed: false };
    await until(
      () => allowed.allowed,
      async () => {
        // Until the cache has synced even this review is refused.
        const answer = await review
          .createSelfSubjectAccessReview({
            body: {
              spec: { resourceAttributes: { namespace: tenant, verb: 'create', resource: 'secrets' } },
            },
          })
          .catch(() => undefined);
        allowed.allowed = answer?.status?.allowed === true;
      },
    );

    // Act: the flood, then one write in the system namespace.
    for (let i = 0; i < flood; i++)
      await tenantApi.createNamespacedSecret({
        namespace: tenant,
        body: {
          metadata: { name: `flood-${i}` },
          stringData: { key: rememberSecret(`flood-${randomBytes(8).toString('hex')}`) },
        },
      });
    await audited?.kubeconfig
      .makeApiClient(CoreV1Api)
      .createNamespacedSecret({ namespace: SYSTEM_NAMESPACE, body: { metadata: { name: marker } } });
    await until(() => enqueued.some((m) => m.body.includes(`"name":"${marker}"`)) && unwatched() >= flood);

    // Assess
    const jobs = enqueued.map((m) => JSON.parse(m.body) as { namespace?: string });
    expect(jobs.filter((j) => j.namespace === tenant)).toEqual([]);
    expect(unwatched()).toBe(flood);
    expect(leakedSecrets(log.lines)).toEqual([]);
    await kubeClients('mgmt').core.deleteNamespacedSecret({ namespace: SYSTEM_NAMESPACE, name: marker });
  });

  const unwatched = () =>
    metrics.recorded.filter((m) => m.name === 'AuditJobsUnwatched').reduce((sum, m) => sum + m.value, 0);
});

/** Waits until `probe` holds (audit batches arrive every 100 ms), running `refresh` before each look. */
async function until(probe: () => boolean, refresh: () => Promise<void> = async () => {}): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    await refresh();
    if (probe()) return;
    if (Date.now() > deadline) throw new Error('condition not met within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
