import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/rotation/handler.js';
import { kubernetesCluster } from '../../lib/adapters/kubernetes.js';
import { MANAGEMENT_TARGET } from '../../lib/domain/graph.js';
import type { KubeObject } from '../../lib/domain/objects.js';
import { credentialLabelKey } from '../../lib/domain/regional.js';
import { distribute } from '../../lib/use-cases/distribute.js';
import { status } from '../../lib/use-cases/status.js';
import { leakedSecrets } from '../helpers/capture.js';
import {
  applyAll,
  awsKeys,
  awsStaticIdentity,
  boundSecret,
  createRegion,
  createSource,
  credential,
  decodedData,
  deleteCreatedRegions,
  ensureNamespace,
  grantAccessCopies,
  labelUpdated,
  prepareK0rdent,
  readObject,
  rotateSource,
  SYSTEM_NAMESPACE,
  sqsBatch,
  testRuntime,
} from '../helpers/k0rdent.js';
import { lambdaContext } from '../helpers/lambda.js';
import { kubeClients, kubeConfigFor, kubeconfigText, uniqueName } from '../helpers/testbed-clients.js';
import { waitFor } from '../testbed/processes.js';

// k0rdent as it really runs: AccessManagement's Credential copies get their identity copied into their
// namespace of the management cluster, every identity shape lands where kcm puts it (missing namespaces
// created), and where kcm is silent (kind not listed or not served in the target) identity-relay is loud.

const { runtime, deps, log, metrics, source } = testRuntime();
const handler = createHandler(runtime);
const CAPI = 'infrastructure.cluster.x-k8s.io';
const K0RDENT = 'k0rdent.mirantis.com/v1beta1';
const uuid = () => crypto.randomUUID();

async function events(
  namespace: string,
  name: string,
): Promise<Array<{ type: string; reason: string; message: string }>> {
  const list = await kubeClients('mgmt').core.listNamespacedEvent({
    namespace,
    fieldSelector: `involvedObject.kind=Credential,involvedObject.name=${name}`,
  });
  return list.items.map((e) => ({ type: e.type ?? '', reason: e.reason ?? '', message: e.message ?? '' }));
}

function managedCopy(namespace: string, name: string, identityRef: Record<string, string>): KubeObject {
  // As AccessManagement writes it: the source's spec, labels replaced by the managed label.
  return {
    apiVersion: K0RDENT,
    kind: 'Credential',
    metadata: { name, namespace, labels: { 'k0rdent.mirantis.com/managed': 'true' } },
    spec: { identityRef },
  };
}

