// Property-based faults over every input schema: random values and mutated valid inputs. Pure (fakes at
// the ports, no cluster): whatever arrives, nothing is written unless an event really names a bound
// secret, nothing but a RelayError is thrown, and every reason is one line.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createHandler } from '../../functions/rotation/handler.js';
import {
  auditJobs,
  distributionJobSchema,
  readCloudWatchLogs,
  readEventList,
} from '../../lib/domain/audit.js';
import { readRotationHints } from '../../lib/domain/events.js';
import { secretIdMatches } from '../../lib/domain/secret-id.js';
import { RelayError } from '../../lib/errors.js';
import { receiveWebhook } from '../../lib/use-cases/audit-intake.js';
import { runJobs } from '../../lib/use-cases/run-jobs.js';
import { capturingLog, capturingMetrics, rememberSecret } from '../helpers/capture.js';
import { lambdaContext } from '../helpers/lambda.js';
import {
  fakeCluster,
  fakeSource,
  mutated,
  oneLine,
  rotationEvent,
  SOURCE_ARN,
  sqsOf,
  validEventList,
} from './arbitraries.js';
import { leaks } from './support.js';

const RUNS = { numRuns: 300 };
const log = capturingLog();

/** Runs `fn`; a thrown value must be a RelayError with a one-line message. */
function typedOrResult<T>(fn: () => T): T | RelayError {
  try {
    return fn();
  } catch (error) {
    expect(error).toBeInstanceOf(RelayError);
    expect(oneLine((error as RelayError).message)).toBe(true);
    return error as RelayError;
  }
}

describe('rotation event schemas', () => {
  const anyInput = fc.oneof(
    fc.anything(),
    sqsOf(fc.anything()),
    rotationEvent,
    mutated(rotationEvent),
    sqsOf(mutated(rotationEvent)),
  );

  it('reads any input into hints or a typed error, with one-line reasons', () => {
    fc.assert(
      fc.property(anyInput, (input) => {
        const result = typedOrResult(() => readRotationHints(input));
        if (result instanceof RelayError) return;
        const reasons = [...result.failures, ...result.ignored, ...result.malformed].map((r) => r.reason);
        for (const reason of reasons) expect(oneLine(reason)).toBe(true);
      }),
      RUNS,
    );
  });

  it('accounts for every SQS record exactly once', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(mutated(rotationEvent), fc.anything()), { maxLength: 10 }), (bodies) => {
        const input = {
          Records: bodies.map((body, i) => ({
            messageId: `m${i}`,
            body: JSON.stringify(body) ?? 'undefined',
            eventSource: 'aws:sqs',
          })),
        };
        const result = readRotationHints(input);
        const seen = [...result.hints, ...result.failures, ...result.ignored, ...result.malformed];
        expect(seen.map((r) => r.messageId).sort()).toEqual(input.Records.map((r) => r.messageId).sort());
      }),
      RUNS,
    );
  });

  it('never writes through the rotation handler unless an event names the bound secret', async () => {
    const cluster = fakeCluster();
    const source = fakeSource(
      rememberSecret(
        JSON.stringify({ AccessKeyID: 'AKIAPROPERTY00000001', SecretAccessKey: `prop-${Date.now()}-secret` }),
      ),
    );
    const handler = createHandler({
      log,
      metrics: capturingMetrics(),
      deps: async () => ({
        source,
        mgmt: cluster,
        connector: { connect: () => cluster },
        log,
        systemNamespace: 'kcm-system',
        watchNamespaces: ['kcm-system'],
        now: () => new Date(0),
      }),
    });
    await fc.assert(
      fc.asyncProperty(anyInput, async (input) => {
        const before = cluster.writes.length;
        const hints = typedOrResult(() => readRotationHints(input));
        const named =
          !(hints instanceof RelayError) && hints.hints.some((h) => secretIdMatches(SOURCE_ARN, h.secretId));
        await handler(input, lambdaContext()).catch((error: unknown) => {
          expect(error).toBeInstanceOf(RelayError);
          expect(oneLine((error as RelayError).message)).toBe(true);
        });
        if (!named) expect(cluster.writes.length).toBe(before);
      }),
      RUNS,
    );
    expect(cluster.writes.length).toBeGreaterThan(0); // mutated events that stay valid do write
  });
});

