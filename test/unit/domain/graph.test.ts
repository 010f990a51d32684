import { describe, expect, it } from 'vitest';
import {
  findEntry,
  type IdentityReference,
  identityEntries,
  MANAGEMENT_TARGET,
  readCredential,
  readRegion,
  referencesOf,
  targetName,
  targetOf,
} from '../../../lib/domain/graph.js';
import type { KubeObject } from '../../../lib/domain/objects.js';

const SYSTEM = 'kcm-system';
const PI_VERSION = 'k0rdent.mirantis.com/v1beta1';
const AZURE = 'infrastructure.cluster.x-k8s.io/v1beta1';

// Azure's entry: a namespaced identity whose Secret has a name path and a namespace path.
const AZURE_ENTRY = {
  group: 'infrastructure.cluster.x-k8s.io',
  version: 'v1beta1',
  kind: 'AzureClusterIdentity',
  references: [
    {
      group: '',
      version: 'v1',
      kind: 'Secret',
      nameFieldPath: 'spec.clientSecret.name',
      namespaceFieldPath: 'spec.clientSecret.namespace',
    },
  ],
};

function providerInterface(clusterIdentities: unknown[], extraSpec: object = {}): KubeObject {
  return {
    apiVersion: PI_VERSION,
    kind: 'ProviderInterface',
    metadata: { name: 'pi' },
    spec: { clusterIdentities, ...extraSpec },
  };
}

describe('identityEntries', () => {
  it('reads every entry of every ProviderInterface, defaulting group to the core group and references to none', () => {
    // Prepare
    const secretOnly = { version: 'v1', kind: 'Secret' };

    // Act
    const entries = identityEntries([providerInterface([AZURE_ENTRY]), providerInterface([secretOnly])]);

    // Assess
    expect(entries).toEqual([AZURE_ENTRY, { group: '', version: 'v1', kind: 'Secret', references: [] }]);
  });

  it.each([
    ['an entry without a version', { ...AZURE_ENTRY, version: undefined }],
    ['an entry whose kind is not a string', { ...AZURE_ENTRY, kind: 7 }],
    [
      'a reference without a nameFieldPath',
      { ...AZURE_ENTRY, references: [{ version: 'v1', kind: 'Secret' }] },
    ],
  ])('skips a ProviderInterface with %s and keeps the others', (_case, bad) => {
    // Act
    const entries = identityEntries([providerInterface([bad]), providerInterface([AZURE_ENTRY])]);

    // Assess
    expect(entries.map((e) => e.kind)).toEqual(['AzureClusterIdentity']);
  });

  it('skips a ProviderInterface without a spec', () => {
    // Act
    const entries = identityEntries([
      { apiVersion: PI_VERSION, kind: 'ProviderInterface', metadata: { name: 'x' } },
    ]);

    // Assess
    expect(entries).toEqual([]);
  });

  it('accepts the removed spec.clusterGVKs field and ignores it', () => {
    // Prepare
    const withGvks = providerInterface([AZURE_ENTRY], {
      clusterGVKs: [{ group: 'x', version: 'v1', kind: 'Y' }],
    });

    // Act
    const entries = identityEntries([withGvks]);

    // Assess
    expect(entries.map((e) => e.kind)).toEqual(['AzureClusterIdentity']);
  });
});

describe('findEntry', () => {
  const entries = identityEntries([providerInterface([AZURE_ENTRY, { version: 'v1', kind: 'Secret' }])]);

  it.each([
    ['the exact apiVersion and kind', AZURE, 'AzureClusterIdentity', 'AzureClusterIdentity'],
    ['a core-group kind by its bare version', 'v1', 'Secret', 'Secret'],
    [
      'another version of the group',
      'infrastructure.cluster.x-k8s.io/v1beta2',
      'AzureClusterIdentity',
      undefined,
    ],
    ['a kind in another case', AZURE, 'azureclusteridentity', undefined],
    ['the group without a version', 'infrastructure.cluster.x-k8s.io', 'AzureClusterIdentity', undefined],
  ])('for %s finds %s', (_case, apiVersion, kind, expected) => {
    // Act
    const entry = findEntry(entries, apiVersion, kind);

    // Assess
    expect(entry?.kind).toBe(expected);
  });
});

