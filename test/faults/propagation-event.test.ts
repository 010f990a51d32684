import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/rotation/handler.js';
import { runJobs } from '../../lib/use-cases/run-jobs.js';
import { type CaughtEvent, eventCatcher } from '../helpers/event-bus.js';
import { labelUpdated, testRuntime } from '../helpers/k0rdent.js';
import { lambdaContext } from '../helpers/lambda.js';
import { createQueues, deliver, sendEvent } from './sqs.js';
import {
  hookedConnector,
  leaks,
  regionalKeys,
  regionBOutage,
  rotate,
  type Scenario,
  see,
  seedScenario,
} from './support.js';

// The closed loop under a fault: `Credential Propagated` comes only once every region holds the version
// (after the killed region is back), exactly once, whichever face converges the last region; a unit out
// of tries says `Credential Propagation Failed`.

const { runtime, deps, log, metrics } = testRuntime();
let catcher: Awaited<ReturnType<typeof eventCatcher>>;
const outage = regionBOutage();
const withEvents = () => ({
  ...deps,
  events: catcher.publisher,
  connector: hookedConnector(deps.connector, outage.hook),
});
const handler = createHandler({
  ...runtime,
  deps: async () => withEvents(),
  get queues() {
    return { events: catcher.publisher, maxReceiveCount: 2 };
  },
});
const invoke = async (event: unknown) => {
  const response = await handler(event, lambdaContext());
  see(response);
  return response;
};

/** The job a hand-off sends for one region. */
const regionJob = (name: string, auditID: string) =>
  JSON.stringify({
    resource: 'regions',
    kind: 'Region',
    apiVersion: 'k0rdent.mirantis.com/v1beta1',
    name,
    verb: 'update',
    auditID,
  });
/**
 * Runs jobs on the distribution worker's path as SQS would deliver them: again while they fail
 * retryably (a restarted apiserver answers 503 until its CRDs are served again), at most 20 times.
 */