describe('audit EventList', () => {
  const anyBody = fc.oneof(fc.anything(), validEventList, mutated(validEventList));

  it('reads any body into events or a typed error with a one-line reason', () => {
    fc.assert(
      fc.property(anyBody, (body) => {
        const items = typedOrResult(() => readEventList(body));
        if (items instanceof RelayError) return;
        const batch = auditJobs(items, {
          identityResources: new Map([['awsclusterstaticidentities', 'AWSClusterStaticIdentity']]),
        });
        for (const item of batch.quarantined) expect(oneLine(item.reason)).toBe(true);
        for (const job of batch.jobs) expect(distributionJobSchema.safeParse(job).success).toBe(true);
        expect(batch.counts.received).toBe(items.length);
      }),
      RUNS,
    );
  });

  it('reads any CloudWatch Logs data into events or a typed error', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.record({
            messageType: fc.constantFrom('DATA_MESSAGE', 'CONTROL_MESSAGE'),
            logEvents: fc.array(
              fc.record({
                id: fc.string(),
                message: fc.oneof(
                  fc.string(),
                  validEventList.map((l) => JSON.stringify(l.items[0])),
                ),
              }),
            ),
          }),
        ),
        (data) => {
          typedOrResult(() => readCloudWatchLogs(data));
        },
      ),
      RUNS,
    );
  });

  it('answers every webhook request with a status and a one-line reason, enqueueing only for accepted ones', async () => {
    const sent: string[] = [];
    const deps = {
      queue: {
        send: async (messages: Array<{ body: string }>) => void sent.push(...messages.map((m) => m.body)),
      },
      token: { verify: async (authorization: string | undefined) => authorization === 'Bearer right' },
      filter: { identityResources: new Map<string, string>() },
      maxBodyBytes: 64 * 1024,
      log,
      metrics: capturingMetrics(),
      now: () => new Date(0),
    };
    const request = fc.record({
      method: fc.constantFrom('POST', 'GET', 'post'),
      authorization: fc.constantFrom('Bearer right', 'Bearer wrong', 'right'),
      body: fc.oneof(
        fc.string(),
        anyBody.map((b) => JSON.stringify(b) ?? ''),
      ),
      isBase64Encoded: fc.boolean(),
    });
    await fc.assert(
      fc.asyncProperty(request, async (req) => {
        const before = sent.length;
        const outcome = await receiveWebhook(deps, req);
        if (outcome.status !== 'accepted') {
          expect(oneLine(outcome.reason)).toBe(true);
          expect(sent.length).toBe(before);
        }
        for (const body of sent.slice(before))
          expect(distributionJobSchema.safeParse(JSON.parse(body)).success).toBe(true);
      }),
      RUNS,
    );
  });

  it('turns any distribution job body into an outcome, never a crash or a write', async () => {
    const cluster = fakeCluster();
    const deps = {
      mgmt: cluster,
      connector: { connect: () => cluster },
      log,
      systemNamespace: 'kcm-system',
      now: () => new Date(0),
      metrics: capturingMetrics(),
    };
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.string(),
            fc.anything().map((v) => JSON.stringify(v) ?? ''),
          ),
          { maxLength: 5 },
        ),
        async (bodies) => {
          const outcomes = await runJobs(
            deps,
            bodies.map((body, i) => ({ messageId: `m${i}`, body })),
          );
          expect(outcomes).toHaveLength(bodies.length);
          for (const outcome of outcomes) if (outcome.error) expect(oneLine(outcome.error)).toBe(true);
        },
      ),
      { numRuns: 100 },
    );
    expect(cluster.writes).toEqual([]);
  });
});

it('never prints a secret value in a log line', () => {
  expect(log.lines.length).toBeGreaterThan(0);
  expect(leaks(log.lines)).toEqual([]);
});