describe('AccessManagement copies in the management cluster', () => {
  const region = uniqueName('ram');
  const granted = uniqueName('team');
  const refused = uniqueName('team');
  const occupied = uniqueName('team');
  const name = uniqueName('azure');
  const accessManagement = uniqueName('am');
  const identityRef = {
    apiVersion: `${CAPI}/v1beta1`,
    kind: 'AzureClusterIdentity',
    name,
    namespace: SYSTEM_NAMESPACE,
  };
  let arn = '';

  beforeAll(async () => {
    await prepareK0rdent();
    await createRegion(region, 'region-b');
    for (const namespace of [granted, occupied]) await grantAccessCopies(namespace);
    await ensureNamespace('mgmt', refused);
    const created = await createSource(`identity-relay/${name}`, `azure-client-secret-${uuid()}`);
    arn = created.arn;
    // A team already keeps a Secret of that name, not managed by kcm: it must never be touched.
    await applyAll('mgmt', [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name, namespace: occupied },
        stringData: { clientSecret: 'team-own' },
      },
    ]);
    await applyAll('mgmt', [
      boundSecret(SYSTEM_NAMESPACE, name, arn, 'azure-sp'),
      {
        apiVersion: `${CAPI}/v1beta1`,
        kind: 'AzureClusterIdentity',
        metadata: { name, namespace: SYSTEM_NAMESPACE },
        spec: {
          allowedNamespaces: {},
          type: 'ServicePrincipal',
          clientID: uuid(),
          tenantID: uuid(),
          clientSecret: { name, namespace: SYSTEM_NAMESPACE },
        },
      },
      // The platform's Credentials: one for AccessManagement to distribute, one regional.
      {
        apiVersion: K0RDENT,
        kind: 'Credential',
        metadata: { name, namespace: SYSTEM_NAMESPACE },
        spec: { identityRef },
      },
      credential(SYSTEM_NAMESPACE, `${name}-regional`, region, identityRef),
      {
        apiVersion: K0RDENT,
        kind: 'AccessManagement',
        metadata: { name: accessManagement },
        spec: { accessRules: [{ targetNamespaces: { list: [granted, occupied] }, credentials: [name] }] },
      },
      managedCopy(granted, name, { ...identityRef, namespace: granted }),
      managedCopy(occupied, name, { ...identityRef, namespace: occupied }),
      // Labelled by hand in a namespace no rule names: a tenant asking for the platform's identity.
      managedCopy(refused, name, { ...identityRef, namespace: refused }),
    ]);
  });

  afterAll(async () => {
    await kubeClients('mgmt')
      .objects.delete({ apiVersion: K0RDENT, kind: 'AccessManagement', metadata: { name: accessManagement } })
      .catch(() => undefined);
    await deleteCreatedRegions();
  });

  it('refreshes the namespace copies and the regional copies in one propagation', async () => {
    // Prepare
    const value = `azure-client-secret-${uuid()}`;
    const version = await rotateSource(arn, value);

    // Act
    const response = await handler(sqsBatch([labelUpdated(arn, version)]), lambdaContext());

    // Assess: the identity and its Secret in the granted namespace, rewritten there, with kcm's labels.
    expect(response).toEqual({ batchItemFailures: [] });
    const identity = await readObject('mgmt', `${CAPI}/v1beta1`, 'AzureClusterIdentity', name, granted);
    expect((identity?.spec as { clientSecret?: unknown } | undefined)?.clientSecret).toEqual({
      name,
      namespace: granted,
    });
    expect(identity?.metadata.labels).toMatchObject({
      'k0rdent.mirantis.com/managed': 'true',
      [credentialLabelKey(granted, name)]: 'true',
    });
    const copy = await readObject('mgmt', 'v1', 'Secret', name, granted);
    expect(decodedData(copy)).toEqual({ clientSecret: value });
    expect(copy?.metadata.labels?.[credentialLabelKey(granted, name)]).toBe('true');
    // The regional Credential's copy, in the same propagation.
    expect(decodedData(await readObject('region-b', 'v1', 'Secret', name, SYSTEM_NAMESPACE))).toEqual({
      clientSecret: value,
    });
    // The source itself is not a copy: its labels are its own.
    const original = await readObject(
      'mgmt',
      `${CAPI}/v1beta1`,
      'AzureClusterIdentity',
      name,
      SYSTEM_NAMESPACE,
    );
    expect(original?.metadata.labels?.['k0rdent.mirantis.com/managed']).toBeUndefined();
    // The team's own Secret is untouched.
    expect(decodedData(await readObject('mgmt', 'v1', 'Secret', name, occupied))).toEqual({
      clientSecret: 'team-own',
    });
  });

  it('copies nothing for a managed Credential no access rule grants, and says so on it', async () => {
    // Act
    const result = await distribute({ ...deps, metrics }, [{ kind: 'region', name: MANAGEMENT_TARGET }]);

    // Assess
    expect(await readObject('mgmt', 'v1', 'Secret', name, refused)).toBeUndefined();
    expect(
      await readObject('mgmt', `${CAPI}/v1beta1`, 'AzureClusterIdentity', name, refused),
    ).toBeUndefined();
    expect(result.problems.find((p) => p.startsWith(`Credential ${refused}/${name}: `))).toContain(
      `no AccessManagement rule distributes Credential ${name} to namespace ${refused}`,
    );
    const warning = (await events(refused, name)).find((e) => e.reason === 'CredentialRefused');
    expect(warning?.type).toBe('Warning');
    expect(warning?.message).toContain('the management cluster');
    const report = await status({ ...deps, source }, { kind: 'credential', namespace: refused, name });
    expect(report.ok).toBe(false);
    expect(report.credentials[0]).toMatchObject({ region: MANAGEMENT_TARGET, state: 'error', ready: false });
  });

  it('deletes the copies when the Credential copy goes', async () => {
    // Prepare
    await kubeClients('mgmt').objects.delete({
      apiVersion: K0RDENT,
      kind: 'Credential',
      metadata: { name, namespace: granted },
    });

    // Act
    const result = await distribute(deps, [{ kind: 'credential', namespace: granted, name }]);

    // Assess
    expect(result.regions.find((r) => r.region === MANAGEMENT_TARGET)?.error).toBeUndefined();
    expect(await readObject('mgmt', 'v1', 'Secret', name, granted)).toBeUndefined();
    expect(
      await readObject('mgmt', `${CAPI}/v1beta1`, 'AzureClusterIdentity', name, granted),
    ).toBeUndefined();
    // Another namespace's copy stays.
    expect(await readObject('mgmt', `${CAPI}/v1beta1`, 'AzureClusterIdentity', name, occupied)).toBeDefined();
  });
});

