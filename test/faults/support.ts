// Shared ground for the fault suite: one AWS static identity bound to a Secrets Manager secret and used
// by Credentials in several of the test's own Regions, hooks that inject a fault at a chosen write, and
// the leak check every fault file ends with.
import { randomUUID } from 'node:crypto';
import type { Context } from 'aws-lambda';
import type { KubeObject, ObjectRef } from '../../lib/domain/objects.js';
import type { Cluster, ClusterConnector } from '../../lib/ports.js';
import { leakedSecrets } from '../helpers/capture.js';
import {
  awsStaticIdentity,
  createRegion,
  prepareK0rdent,
  rotateSource,
  SYSTEM_NAMESPACE,
} from '../helpers/k0rdent.js';
import { lambdaContext } from '../helpers/lambda.js';
import { kubeClients, testbed, uniqueName } from '../helpers/testbed-clients.js';
import { killApiserver, restartApiserver } from '../testbed/control.js';

export const CAPI = 'infrastructure.cluster.x-k8s.io';
export const IDENTITY_API = `${CAPI}/v1beta2`;

/** Every text a fault test saw (log lines, results, error messages): none may hold a created secret value. */
export const seen: string[] = [];

/** Records what a test saw, for the leak check. */
export function see(value: unknown): void {
  if (value instanceof Error) {
    for (let error: unknown = value; error instanceof Error; error = error.cause)
      seen.push(`${error.name}: ${error.message}`);
  } else seen.push(typeof value === 'string' ? value : JSON.stringify(value));
}

/** The created secret values found in `lines` and everything seen: must be empty. */
export function leaks(lines: string[]): string[] {
  return leakedSecrets([...lines, ...seen]);
}

/** An aws-static value with a fresh SecretAccessKey. */
export function awsValue(tag: string): { value: string; secretAccessKey: string } {
  const secretAccessKey = `${tag}-${randomUUID()}`;
  return {
    value: JSON.stringify({ AccessKeyID: 'AKIAFAULTSUITE000001', SecretAccessKey: secretAccessKey }),
    secretAccessKey,
  };
}

export interface Scenario {
  name: string;
  arn: string;
  /** Region name → testbed cluster that serves it. */
  regions: Record<string, string>;
}

/**
 * Seeds one bound Secret (aws-static), its AWSClusterStaticIdentity, and a Credential per Region (each
 * Region created here, named uniquely, served by the given testbed cluster).
 */
export async function seedScenario(clusters: string[]): Promise<Scenario> {
  await prepareK0rdent();
  const regions: Record<string, string> = {};
  for (const cluster of clusters) {
    const region = uniqueName('r');
    await createRegion(region, cluster);
    regions[region] = cluster;
  }
  const { name, source } = await awsStaticIdentity(Object.keys(regions), awsValue('initial').value);
  return { name, arn: source.arn, regions };
}

/** Rotates the scenario's secret; returns the new version and SecretAccessKey. */
export async function rotate(
  scenario: Scenario,
  tag: string,
): Promise<{ versionId: string; secretAccessKey: string }> {
  const next = awsValue(tag);
  return { versionId: await rotateSource(scenario.arn, next.value), secretAccessKey: next.secretAccessKey };
}

/** Reads an object from a testbed cluster; undefined when absent. */
export async function read(cluster: string, ref: ObjectRef): Promise<KubeObject | undefined> {
  const metadata = { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}) };
  return (await kubeClients(cluster)
    .objects.read({ apiVersion: ref.apiVersion, kind: ref.kind, metadata })
    .catch((error: { code?: number }) => {
      if (error.code === 404) return undefined;
      throw error;
    })) as KubeObject | undefined;
}

/** The decoded SecretAccessKey of the scenario's Secret in a cluster (undefined when absent). */
export async function secretAccessKeyIn(cluster: string, scenario: Scenario): Promise<string | undefined> {
  const secret = await read(cluster, {
    apiVersion: 'v1',
    kind: 'Secret',
    namespace: SYSTEM_NAMESPACE,
    name: scenario.name,
  });
  const encoded = (secret?.data as Record<string, string> | undefined)?.SecretAccessKey;
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8');
}

