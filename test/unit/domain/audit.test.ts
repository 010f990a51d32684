import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  type AuditFilter,
  auditJobs,
  DEFAULT_IDENTITY_KINDS,
  fifoId,
  identityResources,
  objectKey,
  readCloudWatchLogs,
  readEventList,
} from '../../../lib/domain/audit.js';

// Fixtures: real EventList bodies recorded from the testbed's kube-apiserver (test/fixtures/audit/capture.ts).
const fixture = (name: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../fixtures/audit/${name}`, import.meta.url), 'utf8'));
const RELAY = 'system:serviceaccount:identity-relay-system:identity-relay';
const filter: AuditFilter = {
  identityResources: identityResources(DEFAULT_IDENTITY_KINDS),
  relayUsername: RELAY,
};

/** One recorded event that passes the filter: the baseline the table tweaks. */
const baseline = {
  level: 'Metadata',
  auditID: '5d0e8c3a-4bb4-4f6c-9a53-0a4b0bbd1e5f',
  stage: 'ResponseComplete',
  requestURI: '/api/v1/namespaces/kcm-system/secrets/aws',
  verb: 'patch',
  user: { username: 'admin', groups: ['system:masters'] },
  objectRef: { resource: 'secrets', namespace: 'kcm-system', name: 'aws', apiVersion: 'v1' },
  responseStatus: { metadata: {}, code: 200 },
  stageTimestamp: '2026-11-23T13:20:01.123456Z',
};

describe('identityResources', () => {
  it('derives the plural resources of the identity kinds the way Kubernetes guesses them', () => {
    // Act
    const resources = identityResources([...DEFAULT_IDENTITY_KINDS, 'FooClass', 'Bar=barzoo']);

    // Assess
    expect(Object.fromEntries(resources)).toEqual({
      awsclusterstaticidentities: 'AWSClusterStaticIdentity',
      awsclusterroleidentities: 'AWSClusterRoleIdentity',
      awsclustercontrolleridentities: 'AWSClusterControllerIdentity',
      azureclusteridentities: 'AzureClusterIdentity',
      vsphereclusteridentities: 'VSphereClusterIdentity',
      openstackclusteridentities: 'OpenStackClusterIdentity',
      fooclasses: 'FooClass',
      barzoo: 'Bar',
    });
  });
});

describe('auditJobs', () => {
  it('keeps one job per object from a recorded scenario, latest event first, dropping what cannot matter', () => {
    // Act
    const batch = auditJobs(readEventList(fixture('scenario.json')), filter);

    // Assess
    const jobs = batch.jobs
      .map((job) => `${job.verb} ${job.kind} ${job.apiVersion} ${objectKey(job)}`)
      .sort();
    expect(jobs).toEqual(
      [
        'delete Credential k0rdent.mirantis.com/v1beta1 k0rdent.mirantis.com/credentials/capture-full/capture-cred',
        'delete Region k0rdent.mirantis.com/v1beta1 k0rdent.mirantis.com/regions//capture-region',
        'delete Secret v1 /secrets/capture-full/aws-creds',
        'create Secret v1 /secrets/kcm-system/capture-region-kubeconfig',
        'patch AWSClusterStaticIdentity infrastructure.cluster.x-k8s.io/v1beta2 infrastructure.cluster.x-k8s.io/awsclusterstaticidentities//capture-identity',
        'patch ProviderInterface k0rdent.mirantis.com/v1beta1 k0rdent.mirantis.com/providerinterfaces//capture-provider',
      ].sort(),
    );
    expect(batch.quarantined).toEqual([]);
    expect(batch.counts.received).toBe(258);
  });

  it('never carries request or response bodies (the recorded ones hold Secret data)', () => {
    // Prepare: the scenario was recorded at RequestResponse level for its namespace.
    const items = readEventList(fixture('scenario.json'));
    expect(JSON.stringify(items)).toContain('"requestObject"');

    // Act
    const text = JSON.stringify(auditJobs(items, filter));

    // Assess
    expect(text).not.toMatch(/requestObject|responseObject|scrubbed|c2NydWJiZWQ=|AccessKeyID/);
  });

  it('reads a recorded batch of 400 events', () => {
    // Act
    const batch = auditJobs(readEventList(fixture('batch-400.json')), filter);

    // Assess: 196 Secrets created in one namespace, ConfigMaps dropped.
    expect(batch.counts.received).toBe(400);
    expect(batch.jobs.length).toBe(196);
    expect(batch.jobs.every((job) => job.kind === 'Secret' && job.verb === 'create')).toBe(true);
  });

  it.each([
    ['RequestReceived stage', { stage: 'RequestReceived' }],
    ['a get', { verb: 'get' }],
    ['a failed write', { responseStatus: { code: 409 } }],
    ['a status subresource', { objectRef: { ...baseline.objectRef, subresource: 'status' } }],
    ['a ConfigMap', { objectRef: { ...baseline.objectRef, resource: 'configmaps' } }],
    [
      'a secrets resource in another group',
      { objectRef: { ...baseline.objectRef, apiGroup: 'example.com' } },
    ],
    ['identity-relay itself', { user: { username: RELAY } }],
    ['an event without a name', { objectRef: { resource: 'secrets', namespace: 'x', apiVersion: 'v1' } }],
  ])('drops %s', (_, tweak) => {
    // Act
    const batch = auditJobs([{ ...baseline, ...tweak }], filter);

    // Assess
    expect(batch.jobs).toEqual([]);
    expect(batch.counts).toEqual({ received: 1, kept: 0, dropped: 1 });
  });

  it('keeps the baseline', () => {
    expect(auditJobs([baseline], filter).jobs).toEqual([
      {
        resource: 'secrets',
        kind: 'Secret',
        apiVersion: 'v1',
        namespace: 'kcm-system',
        name: 'aws',
        verb: 'patch',
        auditID: baseline.auditID,
        stageTimestamp: baseline.stageTimestamp,
      },
    ]);
  });

  it('quarantines unreadable items by position and auditID, keeping the rest of the batch', () => {
    // Act
    const batch = auditJobs(
      [{ ...baseline, verb: 42 }, 'text', baseline, { auditID: 'a'.repeat(200), stage: 1 }],
      filter,
    );

    // Assess
    expect(batch.jobs).toHaveLength(1);
    expect(batch.quarantined).toEqual([
      { index: 0, auditID: baseline.auditID, reason: expect.stringMatching(/^verb: /) },
      { index: 1, reason: expect.any(String) },
      { index: 3, reason: expect.stringMatching(/^stage: /) },
    ]);
  });
});

describe('readEventList', () => {
  it.each([
    ['an object that is no EventList', { kind: 'Event' }, 'kind: '],
    ['another API group', { kind: 'EventList', apiVersion: 'v1', items: [] }, 'apiVersion: '],
    ['items that are no list', { kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: {} }, 'items: '],
  ])('rejects %s with a one-line reason naming the field', (_, body, prefix) => {
    expect(() => readEventList(body)).toThrow(new RegExp(`^not an audit EventList: ${prefix}[^\\n]*$`));
  });
});

describe('readCloudWatchLogs', () => {
  it('reads EKS audit events from a CloudWatch Logs subscription through the same filter', () => {
    // Prepare
    const event = fixture('cloudwatch-logs.json') as { awslogs: { data: string } };
    const data = JSON.parse(gunzipSync(Buffer.from(event.awslogs.data, 'base64')).toString('utf8'));

    // Act
    const batch = auditJobs(readCloudWatchLogs(data), filter);

    // Assess
    expect(batch.jobs).toHaveLength(6);
    expect(batch.counts.received).toBe(258);
  });

  it('reads nothing from the control message sent when a subscription is created', () => {
    expect(readCloudWatchLogs({ messageType: 'CONTROL_MESSAGE', logEvents: [] })).toEqual([]);
  });
});

describe('fifoId', () => {
  it('keeps a short id and hashes a long one to a valid SQS FIFO id', () => {
    expect(fifoId('/secrets/ns/name')).toBe('/secrets/ns/name');
    expect(fifoId(`/secrets/ns/${'n'.repeat(200)}`)).toMatch(/^sha256-[0-9a-f]{64}$/);
    expect(fifoId('/secrets/ns/ä')).toMatch(/^sha256-/);
  });
});
