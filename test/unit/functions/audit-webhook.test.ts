import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createHandler, type HttpResponse } from '../../../functions/audit-webhook/handler.js';
import { auditRuntimeFromEnvironment } from '../../../functions/shared/runtime.js';
import { DEFAULT_IDENTITY_KINDS, identityResources } from '../../../lib/domain/audit.js';
import { TransientFailure } from '../../../lib/errors.js';
import type { JobQueue, QueueMessage, SecretSource } from '../../../lib/ports.js';
import { type AuditIntakeDeps, secretTokenVerifier } from '../../../lib/use-cases/audit-intake.js';
import { capturingLog, capturingMetrics } from '../../helpers/capture.js';
import { lambdaContext } from '../../helpers/lambda.js';

const fixtureText = (name: string): string =>
  readFileSync(new URL(`../../fixtures/audit/${name}`, import.meta.url), 'utf8');
const TOKEN = 'webhook-token-0123456789abcdef';

/** A queue that keeps what it is sent, or fails when told to. */
function memoryQueue(): JobQueue & { sent: QueueMessage[]; fail: boolean } {
  const queue = {
    sent: [] as QueueMessage[],
    fail: false,
    async send(messages: QueueMessage[]) {
      if (queue.fail) throw new TransientFailure('queue test: ServiceUnavailable (HTTP 503)');
      queue.sent.push(...messages);
    },
  };
  return queue;
}

/** A SecretSource holding the webhook token, counting reads. */
function tokenSource(initial: string): SecretSource & { value: string; reads: number } {
  const source = {
    value: initial,
    reads: 0,
    async getCurrent() {
      source.reads += 1;
      return {
        arn: 'arn:token',
        name: 'token',
        versionId: `v${source.reads}`,
        secretString: `${source.value}\n`,
      };
    },
    async currentVersion() {
      return { arn: 'arn:token', name: 'token', versionId: 'v' };
    },
  };
  return source;
}

