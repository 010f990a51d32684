import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
} from '@aws-sdk/client-secrets-manager';
import { ApiException } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { kubeClients, secretsManager, testbed, uniqueName } from '../helpers/testbed-clients.js';

describe('testbed', () => {
  it('runs etcd, three apiservers and the AWS endpoint as live, answering processes', async () => {
    // Assess: every part answers (a fault test may have restarted one under a new PID, so each is
    // checked by asking it, not by its PID).
    const info = testbed();
    expect((await fetch(`${info.etcd.url}/health`)).ok).toBe(true);
    expect((await fetch(`${info.aws.endpoint}/moto-api/`)).ok).toBe(true);
    expect(Object.keys(info.clusters).sort()).toEqual(['mgmt', 'region-a', 'region-b']);
    for (const cluster of Object.keys(info.clusters)) {
      const namespaces = await kubeClients(cluster).core.listNamespace();
      expect(namespaces.items.map((n) => n.metadata?.name)).toContain('kube-system');
    }
  });

  it('keeps a Secret created in mgmt out of the regions that share its etcd', async () => {
    // Prepare
    const namespace = uniqueName('smoke');
    const mgmt = kubeClients('mgmt');
    await mgmt.core.createNamespace({ body: { metadata: { name: namespace } } });

    // Act
    await mgmt.core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'probe' }, stringData: { key: 'value-1' } },
    });

    // Assess
    const read = await mgmt.core.readNamespacedSecret({ name: 'probe', namespace });
    expect(Buffer.from(read.data?.key ?? '', 'base64').toString()).toBe('value-1');
    for (const region of ['region-a', 'region-b']) {
      const error = await kubeClients(region)
        .core.readNamespacedSecret({ name: 'probe', namespace })
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApiException);
      expect((error as ApiException<unknown>).code).toBe(404);
    }
  });

  it('serves the k0rdent and Cluster API kinds', async () => {
    // Prepare
    const namespace = uniqueName('smoke');
    const { core, objects } = kubeClients('mgmt');
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    const identityName = uniqueName('aws-identity');

    // Act
    await objects.create({
      apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2',
      kind: 'AWSClusterStaticIdentity',
      metadata: { name: identityName },
      spec: { secretRef: 'aws-credentials', allowedNamespaces: {} },
    });
    await objects.create({
      apiVersion: 'k0rdent.mirantis.com/v1beta1',
      kind: 'Credential',
      metadata: { name: 'aws', namespace },
      spec: {
        region: 'region1',
        identityRef: {
          apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2',
          kind: 'AWSClusterStaticIdentity',
          name: identityName,
        },
      },
    });

    // Assess
    const identity = await objects.read({
      apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2',
      kind: 'AWSClusterStaticIdentity',
      metadata: { name: identityName },
    });
    expect((identity as { spec?: { secretRef?: string } }).spec?.secretRef).toBe('aws-credentials');
    const credential = await objects.read({
      apiVersion: 'k0rdent.mirantis.com/v1beta1',
      kind: 'Credential',
      metadata: { name: 'aws', namespace },
    });
    expect(
      (credential as { spec?: { region?: string; identityRef?: { name?: string } } }).spec,
    ).toMatchObject({
      region: 'region1',
      identityRef: { name: identityName },
    });
  });

  it('reads and writes secrets in the AWS endpoint', async () => {
    // Prepare
    const client = secretsManager();
    const name = uniqueName('smoke/secret');
    const created = await client.send(new CreateSecretCommand({ Name: name, SecretString: 'first' }));

    // Act
    const put = await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: 'second' }));
    const current = await client.send(new GetSecretValueCommand({ SecretId: created.ARN }));

    // Assess
    expect(current.SecretString).toBe('second');
    expect(current.VersionId).toBe(put.VersionId);
    expect(current.VersionStages).toContain('AWSCURRENT');
    expect(current.ARN).toMatch(
      /^arn:aws:secretsmanager:us-east-1:\d{12}:secret:smoke\/secret-[0-9a-f]{8}-[A-Za-z0-9]{6}$/,
    );
  });
});
