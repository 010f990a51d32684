import { describe, expect, it } from 'vitest';
import { type KubeObject, refKey, refOf } from '../../../lib/domain/objects.js';
import {
  buildCopy,
  copyHash,
  credentialLabelKey,
  type DesiredCopy,
  planRegion,
} from '../../../lib/domain/regional.js';

// planRegion for one region holding Credential team-a/aws: an AzureClusterIdentity (tier 0) and the
// Secret it references (tier 1). Team-b/old is another Credential of this region, team-c/eu one of
// another region; team-x/gone no longer exists.

const NOW = new Date('2026-08-01T12:00:00.000Z');
const AZURE = 'infrastructure.cluster.x-k8s.io/v1beta1';
const MANAGED = 'k0rdent.mirantis.com/managed';
const A = credentialLabelKey('team-a', 'aws');
const B = credentialLabelKey('team-b', 'old');
const OTHER_REGION = credentialLabelKey('team-c', 'eu');
const GONE = credentialLabelKey('team-x', 'gone');
const LONG = credentialLabelKey('team-long', 'x'.repeat(60));

const SECRET: KubeObject = {
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'azure-secret', namespace: 'team-a' },
  type: 'Opaque',
  data: { clientSecret: 'c2VjcmV0' },
};
const IDENTITY: KubeObject = {
  apiVersion: AZURE,
  kind: 'AzureClusterIdentity',
  metadata: { name: 'azure', namespace: 'team-a' },
  spec: { clientSecret: { name: 'azure-secret', namespace: 'team-a' } },
};
const credentials = [{ namespace: 'team-a', name: 'aws' }];
const DESIRED: DesiredCopy[] = [
  buildCopy(IDENTITY, { credentials, tier: 0, now: NOW }),
  buildCopy(SECRET, { credentials, tier: 1, now: NOW }),
];
const [IDENTITY_DESIRED, SECRET_COPY_DESIRED] = DESIRED as [DesiredCopy, DesiredCopy];
const IDENTITY_COPY = IDENTITY_DESIRED.object;
const SECRET_COPY = SECRET_COPY_DESIRED.object;

/** What a region returns for a copy written earlier: the copy plus server-set metadata. */
function stored(object: KubeObject, metadata: object = {}, body: object = {}): KubeObject {
  return {
    ...object,
    ...body,
    metadata: { ...object.metadata, uid: 'u', resourceVersion: '1', ...metadata },
  };
}

function labelled(object: KubeObject, ...keys: string[]): KubeObject {
  const labels = Object.fromEntries([[MANAGED, 'true'], ...keys.map((k) => [k, 'true'])]);
  return { ...object, metadata: { ...object.metadata, labels } };
}

function existing(
  ...objects: Array<[KubeObject, KubeObject | undefined]>
): Map<string, KubeObject | undefined> {
  return new Map(objects.map(([desired, current]) => [refKey(refOf(desired)), current]));
}

const BASELINE = {
  desired: DESIRED,
  existing: existing([IDENTITY_COPY, stored(IDENTITY_COPY)], [SECRET_COPY, stored(SECRET_COPY)]),
  labelled: [stored(IDENTITY_COPY), stored(SECRET_COPY)],
  active: new Set([A, B]),
  known: new Set([A, B, OTHER_REGION, LONG]),
};

const opsOf = (plan: ReturnType<typeof planRegion>) =>
  plan.map((action) => `${action.op} ${action.ref.kind}/${action.ref.name}`);