describe("kcm's placement in a region, a missing namespace created first", () => {
  const region = uniqueName('rplace');
  const team = uniqueName('team');

  beforeAll(async () => {
    await prepareK0rdent();
    // A Region whose kubeconfig is kcm's own (the admin), as many installations hand it over.
    await createRegion(region, 'region-a', kubeconfigText('region-a', 'admin'));
    await ensureNamespace('mgmt', team);
  });

  afterAll(deleteCreatedRegions);

  it('copies an OpenStackClusterIdentity (v1alpha1) and moves its Secret into the Credential namespace, creating it', async () => {
    // Prepare
    const name = uniqueName('openstack');
    const clouds = () => `clouds:\n  openstack:\n    auth:\n      password: ${uuid()}\n`;
    const created = await createSource(`identity-relay/${name}`, clouds());
    await applyAll('mgmt', [
      boundSecret(SYSTEM_NAMESPACE, name, created.arn, 'openstack'),
      {
        apiVersion: `${CAPI}/v1alpha1`,
        kind: 'OpenStackClusterIdentity',
        metadata: { name },
        spec: { secretRef: { name, namespace: SYSTEM_NAMESPACE }, allowedNamespaces: { list: [team] } },
      },
      credential(team, 'openstack', region, {
        apiVersion: `${CAPI}/v1alpha1`,
        kind: 'OpenStackClusterIdentity',
        name,
      }),
    ]);
    const value = clouds();
    const version = await rotateSource(created.arn, value);
    expect(await readObject('region-a', 'v1', 'Namespace', team)).toBeUndefined();

    // Act
    const response = await handler(sqsBatch([labelUpdated(created.arn, version)]), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await readObject('region-a', 'v1', 'Namespace', team)).toBeDefined();
    const identity = await readObject('region-a', `${CAPI}/v1alpha1`, 'OpenStackClusterIdentity', name);
    expect((identity?.spec as { secretRef?: unknown } | undefined)?.secretRef).toEqual({
      name,
      namespace: team,
    });
    expect(decodedData(await readObject('region-a', 'v1', 'Secret', name, team))).toEqual({
      'clouds.yaml': value,
    });
  });

  it('restarts the Deployments a binding names after its copy changed (consumers that cache credentials)', async () => {
    // Prepare: a controller that caches its session, in the region; the binding asks for its restart.
    const name = uniqueName('vsphere');
    await ensureNamespace('region-a', 'capv-system');
    const deployment = uniqueName('capv-controller');
    await applyAll('region-a', [
      {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: deployment, namespace: 'capv-system' },
        spec: {
          selector: { matchLabels: { app: deployment } },
          template: {
            metadata: { labels: { app: deployment } },
            spec: { containers: [{ name: 'manager', image: 'registry.invalid/capv:test' }] },
          },
        },
      },
    ]);
    const created = await createSource(
      `identity-relay/${name}`,
      JSON.stringify({ username: 'u', password: uuid() }),
    );
    const ref = { apiVersion: `${CAPI}/v1beta2`, kind: 'VSphereClusterIdentity', name };
    const bound = boundSecret(SYSTEM_NAMESPACE, name, created.arn, 'vsphere');
    bound.metadata.annotations = {
      ...bound.metadata.annotations,
      'identity-relay.dev/restart-deployments': `capv-system/${deployment}`,
    };
    await applyAll('mgmt', [
      bound,
      {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name },
        spec: { secretName: name, allowedNamespaces: {} },
      },
      credential(SYSTEM_NAMESPACE, name, region, ref),
    ]);
    const version = await rotateSource(created.arn, JSON.stringify({ username: 'u', password: uuid() }));

    // Act
    const response = await handler(sqsBatch([labelUpdated(created.arn, version)]), lambdaContext());
    const first = await readObject('region-a', 'apps/v1', 'Deployment', deployment, 'capv-system');
    const again = await handler(sqsBatch([labelUpdated(created.arn, version)]), lambdaContext());
    const second = await readObject('region-a', 'apps/v1', 'Deployment', deployment, 'capv-system');

    // Assess: restarted once, when the copy changed; a repeated event changes nothing and restarts nothing.
    const restartedAt = (d: KubeObject | undefined) =>
      (d?.spec as { template?: { metadata?: { annotations?: Record<string, string> } } } | undefined)
        ?.template?.metadata?.annotations?.['identity-relay.dev/restarted-at'];
    expect(response).toEqual({ batchItemFailures: [] });
    expect(again).toEqual({ batchItemFailures: [] });
    expect(restartedAt(first)).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(restartedAt(second)).toBe(restartedAt(first));
  });

  it('copies a VSphereClusterIdentity of the older v1beta1 with its Secret in the system namespace', async () => {
    // Prepare
    const name = uniqueName('vsphere');
    const created = await createSource(
      `identity-relay/${name}`,
      JSON.stringify({ username: 'u', password: uuid() }),
    );
    const ref = { apiVersion: `${CAPI}/v1beta1`, kind: 'VSphereClusterIdentity', name };
    await applyAll('mgmt', [
      boundSecret(SYSTEM_NAMESPACE, name, created.arn, 'vsphere'),
      {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name },
        spec: { secretName: name, allowedNamespaces: {} },
      },
      credential(SYSTEM_NAMESPACE, name, region, ref),
    ]);
    const password = uuid();
    const version = await rotateSource(created.arn, JSON.stringify({ username: 'u', password }));

    // Act
    const response = await handler(sqsBatch([labelUpdated(created.arn, version)]), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await readObject('region-a', `${CAPI}/v1beta1`, 'VSphereClusterIdentity', name)).toBeDefined();
    expect(decodedData(await readObject('region-a', 'v1', 'Secret', name, SYSTEM_NAMESPACE))).toEqual({
      username: 'u',
      password,
    });
  });
});

