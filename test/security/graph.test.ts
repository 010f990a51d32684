import { randomUUID } from 'node:crypto';
import { KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../lib/domain/objects.js';
import { credentialLabelKey } from '../../lib/domain/regional.js';
import { distribute } from '../../lib/use-cases/distribute.js';
import { cli, printed } from '../cli/run-cli.js';
import { leakedSecrets, rememberSecret } from '../helpers/capture.js';
import {
  applyAll,
  createRegion,
  credential,
  deleteCreatedRegions,
  grantManagementNamespace,
  grantRegionalNamespace,
  prepareK0rdent,
  SYSTEM_NAMESPACE,
  testRuntime,
} from '../helpers/k0rdent.js';
import { kubeClients, kubeConfigFor, uniqueName } from '../helpers/testbed-clients.js';

// A hostile tenant of a multi-team installation writes Credentials and identities in its own namespace
// to get identity-relay (which can read every identity and Secret it serves) to copy another team's or
// the platform's secrets into a namespace it can read. The tenant writes its objects as a user with
// rights in its own namespace only. identity-relay runs under its shipped RBAC, with read rights on both
// teams' Secrets, so each refusal is the graph rules', not a missing grant.

const { deps, log, metrics } = testRuntime();
const CAPI = 'infrastructure.cluster.x-k8s.io';
const AZURE = `${CAPI}/v1beta1`;
const AWS = `${CAPI}/v1beta2`;

const region = uniqueName('rs');
const teamA = uniqueName('team-a');
const teamB = uniqueName('team-b');
const kubeconfigSecret = `${region}-kubeconfig`;
const values = { a: `team-a-secret-${randomUUID()}`, platform: `platform-secret-${randomUUID()}` };

const secret = (namespace: string, name: string, data: Record<string, string>): KubeObject => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name, namespace },
  data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
});
const azure = (namespace: string, name: string, clientSecret: object, extra: object = {}): KubeObject => ({
  apiVersion: AZURE,
  kind: 'AzureClusterIdentity',
  metadata: { name, namespace },
  spec: { type: 'ServicePrincipal', clientID: randomUUID(), tenantID: randomUUID(), clientSecret, ...extra },
});
const awsStatic = (name: string, allowedNamespaces?: object): KubeObject => ({
  apiVersion: AWS,
  kind: 'AWSClusterStaticIdentity',
  metadata: { name },
  spec: { secretRef: name, ...(allowedNamespaces ? { allowedNamespaces } : {}) },
});

const TENANT = uniqueName('tenant-b');

/** The management cluster as team-b's tenant (the admin impersonating a user with namespace rights only). */
function tenantApi(): KubernetesObjectApi {
  const admin = kubeConfigFor('mgmt');
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: admin.clusters,
    users: admin.users.map((user) => ({ ...user, impersonateUser: TENANT })),
    contexts: admin.contexts,
    currentContext: admin.currentContext,
  });
  return KubernetesObjectApi.makeApiClient(kc);
}

/** Warning Events on a Credential: reason and message. */
async function warnings(
  namespace: string,
  name: string,
): Promise<Array<{ reason: string; message: string }>> {
  const events = await kubeClients('mgmt').core.listNamespacedEvent({
    namespace,
    fieldSelector: `involvedObject.kind=Credential,involvedObject.name=${name}`,
  });
  return events.items
    .filter((e) => e.type === 'Warning')
    .map((e) => ({ reason: e.reason ?? '', message: e.message ?? '' }));
}

/** Names of the objects of a kind in a regional cluster (one namespace, or all). */
async function names(apiVersion: string, kind: string, options: { namespace?: string; label?: string } = {}) {
  const list = await kubeClients('region-a').objects.list<KubeObject>(
    apiVersion,
    kind,
    options.namespace,
    undefined,
    undefined,
    undefined,
    undefined,
    options.label,
  );
  return list.items.map((o) => `${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`);
}

/** Everything in region-a that carries a Credential's label. */
async function copiesFor(namespace: string, name: string): Promise<string[]> {
  const label = `${credentialLabelKey(namespace, name)}=true`;
  return [
    ...(await names('v1', 'Secret', { label })),
    ...(await names(AZURE, 'AzureClusterIdentity', { label })),
    ...(await names(AWS, 'AWSClusterStaticIdentity', { label })),
  ];
}