describe('planRegion', () => {
  it('does nothing when every copy matches in content and labels', () => {
    // Act
    const plan = planRegion(BASELINE);

    // Assess
    expect(plan).toStrictEqual([
      { op: 'noop', ref: refOf(IDENTITY_COPY), hash: IDENTITY_DESIRED.hash },
      { op: 'noop', ref: refOf(SECRET_COPY), hash: SECRET_COPY_DESIRED.hash },
    ]);
  });

  it('creates absent copies, the referenced Secret before the identity', () => {
    // Act
    const plan = planRegion({
      ...BASELINE,
      existing: existing([IDENTITY_COPY, undefined], [SECRET_COPY, undefined]),
      labelled: [],
    });

    // Assess
    expect(plan).toStrictEqual([
      { op: 'create', ref: refOf(SECRET_COPY), object: SECRET_COPY, hash: SECRET_COPY_DESIRED.hash, tier: 1 },
      {
        op: 'create',
        ref: refOf(IDENTITY_COPY),
        object: IDENTITY_COPY,
        hash: IDENTITY_DESIRED.hash,
        tier: 0,
      },
    ]);
  });

  it('writes deepest tier first whatever the order of the desired copies', () => {
    // Prepare
    const deep = buildCopy(
      { ...SECRET, metadata: { name: 'ca', namespace: 'team-a' } },
      { credentials, tier: 2, now: NOW },
    );
    const desired = [IDENTITY_DESIRED, deep, SECRET_COPY_DESIRED];

    // Act
    const plan = planRegion({ ...BASELINE, desired, existing: new Map(), labelled: [] });

    // Assess
    expect(opsOf(plan)).toEqual([
      'create Secret/ca',
      'create Secret/azure-secret',
      'create AzureClusterIdentity/azure',
    ]);
  });

  it.each([
    [
      'its credential labels include other Credentials',
      stored(SECRET_COPY, { labels: { ...SECRET_COPY.metadata.labels, [OTHER_REGION]: 'true' } }),
    ],
    [
      'its content-hash annotation was edited by hand',
      stored(SECRET_COPY, { annotations: { 'identity-relay.dev/content-hash': 'sha256:x' } }),
    ],
    ['it lacks the sync annotations', stored(SECRET_COPY, { annotations: {} })],
  ])('leaves a Secret alone when %s', (_case, current) => {
    // Act
    const plan = planRegion({
      ...BASELINE,
      desired: [SECRET_COPY_DESIRED],
      existing: existing([SECRET_COPY, current]),
      labelled: [],
    });

    // Assess
    expect(plan).toStrictEqual([{ op: 'noop', ref: refOf(SECRET_COPY), hash: SECRET_COPY_DESIRED.hash }]);
  });

  it.each([
    ['its data was edited by hand', stored(SECRET_COPY, {}, { data: { clientSecret: 'ZWRpdGVk' } })],
    ['it lacks a data key', stored(SECRET_COPY, {}, { data: {} })],
    [
      'it records another source version',
      stored(SECRET_COPY, { annotations: { 'identity-relay.dev/source-version': 'v-0' } }),
    ],
    ['it lacks the credential label', stored(SECRET_COPY, { labels: { [MANAGED]: 'true' } })],
  ])('updates a Secret when %s', (_case, current) => {
    // Act
    const plan = planRegion({
      ...BASELINE,
      existing: existing([IDENTITY_COPY, stored(IDENTITY_COPY)], [SECRET_COPY, current]),
    });

    // Assess
    // The write carries the resourceVersion it was planned from: a precondition against a newer write.
    expect(plan[0]).toStrictEqual({
      op: 'update',
      ref: refOf(SECRET_COPY),
      object: { ...SECRET_COPY, metadata: { ...SECRET_COPY.metadata, resourceVersion: '1' } },
      hash: SECRET_COPY_DESIRED.hash,
      previousHash: copyHash(current),
      tier: 1,
    });
  });

  it.each([
    ['without labels', stored(SECRET_COPY, { labels: undefined })],
    [
      'with the managed label set to "false"',
      stored(SECRET_COPY, { labels: { [MANAGED]: 'false', [A]: 'true' } }),
    ],
  ])('never touches an existing Secret %s', (_case, current) => {
    // Act
    const plan = planRegion({
      ...BASELINE,
      existing: existing([IDENTITY_COPY, stored(IDENTITY_COPY)], [SECRET_COPY, current]),
    });

    // Assess
    expect(plan).toContainEqual({
      op: 'skip-unmanaged',
      ref: refOf(SECRET_COPY),
      reason: 'exists without label k0rdent.mirantis.com/managed="true"',
    });
    expect(opsOf(plan)).toEqual(['noop AzureClusterIdentity/azure', 'skip-unmanaged Secret/azure-secret']);
  });
});