describe('referencesOf', () => {
  const identity: KubeObject = {
    apiVersion: AZURE,
    kind: 'AzureClusterIdentity',
    metadata: { name: 'azure', namespace: 'team-a' },
    spec: { clientSecret: { name: 'azure-secret', namespace: 'secrets' } },
  };
  const [reference] = AZURE_ENTRY.references as [IdentityReference];
  const { namespaceFieldPath: _path, ...withoutNamespacePath } = reference;
  const controller = {
    group: 'infrastructure.cluster.x-k8s.io',
    version: 'v1beta2',
    kind: 'AWSClusterControllerIdentity',
  };
  // Only the AWS controller identity is cluster-scoped here.
  const scope = {
    systemNamespace: SYSTEM,
    isNamespaced: (_v: string, kind: string) => kind !== controller.kind,
  };
  const referencesWith = (tweak: { metadata?: object; reference?: object }) =>
    referencesOf(
      { ...identity, metadata: { ...identity.metadata, ...tweak.metadata } },
      identityEntries([providerInterface([{ ...AZURE_ENTRY, references: [tweak.reference ?? reference] }])]),
      scope,
    );
  const secret = (namespace: string) => ({
    apiVersion: 'v1',
    kind: 'Secret',
    name: 'azure-secret',
    namespace,
  });

  it.each([
    [
      'reads the namespace path and keeps it for the rewrite',
      {},
      [{ ref: secret('secrets'), namespaceFieldPath: 'spec.clientSecret.namespace' }],
    ],
    [
      'reads paths written with a leading dot',
      {
        reference: {
          ...reference,
          nameFieldPath: '.spec.clientSecret.name',
          namespaceFieldPath: '.spec.clientSecret.namespace',
        },
      },
      [{ ref: secret('secrets'), namespaceFieldPath: '.spec.clientSecret.namespace' }],
    ],
    [
      'falls back to the identity namespace when the namespace path is unset in the identity',
      { reference: { ...reference, namespaceFieldPath: 'spec.clientSecret.ns' } },
      [{ ref: secret('team-a'), namespaceFieldPath: 'spec.clientSecret.ns' }],
    ],
    [
      'puts a reference without a namespace path in the namespace of a namespaced identity',
      { reference: withoutNamespacePath },
      [{ ref: secret('team-a') }],
    ],
    [
      'puts a reference without a namespace path of a cluster-scoped identity in the system namespace',
      { metadata: { namespace: undefined }, reference: withoutNamespacePath },
      [{ ref: secret(SYSTEM) }],
    ],
    [
      'gives a cluster-scoped referenced kind no namespace',
      { reference: { ...withoutNamespacePath, ...controller } },
      [
        {
          ref: {
            apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2',
            kind: controller.kind,
            name: 'azure-secret',
          },
        },
      ],
    ],
  ])('%s', (_case, tweak, expected) => {
    // Act
    const references = referencesWith(tweak);

    // Assess
    expect(references).toStrictEqual(expected);
  });

  it.each([
    ['a missing name', { ...reference, nameFieldPath: 'spec.clientSecret.id' }],
    ['an empty name', { ...reference, nameFieldPath: 'spec.clientSecret.empty' }],
    ['a name that is not a string', { ...reference, nameFieldPath: 'spec.clientSecret' }],
  ])('skips a reference with %s', (_case, tweaked) => {
    // Act
    const references = referencesOf(
      { ...identity, spec: { clientSecret: { name: 'azure-secret', empty: '' } } },
      identityEntries([providerInterface([{ ...AZURE_ENTRY, references: [tweaked] }])]),
      scope,
    );

    // Assess
    expect(references).toEqual([]);
  });

  it('finds nothing for an identity no entry names', () => {
    // Act
    const references = referencesOf(
      { ...identity, kind: 'AzureClusterIdentityX' },
      identityEntries([providerInterface([AZURE_ENTRY])]),
      scope,
    );

    // Assess
    expect(references).toEqual([]);
  });
});