function setup(options: { maxBodyBytes?: number; namespaces?: string[] } = {}) {
  const log = capturingLog();
  const metrics = capturingMetrics();
  const queue = memoryQueue();
  const quarantine = memoryQueue();
  const source = tokenSource(TOKEN);
  let clock = 0;
  const deps: AuditIntakeDeps = {
    queue,
    quarantine,
    token: secretTokenVerifier(source, 'arn:token', { now: () => clock, minRefreshMs: 5000 }),
    filter: {
      identityResources: identityResources(DEFAULT_IDENTITY_KINDS),
      relayUsername: 'system:serviceaccount:identity-relay-system:identity-relay',
    },
    maxBodyBytes: options.maxBodyBytes ?? 6 * 1024 * 1024,
    ...(options.namespaces ? { namespaces: new Set(options.namespaces) } : {}),
    log,
    metrics,
    now: () => new Date('2026-11-23T13:00:00Z'),
  };
  const handler = createHandler({ log, metrics, deps: async () => deps });
  const post = async (body: string, headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` }) =>
    (await handler(
      {
        version: '2.0',
        headers: { 'content-type': 'application/json', ...headers },
        body,
        isBase64Encoded: false,
        requestContext: { http: { method: 'POST', path: '/' } },
      },
      lambdaContext(),
    )) as HttpResponse;
  return { handler, post, queue, quarantine, source, log, metrics, tick: (ms: number) => (clock += ms) };
}

describe('audit-webhook function', () => {
  it('enqueues one job per object of a recorded EventList, grouped by object and deduplicated by auditID', async () => {
    // Prepare
    const { post, queue } = setup();

    // Act
    const response = await post(fixtureText('scenario.json'));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(queue.sent).toHaveLength(6);
    const secret = queue.sent.find((m) => m.groupId === '/secrets/capture-full/aws-creds');
    expect(JSON.parse(secret?.body ?? '{}')).toMatchObject({ kind: 'Secret', verb: 'delete' });
    expect(secret?.deduplicationId).toBe(JSON.parse(secret?.body ?? '{}').auditID);
  });

  it('accepts a recorded batch of 400 events', async () => {
    const { post, queue } = setup();
    expect((await post(fixtureText('batch-400.json'))).statusCode).toBe(200);
    expect(queue.sent).toHaveLength(196);
  });

  it.each([
    ['no Authorization header', {}],
    ['a wrong token', { authorization: 'Bearer not-the-token' }],
    ['another scheme', { authorization: `Basic ${TOKEN}` }],
  ])('answers 401 to %s and enqueues nothing', async (_, headers) => {
    const { post, queue } = setup();
    expect((await post(fixtureText('scenario.json'), headers)).statusCode).toBe(401);
    expect(queue.sent).toEqual([]);
  });

  it('reads the token again on a mismatch, so a rotated token works, but not more than every few seconds', async () => {
    // Prepare
    const { post, source, tick } = setup();
    expect((await post(fixtureText('scenario.json'))).statusCode).toBe(200);
    source.value = 'rotated-token-abcdef0123456789';
    const rotated = { authorization: 'Bearer rotated-token-abcdef0123456789' };

    // Act
    tick(1000);
    const tooSoon = await post(fixtureText('scenario.json'), rotated);
    tick(5000);
    const after = await post(fixtureText('scenario.json'), rotated);
    const wrong = await post(fixtureText('scenario.json'), { authorization: 'Bearer wrong' });

    // Assess
    expect([tooSoon.statusCode, after.statusCode, wrong.statusCode]).toEqual([401, 200, 401]);
    expect(source.reads).toBe(2);
  });

  it('stops accepting a rotated-out token once the cached one is five minutes old', async () => {
    // Prepare: the token is read on the first request and the operator rotates it right after.
    const { post, source, tick } = setup();
    expect((await post(fixtureText('scenario.json'))).statusCode).toBe(200);
    source.value = 'rotated-token-abcdef0123456789';

    // Act: the old token, within and past five minutes of the first read.
    tick(4 * 60_000);
    const within = await post(fixtureText('scenario.json'));
    tick(60_000);
    const past = await post(fixtureText('scenario.json'));

    // Assess
    expect([within.statusCode, past.statusCode]).toEqual([200, 401]);
    expect(source.reads).toBe(2);
  });

  it('drops Secret writes from unwatched namespaces with a metric, and keeps Credentials from any namespace', async () => {
    // Prepare: the recorded scenario's Secrets and Credentials sit in namespace capture-full, one Secret in kcm-system.
    const { post, queue, metrics } = setup({ namespaces: ['kcm-system', 'team-a'] });

    // Act
    const response = await post(fixtureText('scenario.json'));

    // Assess
    const jobs = queue.sent.map((m) => JSON.parse(m.body) as { kind: string; namespace?: string });
    expect(response.statusCode).toBe(200);
    expect(jobs.filter((j) => j.kind === 'Secret').map((j) => j.namespace)).toEqual(['kcm-system']);
    expect(jobs.filter((j) => j.namespace === 'capture-full').map((j) => j.kind)).toEqual(
      expect.arrayContaining(['Credential']),
    );
    expect(jobs.some((j) => j.kind === 'Secret' && j.namespace === 'capture-full')).toBe(false);
    expect(jobs.some((j) => j.namespace === undefined)).toBe(true);
    expect(metrics.recorded).toContainEqual({ name: 'AuditJobsUnwatched', value: 1 });
  });

  it('filters to the system namespace and WATCH_NAMESPACES of its environment', async () => {
    const runtime = auditRuntimeFromEnvironment('identity-relay-audit-webhook', {
      AUDIT_TOKEN_SECRET_ARN: 'arn:token',
      DISTRIBUTION_QUEUE_URL: 'https://queue.invalid/jobs.fifo',
      SYSTEM_NAMESPACE: 'kcm-system',
      WATCH_NAMESPACES: 'kcm-system, team-a',
      AWS_REGION: 'eu-central-1',
    });

    const deps = await runtime.deps();

    expect([...(deps.namespaces ?? [])].sort()).toEqual(['kcm-system', 'team-a']);
  });

  it('answers 413 to a body over the limit', async () => {
    const { post, queue } = setup({ maxBodyBytes: 100_000 });
    expect((await post(fixtureText('batch-400.json'))).statusCode).toBe(413);
    expect(queue.sent).toEqual([]);
  });

  it.each([
    ['not JSON', '{"kind":', 'body is not JSON'],
    ['not an EventList', '{"kind":"Event","apiVersion":"audit.k8s.io/v1"}', 'not an audit EventList: kind: '],
  ])('answers 400 with a one-line reason to a body that is %s', async (_, body, reason) => {
    const response = await post400(body);
    expect(response.statusCode).toBe(400);
    expect(response.body.startsWith(reason)).toBe(true);
    expect(response.body.trim()).not.toContain('\n');
  });

  it('accepts an EventList with unreadable items, quarantining them without their content', async () => {
    // Prepare
    const list = JSON.parse(fixtureText('scenario.json'));
    list.items.push({
      auditID: 'broken-1',
      stage: 'ResponseComplete',
      verb: ['x'],
      requestObject: { data: 'x' },
    });
    const { post, queue, quarantine } = setup();

    // Act
    const response = await post(JSON.stringify(list));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(queue.sent).toHaveLength(6);
    expect(quarantine.sent.map((m) => JSON.parse(m.body))).toEqual([
      expect.objectContaining({
        source: 'webhook',
        index: 258,
        auditID: 'broken-1',
        reason: expect.any(String),
      }),
    ]);
    expect(quarantine.sent[0]?.body).not.toContain('requestObject');
  });

  it('answers 503 when enqueueing fails, so the apiserver retries the batch', async () => {
    const { post, queue } = setup();
    queue.fail = true;
    const response = await post(fixtureText('scenario.json'));
    expect(response.statusCode).toBe(503);
  });

  it('answers 405 to anything but POST', async () => {
    const { handler } = setup();
    const response = (await handler(
      { headers: {}, body: '', isBase64Encoded: false, requestContext: { http: { method: 'GET' } } },
      lambdaContext(),
    )) as HttpResponse;
    expect(response.statusCode).toBe(405);
  });

  it('reads a base64-encoded body', async () => {
    const { handler, queue } = setup();
    const response = (await handler(
      {
        headers: { authorization: `Bearer ${TOKEN}` },
        body: Buffer.from(fixtureText('scenario.json')).toString('base64'),
        isBase64Encoded: true,
        requestContext: { http: { method: 'POST' } },
      },
      lambdaContext(),
    )) as HttpResponse;
    expect(response.statusCode).toBe(200);
    expect(queue.sent).toHaveLength(6);
  });

  it('enqueues EKS audit events delivered by a CloudWatch Logs subscription', async () => {
    const { handler, queue } = setup();
    await handler(JSON.parse(fixtureText('cloudwatch-logs.json')), lambdaContext());
    expect(queue.sent).toHaveLength(6);
  });

  it('never logs a request body, token or Secret data', async () => {
    // Prepare
    const { post, log } = setup();

    // Act
    await post(fixtureText('scenario.json'));
    await post(fixtureText('scenario.json'), { authorization: 'Bearer wrong-token-value' });

    // Assess
    const text = log.lines.join('\n');
    expect(log.lines.length).toBeGreaterThan(0);
    expect(text).not.toMatch(/requestObject|responseObject|scrubbed|c2NydWJiZWQ=|wrong-token-value/);
    expect(text).not.toContain(TOKEN);
  });
});

async function post400(body: string): Promise<HttpResponse> {
  return setup().post(body);
}