describe('planRegion clean-up', () => {
  const STALE_SECRET = { ...SECRET, metadata: { name: 'stale', namespace: 'team-a', uid: 'u' } };
  const cleanup = (...objects: KubeObject[]) =>
    planRegion({ ...BASELINE, labelled: objects }).filter((a) => a.op !== 'noop');

  it.each([
    ['its only Credential is gone', [GONE]],
    ['its only Credential is gone and had a hashed label', [credentialLabelKey('team-x', 'y'.repeat(60))]],
    ['its Credentials of this region no longer need it', [B]],
    ['its Credentials are gone or no longer need it', [GONE, B]],
  ])('deletes an unwanted copy when %s', (_case, keys) => {
    // Act
    const plan = cleanup(labelled(STALE_SECRET, ...keys));

    // Assess
    expect(plan).toStrictEqual([{ op: 'delete', ref: refOf(STALE_SECRET), tier: 1 }]);
  });

  it.each([
    [
      'an unwanted copy also held by a Credential of another region',
      STALE_SECRET,
      [GONE, OTHER_REGION],
      [GONE],
    ],
    ['an unwanted copy also held by a hashed label still known', STALE_SECRET, [B, LONG], [B]],
    ['a wanted copy holding a gone Credential', SECRET_COPY, [A, GONE], [GONE]],
    ['a wanted copy holding a Credential of this region that no longer needs it', SECRET_COPY, [A, B], [B]],
    [
      'a wanted copy whose every label is stale (the write adds the new one)',
      SECRET_COPY,
      [GONE, B],
      [GONE, B],
    ],
  ])('releases only the stale labels of %s', (_case, object, keys, released) => {
    // Act
    const plan = cleanup(labelled(object, ...keys));

    // Assess
    expect(plan).toStrictEqual([{ op: 'release', ref: refOf(object), labels: released, tier: 1 }]);
  });

  it.each([
    ['only Credentials of another region hold it', labelled(STALE_SECRET, OTHER_REGION)],
    [
      'it lacks the managed label',
      { ...STALE_SECRET, metadata: { ...STALE_SECRET.metadata, labels: { [GONE]: 'true' } } },
    ],
    [
      'its managed label is "false"',
      {
        ...STALE_SECRET,
        metadata: { ...STALE_SECRET.metadata, labels: { [MANAGED]: 'false', [GONE]: 'true' } },
      },
    ],
  ])('leaves a labelled object alone when %s', (_case, object) => {
    // Act
    const plan = cleanup(object);

    // Assess
    expect(plan).toEqual([]);
  });

  it('deletes identities before Secrets, and writes before any clean-up', () => {
    // Prepare
    const staleIdentity = labelled(
      { ...IDENTITY, metadata: { name: 'stale-id', namespace: 'team-a' } },
      GONE,
    );
    const releasedSecret = labelled(
      { ...STALE_SECRET, metadata: { name: 'shared', namespace: 'team-a' } },
      GONE,
      OTHER_REGION,
    );

    // Act
    const plan = planRegion({
      ...BASELINE,
      existing: existing([IDENTITY_COPY, stored(IDENTITY_COPY)], [SECRET_COPY, undefined]),
      labelled: [labelled(STALE_SECRET, GONE), releasedSecret, staleIdentity],
    });

    // Assess
    expect(opsOf(plan)).toEqual([
      'create Secret/azure-secret',
      'noop AzureClusterIdentity/azure',
      'delete AzureClusterIdentity/stale-id',
      'delete Secret/stale',
      'release Secret/shared',
    ]);
  });

  it.each([
    [
      'an older source version than the region holds',
      '2026-01-01T00:00:00.000Z',
      '2026-02-01T00:00:00.000Z',
      'skip-older',
    ],
    ['a newer source version', '2026-03-01T00:00:00.000Z', '2026-02-01T00:00:00.000Z', 'update'],
    [
      'no known order (the region copy predates the annotation)',
      '2026-01-01T00:00:00.000Z',
      undefined,
      'update',
    ],
  ])('with %s, plans %s', (_case, desiredAt, heldAt, op) => {
    // Prepare
    const at = (value: string | undefined): Record<string, string> =>
      value ? { 'identity-relay.dev/source-created': value } : {};
    const desired = {
      ...SECRET_COPY_DESIRED,
      object: {
        ...SECRET_COPY,
        metadata: {
          ...SECRET_COPY.metadata,
          annotations: {
            ...SECRET_COPY.metadata.annotations,
            'identity-relay.dev/source-version': 'v-new',
            ...at(desiredAt),
          },
        },
      },
    };
    const held = stored(SECRET_COPY, {
      annotations: {
        ...SECRET_COPY.metadata.annotations,
        'identity-relay.dev/source-version': 'v-old',
        ...at(heldAt),
      },
    });

    // Act
    const plan = planRegion({ ...BASELINE, desired: [desired], existing: existing([SECRET_COPY, held]) });

    // Assess
    expect(plan[0]?.op).toBe(op);
  });
});
