import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteSecretCommand } from '@aws-sdk/client-secrets-manager';
import { beforeAll, describe, expect, it } from 'vitest';
import type { KubeObject } from '../../lib/domain/objects.js';
import { leakedSecrets } from '../helpers/capture.js';
import {
  applyAll,
  createRegion,
  labelUpdated,
  prepareK0rdent,
  rotateSource,
  SYSTEM_NAMESPACE,
  writeCounts,
} from '../helpers/k0rdent.js';
import { kubeClients, secretsManager, uniqueName } from '../helpers/testbed-clients.js';
import { awsIdentity, cli, printed } from './run-cli.js';
import { replaySchema } from './schemas.js';

const value = (n: number) =>
  JSON.stringify({
    AccessKeyID: `AKIACLIREPLAY${String(n).padStart(7, '0')}`,
    SecretAccessKey: `cli-replay-secret-${n}-${uniqueName('x')}`,
  });

async function readSecret(cluster: string, name: string): Promise<KubeObject> {
  return (await kubeClients(cluster).core.readNamespacedSecret({
    name,
    namespace: SYSTEM_NAMESPACE,
  })) as unknown as KubeObject;
}

const version = (secret: KubeObject) => secret.metadata.annotations?.['identity-relay.dev/source-version'];
const decode = (secret: KubeObject, key: string) =>
  Buffer.from(((secret.data ?? {}) as Record<string, string>)[key] ?? '', 'base64').toString();