describe('loud where kcm is silent: the target lacks the ProviderInterface entry or the CRD', () => {
  // A provider of the tests' own: its CRD served in mgmt and region-a, its ProviderInterface in mgmt
  // and region-b. So region-a serves the kind but lists it nowhere, region-b lists it but does not serve it.
  const group = 'identities.relay.test';
  const crdName = `testclusteridentities.${group}`;
  const pi = uniqueName('pi-test');
  const rbac = uniqueName('relay-test-identities');
  const regionA = uniqueName('rla');
  const regionB = uniqueName('rlb');
  const identity = uniqueName('tid');
  const ref = { apiVersion: `${group}/v1`, kind: 'TestClusterIdentity', name: identity };
  const crd: KubeObject = {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: crdName },
    spec: {
      group,
      names: {
        kind: 'TestClusterIdentity',
        plural: 'testclusteridentities',
        singular: 'testclusteridentity',
        listKind: 'TestClusterIdentityList',
      },
      scope: 'Cluster',
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: { spec: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
            },
          },
        },
      ],
    },
  };
  // The rights a user would add for a provider identity-relay's shipped RBAC does not name.
  const grant: KubeObject[] = [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: rbac },
      rules: [
        {
          apiGroups: [group],
          resources: ['testclusteridentities'],
          verbs: ['get', 'list', 'create', 'patch', 'delete'],
        },
      ],
    } as KubeObject,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: rbac },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: rbac },
      subjects: [{ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'identity-relay' }],
    } as KubeObject,
  ];
  const providerInterface: KubeObject = {
    apiVersion: K0RDENT,
    kind: 'ProviderInterface',
    metadata: { name: pi },
    spec: { clusterIdentities: [{ group, version: 'v1', kind: 'TestClusterIdentity' }] },
  };

  beforeAll(async () => {
    await prepareK0rdent();
    for (const cluster of ['mgmt', 'region-a']) {
      await applyAll(cluster, [crd, ...grant]);
      await waitFor(
        `${crdName} served in ${cluster}`,
        () =>
          kubeClients(cluster)
            .objects.list(`${group}/v1`, 'TestClusterIdentity')
            .then(
              () => true,
              () => false,
            ),
        30_000,
      );
    }
    await applyAll('region-b', grant);
    for (const cluster of ['mgmt', 'region-b']) await applyAll(cluster, [providerInterface]);
    await createRegion(regionA, 'region-a');
    await createRegion(regionB, 'region-b');
    await applyAll('mgmt', [
      {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { name: identity },
        spec: { note: 'no references' },
      },
      credential(SYSTEM_NAMESPACE, `${identity}-a`, regionA, ref),
      credential(SYSTEM_NAMESPACE, `${identity}-b`, regionB, ref),
    ]);
  });

  afterAll(async () => {
    const { objects } = kubeClients('mgmt');
    await objects
      .delete({
        apiVersion: K0RDENT,
        kind: 'Credential',
        metadata: { name: `${identity}-a`, namespace: SYSTEM_NAMESPACE },
      })
      .catch(() => undefined);
    await objects
      .delete({
        apiVersion: K0RDENT,
        kind: 'Credential',
        metadata: { name: `${identity}-b`, namespace: SYSTEM_NAMESPACE },
      })
      .catch(() => undefined);
    for (const cluster of ['mgmt', 'region-b'])
      await kubeClients(cluster)
        .objects.delete(providerInterface)
        .catch(() => undefined);
    for (const cluster of ['mgmt', 'region-a'])
      await kubeClients(cluster)
        .objects.delete(crd)
        .catch(() => undefined);
    for (const cluster of ['mgmt', 'region-a', 'region-b'])
      for (const object of grant)
        await kubeClients(cluster)
          .objects.delete(object)
          .catch(() => undefined);
    await deleteCreatedRegions();
  });

  it('names each Credential for what its target lacks, on every face, and serves the healthy ones', async () => {
    // Prepare: a healthy Credential in each of the two regions.
    const { name, source: aws } = await awsStaticIdentity(
      [regionA, regionB],
      awsKeys('AKIALOUDTARGET000001'),
    );
    const version = await rotateSource(aws.arn, awsKeys('AKIALOUDTARGET000002'));

    // Act: the rotation function, the distribution worker's path, the CLI's status.
    const response = await handler(sqsBatch([labelUpdated(aws.arn, version)]), lambdaContext());
    const result = await distribute({ ...deps, metrics }, [
      { kind: 'region', name: regionA },
      { kind: 'region', name: regionB },
    ]);
    const report = await status({ ...deps, source }, { kind: 'region', name: regionA });

    // Assess: the healthy copies landed in both regions.
    expect(response).toEqual({ batchItemFailures: [] });
    expect(result.regions.map((r) => r.error)).toEqual([undefined, undefined]);
    for (const cluster of ['region-a', 'region-b'])
      expect(decodedData(await readObject(cluster, 'v1', 'Secret', name, SYSTEM_NAMESPACE)).AccessKeyID).toBe(
        'AKIALOUDTARGET000002',
      );
    const says = {
      [`${identity}-a`]: `NotListed: ${group}/v1 TestClusterIdentity (the identity of Credential ${SYSTEM_NAMESPACE}/${identity}-a) is not listed by any ProviderInterface in region ${regionA}`,
      [`${identity}-b`]: `NotServed: region ${regionB} does not serve ${group}/v1 TestClusterIdentity`,
    };
    for (const [credentialName, problem] of Object.entries(says)) {
      expect(
        result.problems.find((p) => p.startsWith(`Credential ${SYSTEM_NAMESPACE}/${credentialName}: `)),
      ).toContain(problem);
      const warning = (await events(SYSTEM_NAMESPACE, credentialName)).find(
        (e) => e.reason === 'IdentityUnavailable',
      );
      expect(warning?.message).toContain(problem);
    }
    expect(await readObject('region-a', `${group}/v1`, 'TestClusterIdentity', identity)).toBeUndefined();
    expect(report.ok).toBe(false);
    expect(
      report.credentials.find((c) => c.credential === `${SYSTEM_NAMESPACE}/${identity}-a`)?.error,
    ).toContain(says[`${identity}-a`]);
    expect(
      metrics.recorded.some(
        (m) => m.name === 'CredentialProblems' && m.dimensions?.Reason === 'IdentityUnavailable',
      ),
    ).toBe(true);
  });
});

