import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/rotation/handler.js';
import { labelUpdated, testRuntime } from '../helpers/k0rdent.js';
import { lambdaContext } from '../helpers/lambda.js';
import { createQueues, deliver, receive, sendEvent } from './sqs.js';
import {
  hookedConnector,
  identityIntact,
  leaks,
  regionalKeys,
  regionBOutage,
  rotate,
  type Scenario,
  secretAccessKeyIn,
  see,
  seedScenario,
} from './support.js';

const { runtime, deps, log } = testRuntime();
const outage = regionBOutage();
const handler = createHandler({
  ...runtime,
  deps: async () => ({ ...deps, connector: hookedConnector(deps.connector, outage.hook) }),
});
const invoke = async (event: unknown) => {
  const response = await handler(event, lambdaContext());
  see(response);
  return response;
};

describe('a regional apiserver killed in the middle of a fan-out', () => {
  let scenario: Scenario;
  beforeAll(async () => {
    scenario = await seedScenario(['region-a', 'region-b']);
  });
  afterAll(async () => {
    // Whatever happened, leave region-b serving for the files after this one.
    if (outage.down) await outage.restart();
  }, 180_000);

  it('converges the other region, fails the message, and the retry after the restart converges all', async () => {
    // Prepare
    const queues = await createQueues(3);
    const rotated = await rotate(scenario, 'retried');
    await sendEvent(queues.url, labelUpdated(scenario.arn, rotated.versionId));
    outage.killAt(scenario, 2); // after its Secret, before its identity

    // Act
    const first = await deliver(queues.url, queues.arn, invoke);
    const regionAWhileDown = await secretAccessKeyIn('region-a', scenario);
    const second = await deliver(queues.url, queues.arn, invoke);
    await outage.restart();
    const third = await deliver(queues.url, queues.arn, invoke);

    // Assess
    expect(first.failed).toEqual(first.received);
    expect(first.received).toHaveLength(1);
    expect(regionAWhileDown).toBe(rotated.secretAccessKey);
    expect(second.failed).toEqual(first.received);
    expect(third).toEqual({ received: first.received, failed: [] });
    expect(Object.values(await regionalKeys(scenario))).toEqual([
      rotated.secretAccessKey,
      rotated.secretAccessKey,
    ]);
    expect(await identityIntact('region-b', scenario)).toBe(true);
    expect(await receive(queues.url, 1500)).toEqual([]);
  }, 240_000);

  it('dead-letters the message once retries are exhausted, and a replay from the DLQ converges', async () => {
    // Prepare
    const queues = await createQueues(2);
    const rotated = await rotate(scenario, 'dead-lettered');
    await sendEvent(queues.url, labelUpdated(scenario.arn, rotated.versionId));
    outage.killAt(scenario, 1);

    // Act
    const attempts = [
      await deliver(queues.url, queues.arn, invoke),
      await deliver(queues.url, queues.arn, invoke),
      await deliver(queues.url, queues.arn, invoke), // moto moves it to the DLQ on this receive
    ];
    await outage.restart();
    const replay = await deliver(queues.dlqUrl, queues.arn, invoke);

    // Assess
    const id = attempts[0]?.received[0];
    expect(attempts.map((a) => a.failed)).toEqual([[id], [id], []]);
    expect(attempts[2]?.received).toEqual([]);
    expect(replay).toEqual({ received: [id], failed: [] });
    expect(Object.values(await regionalKeys(scenario))).toEqual([
      rotated.secretAccessKey,
      rotated.secretAccessKey,
    ]);
    expect(await identityIntact('region-b', scenario)).toBe(true);
    expect(await receive(queues.dlqUrl, 1500)).toEqual([]);
  }, 240_000);

  it('never prints a secret value in a log line, result or error', () => {
    expect(log.lines.length).toBeGreaterThan(0);
    expect(leaks(log.lines)).toEqual([]);
  });
});
