// The bench's own ground on its own testbed: clients, k0rdent seeding, sources and rotation events, and
// a function runtime whose ports are probed. (test/helpers/k0rdent.ts needs vitest's inject; the bench
// runs under plain tsx.)
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import type { Runtime } from '../../functions/shared/runtime.js';
import { kubeconfigConnector, kubernetesCluster } from '../../lib/adapters/kubernetes.js';
import { secretsManagerSource } from '../../lib/adapters/secrets-manager.js';
import type { KubeObject } from '../../lib/domain/objects.js';
import type { Log, MetricsSink } from '../../lib/ports.js';
import type { RotateDeps } from '../../lib/use-cases/rotate.js';
import { PROVIDER_INTERFACES } from '../fixtures/provider-interfaces.js';
import type { TestbedInfo } from '../testbed/testbed.js';
import { type Probe, probedCluster, probedConnector, probedSource } from './instrument.js';

export const SYSTEM = 'kcm-system';
const IDENTITY_API = 'infrastructure.cluster.x-k8s.io/v1beta2';

export class Bench {
  readonly aws: SecretsManagerClient;
  private readonly configs = new Map<string, KubeConfig>();

  constructor(readonly info: TestbedInfo) {
    this.aws = new SecretsManagerClient({
      endpoint: info.aws.endpoint,
      region: info.aws.region,
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    });
  }

  kubeConfig(cluster: string): KubeConfig {
    let kc = this.configs.get(cluster);
    if (!kc) {
      kc = new KubeConfig();
      kc.loadFromString(readFileSync(this.info.clusters[cluster]?.kubeconfig ?? '', 'utf8'));
      this.configs.set(cluster, kc);
    }
    return kc;
  }

  /** Server-side applies as the bench's seeding manager (never as identity-relay). */
  async apply(cluster: string, objects: KubeObject[]): Promise<void> {
    const api = KubernetesObjectApi.makeApiClient(this.kubeConfig(cluster));
    for (const object of objects)
      await api.patch(object, undefined, undefined, 'bench-seed', true, PatchStrategy.ServerSideApply);
  }

  async namespace(cluster: string, name: string): Promise<void> {
    await this.kubeConfig(cluster)
      .makeApiClient(CoreV1Api)
      .createNamespace({ body: { metadata: { name } } })
      .catch((error: { code?: number }) => {
        if (error.code !== 409) throw error;
      });
  }

  /** The system namespace and kcm's ProviderInterfaces in every cluster (kcm looks identities up in the target). */
  async prepare(): Promise<void> {
    for (const cluster of Object.keys(this.info.clusters)) {
      await this.namespace(cluster, SYSTEM);
      await this.apply(cluster, PROVIDER_INTERFACES);
    }
  }