// Each attack: the Credential team-b writes, and the rule its refusal must state.
const attacks = [
  {
    what: "(a) a Credential naming team-a's namespaced identity",
    name: 'steal-a',
    says: /^Refused: Credential .+\/steal-a names AzureClusterIdentity .+\/azure-a in another namespace/,
  },
  {
    what: "(b) team-b's own identity whose clientSecret.namespace names the system namespace (a Region kubeconfig)",
    name: 'steal-kubeconfig',
    says: /^Refused: AzureClusterIdentity .+\/azure-b references Secret kcm-system\/.+-kubeconfig, outside namespace/,
  },
  {
    what: '(b) a Credential naming a system-namespace Secret directly',
    name: 'steal-secret',
    says: /^Refused: Secret kcm-system\/.+-kubeconfig does not admit namespace/,
  },
  {
    what: '(c) a cluster-scoped identity whose allowedNamespaces lists only team-a',
    name: 'steal-c',
    says: /^Refused: AWSClusterStaticIdentity aws-c-.+ does not admit namespace .+ \(spec.allowedNamespaces excludes it\)/,
  },
  {
    what: '(c) a cluster-scoped identity without allowedNamespaces',
    name: 'steal-c2',
    says: /^Refused: AWSClusterStaticIdentity aws-c2-.+ does not admit namespace .+ \(spec.allowedNamespaces is not set\)/,
  },
];

