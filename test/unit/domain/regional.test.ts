import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { KubeObject } from '../../../lib/domain/objects.js';
import { buildCopy, copyHash, credentialLabelKey, isCredentialLabel } from '../../../lib/domain/regional.js';

const NOW = new Date('2026-08-01T12:00:00.000Z');
const AZURE = 'infrastructure.cluster.x-k8s.io/v1beta1';
const MANAGED = 'k0rdent.mirantis.com/managed';
const TEAM_A_AWS = 'k0rdent.mirantis.com/credential.team-a.aws';

// Kubernetes' rule for a qualified label key: an optional DNS-subdomain prefix and a name of ≤ 63.
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function isValidLabelKey(key: string): boolean {
  const [prefix, name, ...rest] = key.split('/');
  return (
    rest.length === 0 &&
    prefix !== undefined &&
    name !== undefined &&
    prefix.length <= 253 &&
    DNS_SUBDOMAIN.test(prefix) &&
    name.length <= 63 &&
    LABEL_NAME.test(name)
  );
}

describe('credentialLabelKey', () => {
  it("writes kcm's own key for a short namespace and name", () => {
    // Act
    const key = credentialLabelKey('team-a', 'aws');

    // Assess
    expect(key).toBe(TEAM_A_AWS);
  });

  it('keeps the plain form at exactly 63 characters (namespace and name of 51)', () => {
    // Prepare
    const namespace = 'n'.repeat(25);
    const name = 'c'.repeat(26);

    // Act
    const key = credentialLabelKey(namespace, name);

    // Assess
    expect(key).toBe(`k0rdent.mirantis.com/credential.${namespace}.${name}`);
    expect(key.split('/')[1]).toHaveLength(63);
  });

  it('hashes a key that would be 64 characters into a fixed-length form', () => {
    // Prepare
    const namespace = 'n'.repeat(25);
    const name = 'c'.repeat(27);

    // Act
    const key = credentialLabelKey(namespace, name);

    // Assess
    const digest = createHash('sha256').update(`${namespace}/${name}`).digest('hex').slice(0, 40);
    expect(key).toBe(`k0rdent.mirantis.com/credential-sha.${digest}`);
  });

  it('gives two long Credentials that differ only in where the namespace ends different keys', () => {
    // Act
    const first = credentialLabelKey('team-a', `b-${'x'.repeat(60)}`);
    const second = credentialLabelKey('team-a-b', 'x'.repeat(60));

    // Assess
    expect(first).not.toBe(second);
  });

  it.each([
    ['a short Credential', 'team-a', 'aws'],
    ['a Credential at the limit', 'n'.repeat(25), 'c'.repeat(26)],
    ['a Credential just past the limit', 'n'.repeat(25), 'c'.repeat(27)],
    ['the longest namespace and Credential name', 'n'.repeat(63), `c.${'d'.repeat(250)}`],
  ])('writes a valid, recognised label key for %s', (_case, namespace, name) => {
    // Act
    const key = credentialLabelKey(namespace, name);

    // Assess
    expect(isValidLabelKey(key)).toBe(true);
    expect(isCredentialLabel(key)).toBe(true);
  });

  it.each([
    [MANAGED],
    ['identity-relay.dev/bound'],
    ['k0rdent.mirantis.com/credentials'],
    ['credential.team-a.aws'],
  ])('does not take %s for a credential label', (key) => {
    // Act
    const result = isCredentialLabel(key);

    // Assess
    expect(result).toBe(false);
  });
});

const SECRET: KubeObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: {
    name: 'azure-secret',
    namespace: 'kcm-system',
    uid: '0b6f2c1e-uid',
    resourceVersion: '4711',
    ownerReferences: [{ apiVersion: AZURE, kind: 'AzureCluster', name: 'c1', uid: 'x' }],
    finalizers: ['example.com/keep'],
    labels: {
      app: 'azure',
      'identity-relay.dev/bound': 'true',
      'k0rdent.mirantis.com/credential.old.gone': 'true',
      'k0rdent.mirantis.com/credential-sha.0123456789abcdef0123456789abcdef01234567': 'true',
    },
    annotations: { 'identity-relay.dev/source-version': 'v-7', 'kubectl.kubernetes.io/last-applied': '{}' },
  },
  type: 'Opaque',
  data: { clientSecret: 'c2VjcmV0' },
};

const IDENTITY: KubeObject = {
  apiVersion: AZURE,
  kind: 'AzureClusterIdentity',
  metadata: { name: 'azure', namespace: 'identities', labels: { [MANAGED]: 'false' } },
  spec: { clientID: 'id', clientSecret: { name: 'azure-secret', namespace: 'kcm-system' } },
  status: { ready: true },
};

const ONE_CREDENTIAL = { credentials: [{ namespace: 'team-a', name: 'aws' }], tier: 1, now: NOW };

