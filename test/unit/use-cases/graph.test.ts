import { describe, expect, it } from 'vitest';
import type { KubeObject, ObjectRef } from '../../../lib/domain/objects.js';
import { credentialLabelKey } from '../../../lib/domain/regional.js';
import { ClusterUnreachable, Forbidden, NotServed, TransientFailure } from '../../../lib/errors.js';
import type { Cluster } from '../../../lib/ports.js';
import { loadGraph } from '../../../lib/use-cases/graph.js';
import { PROVIDER_INTERFACES } from '../../fixtures/provider-interfaces.js';

// loadGraph over an in-memory management cluster: which failures stop one Credential (by error class)
// and which stop the run. The graph rules themselves are tested in test/unit/domain/graph-rules.test.ts.

const SYSTEM = 'kcm-system';
const CAPI = 'infrastructure.cluster.x-k8s.io';
const K0RDENT = 'k0rdent.mirantis.com/v1beta1';
const SERVED: Record<string, boolean> = {
  [`${K0RDENT}/ProviderInterface`]: false,
  [`${K0RDENT}/Region`]: false,
  [`${K0RDENT}/Credential`]: true,
  'v1/Secret': true,
  'v1/Namespace': false,
  [`${CAPI}/v1beta2/AWSClusterStaticIdentity`]: false,
  [`${CAPI}/v1beta2/AWSClusterRoleIdentity`]: false,
  [`${CAPI}/v1beta2/AWSClusterControllerIdentity`]: false,
  [`${CAPI}/v1beta1/AzureClusterIdentity`]: true,
  // VSphereClusterIdentity is listed by a ProviderInterface but not served here.
};

/** A management cluster holding `objects`; `fail` maps an operation (`get:KIND/NAME`, `list:KIND`, `scope:KIND`) to its error. */
function fakeCluster(objects: KubeObject[], fail: Record<string, Error> = {}): Cluster {
  const check = (key: string) => {
    if (fail[key]) throw fail[key];
  };
  const scope = (apiVersion: string, kind: string) => {
    check(`scope:${kind}`);
    const namespaced = SERVED[`${apiVersion}/${kind}`];
    if (namespaced === undefined) throw new NotServed('mgmt', apiVersion, kind);
    return namespaced;
  };
  return {
    name: 'mgmt',
    async get(ref: ObjectRef) {
      scope(ref.apiVersion, ref.kind);
      check(`get:${ref.kind}/${ref.name}`);
      return objects.find(
        (o) =>
          o.apiVersion === ref.apiVersion &&
          o.kind === ref.kind &&
          o.metadata.name === ref.name &&
          o.metadata.namespace === ref.namespace,
      );
    },
    async list(apiVersion, kind) {
      scope(apiVersion, kind);
      check(`list:${kind}`);
      return objects.filter((o) => o.apiVersion === apiVersion && o.kind === kind);
    },
    async isNamespaced(apiVersion, kind) {
      return scope(apiVersion, kind);
    },
    apply: async (o) => o,
    removeLabels: async () => {},
    annotate: async () => {},
    delete: async () => {},
    recordEvent: async () => {},
  };
}

const credential = (namespace: string, name: string, identityRef: Record<string, string>): KubeObject => ({
  apiVersion: K0RDENT,
  kind: 'Credential',
  metadata: { name, namespace },
  spec: { region: 'eu-1', identityRef },
});
const AWS_REF = { apiVersion: `${CAPI}/v1beta2`, kind: 'AWSClusterStaticIdentity', name: 'aws' };
const AZURE_REF = { apiVersion: `${CAPI}/v1beta1`, kind: 'AzureClusterIdentity', name: 'azure' };