describe('hostile tenant: the graph', () => {
  const awsC = uniqueName('aws-c');
  const awsC2 = uniqueName('aws-c2');
  const awsD = uniqueName('aws-d');
  let result: Awaited<ReturnType<typeof distribute>>;

  beforeAll(async () => {
    await prepareK0rdent();
    await createRegion(region, 'region-a');
    for (const team of [teamA, teamB]) {
      await grantManagementNamespace(team);
      await grantRegionalNamespace('region-a', team);
    }
    rememberSecret(values.a);
    rememberSecret(values.platform);
    await applyAll('mgmt', [
      // team-a: its own identity and Secret, and its own Credential (the own-namespace shape).
      secret(teamA, 'azure-a', { clientSecret: values.a }),
      azure(teamA, 'azure-a', { name: 'azure-a', namespace: teamA }),
      credential(teamA, 'own', region, {
        apiVersion: AZURE,
        kind: 'AzureClusterIdentity',
        name: 'azure-a',
        namespace: teamA,
      }),
      // The platform: identities whose Secrets sit in the system namespace.
      ...[awsC, awsC2, awsD].map((name) =>
        secret(SYSTEM_NAMESPACE, name, {
          AccessKeyID: 'AKIAPLATFORM00000001',
          SecretAccessKey: values.platform,
        }),
      ),
      awsStatic(awsC, { list: [teamA] }),
      awsStatic(awsC2),
      awsStatic(awsD, { selector: { matchLabels: { 'kubernetes.io/metadata.name': teamB } } }),
      // team-b's tenant: rights on Secrets, Credentials and Azure identities of its own namespace only.
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'tenant', namespace: teamB },
        rules: [
          {
            apiGroups: ['', 'k0rdent.mirantis.com', CAPI],
            resources: ['secrets', 'credentials', 'azureclusteridentities'],
            verbs: ['get', 'list', 'create', 'patch', 'update', 'delete'],
          },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'tenant', namespace: teamB },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'tenant' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: TENANT }],
      },
    ]);
    // team-b: the attacks, written by the tenant itself, and one Credential the platform admits.
    const tenant = tenantApi();
    const attackObjects = [
      credential(teamB, 'steal-a', region, {
        apiVersion: AZURE,
        kind: 'AzureClusterIdentity',
        name: 'azure-a',
        namespace: teamA,
      }),
      azure(teamB, 'azure-b', { name: kubeconfigSecret, namespace: SYSTEM_NAMESPACE }),
      credential(teamB, 'steal-kubeconfig', region, {
        apiVersion: AZURE,
        kind: 'AzureClusterIdentity',
        name: 'azure-b',
        namespace: teamB,
      }),
      credential(teamB, 'steal-secret', region, {
        apiVersion: 'v1',
        kind: 'Secret',
        name: kubeconfigSecret,
        namespace: SYSTEM_NAMESPACE,
      }),
      credential(teamB, 'steal-c', region, { apiVersion: AWS, kind: 'AWSClusterStaticIdentity', name: awsC }),
      credential(teamB, 'steal-c2', region, {
        apiVersion: AWS,
        kind: 'AWSClusterStaticIdentity',
        name: awsC2,
      }),
      credential(teamB, 'admitted', region, {
        apiVersion: AWS,
        kind: 'AWSClusterStaticIdentity',
        name: awsD,
      }),
    ];
    for (const object of attackObjects)
      await tenant.patch(object, undefined, undefined, 'tenant', true, PatchStrategy.ServerSideApply);
    result = await distribute({ ...deps, metrics }, [{ kind: 'region', name: region }]);
  });

  afterAll(deleteCreatedRegions);

  it("the tenant cannot read what it attacks: team-a's Secret, the system namespace's", async () => {
    // Act
    const reads = await Promise.all(
      [
        { namespace: teamA, name: 'azure-a' },
        { namespace: SYSTEM_NAMESPACE, name: kubeconfigSecret },
        { namespace: SYSTEM_NAMESPACE, name: awsC },
      ].map(({ namespace, name }) =>
        tenantApi()
          .read({ apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace } })
          .then(
            () => 'read',
            (error: { code?: number }) => error.code,
          ),
      ),
    );

    // Assess
    expect(reads).toEqual([403, 403, 403]);
  });

  it.each(attacks)(
    'refuses $what: a Refused problem, a Warning Event, nothing copied',
    async ({ name, says }) => {
      // Assess
      const problem = result.problems.find((p) => p.startsWith(`Credential ${teamB}/${name}: `));
      expect(problem?.slice(`Credential ${teamB}/${name}: `.length)).toMatch(says);
      const events = await warnings(teamB, name);
      expect(events.map((e) => e.reason)).toContain('CredentialRefused');
      expect(events.find((e) => e.reason === 'CredentialRefused')?.message).toMatch(/Refused: .+: /);
      expect(await copiesFor(teamB, name)).toEqual([]);
    },
  );

  it('copies nothing into team-b anywhere but what the platform admits, and no refused object at all', async () => {
    // Assess: team-b's namespace in the region holds no Secret and no identity of anyone.
    expect(await names('v1', 'Secret', { namespace: teamB })).toEqual([]);
    expect(await names(AZURE, 'AzureClusterIdentity', { namespace: teamB })).toEqual([]);
    const identities = await names(AWS, 'AWSClusterStaticIdentity');
    expect(identities).not.toContain(awsC);
    expect(identities).not.toContain(awsC2);
    const systemSecrets = await names('v1', 'Secret', { namespace: SYSTEM_NAMESPACE });
    expect(systemSecrets).not.toContain(`${SYSTEM_NAMESPACE}/${kubeconfigSecret}`);
    expect(systemSecrets).not.toContain(`${SYSTEM_NAMESPACE}/${awsC}`);
  });

  it('counts each refusal in the CredentialProblems metric', () => {
    const refused = metrics.recorded.filter(
      (m) => m.name === 'CredentialProblems' && m.dimensions?.Reason === 'CredentialRefused',
    );
    expect(refused).toHaveLength(attacks.length);
  });

  it('still serves the own-namespace shape and the allowedNamespaces-admitted shape', async () => {
    // Assess
    expect(result.regions.map((r) => r.error)).toEqual([undefined]);
    expect(
      result.problems.filter((p) => p.includes(`${teamA}/own`) || p.includes(`${teamB}/admitted`)),
    ).toEqual([]);
    const copy = await kubeClients('region-a').core.readNamespacedSecret({
      name: 'azure-a',
      namespace: teamA,
    });
    expect(Buffer.from(copy.data?.clientSecret ?? '', 'base64').toString()).toBe(values.a);
    expect(await names(AZURE, 'AzureClusterIdentity', { namespace: teamA })).toEqual([`${teamA}/azure-a`]);
    expect(await copiesFor(teamB, 'admitted')).toEqual(
      expect.arrayContaining([`${SYSTEM_NAMESPACE}/${awsD}`, awsD]),
    );
  });

  it('shows a refused Credential in `identity-relay status` with its reason and the fix, exit 1', async () => {
    // Act
    const run = await cli(['status', '--credential', `${teamB}/steal-kubeconfig`]);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`ERROR  ${teamB}/steal-kubeconfig → region ${region}`);
    expect(run.stdout).toMatch(
      /CredentialRefused: Refused: AzureClusterIdentity .+ references Secret kcm-system\//,
    );
    expect(run.stdout).toContain('hint: a tenant Credential may use objects of its own namespace only');
    expect(leakedSecrets(printed)).toEqual([]);
  });

  it('removes the copies of a Credential the platform stops admitting', async () => {
    // Prepare: the admitted Credential has its copies; the platform narrows the identity to team-a.
    expect(await copiesFor(teamB, 'admitted')).not.toEqual([]);
    await applyAll('mgmt', [awsStatic(awsD, { list: [teamA] })]);

    // Act
    const after = await distribute({ ...deps, metrics }, [{ kind: 'region', name: region }]);

    // Assess
    expect(after.problems.find((p) => p.startsWith(`Credential ${teamB}/admitted: Refused:`))).toBeDefined();
    expect(await copiesFor(teamB, 'admitted')).toEqual([]);
    expect(await names(AWS, 'AWSClusterStaticIdentity')).not.toContain(awsD);
  });

  it('never puts a secret value in a log line or an Event', async () => {
    const events = await kubeClients('mgmt').core.listNamespacedEvent({ namespace: teamB });
    const texts = [...log.lines, ...events.items.map((e) => e.message ?? '')];
    expect(log.lines.length).toBeGreaterThan(0);
    expect(leakedSecrets(texts)).toEqual([]);
  });
});
