import { Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRotationHints } from '../../lib/domain/events.js';
import { resync } from '../../lib/use-cases/resync.js';
import { rotate as rotateUseCase } from '../../lib/use-cases/rotate.js';
import { runJobs } from '../../lib/use-cases/run-jobs.js';
import { sweep } from '../../lib/use-cases/sweep.js';
import { labelUpdated, SYSTEM_NAMESPACE, testRuntime } from '../helpers/k0rdent.js';
import { kubeConfigFor } from '../helpers/testbed-clients.js';
import { hookedCluster, hookedConnector, read, rotate, type Scenario, seedScenario } from './support.js';

// A cluster never moves back to an older credential: four kinds of invocation converge one region at
// once while the source rotates through six versions, and a watch on the management Secret and on its
// regional copy records every version each takes.

const VERSIONS = 6;
const { deps, metrics } = testRuntime();
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const pause = () => sleep(Math.random() * 300);
// Every invocation is slowed at random between what it reads and what it writes, so a value read early is
// often written after the next version's: exactly the overlap that would move a cluster back without the
// guards. Secrets Manager dates versions to the millisecond; the testbed's moto to the second, so
// versions here are created just over a second apart to keep their order known.
const relay = {
  ...deps,
  metrics,
  source: {
    getCurrent: async (id: string) => {
      const value = await deps.source.getCurrent(id);
      await sleep(Math.random() * 2_000);
      return value;
    },
    currentVersion: (id: string) => deps.source.currentVersion(id),
    ...(deps.source.listVersions ? { listVersions: deps.source.listVersions.bind(deps.source) } : {}),
    ...(deps.source.getCurrentBatch
      ? { getCurrentBatch: deps.source.getCurrentBatch.bind(deps.source) }
      : {}),
  },
  mgmt: hookedCluster(deps.mgmt, pause),
  connector: hookedConnector(deps.connector, pause),
};

interface Seen {
  versionId: string;
  createdAt: number;
}

/** Every state a Secret takes while the watch runs, as (source-version, source-created). */
async function watchSecret(cluster: string, name: string, seen: Seen[]): Promise<AbortController> {
  return new Watch(kubeConfigFor(cluster)).watch(
    `/api/v1/namespaces/${SYSTEM_NAMESPACE}/secrets`,
    { fieldSelector: `metadata.name=${name}` },
    (_phase, object: { metadata?: { annotations?: Record<string, string> } }) => {
      const annotations = object.metadata?.annotations ?? {};
      const versionId = annotations['identity-relay.dev/source-version'];
      const created = Date.parse(annotations['identity-relay.dev/source-created'] ?? '');
      if (versionId && Number.isFinite(created)) {
        if (seen.at(-1)?.versionId !== versionId) seen.push({ versionId, createdAt: created });
      }
    },
    () => {},
  );
}

/** The four converging faces, each on its own, all at once. */
function convergeAll(scenario: Scenario, versionId: string): Promise<unknown>[] {
  const hints = readRotationHints(labelUpdated(scenario.arn, versionId));
  const job = {
    messageId: `job-${versionId}`,
    body: JSON.stringify({
      resource: 'secrets',
      kind: 'Secret',
      apiVersion: 'v1',
      namespace: SYSTEM_NAMESPACE,
      name: scenario.name,
      verb: 'patch',
      auditID: `audit-${versionId}`,
    }),
  };
  return [
    rotateUseCase(relay, hints),
    runJobs(relay, [job]),
    sweep(relay),
    resync(relay, { kind: 'secret', namespace: SYSTEM_NAMESPACE, name: scenario.name }),
  ];
}

describe('overlapping invocations while the source rotates', () => {
  let scenario: Scenario;
  let first = '';
  const mgmtSeen: Seen[] = [];
  const regionSeen: Seen[] = [];
  const watches: AbortController[] = [];
  beforeAll(async () => {
    scenario = await seedScenario(['region-a']);
    const initial = await rotate(scenario, 'monotonic-0');
    first = initial.versionId;
    await rotateUseCase(relay, readRotationHints(labelUpdated(scenario.arn, first)));
    watches.push(await watchSecret('mgmt', scenario.name, mgmtSeen));
    watches.push(await watchSecret('region-a', scenario.name, regionSeen));
  });
  afterAll(() => {
    for (const watch of watches) watch.abort();
  });

  it('never writes an older version over a newer one, and ends at AWSCURRENT everywhere', async () => {
    // Act: each version starts four invocations; the next version arrives while they run.
    const running: Promise<unknown>[] = [];
    const versions: string[] = [];
    for (let i = 1; i <= VERSIONS; i++) {
      const next = await rotate(scenario, `monotonic-${i}`);
      versions.push(next.versionId);
      running.push(...convergeAll(scenario, next.versionId));
      await sleep(1_100);
    }
    const settled = await Promise.allSettled(running);
    await rotateUseCase(relay, readRotationHints(labelUpdated(scenario.arn, versions.at(-1) ?? '')));
    await new Promise((resolve) => setTimeout(resolve, 500)); // the watch's last events

    // Assess
    expect(settled.filter((s) => s.status === 'rejected')).toEqual([]);
    const current = versions.at(-1);
    for (const cluster of ['mgmt', 'region-a']) {
      const secret = await read(cluster, {
        apiVersion: 'v1',
        kind: 'Secret',
        namespace: SYSTEM_NAMESPACE,
        name: scenario.name,
      });
      expect(secret?.metadata.annotations?.['identity-relay.dev/source-version']).toBe(current);
    }
    for (const seen of [mgmtSeen, regionSeen]) {
      // Each object's history, as positions in the order the versions were created: never going back.
      const order = seen.map((s) => [first, ...versions].indexOf(s.versionId));
      expect(order.length).toBeGreaterThan(1);
      expect(order).not.toContain(-1);
      expect(order).toEqual([...order].sort((a, b) => a - b));
      expect(seen.at(-1)?.versionId).toBe(current);
    }
  }, 120_000);
});