describe('status says why a binding is stale', () => {
  it('names the format failure of a rejected AWSCURRENT version', async () => {
    // Prepare: a bound Secret whose new version is not an AWS key pair.
    await prepareK0rdent();
    const name = uniqueName('aws');
    const created = await createSource(`identity-relay/${name}`, awsKeys('AKIASTALEWHY00000001'));
    await applyAll('mgmt', [boundSecret(SYSTEM_NAMESPACE, name, created.arn, 'aws-static')]);
    await handler(sqsBatch([labelUpdated(created.arn, created.versionId)]), lambdaContext());
    const version = await rotateSource(created.arn, JSON.stringify({ AccessKeyID: 'not-a-key-id' }));
    await handler(sqsBatch([labelUpdated(created.arn, version)]), lambdaContext());

    // Act: as the CLI runs it, with the operator's kubeconfig (the functions may not read Events).
    const mgmt = kubernetesCluster('mgmt', kubeConfigFor('mgmt', 'admin'));
    const report = await status(
      { ...deps, mgmt, source },
      { kind: 'secret', namespace: SYSTEM_NAMESPACE, name },
    );

    // Assess
    expect(report.bindings[0]).toMatchObject({ state: 'stale', sourceVersion: version });
    expect(report.bindings[0]?.why).toContain(`version ${version} rejected, old credentials kept: `);
    expect(report.bindings[0]?.why).toContain('aws-static');
  });
});