  /** A Region served by a testbed cluster; `edit` may change its kubeconfig text (another server). */
  async region(
    name: string,
    cluster: string,
    edit: (text: string) => string = (text) => text,
  ): Promise<void> {
    const text = edit(readFileSync(this.info.clusters[cluster]?.kubeconfig ?? '', 'utf8'));
    await this.apply('mgmt', [
      {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `${name}-kubeconfig`, namespace: SYSTEM },
        data: { kubeconfig: Buffer.from(text).toString('base64') },
      },
      {
        apiVersion: 'k0rdent.mirantis.com/v1beta1',
        kind: 'Region',
        metadata: { name },
        spec: { kubeConfig: { name: `${name}-kubeconfig`, key: 'kubeconfig' } },
      },
    ]);
  }

  async createSource(name: string): Promise<string> {
    const out = await this.aws.send(new CreateSecretCommand({ Name: name, SecretString: awsValue() }));
    return out.ARN ?? '';
  }

  /** A new AWSCURRENT for `arn`, and the `Secret Label Updated` event that announces it. */
  async rotate(arn: string): Promise<{ versionId: string; event: Record<string, unknown> }> {
    const out = await this.aws.send(new PutSecretValueCommand({ SecretId: arn, SecretString: awsValue() }));
    const versionId = out.VersionId ?? '';
    return { versionId, event: labelUpdated(arn, versionId) };
  }

  /**
   * `bindings` Secrets bound to one new source, each with its own AWSClusterStaticIdentity, and one
   * Credential per identity in each of `regions` (Region name → testbed cluster). Returns the source.
   */
  async scenario(
    regions: Record<string, string>,
    bindings: number,
  ): Promise<{ arn: string; names: string[] }> {
    const base = unique('bench');
    const arn = await this.createSource(`identity-relay/${base}`);
    const names = Array.from({ length: bindings }, (_, i) => `${base}-${i}`);
    const objects: KubeObject[] = [];
    for (const name of names) {
      objects.push(boundSecret(name, arn), {
        apiVersion: IDENTITY_API,
        kind: 'AWSClusterStaticIdentity',
        metadata: { name },
        spec: { secretRef: name, allowedNamespaces: {} },
      });
    }
    for (const region of Object.keys(regions)) {
      const team = unique('team');
      await this.namespace('mgmt', team);
      for (const name of names)
        objects.push({
          apiVersion: 'k0rdent.mirantis.com/v1beta1',
          kind: 'Credential',
          metadata: { name, namespace: team },
          spec: { region, identityRef: { apiVersion: IDENTITY_API, kind: 'AWSClusterStaticIdentity', name } },
        });
    }
    await this.apply('mgmt', objects);
    return { arn, names };
  }

  /** A function runtime over the testbed whose ports report to `probe`; GetSecretValue calls are counted. */
  runtime(probe: Probe): { runtime: Runtime; calls: { getSecretValue: number; describeSecret: number } } {
    const source = secretsManagerSource(this.aws);
    const deps: RotateDeps = {
      source: probedSource(source, probe),
      mgmt: probedCluster(kubernetesCluster('mgmt', this.kubeConfig('mgmt')), probe, 'mgmt'),
      connector: probedConnector(kubeconfigConnector({ hosts: { allow: [], allowLoopback: true } }), probe),
      log: discardingLog(),
      systemNamespace: SYSTEM,
      watchNamespaces: [SYSTEM],
      now: () => new Date(),
    };
    return {
      runtime: { log: deps.log, metrics: discardingMetrics(), deps: async () => deps },
      calls: source.calls,
    };
  }
}

export function boundSecret(name: string, arn: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name,
      namespace: SYSTEM,
      labels: { 'identity-relay.dev/bound': 'true' },
      annotations: { 'identity-relay.dev/source': arn, 'identity-relay.dev/format': 'aws-static' },
    },
  };
}

export function labelUpdated(arn: string, versionId: string): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Secret Label Updated',
    source: 'aws.secretsmanager',
    account: arn.split(':')[4],
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [arn],
    detail: {
      name: arn.split(':secret:')[1]?.replace(/-[A-Za-z0-9]{6}$/, ''),
      labelUpdated: 'AWSCURRENT',
      versionId,
    },
  };
}

/** EventBridge events as SQS hands them to the function. */
export function sqsEvent(events: Array<Record<string, unknown>>): {
  Records: Array<Record<string, unknown>>;
} {
  return {
    Records: events.map((event) => ({
      messageId: randomUUID(),
      receiptHandle: 'bench',
      body: JSON.stringify(event),
      attributes: { MessageGroupId: String((event.resources as string[])[0]) },
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:identity-relay-rotation.fifo',
      awsRegion: 'us-east-1',
    })),
  };
}

export function unique(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

function awsValue(): string {
  return JSON.stringify({
    AccessKeyID: 'AKIABENCHMARK0000001',
    SecretAccessKey: randomBytes(20).toString('base64'),
  });
}

/** A Log that formats each line as the real one would and drops it (the cost stays, the output goes). */
export function discardingLog(): Log & { lines: number } {
  const log = {
    lines: 0,
    info: (message: string, fields: Record<string, unknown> = {}) => write(message, fields),
    warn: (message: string, fields: Record<string, unknown> = {}) => write(message, fields),
    error: (message: string, fields: Record<string, unknown> = {}) => write(message, fields),
  };
  const write = (message: string, fields: Record<string, unknown>) => {
    JSON.stringify({ message, ...fields });
    log.lines += 1;
  };
  return log;
}

export function discardingMetrics(): MetricsSink {
  return { count: () => {}, milliseconds: () => {}, flush: () => {} };
}