// The baseline: a healthy tenant Credential using a cluster-scoped identity that admits its namespace.
const BASELINE: KubeObject[] = [
  ...PROVIDER_INTERFACES,
  { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team', labels: { tier: 'gold' } } },
  {
    apiVersion: `${CAPI}/v1beta2`,
    kind: 'AWSClusterStaticIdentity',
    metadata: { name: 'aws' },
    spec: { secretRef: 'aws', allowedNamespaces: { list: ['team'] } },
  },
  credential('team', 'healthy', AWS_REF),
];

const problemsOf = async (extra: KubeObject[], fail: Record<string, Error> = {}) => {
  const graph = await loadGraph(fakeCluster([...BASELINE, ...extra], fail), SYSTEM);
  return Object.fromEntries(
    graph.closures.map((c) => [c.credential.name, { problems: c.problems, refused: c.refused }]),
  );
};

describe('loadGraph', () => {
  it('baseline: the healthy Credential gets its identity and Secret, and no problem', async () => {
    // Act
    const graph = await loadGraph(fakeCluster(BASELINE), SYSTEM);

    // Assess
    const [closure] = graph.closures;
    expect(closure?.problems).toEqual([]);
    expect(
      closure?.items.map(
        (i) => `${i.object.kind} ${i.object.metadata.namespace ?? ''}/${i.object.metadata.name}`,
      ),
    ).toEqual(['AWSClusterStaticIdentity /aws', `Secret ${SYSTEM}/aws`]);
  });

  it('keeps the ProviderInterfaces between loads when asked (a rotation), and lists them every time otherwise', async () => {
    // Prepare: a cluster that counts its ProviderInterface lists
    const cluster = fakeCluster(BASELINE);
    const list = cluster.list.bind(cluster);
    let listed = 0;
    cluster.list = (apiVersion, kind, options) => {
      if (kind === 'ProviderInterface') listed += 1;
      return list(apiVersion, kind, options);
    };

    // Act
    await loadGraph(cluster, SYSTEM, { keptProviderInterfaces: true });
    const kept = await loadGraph(cluster, SYSTEM, { keptProviderInterfaces: true });
    const afterKept = listed;
    await loadGraph(cluster, SYSTEM);
    await loadGraph(cluster, SYSTEM);

    // Assess
    expect(afterKept).toBe(1);
    expect(listed).toBe(3);
    expect(kept.closures[0]?.problems).toEqual([]);
  });

  it.each<[string, KubeObject[], Record<string, Error>, string, boolean]>([
    [
      'a listed kind the cluster does not serve',
      [
        credential('team', 'bad', {
          apiVersion: `${CAPI}/v1beta2`,
          kind: 'VSphereClusterIdentity',
          name: 'v',
        }),
      ],
      {},
      `NotServed: cluster mgmt does not serve ${CAPI}/v1beta2 VSphereClusterIdentity (spec.identityRef of Credential team/bad)`,
      false,
    ],
    [
      'a kind no ProviderInterface lists',
      [
        credential('team', 'bad', {
          apiVersion: `${CAPI}/v1beta9`,
          kind: 'AWSClusterStaticIdentity',
          name: 'aws',
        }),
      ],
      {},
      `NotListed: ${CAPI}/v1beta9 AWSClusterStaticIdentity is not listed by any ProviderInterface`,
      false,
    ],
    [
      'a typo in identityRef.name',
      [credential('team', 'bad', { ...AWS_REF, name: 'awz' })],
      {},
      'NotFound: AWSClusterStaticIdentity awz not found in the management cluster',
      false,
    ],
    [
      'an identity identity-relay may not read (its kind could not be listed either)',
      [credential('team', 'bad', { ...AZURE_REF, namespace: 'team' })],
      {
        'list:AzureClusterIdentity': new Forbidden('list'),
        'get:AzureClusterIdentity/azure': new Forbidden('get azure'),
      },
      'Forbidden: forbidden: get azure',
      false,
    ],
    [
      "another tenant's identity",
      [credential('team', 'bad', { ...AZURE_REF, namespace: 'other' })],
      {},
      'Refused: Credential team/bad names AzureClusterIdentity other/azure in another namespace',
      true,
    ],
    [
      'a platform identity that does not admit the namespace',
      [credential('other', 'bad', AWS_REF)],
      {},
      'Refused: AWSClusterStaticIdentity aws does not admit namespace other',
      true,
    ],
  ])('%s fails that Credential alone', async (_case, extra, fail, problem, refused) => {
    // Act
    const closures = await problemsOf(extra, fail);

    // Assess
    expect(closures.healthy).toEqual({ problems: [], refused: false });
    expect(closures.bad?.refused).toBe(refused);
    expect(closures.bad?.problems).toEqual([expect.stringContaining(problem)]);
  });

  it('gives a refused Credential no items and drops its label from the known ones (its old copies go)', async () => {
    // Act
    const graph = await loadGraph(fakeCluster([...BASELINE, credential('other', 'bad', AWS_REF)]), SYSTEM);

    // Assess
    expect(graph.closures.find((c) => c.credential.name === 'bad')?.items).toEqual([]);
    expect(graph.credentialLabels.has(credentialLabelKey('other', 'bad'))).toBe(false);
    expect(graph.credentialLabels.has(credentialLabelKey('team', 'healthy'))).toBe(true);
  });

  it('admits by a Namespace label selector, read from the Namespace list', async () => {
    // Prepare
    const identity = {
      ...BASELINE[BASELINE.length - 2],
      spec: { secretRef: 'aws', allowedNamespaces: { selector: { matchLabels: { tier: 'gold' } } } },
    } as KubeObject;

    // Act
    const graph = await loadGraph(
      fakeCluster([...BASELINE.slice(0, -2), identity, ...BASELINE.slice(-1)]),
      SYSTEM,
    );

    // Assess
    expect(graph.closures[0]?.problems).toEqual([]);
  });

  it('copies a namespaced platform identity into the Credential namespace', async () => {
    // Prepare
    const azure: KubeObject = {
      apiVersion: AZURE_REF.apiVersion,
      kind: 'AzureClusterIdentity',
      metadata: { name: 'azure', namespace: SYSTEM },
      spec: { allowedNamespaces: {}, clientSecret: { name: 'azure', namespace: SYSTEM } },
    };

    // Act
    const graph = await loadGraph(
      fakeCluster([...BASELINE, azure, credential('team', 'az', AZURE_REF)]),
      SYSTEM,
    );

    // Assess
    const items = graph.closures.find((c) => c.credential.name === 'az')?.items ?? [];
    expect(items.map((i) => [i.object.metadata.namespace, i.namespace])).toEqual([
      [SYSTEM, 'team'],
      [SYSTEM, 'team'],
    ]);
  });

  it.each<[string, Record<string, Error>]>([
    [
      'the cluster is unreachable while describing a kind',
      { 'scope:AzureClusterIdentity': new ClusterUnreachable('mgmt', 'ECONNREFUSED') },
    ],
    [
      'a list of identities is throttled',
      { 'list:AWSClusterStaticIdentity': new TransientFailure('HTTP 429') },
    ],
    [
      'the Namespace list fails transiently',
      { 'list:Namespace': new ClusterUnreachable('mgmt', 'HTTP 503') },
    ],
  ])('fails the whole run (to be retried) when %s', async (_case, fail) => {
    // Prepare: the Namespace list is needed only for a selector.
    const identity = {
      ...BASELINE[BASELINE.length - 2],
      spec: { secretRef: 'aws', allowedNamespaces: { selector: { matchLabels: { tier: 'gold' } } } },
    } as KubeObject;
    const objects = [...BASELINE.slice(0, -2), identity, ...BASELINE.slice(-1)];

    // Act
    const run = loadGraph(fakeCluster(objects, fail), SYSTEM);

    // Assess
    await expect(run).rejects.toMatchObject({ retryable: true });
  });
});