describe('CredentialDistributed only where it is true', () => {
  const region = uniqueName('rev');

  beforeAll(async () => {
    await prepareK0rdent();
    await createRegion(region, 'region-b');
  });

  afterAll(deleteCreatedRegions);

  it("lands on the Credential whose objects were written, not on its region's other Credentials", async () => {
    // Prepare: two identities in one region, both copied; then one copy is edited by hand.
    const edited = await awsStaticIdentity([region], awsKeys('AKIAEVENTSTRUE000001'));
    const bystander = await awsStaticIdentity([region], awsKeys('AKIAEVENTSTRUE000003'));
    await distribute(deps, [{ kind: 'region', name: region }]);
    await applyAll('region-b', [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: edited.name, namespace: SYSTEM_NAMESPACE },
        stringData: { AccessKeyID: 'AKIAHANDEDITED000001' },
      },
    ]);
    const distributed = async (namespace: string) =>
      (await events(namespace, 'aws')).filter((e) => e.reason === 'CredentialDistributed').length;
    const before = {
      edited: await distributed(edited.namespaces[0] ?? ''),
      bystander: await distributed(bystander.namespaces[0] ?? ''),
    };

    // Act: the whole region converges (as the sweep or a Region change does).
    const result = await distribute(deps, [{ kind: 'region', name: region }]);

    // Assess
    expect(result.regions[0]?.actions.filter((a) => a.op === 'update').map((a) => a.object)).toEqual([
      `Secret ${SYSTEM_NAMESPACE}/${edited.name}`,
    ]);
    expect(await distributed(edited.namespaces[0] ?? '')).toBe(before.edited + 1);
    expect(await distributed(bystander.namespaces[0] ?? '')).toBe(before.bystander);
  });

  it('never prints a secret value in any log line', () => {
    expect(log.lines.length).toBeGreaterThan(0);
    expect(leakedSecrets(log.lines)).toEqual([]);
  });
});