/** Whether the identity in a cluster, when present, finds the Secret it references. */
export async function identityIntact(cluster: string, scenario: Scenario): Promise<boolean> {
  const identity = await read(cluster, {
    apiVersion: IDENTITY_API,
    kind: 'AWSClusterStaticIdentity',
    name: scenario.name,
  });
  if (!identity) return true;
  const ref = (identity.spec as { secretRef?: string } | undefined)?.secretRef ?? '';
  return (
    (await read(cluster, { apiVersion: 'v1', kind: 'Secret', namespace: SYSTEM_NAMESPACE, name: ref })) !==
    undefined
  );
}

/** Where each region of the scenario stands: the SecretAccessKey its copy holds, per region. */
export async function regionalKeys(scenario: Scenario): Promise<Record<string, string | undefined>> {
  const entries = await Promise.all(
    Object.entries(scenario.regions).map(
      async ([region, cluster]) => [region, await secretAccessKeyIn(cluster, scenario)] as const,
    ),
  );
  return Object.fromEntries(entries);
}

/** A hook run before each write a cluster makes; `count` numbers the writes of that cluster from 1. */
export type WriteHook = (cluster: string, count: number) => Promise<void> | void;

/** A Cluster that runs `hook` before each of its writes (apply, label removal, delete). */
export function hookedCluster(cluster: Cluster, hook: WriteHook): Cluster {
  let count = 0;
  const before = async () => hook(cluster.name, ++count);
  return {
    name: cluster.name,
    get: (ref) => cluster.get(ref),
    list: (apiVersion, kind, options) => cluster.list(apiVersion, kind, options),
    apply: async (object) => {
      await before();
      return cluster.apply(object);
    },
    removeLabels: async (ref, labels) => {
      await before();
      return cluster.removeLabels(ref, labels);
    },
    annotate: async (ref, annotations, resourceVersion) => {
      await before();
      return cluster.annotate(ref, annotations, resourceVersion);
    },
    delete: async (ref) => {
      await before();
      return cluster.delete(ref);
    },
    isNamespaced: (apiVersion, kind) => cluster.isNamespaced(apiVersion, kind),
    recordEvent: (regarding, event) => cluster.recordEvent(regarding, event),
  };
}

/** A connector whose regional clusters run `hook` before each write. */
export function hookedConnector(base: ClusterConnector, hook: WriteHook): ClusterConnector {
  return {
    connect: (name, kubeconfig, version) => hookedCluster(base.connect(name, kubeconfig, version), hook),
  };
}

/**
 * region-b's apiserver, killed before a chosen write of a fan-out and restarted after: pass `hook` to
 * hookedConnector; `down` says whether it still has to be restarted.
 */
export function regionBOutage() {
  let hook: WriteHook = () => {};
  let down = false;
  const apiserver = () => {
    const cluster = testbed().clusters['region-b'];
    if (!cluster) throw new Error('no region-b');
    return cluster;
  };
  return {
    hook: ((cluster, count) => hook(cluster, count)) as WriteHook,
    /** Kills region-b's apiserver before its `at`-th write of one fan-out, once. */
    killAt(scenario: Scenario, at: number): void {
      const regionB = Object.keys(scenario.regions).find((r) => scenario.regions[r] === 'region-b');
      hook = async (cluster, count) => {
        if (cluster !== regionB || count !== at) return;
        hook = () => {};
        down = true;
        await killApiserver(apiserver());
      };
    },
    async restart(): Promise<void> {
      await restartApiserver(testbed(), apiserver());
      down = false;
    },
    get down() {
      return down;
    },
  };
}

/** A Lambda context whose remaining time the test controls. */
export function controlledContext(remainingMs: () => number): Context {
  return { ...lambdaContext(), getRemainingTimeInMillis: remainingMs };
}
