import { beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/rotation/handler.js';
import { kubernetesCluster } from '../../lib/adapters/kubernetes.js';
import { labelUpdated, settledLists, sqsBatch, testRuntime } from '../helpers/k0rdent.js';
import { lambdaContext } from '../helpers/lambda.js';
import { kubeConfigFor, testbed } from '../helpers/testbed-clients.js';
import { killApiserver, restartApiserver, restartEtcd } from '../testbed/control.js';
import {
  hookedCluster,
  identityIntact,
  leaks,
  regionalKeys,
  rotate,
  type Scenario,
  secretAccessKeyIn,
  see,
  seedScenario,
  type WriteHook,
} from './support.js';

const { runtime, deps, log } = testRuntime();
let hook: WriteHook = () => {};
// A fresh management client per invocation, as a new Lambda container would have after a failure.
const handler = createHandler({
  ...runtime,
  deps: async () => ({
    ...deps,
    mgmt: hookedCluster(settledLists(kubernetesCluster('mgmt', kubeConfigFor('mgmt', 'relay'))), (c, n) =>
      hook(c, n),
    ),
  }),
});

type Batch = ReturnType<typeof sqsBatch>;

/**
 * Delivers a batch the way SQS and Lambda do: messages reported as failures, or all of them when the
 * invocation throws, come back; up to `attempts` deliveries. Returns the failures of each delivery.
 */
async function deliverUntilDone(batch: Batch, attempts = 4): Promise<string[][]> {
  const history: string[][] = [];
  let records = batch.Records;
  for (let i = 0; i < attempts && records.length > 0; i++) {
    // SQS never hands a failed message back at once (visibility timeout, backoff): nor does this.
    if (i > 0) await new Promise((resolve) => setTimeout(resolve, 1_000 * i));
    let failed: string[];
    try {
      const response = await handler({ Records: records }, lambdaContext());
      see(response);
      failed = (response?.batchItemFailures ?? []).map((f) => f.itemIdentifier);
    } catch (error) {
      see(error);
      failed = records.map((r) => String(r.messageId));
    }
    history.push(failed);
    records = records.filter((r) => failed.includes(String(r.messageId)));
  }
  return history;
}

/** Rotates every scenario and builds one batch holding all their events. */
async function rotateAll(scenarios: Scenario[], tag: string) {
  const rotated = await Promise.all(scenarios.map((s) => rotate(s, tag)));
  const batch = sqsBatch(scenarios.map((s, i) => labelUpdated(s.arn, rotated[i]?.versionId ?? '')));
  return { rotated, batch };
}

/** Every scenario's Secret holds its rotated value in mgmt and in each of its regions, identities intact. */
async function expectConverged(scenarios: Scenario[], keys: string[]): Promise<void> {
  for (const [i, scenario] of scenarios.entries()) {
    expect(await secretAccessKeyIn('mgmt', scenario)).toBe(keys[i]);
    expect(Object.values(await regionalKeys(scenario))).toEqual([keys[i]]);
    expect(await identityIntact('region-a', scenario)).toBe(true);
  }
}

describe('the control plane restarted while a batch is processed', () => {
  const scenarios: Scenario[] = [];
  beforeAll(async () => {
    for (let i = 0; i < 3; i++) scenarios.push(await seedScenario(['region-a']));
  });

  it('converges every secret of a batch after the management apiserver restarts mid-batch', async () => {
    // Prepare
    const { rotated, batch } = await rotateAll(scenarios, 'mgmt-restart');
    const info = testbed();
    const mgmt = info.clusters.mgmt;
    if (!mgmt) throw new Error('no mgmt');
    let restarted: Promise<number> | undefined;
    hook = async (_cluster, count) => {
      if (count !== 2 || restarted) return;
      await killApiserver(mgmt); // after the first secret converged, before the second is written
      restarted = restartApiserver(info, mgmt);
    };

    // Act
    const history = await deliverUntilDone(batch).finally(async () => {
      hook = () => {};
      await restarted;
    });
    const finalHistory = history.at(-1)?.length ? await deliverUntilDone(batch) : [];

    // Assess
    expect(restarted).toBeDefined();
    expect(history[0]?.length).toBeGreaterThan(0);
    expect([...history, ...finalHistory].at(-1)).toEqual([]);
    await expectConverged(
      scenarios,
      rotated.map((r) => r.secretAccessKey),
    );
  }, 240_000);

  it('converges every secret of a batch when etcd restarts under it', async () => {
    // Prepare
    const { rotated, batch } = await rotateAll(scenarios, 'etcd-restart');
    let restarted: Promise<void> | undefined;
    hook = (_cluster, count) => {
      if (count === 2 && !restarted) restarted = restartEtcd(testbed());
    };

    // Act
    const history = await deliverUntilDone(batch).finally(async () => {
      hook = () => {};
      await restarted;
    });
    const after = history.at(-1)?.length ? await deliverUntilDone(batch) : [];

    // Assess
    expect(restarted).toBeDefined();
    expect([...history, ...after].at(-1)).toEqual([]);
    await expectConverged(
      scenarios,
      rotated.map((r) => r.secretAccessKey),
    );
  }, 240_000);

  it('never prints a secret value in a log line, result or error', () => {
    expect(log.lines.length).toBeGreaterThan(0);
    expect(leaks(log.lines)).toEqual([]);
  });
});
