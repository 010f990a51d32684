import { beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/rotation/handler.js';
import { DEADLINE_RESERVE_MS } from '../../lib/use-cases/distribute.js';
import { labelUpdated, SYSTEM_NAMESPACE, sqsBatch, testRuntime } from '../helpers/k0rdent.js';
import { lambdaContext } from '../helpers/lambda.js';
import {
  controlledContext,
  hookedConnector,
  IDENTITY_API,
  identityIntact,
  leaks,
  read,
  regionalKeys,
  rotate,
  type Scenario,
  see,
  seedScenario,
  type WriteHook,
} from './support.js';

const { runtime, deps, log } = testRuntime();
let hook: WriteHook = () => {};
const handler = createHandler({
  ...runtime,
  deps: async () => ({ ...deps, connector: hookedConnector(deps.connector, (c, n) => hook(c, n)) }),
});

describe('a function deadline hit in the middle of a fan-out', () => {
  let scenario: Scenario;
  beforeAll(async () => {
    scenario = await seedScenario(['region-a', 'region-b']);
  });

  it('stops between writes, leaves no identity without its Secret, and the next run converges', async () => {
    // Prepare: the invocation runs out of time as soon as the first regional write has started.
    const rotated = await rotate(scenario, 'deadline');
    const batch = sqsBatch([labelUpdated(scenario.arn, rotated.versionId)]);
    let expired = false;
    hook = () => {
      expired = true;
    };
    const context = controlledContext(() => (expired ? DEADLINE_RESERVE_MS - 1 : 60_000));

    // Act
    const cut = await handler(batch, context);
    see(cut);
    const clusters = Object.values(scenario.regions);
    const secretsAfterCut = await Promise.all(
      clusters.map((c) =>
        read(c, { apiVersion: 'v1', kind: 'Secret', namespace: SYSTEM_NAMESPACE, name: scenario.name }),
      ),
    );
    const identitiesAfterCut = await Promise.all(
      clusters.map((c) =>
        read(c, { apiVersion: IDENTITY_API, kind: 'AWSClusterStaticIdentity', name: scenario.name }),
      ),
    );
    const intactAfterCut = await Promise.all(clusters.map((c) => identityIntact(c, scenario)));
    hook = () => {};
    const next = await handler(batch, lambdaContext());
    see(next);

    // Assess
    expect(cut).toEqual({ batchItemFailures: [{ itemIdentifier: batch.Records[0]?.messageId }] });
    expect(log.lines.some((line) => line.includes('function deadline near'))).toBe(true);
    expect(secretsAfterCut.filter(Boolean).length).toBeGreaterThan(0); // the cut came mid-fan-out
    expect(identitiesAfterCut.filter(Boolean).length).toBeLessThan(clusters.length);
    expect(intactAfterCut).toEqual(clusters.map(() => true));
    expect(next).toEqual({ batchItemFailures: [] });
    expect(Object.values(await regionalKeys(scenario))).toEqual(clusters.map(() => rotated.secretAccessKey));
    for (const cluster of clusters) expect(await identityIntact(cluster, scenario)).toBe(true);
  }, 120_000);

  it('starts no regional write when the invocation begins inside the reserve, and the next run converges', async () => {
    // Prepare
    const rotated = await rotate(scenario, 'late-start');
    const batch = sqsBatch([labelUpdated(scenario.arn, rotated.versionId)]);
    let regionalWrites = 0;
    hook = () => {
      regionalWrites += 1;
    };

    // Act
    const late = await handler(
      batch,
      controlledContext(() => DEADLINE_RESERVE_MS - 1),
    );
    const writesWhenLate = regionalWrites;
    const next = await handler(batch, lambdaContext());
    see([late, next]);

    // Assess
    expect(late?.batchItemFailures).toHaveLength(1);
    expect(writesWhenLate).toBe(0);
    expect(next).toEqual({ batchItemFailures: [] });
    expect(Object.values(await regionalKeys(scenario))).toEqual(
      Object.values(scenario.regions).map(() => rotated.secretAccessKey),
    );
  }, 120_000);

  it('never prints a secret value in a log line, result or error', () => {
    expect(log.lines.length).toBeGreaterThan(0);
    expect(leaks(log.lines)).toEqual([]);
  });
});