async function redelivered(messages: Array<{ messageId: string; body: string }>) {
  for (let attempt = 1; ; attempt++) {
    const outcomes = await runJobs({ ...withEvents(), metrics }, messages);
    if (attempt >= 20 || !outcomes.some((o) => o.error && o.retryable !== false)) return outcomes;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * Delivers the queue's message until a delivery succeeds, as SQS redelivers it (a restarted apiserver
 * answers 503 until its CRDs are served again), at most 20 times.
 */
async function redeliver(url: string, arn: string) {
  for (let attempt = 1; ; attempt++) {
    const delivery = await deliver(url, arn, invoke);
    if (attempt >= 20 || (delivery.received.length > 0 && delivery.failed.length === 0)) return delivery;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Every event caught, for the leak scan. */
const caughtAll: CaughtEvent[] = [];
async function take(): Promise<CaughtEvent[]> {
  const caught = await catcher.take();
  caughtAll.push(...caught);
  return caught;
}
const propagated = (events: CaughtEvent[], versionId: string) =>
  events.filter((e) => e['detail-type'] === 'Credential Propagated' && e.detail.versionId === versionId);

describe('Credential Propagated: after the last region, exactly once', () => {
  let scenario: Scenario;
  beforeAll(async () => {
    catcher = await eventCatcher();
    scenario = await seedScenario(['region-a', 'region-b']);
  });
  afterAll(async () => {
    if (outage.down) await outage.restart();
  }, 180_000);

  it('waits for the killed region, fires once on the retry that converges it, and not again on a replay', async () => {
    // Prepare
    const queues = await createQueues(5);
    const rotated = await rotate(scenario, 'loop');
    const event = labelUpdated(scenario.arn, rotated.versionId);
    await sendEvent(queues.url, event);
    outage.killAt(scenario, 2);

    // Act
    const first = await deliver(queues.url, queues.arn, invoke);
    const whileDown = await take();
    await outage.restart();
    const retry = await redeliver(queues.url, queues.arn);
    const afterRetry = await take();
    await invoke({ Records: [] }); // an empty batch changes nothing
    await handler(event, lambdaContext()); // the same event again, as a replay delivers it
    const afterReplay = await take();

    // Assess
    expect(first.failed).toHaveLength(1);
    expect(propagated(whileDown, rotated.versionId)).toEqual([]);
    expect(retry.failed).toEqual([]);
    expect(Object.values(await regionalKeys(scenario))).toEqual([
      rotated.secretAccessKey,
      rotated.secretAccessKey,
    ]);
    const [sent, ...more] = propagated(afterRetry, rotated.versionId);
    expect(more).toEqual([]);
    expect(sent?.source).toBe('identity-relay');
    expect(sent?.detail).toMatchObject({ secretId: scenario.arn, versionId: rotated.versionId });
    const targets = sent?.detail.targets as Array<{ target: string; holding: number; total: number }>;
    expect(targets.map((t) => t.target).sort()).toEqual(
      ['management Secrets', ...Object.keys(scenario.regions)].sort(),
    );
    for (const target of targets) expect(target.holding).toBe(target.total);
    expect(typeof sent?.detail.propagationSeconds).toBe('number');
    expect(propagated(afterReplay, rotated.versionId)).toEqual([]);
  }, 240_000);

  it('fires from the distribution worker when its region job converges the last region', async () => {
    // Prepare: the rotation leaves region-b behind (killed), then region-b comes back.
    const queues = await createQueues(5);
    const rotated = await rotate(scenario, 'worker');
    await sendEvent(queues.url, labelUpdated(scenario.arn, rotated.versionId));
    outage.killAt(scenario, 1);
    await deliver(queues.url, queues.arn, invoke);
    await outage.restart();
    const regionB = Object.keys(scenario.regions).find((r) => scenario.regions[r] === 'region-b') ?? '';

    // Act: the region's own job (what a hand-off sends), on the distribution worker's path.
    const jobs = await redelivered([{ messageId: 'job-1', body: regionJob(regionB, 'job-1') }]);
    const caught = await take();
    const again = await redelivered([{ messageId: 'job-2', body: regionJob(regionB, 'job-2') }]);
    const caughtAgain = await take();

    // Assess
    expect(jobs.map((j) => j.error)).toEqual([undefined]);
    expect(again.map((j) => j.error)).toEqual([undefined]);
    expect(propagated(caught, rotated.versionId)).toHaveLength(1);
    expect(propagated(caughtAgain, rotated.versionId)).toEqual([]);
  }, 240_000);

  it('says Credential Propagation Failed when the unit is out of tries, and nothing propagated', async () => {
    // Prepare: region-b stays down for both tries (maxReceiveCount 2).
    const queues = await createQueues(2);
    const rotated = await rotate(scenario, 'failed');
    await sendEvent(queues.url, labelUpdated(scenario.arn, rotated.versionId));
    outage.killAt(scenario, 1);

    // Act
    await deliver(queues.url, queues.arn, invoke);
    const afterFirst = await take();
    await deliver(queues.url, queues.arn, invoke);
    const afterLast = await take();
    await outage.restart();

    // Assess
    const failed = (events: CaughtEvent[]) =>
      events.filter((e) => e['detail-type'] === 'Credential Propagation Failed');
    expect(failed(afterFirst)).toEqual([]);
    expect(failed(afterLast)).toHaveLength(1);
    expect(failed(afterLast)[0]?.detail).toMatchObject({
      secretId: scenario.arn,
      versionId: rotated.versionId,
    });
    expect(String(failed(afterLast)[0]?.detail.error)).toContain('region');
    expect(propagated(afterLast, rotated.versionId)).toEqual([]);
  }, 240_000);

  it('never prints a secret value in a log line or an event', async () => {
    expect(log.lines.length).toBeGreaterThan(0);
    expect(leaks(log.lines)).toEqual([]);
    expect(caughtAll.length).toBeGreaterThan(0);
    expect(leaks(caughtAll.map((e) => JSON.stringify(e)))).toEqual([]);
  });
});