describe('buildCopy', () => {
  it('copies a Secret with type, data, its own labels and the source version, and nothing server-set', () => {
    // Act
    const copy = buildCopy(SECRET, ONE_CREDENTIAL);

    // Assess
    expect(copy).toStrictEqual({
      tier: 1,
      hash: copy.hash,
      object: {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: {
          name: 'azure-secret',
          namespace: 'kcm-system',
          labels: { app: 'azure', [MANAGED]: 'true', [TEAM_A_AWS]: 'true' },
          annotations: {
            'identity-relay.dev/source-version': 'v-7',
            'identity-relay.dev/content-hash': copy.hash,
            'identity-relay.dev/synced-at': '2026-08-01T12:00:00.000Z',
          },
        },
        type: 'Opaque',
        data: { clientSecret: 'c2VjcmV0' },
      },
    });
    expect(copy.hash).toMatch(/^sha256:[0-9a-f]{32}$/);
  });

  it('copies only the spec of another kind and forces the managed label to "true"', () => {
    // Act
    const copy = buildCopy(IDENTITY, { ...ONE_CREDENTIAL, tier: 0 });

    // Assess
    expect(copy.object).toStrictEqual({
      apiVersion: AZURE,
      kind: 'AzureClusterIdentity',
      metadata: {
        name: 'azure',
        namespace: 'identities',
        labels: { [MANAGED]: 'true', [TEAM_A_AWS]: 'true' },
        annotations: {
          'identity-relay.dev/content-hash': copy.hash,
          'identity-relay.dev/synced-at': '2026-08-01T12:00:00.000Z',
        },
      },
      spec: IDENTITY.spec,
    });
  });

  it('moves the copy into the given namespace and rewrites the namespace fields of its body', () => {
    // Act
    const copy = buildCopy(IDENTITY, {
      ...ONE_CREDENTIAL,
      namespace: 'team-a',
      rewrite: { paths: ['.spec.clientSecret.namespace'], namespace: 'team-a' },
    });

    // Assess
    expect(copy.object.metadata.namespace).toBe('team-a');
    expect(copy.object.spec).toStrictEqual({
      clientID: 'id',
      clientSecret: { name: 'azure-secret', namespace: 'team-a' },
    });
    expect(IDENTITY.spec).toStrictEqual({
      clientID: 'id',
      clientSecret: { name: 'azure-secret', namespace: 'kcm-system' },
    });
  });

  it('leaves a cluster-scoped copy without a namespace even when one is given', () => {
    // Prepare
    const clusterScoped = { ...IDENTITY, metadata: { name: 'azure' } };

    // Act
    const copy = buildCopy(clusterScoped, { ...ONE_CREDENTIAL, namespace: 'team-a' });

    // Assess
    expect(copy.object.metadata).not.toHaveProperty('namespace');
  });

  it('labels the copy for every Credential that needs it', () => {
    // Act
    const copy = buildCopy(SECRET, {
      ...ONE_CREDENTIAL,
      credentials: [
        { namespace: 'team-a', name: 'aws' },
        { namespace: 'team-b', name: 'aws' },
      ],
    });

    // Assess
    expect(Object.keys(copy.object.metadata.labels ?? {}).filter(isCredentialLabel)).toEqual([
      TEAM_A_AWS,
      'k0rdent.mirantis.com/credential.team-b.aws',
    ]);
  });

  it('defaults the Secret type to Opaque and records no source version the source lacks', () => {
    // Prepare
    const bare: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'n' } };

    // Act
    const copy = buildCopy(bare, ONE_CREDENTIAL);

    // Assess
    expect(copy.object).toMatchObject({ type: 'Opaque', data: {} });
    expect(Object.keys(copy.object.metadata.annotations ?? {})).toEqual([
      'identity-relay.dev/content-hash',
      'identity-relay.dev/synced-at',
    ]);
  });

  it.each([
    ['the data changes', { ...SECRET, data: { clientSecret: 'bmV3' } }],
    ['the source version changes', withAnnotation(SECRET, 'identity-relay.dev/source-version', 'v-8')],
    ['the type changes', { ...SECRET, type: 'kubernetes.io/basic-auth' }],
  ])('changes the content hash when %s', (_case, source) => {
    // Act
    const copy = buildCopy(source, ONE_CREDENTIAL);

    // Assess
    expect(copy.hash).not.toBe(buildCopy(SECRET, ONE_CREDENTIAL).hash);
  });

  it.each([
    ['only an unrelated annotation changes', withAnnotation(SECRET, 'note', 'x')],
    ['only the labels change', { ...SECRET, metadata: { ...SECRET.metadata, labels: {} } }],
    [
      'only server-set metadata changes',
      { ...SECRET, metadata: { ...SECRET.metadata, resourceVersion: '9' } },
    ],
  ])('keeps the content hash when %s', (_case, source) => {
    // Act
    const copy = buildCopy(source, ONE_CREDENTIAL);

    // Assess
    expect(copy.hash).toBe(buildCopy(SECRET, ONE_CREDENTIAL).hash);
  });

  it('hashes the same at another time, so a later run finds nothing to do', () => {
    // Act
    const later = buildCopy(SECRET, { ...ONE_CREDENTIAL, now: new Date('2026-08-02T00:00:00.000Z') });

    // Assess
    expect(later.hash).toBe(buildCopy(SECRET, ONE_CREDENTIAL).hash);
    expect(copyHash(later.object)).toBe(later.hash);
  });
});

function withAnnotation(object: KubeObject, key: string, value: string): KubeObject {
  return {
    ...object,
    metadata: { ...object.metadata, annotations: { ...object.metadata.annotations, [key]: value } },
  };
}
