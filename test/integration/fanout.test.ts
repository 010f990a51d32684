import { beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/rotation/handler.js';
import { distribute } from '../../lib/use-cases/distribute.js';
import { scanForLeaks } from '../helpers/capture.js';
import {
  applyAll,
  awsKeys,
  awsStaticIdentity,
  boundSecret,
  createRegion,
  createSource,
  credential,
  decodedData,
  ensureNamespace,
  grantRegionalNamespace,
  labelUpdated,
  prepareK0rdent,
  readObject,
  rotateSource,
  SYSTEM_NAMESPACE,
  sqsBatch,
  testRuntime,
} from '../helpers/k0rdent.js';
import { lambdaContext } from '../helpers/lambda.js';
import { kubeClients, testbed, uniqueName } from '../helpers/testbed-clients.js';
import { killApiserver, restartApiserver } from '../testbed/control.js';

const { runtime, deps, log, metrics } = testRuntime();
const handler = createHandler(runtime);
const CAPI = 'infrastructure.cluster.x-k8s.io';

const read = readObject;
const decoded = decodedData;

const uuid = () => crypto.randomUUID();

describe('regional fan-out', () => {
  const regionA = uniqueName('ra');
  const regionB = uniqueName('rb');
  beforeAll(async () => {
    await prepareK0rdent();
    await createRegion(regionA, 'region-a');
    await createRegion(regionB, 'region-b');
  });

  it('copies a system-namespace Azure identity that admits the team, with its Secret moved into the Credential namespace', async () => {
    // Prepare
    const team = uniqueName('team');
    await ensureNamespace('mgmt', team);
    await grantRegionalNamespace('region-b', team);
    const name = uniqueName('azure');
    const source = await createSource(`identity-relay/${name}`, `azure-client-secret-${uuid()}`);
    await applyAll('mgmt', [
      boundSecret(SYSTEM_NAMESPACE, name, source.arn, 'azure-sp'),
      {
        apiVersion: `${CAPI}/v1beta1`,
        kind: 'AzureClusterIdentity',
        // The platform's identity, read from the system namespace as kcm does, shared with the team.
        metadata: { name, namespace: SYSTEM_NAMESPACE },
        spec: {
          allowedNamespaces: { list: [team] },
          type: 'ServicePrincipal',
          clientID: uuid(),
          tenantID: uuid(),
          clientSecret: { name, namespace: SYSTEM_NAMESPACE },
        },
      },
      credential(team, 'azure', regionB, {
        apiVersion: `${CAPI}/v1beta1`,
        kind: 'AzureClusterIdentity',
        name,
      }),
    ]);
    const value = `azure-client-secret-${uuid()}`;
    const version = await rotateSource(source.arn, value);

    // Act
    const response = await handler(sqsBatch([labelUpdated(source.arn, version)]), lambdaContext());

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    const identity = await read('region-b', `${CAPI}/v1beta1`, 'AzureClusterIdentity', name, team);
    expect((identity?.spec as { clientSecret?: unknown } | undefined)?.clientSecret).toEqual({
      name,
      namespace: team,
    });
    expect(decoded(await read('region-b', 'v1', 'Secret', name, team))).toEqual({ clientSecret: value });
    expect(await read('region-a', `${CAPI}/v1beta1`, 'AzureClusterIdentity', name, team)).toBeUndefined();
  });

  it.each([
    [
      'gcp',
      () =>
        JSON.stringify({
          type: 'service_account',
          project_id: 'p',
          private_key: `-----BEGIN PRIVATE KEY-----\n${uuid()}\n-----END PRIVATE KEY-----\n`,
          client_email: 'relay@p.iam.gserviceaccount.com',
        }),
      'credentials',
    ],
    ['openstack', () => `clouds:\n  openstack:\n    auth:\n      password: ${uuid()}\n`, 'clouds.yaml'],
    ['raw', () => JSON.stringify({ token: `raw-${uuid()}` }), 'token', (v: string) => JSON.parse(v).token],
  ])(
    'copies a Secret-kind identity (%s) to its region',
    async (format, value, key, pick = (v: string) => v) => {
      // Prepare
      const name = uniqueName(format);
      const source = await createSource(`identity-relay/${name}`, value());
      await applyAll('mgmt', [
        boundSecret(SYSTEM_NAMESPACE, name, source.arn, format),
        // The platform's own Credential: a tenant may not name a system-namespace Secret (docs/threat-model.md › Threat model).
        credential(SYSTEM_NAMESPACE, name, regionA, {
          apiVersion: 'v1',
          kind: 'Secret',
          name,
        }),
      ]);
      const next = value();
      const version = await rotateSource(source.arn, next);

      // Act
      const response = await handler(sqsBatch([labelUpdated(source.arn, version)]), lambdaContext());

      // Assess
      expect(response).toEqual({ batchItemFailures: [] });
      expect(decoded(await read('region-a', 'v1', 'Secret', name, SYSTEM_NAMESPACE))[key]).toBe(pick(next));
    },
  );

  it('copies a cluster-scoped vSphere identity and its Secret', async () => {
    // Prepare
    const name = uniqueName('vsphere');
    const team = uniqueName('team');
    await ensureNamespace('mgmt', team);
    const source = await createSource(
      `identity-relay/${name}`,
      JSON.stringify({ username: 'relay@vsphere.local', password: uuid() }),
    );
    await applyAll('mgmt', [
      boundSecret(SYSTEM_NAMESPACE, name, source.arn, 'vsphere'),
      {
        apiVersion: `${CAPI}/v1beta2`,
        kind: 'VSphereClusterIdentity',
        metadata: { name },
        // CAPV admits namespaces by label selector only (read from the Namespace's labels).
        spec: {
          secretName: name,
          allowedNamespaces: { selector: { matchLabels: { 'kubernetes.io/metadata.name': team } } },
        },
      },
      credential(team, 'vsphere', regionA, {
        apiVersion: `${CAPI}/v1beta2`,
        kind: 'VSphereClusterIdentity',
        name,
      }),
    ]);
    const password = uuid();
    const version = await rotateSource(
      source.arn,
      JSON.stringify({ username: 'relay@vsphere.local', password }),
    );

    // Act
    await handler(sqsBatch([labelUpdated(source.arn, version)]), lambdaContext());

    // Assess
    expect(await read('region-a', `${CAPI}/v1beta2`, 'VSphereClusterIdentity', name)).toBeDefined();
    expect(decoded(await read('region-a', 'v1', 'Secret', name, SYSTEM_NAMESPACE))).toEqual({
      username: 'relay@vsphere.local',
      password,
    });
  });

  it.each([
    [
      'giantswarm-aws',
      () =>
        JSON.stringify({
          'aws.admin.arn': 'arn:aws:iam::123456789012:role/GiantSwarmAdmin',
          'aws.awsoperator.arn': `arn:aws:iam::123456789012:role/op-${uuid().slice(0, 8)}`,
        }),
    ],
    [
      'giantswarm-azure',
      () =>
        JSON.stringify({
          'azure.azureoperator.clientid': uuid(),
          'azure.azureoperator.clientsecret': `gs-${uuid()}`,
          'azure.azureoperator.subscriptionid': uuid(),
          'azure.azureoperator.tenantid': uuid(),
        }),
    ],
  ])(
    'updates a Giant Swarm credential Secret (%s) and keeps its credentiald labels',
    async (format, value) => {
      // Prepare
      const name = uniqueName('credential');
      const source = await createSource(`identity-relay/${name}`, value());
      const organization = uniqueName('org');
      const labels = {
        app: 'credentiald',
        'giantswarm.io/managed-by': 'credentiald',
        'giantswarm.io/organization': organization,
      };
      await applyAll('mgmt', [boundSecret(SYSTEM_NAMESPACE, name, source.arn, format, { labels })]);
      const next = value();
      const version = await rotateSource(source.arn, next);

      // Act
      await handler(sqsBatch([labelUpdated(source.arn, version)]), lambdaContext());

      // Assess
      const secret = await read('mgmt', 'v1', 'Secret', name, SYSTEM_NAMESPACE);
      expect(decoded(secret)).toEqual(JSON.parse(next));
      expect(secret?.metadata.labels).toMatchObject(labels);
      const converged = log.lines
        .filter((line) => line.includes('"rotation converged"') && line.includes(source.arn))
        .at(-1);
      expect(converged).toContain(
        `every cluster of organization ${organization} without an explicit credential`,
      );
    },
  );

  it('warns when a Giant Swarm organization has two credential Secrets, naming both', async () => {
    // Prepare
    const organization = uniqueName('org');
    const labels = {
      app: 'credentiald',
      'giantswarm.io/managed-by': 'credentiald',
      'giantswarm.io/organization': organization,
    };
    const names = [uniqueName('credential'), uniqueName('credential')];
    const value = JSON.stringify({
      'aws.admin.arn': 'arn:aws:iam::123456789012:role/A',
      'aws.awsoperator.arn': 'arn:aws:iam::123456789012:role/B',
    });
    const source = await createSource(`identity-relay/${names[0]}`, value);
    await applyAll(
      'mgmt',
      names.map((name) => boundSecret(SYSTEM_NAMESPACE, name, source.arn, 'giantswarm-aws', { labels })),
    );

    // Act
    await handler(sqsBatch([labelUpdated(source.arn, source.versionId)]), lambdaContext());

    // Assess
    const warnings = log.lines.filter(
      (line) => line.includes('ambiguous Giant Swarm credential') && line.includes(organization),
    );
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain('fall back to the installation default');
    // Every Secret of the organization is named, so the owner knows which to remove.
    for (const name of names) expect(warnings[0]).toContain(`${SYSTEM_NAMESPACE}/${name}`);
  });

  it('follows the AWS role chain to the controller identity', async () => {
    // Prepare
    const team = uniqueName('team');
    await ensureNamespace('mgmt', team);
    const role = uniqueName('role');
    await applyAll('mgmt', [
      {
        apiVersion: `${CAPI}/v1beta2`,
        kind: 'AWSClusterControllerIdentity',
        metadata: { name: 'default' },
        spec: { allowedNamespaces: {} },
      },
      {
        apiVersion: `${CAPI}/v1beta2`,
        kind: 'AWSClusterRoleIdentity',
        metadata: { name: role },
        spec: {
          allowedNamespaces: { list: [team] },
          roleARN: 'arn:aws:iam::123456789012:role/capa',
          sourceIdentityRef: { kind: 'AWSClusterControllerIdentity', name: 'default' },
        },
      },
      credential(team, 'role', regionA, {
        apiVersion: `${CAPI}/v1beta2`,
        kind: 'AWSClusterRoleIdentity',
        name: role,
      }),
    ]);

    // Act
    const result = await distribute(deps, [{ kind: 'credential', namespace: team, name: 'role' }]);

    // Assess
    expect(result.regions.filter((r) => r.error)).toEqual([]);
    const ops = result.regions.find((r) => r.region === regionA)?.actions.map((a) => `${a.op} ${a.object}`);
    expect(ops?.indexOf('create AWSClusterControllerIdentity default')).toBeLessThan(
      ops?.indexOf(`create AWSClusterRoleIdentity ${role}`) ?? -1,
    );
    expect(
      await read('region-a', `${CAPI}/v1beta2`, 'AWSClusterControllerIdentity', 'default'),
    ).toBeDefined();
    expect(await read('region-a', `${CAPI}/v1beta2`, 'AWSClusterRoleIdentity', role)).toBeDefined();
  });

  it('leaves a regional object without the managed label untouched', async () => {
    // Prepare
    const { name, source } = await awsStaticIdentity([regionA], awsKeys('AKIAUNMANAGED0000001'));
    const handWritten = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: SYSTEM_NAMESPACE },
      stringData: { note: 'hand-made' },
    };
    await applyAll('region-a', [handWritten]);
    const version = await rotateSource(
      source.arn,
      JSON.stringify({ AccessKeyID: 'AKIAUNMANAGED0000002', SecretAccessKey: uuid() }),
    );

    // Act
    await handler(sqsBatch([labelUpdated(source.arn, version)]), lambdaContext());

    // Assess
    expect(decoded(await read('region-a', 'v1', 'Secret', name, SYSTEM_NAMESPACE))).toEqual({
      note: 'hand-made',
    });
  });

  it('cleans up the copies of a deleted Credential', async () => {
    // Prepare
    const {
      name,
      namespaces: [team = ''],
      source,
    } = await awsStaticIdentity([regionA], awsKeys('AKIADELETED000000001'));
    await handler(sqsBatch([labelUpdated(source.arn, source.versionId)]), lambdaContext());
    expect(await read('region-a', 'v1', 'Secret', name, SYSTEM_NAMESPACE)).toBeDefined();

    // Act
    await kubeClients('mgmt').objects.delete({
      apiVersion: 'k0rdent.mirantis.com/v1beta1',
      kind: 'Credential',
      metadata: { name: 'aws', namespace: team },
    });
    const result = await distribute(deps, [{ kind: 'credential', namespace: team, name: 'aws' }]);

    // Assess
    const ours = result.regions
      .find((r) => r.region === regionA)
      ?.actions.filter((a) => a.object.endsWith(name));
    expect(ours?.map((a) => `${a.op} ${a.object}`)).toEqual([
      `delete AWSClusterStaticIdentity ${name}`,
      `delete Secret ${SYSTEM_NAMESPACE}/${name}`,
    ]);
    expect(await read('region-a', 'v1', 'Secret', name, SYSTEM_NAMESPACE)).toBeUndefined();
    expect(await read('region-a', `${CAPI}/v1beta2`, 'AWSClusterStaticIdentity', name)).toBeUndefined();
  });

  it('converges the other regions while one is down, and the retried message converges it too', async () => {
    // Prepare
    const { name, source } = await awsStaticIdentity([regionA, regionB], awsKeys('AKIAREGIONDOWN000001'));
    const secretAccessKey = uuid();
    const version = await rotateSource(
      source.arn,
      JSON.stringify({ AccessKeyID: 'AKIAREGIONDOWN000002', SecretAccessKey: secretAccessKey }),
    );
    const info = testbed();
    const regionBCluster = info.clusters['region-b'];
    if (!regionBCluster) throw new Error('no region-b');
    const batch = sqsBatch([labelUpdated(source.arn, version)]);
    await killApiserver(regionBCluster);

    // Act
    let first: unknown;
    try {
      first = await handler(batch, lambdaContext());
    } finally {
      await restartApiserver(info, regionBCluster);
    }
    const retried = await handler(batch, lambdaContext());

    // Assess
    expect(first).toEqual({ batchItemFailures: [{ itemIdentifier: batch.Records[0]?.messageId }] });
    expect(log.lines.some((line) => line.includes('"region failed"') && line.includes(regionB))).toBe(true);
    expect(retried).toEqual({ batchItemFailures: [] });
    for (const cluster of ['region-a', 'region-b']) {
      expect(decoded(await read(cluster, 'v1', 'Secret', name, SYSTEM_NAMESPACE)).SecretAccessKey).toBe(
        secretAccessKey,
      );
    }
  });

  it('keeps converging a region when another Credential there names an object identity-relay may not read', async () => {
    // Prepare: a Credential whose Secret-kind identity sits in a namespace the shipped RBAC does not grant.
    const hidden = uniqueName('hidden');
    await ensureNamespace('mgmt', hidden);
    await applyAll('mgmt', [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'creds', namespace: hidden },
        stringData: { k: 'v' },
      },
      credential(hidden, 'unreadable', regionA, {
        apiVersion: 'v1',
        kind: 'Secret',
        name: 'creds',
        namespace: hidden,
      }),
    ]);
    const { name, source } = await awsStaticIdentity([regionA], awsKeys('AKIAISOLATED00000001'));

    // Act
    const response = await handler(sqsBatch([labelUpdated(source.arn, source.versionId)]), lambdaContext());
    const result = await distribute(deps, [{ kind: 'region', name: regionA }], { dryRun: true });

    // Assess
    expect(response).toEqual({ batchItemFailures: [] });
    expect(await read('region-a', `${CAPI}/v1beta2`, 'AWSClusterStaticIdentity', name)).toBeDefined();
    expect(result.problems.some((p) => p.startsWith(`Credential ${hidden}/unreadable: Forbidden`))).toBe(
      true,
    );
  });

  it('never prints a secret value in any log line', () => {
    expect(log.lines.length).toBeGreaterThan(0);
    expect(scanForLeaks({ logs: log.lines, metrics: metrics.recorded })).toEqual([]);
  });
});