describe('identity-relay replay FILE|-', () => {
  const region = uniqueName('r');
  const dir = mkdtempSync(join(tmpdir(), 'identity-relay-cli-'));
  beforeAll(async () => {
    await prepareK0rdent();
    await createRegion(region, 'region-a');
  });

  it('replays a recorded event file through rotate: management and region converge', async () => {
    // Prepare
    const { id, arn } = await awsIdentity(region, value(0));
    const rotated = value(1);
    const versionId = await rotateSource(arn, rotated);
    const file = join(dir, 'event.json');
    const event = labelUpdated(arn, versionId);
    writeFileSync(file, JSON.stringify(event));

    // Act
    const run = await cli(['replay', file, '--json', '--verbose']);

    // Assess
    expect(run.code).toBe(0);
    const result = replaySchema.parse(JSON.parse(run.stdout));
    expect(result.sources[0]?.bindings[0]).toMatchObject({ op: 'update', versionId });
    expect(version(await readSecret('mgmt', id))).toBe(versionId);
    expect(decode(await readSecret('region-a', id), 'AccessKeyID')).toBe(JSON.parse(rotated).AccessKeyID);
    // The event's id reaches the log line of the region's writes.
    const converged = run.stderr
      .split('\n')
      .find((line) => line.startsWith('info: region converged') && line.includes(`"region":"${region}"`));
    expect(converged).toContain(`"correlationId":"${event.id}"`);
  });

  it('replays JSON lines from stdin; a second replay of the same events writes nothing', async () => {
    // Prepare
    const { id, arn } = await awsIdentity(region, value(0));
    const versionId = await rotateSource(arn, value(2));
    const lines = [labelUpdated(arn, versionId), labelUpdated(arn, versionId)].map((e) => JSON.stringify(e));
    await cli(['replay', '-'], { stdin: lines.join('\n') });
    const before = await writeCounts();

    // Act
    const again = await cli(['replay', '-'], { stdin: lines.join('\n') });

    // Assess
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/mgmt +noop +Secret kcm-system\//);
    expect(await writeCounts()).toEqual(before);
    expect(version(await readSecret('mgmt', id))).toBe(versionId);
  });

  it('previews a replay with --dry-run, regional updates included, without writing', async () => {
    // Prepare: in sync first, then a rotation whose event is replayed.
    const { id, arn } = await awsIdentity(region, value(0));
    await cli(['resync', '--secret', `${SYSTEM_NAMESPACE}/${id}`]);
    const versionId = await rotateSource(arn, value(3));
    const file = join(dir, 'dry.json');
    writeFileSync(
      file,
      JSON.stringify({ Records: [{ messageId: 'm-1', body: JSON.stringify(labelUpdated(arn, versionId)) }] }),
    );
    const before = await writeCounts();

    // Act
    const run = await cli(['replay', file, '--dry-run', '--json']);

    // Assess
    expect(run.code).toBe(0);
    const plan = replaySchema.parse(JSON.parse(run.stdout));
    expect(plan).toMatchObject({ ok: true, dryRun: true });
    expect(plan.sources[0]?.bindings[0]).toMatchObject({ op: 'update', versionId });
    // The region's copy would follow the management Secret in the same run: the preview shows it.
    const update = plan.sources[0]?.regions
      .find((r) => r.region === region)
      ?.actions.find((a) => a.object === `Secret ${SYSTEM_NAMESPACE}/${id}`);
    expect(update).toMatchObject({ op: 'update', previousHash: expect.stringMatching(/^sha256:/) });
    expect(update?.hash).not.toBe(update?.previousHash);
    expect(plan.writes).toBe(2);
    expect(await writeCounts()).toEqual(before);
  });

  it('replays an audit EventList through the audit filter and distribute', async () => {
    // Prepare: a region copy edited by hand, and the audit event of an update to the management Secret.
    const { id } = await awsIdentity(region, value(0));
    await cli(['resync', '--secret', `${SYSTEM_NAMESPACE}/${id}`]);
    const copy = await readSecret('region-a', id);
    await applyAll('region-a', [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: id, namespace: SYSTEM_NAMESPACE, labels: copy.metadata.labels ?? {} },
        data: { AccessKeyID: Buffer.from('AKIAEDITEDBYHAND0002').toString('base64') },
      },
    ]);
    const event = (verb: string, auditID: string) => ({
      auditID,
      stage: 'ResponseComplete',
      verb,
      user: { username: 'admin' },
      objectRef: { resource: 'secrets', namespace: SYSTEM_NAMESPACE, name: id, apiVersion: 'v1' },
      responseStatus: { code: 200 },
      stageTimestamp: new Date().toISOString(),
    });
    const eventList = {
      kind: 'EventList',
      apiVersion: 'audit.k8s.io/v1',
      items: [event('patch', 'a-1'), event('get', 'a-2')],
    };

    // Act
    const run = await cli(['replay', '-', '--json'], { stdin: JSON.stringify(eventList) });

    // Assess
    expect(run.code).toBe(0);
    const result = replaySchema.parse(JSON.parse(run.stdout));
    expect(result.input.audit).toEqual({ received: 2, kept: 1, dropped: 1, quarantined: 0 });
    expect(result.jobs[0]?.regions.find((r) => r.region === region)?.actions).toContainEqual(
      expect.objectContaining({ op: 'update', object: `Secret ${SYSTEM_NAMESPACE}/${id}` }),
    );
    expect(decode(await readSecret('region-a', id), 'AccessKeyID')).toBe(JSON.parse(value(0)).AccessKeyID);
  });

  it('reports input it cannot replay, and a source that cannot be read, with exit code 1', async () => {
    // Prepare
    const { arn } = await awsIdentity(region, value(0));
    await secretsManager().send(new DeleteSecretCommand({ SecretId: arn, RecoveryWindowInDays: 7 }));
    const lines = [JSON.stringify({ hello: 'world' }), JSON.stringify(labelUpdated(arn, 'v-gone'))];

    // Act
    const run = await cli(['replay', '-'], { stdin: lines.join('\n') });

    // Assess
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^failed: item 1: not an EventBridge event/m);
    expect(run.stdout).toMatch(/SourceNotFound/);
    expect(run.stdout).toMatch(/hint: check the identity-relay.dev\/source annotation/);
  });

  it('exits 2 on input that is not JSON', async () => {
    // Act
    const run = await cli(['replay', '-'], { stdin: '{"a":1}\nnot json\n' });

    // Assess
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('line 2 is not JSON');
  });

  it('never prints a secret value', () => {
    expect(leakedSecrets(printed)).toEqual([]);
  });
});
