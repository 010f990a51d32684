import { beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../lib/domain/objects.js';
import { leakedSecrets } from '../helpers/capture.js';
import {
  applyAll,
  boundSecret,
  createRegion,
  createSource,
  credential,
  ensureNamespace,
  prepareK0rdent,
  rotateSource,
  SYSTEM_NAMESPACE,
  writeCounts,
} from '../helpers/k0rdent.js';
import { kubeClients, uniqueName } from '../helpers/testbed-clients.js';
import { cli, printed } from './run-cli.js';
import { resyncSchema, statusSchema } from './schemas.js';

const VALUES = [1, 2].map((n) =>
  JSON.stringify({
    AccessKeyID: `AKIACLISTATUS${String(n).padStart(7, '0')}`,
    SecretAccessKey: `cli-status-secret-${n}-${uniqueName('x')}`,
  }),
);
const awsValue = (n: 1 | 2): string => VALUES[n - 1] ?? '';

async function readSecret(cluster: string, name: string): Promise<KubeObject> {
  return (await kubeClients(cluster).core.readNamespacedSecret({
    name,
    namespace: SYSTEM_NAMESPACE,
  })) as unknown as KubeObject;
}

const decode = (secret: KubeObject, key: string) =>
  Buffer.from(((secret.data ?? {}) as Record<string, string>)[key] ?? '', 'base64').toString();

describe('identity-relay status and resync', () => {
  const region = uniqueName('r');
  const id = uniqueName('cli');
  const team = uniqueName('team');
  let arn = '';
  const scope = ['--region', region];

  beforeAll(async () => {
    await prepareK0rdent();
    await createRegion(region, 'region-a');
    await ensureNamespace('mgmt', team);
    arn = (await createSource(`identity-relay/${id}`, awsValue(1))).arn;
    await applyAll('mgmt', [
      boundSecret(SYSTEM_NAMESPACE, id, arn, 'aws-static'),
      {
        apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2',
        kind: 'AWSClusterStaticIdentity',
        metadata: { name: id },
        spec: { secretRef: id, allowedNamespaces: { list: [team] } },
      },
      credential(team, 'aws', region, {
        apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2',
        kind: 'AWSClusterStaticIdentity',
        name: id,
      }),
    ]);
  });

  it('is runnable as `npx identity-relay` and answers --help with exit code 0', async () => {
    // Act
    const run = await cli(['--help'], { npx: true });

    // Assess
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('identity-relay status');
  });

  it('exits 2 with a one-line hint on a usage error', async () => {
    // Act
    const run = await cli(['resync', '--secret', 'no-slash']);

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/^error: UsageError: --secret expects NAMESPACE\/NAME/),
      expect.stringMatching(/^hint: /),
    ]);
  });

  it('names the unknown object and what to do next', async () => {
    // Act
    const run = await cli(['status', '--region', uniqueName('nowhere')]);

    // Assess
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^error: InvalidInput: Region .* not found/m);
    expect(run.stderr).toMatch(/^hint: /m);
  });

  it('first sync: resync of one secret writes the management Secret and the region copy', async () => {
    // Act
    const run = await cli(['resync', '--secret', `${SYSTEM_NAMESPACE}/${id}`, '--json']);

    // Assess
    expect(run.code).toBe(0);
    const result = resyncSchema.parse(JSON.parse(run.stdout));
    expect(result.sources[0]?.bindings[0]).toMatchObject({
      secret: `${SYSTEM_NAMESPACE}/${id}`,
      op: 'update',
    });
    expect(result.sources[0]?.regions.find((r) => r.region === region)?.actions).toContainEqual(
      expect.objectContaining({ op: 'create', object: `Secret ${SYSTEM_NAMESPACE}/${id}` }),
    );
    expect(decode(await readSecret('region-a', id), 'AccessKeyID')).toBe(JSON.parse(awsValue(1)).AccessKeyID);
  });

  it('status --secret says where the bound version is: version X: n/m targets', async () => {
    // Act
    const run = await cli(['status', '--secret', `${SYSTEM_NAMESPACE}/${id}`]);
    const json = await cli(['status', '--secret', `${SYSTEM_NAMESPACE}/${id}`, '--json']);

    // Assess: the management Secrets and the one region hold the version.
    const report = statusSchema.parse(JSON.parse(json.stdout));
    const version = report.bindings[0]?.managementVersion ?? '';
    expect(version).not.toBe('');
    expect(report.propagation).toEqual([
      expect.objectContaining({ versionId: version, holding: 2, total: 2, announced: false }),
    ]);
    expect(run.stdout).toContain(`version ${version}: 2/2 targets`);
  });

  it('status exits 0 when the region is in sync', async () => {
    // Act
    const run = await cli(['status', ...scope, '--json']);

    // Assess
    expect(run.code).toBe(0);
    const report = statusSchema.parse(JSON.parse(run.stdout));
    expect(report).toMatchObject({ ok: true, regions: [{ region, state: 'ok' }] });
    expect(report.credentials).toEqual([
      expect.objectContaining({ credential: `${team}/aws`, region, state: 'ok' }),
    ]);
  });

  it('shows a stale region: the source rotated without an event, the region copy edited by hand', async () => {
    // Prepare
    const version = await rotateSource(arn, awsValue(2));
    const copy = await readSecret('region-a', id);
    await applyAll('region-a', [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: id, namespace: SYSTEM_NAMESPACE, labels: copy.metadata.labels ?? {} },
        data: { AccessKeyID: Buffer.from('AKIAEDITEDBYHAND0001').toString('base64') },
      },
    ]);

    // Act
    const json = await cli(['status', ...scope, '--json']);
    const text = await cli(['status', ...scope]);

    // Assess
    expect(json.code).toBe(1);
    expect(text.code).toBe(1);
    const report = statusSchema.parse(JSON.parse(json.stdout));
    expect(report.ok).toBe(false);
    expect(report.bindings).toEqual([
      expect.objectContaining({
        secret: `${SYSTEM_NAMESPACE}/${id}`,
        state: 'stale',
        sourceVersion: version,
      }),
    ]);
    const objects = report.credentials[0]?.objects ?? [];
    expect(objects.find((o) => o.object === `Secret ${SYSTEM_NAMESPACE}/${id}`)).toMatchObject({
      op: 'update',
      drift: true,
    });
    expect(text.stdout).toMatch(/STALE +kcm-system\//);
    expect(text.stdout).toMatch(/DRIFT +.*→ region /);
  });

  it('resync --dry-run previews the repair and writes nothing', async () => {
    // Prepare
    const before = await writeCounts();

    // Act
    const json = await cli(['resync', ...scope, '--dry-run', '--json']);
    const text = await cli(['plan', ...scope]);

    // Assess
    expect(json.code).toBe(0);
    expect(text.code).toBe(0);
    expect(await writeCounts()).toEqual(before);
    const plan = resyncSchema.parse(JSON.parse(json.stdout));
    expect(plan.dryRun).toBe(true);
    expect(plan.sources[0]?.bindings[0]).toMatchObject({
      op: 'update',
      keys: ['AccessKeyID', 'SecretAccessKey'],
    });
    expect(plan.sources[0]?.bindings[0]?.previousHash).toMatch(/^sha256:/);
    const regionActions = plan.sources[0]?.regions.find((r) => r.region === region)?.actions ?? [];
    expect(regionActions).toContainEqual(
      expect.objectContaining({ op: 'update', object: `Secret ${SYSTEM_NAMESPACE}/${id}` }),
    );
    expect(text.stdout).toMatch(/mgmt +update +Secret kcm-system\/\S+ +keys AccessKeyID, SecretAccessKey/);
    expect(text.stdout).toContain('nothing written');
  });

  it('resync repairs management and region, after which status exits 0', async () => {
    // Act
    const run = await cli(['resync', ...scope]);
    const after = await cli(['status', ...scope]);

    // Assess
    expect(run.code).toBe(0);
    expect(after.code).toBe(0);
    expect(after.stdout).toContain('all in sync');
    const expected = JSON.parse(awsValue(2));
    expect(decode(await readSecret('mgmt', id), 'SecretAccessKey')).toBe(expected.SecretAccessKey);
    expect(decode(await readSecret('region-a', id), 'AccessKeyID')).toBe(expected.AccessKeyID);
    const events = await kubeClients('mgmt').core.listNamespacedEvent({
      namespace: team,
      fieldSelector: 'involvedObject.kind=Credential,involvedObject.name=aws',
    });
    expect(events.items.map((e) => [e.type, e.reason])).toContainEqual(['Normal', 'CredentialDistributed']);
    expect(events.items[0]?.involvedObject.uid).toBeTruthy();
  });

  it('resync of an in-sync scope writes nothing', async () => {
    // Prepare
    const before = await writeCounts();

    // Act
    const run = await cli(['resync', '--credential', `${team}/aws`, '--json']);

    // Assess
    expect(run.code).toBe(0);
    expect(resyncSchema.parse(JSON.parse(run.stdout)).writes).toBe(0);
    expect(await writeCounts()).toEqual(before);
  });

  it('never prints a secret value', () => {
    expect(printed.length).toBeGreaterThan(0);
    expect(leakedSecrets(printed)).toEqual([]);
  });
});