describe('readCredential', () => {
  const baseline: KubeObject = {
    apiVersion: PI_VERSION,
    kind: 'Credential',
    metadata: { name: 'aws', namespace: 'team-a', labels: { 'k0rdent.mirantis.com/managed': 'true' } },
    spec: {
      region: 'eu',
      identityRef: { apiVersion: AZURE, kind: 'AzureClusterIdentity', name: 'azure', namespace: 'ids' },
    },
  };
  const expected = {
    namespace: 'team-a',
    name: 'aws',
    region: 'eu',
    managed: true,
    labels: { 'k0rdent.mirantis.com/managed': 'true' },
    identityRef: { apiVersion: AZURE, kind: 'AzureClusterIdentity', name: 'azure', namespace: 'ids' },
    ready: false,
  };
  const tweak = (metadata: object, spec: object): KubeObject => ({
    ...baseline,
    metadata: { ...baseline.metadata, ...metadata },
    spec: { ...(baseline.spec as object), ...spec },
  });
  const { namespace: _ns, ...refWithoutNamespace } = expected.identityRef;
  const { region: _region, ...withoutRegion } = expected;

  it.each([
    ['a regional, managed Credential', baseline, expected],
    ['a Credential without a region', tweak({}, { region: undefined }), withoutRegion],
    ['a Credential with an empty region', tweak({}, { region: '' }), withoutRegion],
    [
      'a Credential without labels',
      tweak({ labels: undefined }, {}),
      { ...expected, managed: false, labels: {} },
    ],
    [
      'a Credential whose managed label is not "true"',
      tweak({ labels: { 'k0rdent.mirantis.com/managed': 'yes' } }, {}),
      { ...expected, managed: false, labels: { 'k0rdent.mirantis.com/managed': 'yes' } },
    ],
    // kcm's next API makes status.ready optional: absent is not ready, wherever it is read.
    ['a ready Credential', { ...baseline, status: { ready: true } }, { ...expected, ready: true }],
    ['a Credential with a status but no ready', { ...baseline, status: {} }, expected],
    ['a Credential that is not ready', { ...baseline, status: { ready: false } }, expected],
    [
      'an identityRef without a namespace',
      tweak({}, { identityRef: refWithoutNamespace }),
      { ...expected, identityRef: refWithoutNamespace },
    ],
  ])('reads %s', (_case, object, result) => {
    // Act
    const credential = readCredential(object);

    // Assess
    expect(credential).toStrictEqual(result);
  });

  it.each([
    ['being deleted', tweak({ deletionTimestamp: '2026-08-01T00:00:00Z' }, {})],
    ['without an identityRef', tweak({}, { identityRef: undefined })],
    ['with an identityRef without a kind', tweak({}, { identityRef: { apiVersion: AZURE, name: 'x' } })],
    ['without a namespace', tweak({ namespace: undefined }, {})],
  ])('returns undefined for a Credential %s', (_case, object) => {
    // Act
    const credential = readCredential(object);

    // Assess
    expect(credential).toBeUndefined();
  });
});

describe('targetOf', () => {
  const credential = (namespace: string, managed: boolean, region?: string) => ({
    namespace,
    name: 'c',
    managed,
    labels: {},
    identityRef: { apiVersion: 'v1', kind: 'Secret', name: 's' },
    ready: true,
    ...(region ? { region } : {}),
  });

  it.each([
    ['a regional Credential: its Region', credential('team-a', false, 'eu'), 'eu'],
    ['a managed regional Credential: its Region', credential('team-a', true, 'eu'), 'eu'],
    [
      "AccessManagement's copy (managed, no region, a tenant namespace): the management cluster",
      credential('team-a', true),
      MANAGEMENT_TARGET,
    ],
    [
      'a managed Credential of the system namespace: nowhere (it is the source)',
      credential(SYSTEM, true),
      undefined,
    ],
    ['an unmanaged Credential without a region: nowhere', credential('team-a', false), undefined],
  ])('%s', (_case, input, target) => {
    // Act
    const result = targetOf(input, SYSTEM);

    // Assess
    expect(result).toBe(target);
  });

  it('names a Region and the management cluster apart', () => {
    // Act
    const names = [targetName('eu'), targetName(MANAGEMENT_TARGET)];

    // Assess
    expect(names).toStrictEqual(['region eu', 'the management cluster']);
  });
});

describe('readRegion', () => {
  const region = (spec: object): KubeObject => ({
    apiVersion: PI_VERSION,
    kind: 'Region',
    metadata: { name: 'eu' },
    spec,
  });

  it.each([
    [
      'spec.kubeConfig as a key of a Secret in the system namespace',
      { kubeConfig: { name: 'eu-kubeconfig', key: 'config' } },
      { namespace: SYSTEM, name: 'eu-kubeconfig', key: 'config' },
    ],
    [
      "spec.clusterDeployment as key value of the ClusterDeployment's <name>-kubeconfig Secret",
      { clusterDeployment: { name: 'eu-cd', namespace: 'regions' } },
      { namespace: 'regions', name: 'eu-cd-kubeconfig', key: 'value' },
    ],
  ])('reads %s', (_case, spec, kubeconfig) => {
    // Act
    const info = readRegion(region(spec), SYSTEM);

    // Assess
    expect(info).toEqual({ name: 'eu', kubeconfig });
  });

  it.each([
    ['neither kubeConfig nor clusterDeployment', {}],
    ['a kubeConfig without a key (kcm has no default key)', { kubeConfig: { name: 'eu-kubeconfig' } }],
    ['a clusterDeployment without a namespace', { clusterDeployment: { name: 'eu-cd' } }],
  ])('returns undefined for a Region with %s', (_case, spec) => {
    // Act
    const info = readRegion(region(spec), SYSTEM);

    // Assess
    expect(info).toBeUndefined();
  });
});
