import { describe, expect, it } from 'vitest';
import { coalesceBySecret, type RotationHint, readRotationHints } from '../../../lib/domain/events.js';
import { InvalidInput } from '../../../lib/errors.js';

const ARN = 'arn:aws:secretsmanager:us-west-2:012345678901:secret:mySecret-a1b2c3';

/** The example from the Secrets Manager user guide ("Secret Label Updated event"), verbatim. */
const DOCUMENTED_LABEL_UPDATED =
  '{"version":"0","id":"6a7e8feb-b491-4cf7-a9f1-bf3703467718","detail-type":"Secret Label Updated","source":"aws.secretsmanager","account":"012345678901","time":"2024-02-06T16:43:48Z","region":"us-west-2","resources":["arn:aws:secretsmanager:us-west-2:012345678901:secret:mySecret-a1b2c3"],"detail":{"name":"mySecret","labelUpdated":"AWSCURRENT","versionId":"a1b2c3d4-5678-90ab-cdef-EXAMPLE11111"}}';

type Json = Record<string, unknown>;

const LABEL_UPDATED: Json = JSON.parse(DOCUMENTED_LABEL_UPDATED);

/** PutSecretValue as CloudTrail delivers it to EventBridge (trimmed userIdentity, real field set). */
const API_CALL: Json = {
  version: '0',
  id: '79f04f06-924c-7a00-b3f8-e532167d23e0',
  'detail-type': 'AWS API Call via CloudTrail',
  source: 'aws.secretsmanager',
  account: '012345678901',
  time: '2024-10-23T12:26:45Z',
  region: 'us-west-2',
  resources: [],
  detail: {
    eventVersion: '1.09',
    userIdentity: { type: 'AssumedRole', arn: 'arn:aws:sts::012345678901:assumed-role/platform-admin/alice' },
    eventTime: '2024-10-23T12:26:45Z',
    eventSource: 'secretsmanager.amazonaws.com',
    eventName: 'PutSecretValue',
    awsRegion: 'us-west-2',
    sourceIPAddress: '203.0.113.10',
    userAgent: 'aws-cli/2.15.0',
    requestParameters: { secretId: 'mySecret', clientRequestToken: '4d383ea9-084a-49c9-8722-cbfb0f25c456' },
    responseElements: { arn: ARN },
    requestID: 'b3a1f6f0-4c4e-4bd5-9f3e-7d2f1c0a9e8d',
    eventID: '12345678-1234-1234-1234-123456789012',
    readOnly: false,
    eventType: 'AwsApiCall',
    managementEvent: true,
    recipientAccountId: '012345678901',
    eventCategory: 'Management',
  },
};

/** RotationSucceeded as Secrets Manager records it: a service event, ARN in additionalEventData. */
const SERVICE_EVENT: Json = {
  version: '0',
  id: 'dd5fd657-7361-f5d2-0c0f-0fe27390611b',
  'detail-type': 'AWS Service Event via CloudTrail',
  source: 'aws.secretsmanager',
  account: '012345678901',
  time: '2024-02-06T16:43:47Z',
  region: 'us-west-2',
  resources: [],
  detail: {
    eventVersion: '1.08',
    userIdentity: { accountId: '012345678901', invokedBy: 'secretsmanager.amazonaws.com' },
    eventTime: '2024-02-06T16:43:47Z',
    eventSource: 'secretsmanager.amazonaws.com',
    eventName: 'RotationSucceeded',
    awsRegion: 'us-west-2',
    sourceIPAddress: 'secretsmanager.amazonaws.com',
    userAgent: 'secretsmanager.amazonaws.com',
    requestParameters: null,
    responseElements: null,
    additionalEventData: { SecretId: ARN },
    requestID: `Rotation-${ARN}-7ac47c8c-f328-423b-9698-6926dd1f293e`,
    eventID: '638c6d2d-e098-4100-a3e0-a4b7b87e5b92',
    readOnly: false,
    eventType: 'AwsServiceEvent',
    managementEvent: true,
    recipientAccountId: '012345678901',
    eventCategory: 'Management',
  },
};

/** A copy of an event with top-level and `detail` fields changed; `undefined` removes a field. */
function tweak(event: Json, top: Json = {}, detail: Json = {}): Json {
  const drop = (object: Json): Json =>
    Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined));
  return drop({ ...event, ...top, detail: drop({ ...(event.detail as Json), ...detail }) });
}

function sqsRecord(messageId: string, body: unknown): Json {
  return {
    messageId,
    receiptHandle: `AQEB${messageId}`,
    body: typeof body === 'string' ? body : JSON.stringify(body),
    attributes: { MessageGroupId: ARN, ApproximateReceiveCount: '1' },
    messageAttributes: {},
    md5OfBody: '0123456789abcdef0123456789abcdef',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-west-2:012345678901:identity-relay-rotation.fifo',
    awsRegion: 'us-west-2',
  };
}

/** Every string in the input of eight characters or more: none may appear in an error. */
function inputValues(input: unknown): string[] {
  if (typeof input === 'string') return input.length >= 8 ? [input] : [];
  if (typeof input !== 'object' || input === null) return [];
  return Object.values(input).flatMap(inputValues);
}

function captureError(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error('expected an error');
}

describe('readRotationHints', () => {
  it("reads an event forwarded from another account (its account is the secret's) like a local one", () => {
    // Prepare: what a source account's forwarder delivers: the event as its own bus saw it.
    const remote = 'arn:aws:secretsmanager:us-west-2:345678901234:secret:capa/static-ZxY987';
    const forwarded = tweak(LABEL_UPDATED, { account: '345678901234', resources: [remote] });

    // Act
    const result = readRotationHints(forwarded);

    // Assess
    expect(result.malformed).toEqual([]);
    expect(result.hints.map((h) => h.secretId)).toEqual([remote]);
  });

  it('reads the documented Secret Label Updated example as a hint for its ARN', () => {
    // Act
    const result = readRotationHints(JSON.parse(DOCUMENTED_LABEL_UPDATED));

    // Assess
    expect(result).toEqual({
      hints: [
        {
          secretId: ARN,
          source: 'label-updated',
          eventId: '6a7e8feb-b491-4cf7-a9f1-bf3703467718',
          eventTime: '2024-02-06T16:43:48Z',
          versionId: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE11111',
          replayed: false,
        },
      ],
      failures: [],
      ignored: [],
      malformed: [],
    });
  });

  it.each<[string, Json, Partial<RotationHint>]>([
    [
      'a replayed label update as replayed',
      tweak(LABEL_UPDATED, { 'replay-name': 'rotation-replay-1' }),
      { secretId: ARN, replayed: true },
    ],
    [
      'a label update without resources by its name',
      tweak(LABEL_UPDATED, { resources: [] }),
      { secretId: 'mySecret' },
    ],
    [
      'PutSecretValue by the id the caller passed',
      API_CALL,
      { secretId: 'mySecret', source: 'cloudtrail-api' },
    ],
    ['UpdateSecret', tweak(API_CALL, {}, { eventName: 'UpdateSecret' }), { secretId: 'mySecret' }],
    [
      'UpdateSecretVersionStage',
      tweak(API_CALL, {}, { eventName: 'UpdateSecretVersionStage' }),
      { secretId: 'mySecret' },
    ],
    ['RestoreSecret', tweak(API_CALL, {}, { eventName: 'RestoreSecret' }), { secretId: 'mySecret' }],
    [
      'an API call with a partial ARN',
      tweak(API_CALL, {}, { requestParameters: { secretId: ARN.slice(0, -7) } }),
      { secretId: ARN.slice(0, -7) },
    ],
    [
      'an API call without request parameters by its response ARN',
      tweak(API_CALL, {}, { requestParameters: null }),
      { secretId: ARN },
    ],
    [
      'a pre-2024 API call by its aRN',
      tweak(API_CALL, {}, { requestParameters: null, responseElements: { aRN: ARN } }),
      { secretId: ARN },
    ],
    [
      'RotationSucceeded by additionalEventData',
      SERVICE_EVENT,
      { secretId: ARN, source: 'rotation-succeeded' },
    ],
    [
      'RotationSucceeded by serviceEventDetails',
      tweak(SERVICE_EVENT, {}, { additionalEventData: undefined, serviceEventDetails: { secretId: ARN } }),
      { secretId: ARN, source: 'rotation-succeeded' },
    ],
  ])('reads %s', (_case, event, expected) => {
    // Act
    const { hints, ignored, malformed } = readRotationHints(event);

    // Assess
    expect(ignored).toEqual([]);
    expect(malformed).toEqual([]);
    expect(hints).toHaveLength(1);
    expect(hints[0]).toMatchObject({
      eventId: event.id,
      eventTime: event.time,
      replayed: false,
      ...expected,
    });
  });

  it.each<[string, Json, string]>([
    [
      'a label other than AWSCURRENT',
      tweak(LABEL_UPDATED, {}, { labelUpdated: 'MyLabel' }),
      'label MyLabel is not AWSCURRENT',
    ],
    [
      'an event from another source',
      tweak(LABEL_UPDATED, { source: 'aws.ssm' }),
      'source is not aws.secretsmanager',
    ],
    [
      'a Secrets Manager event of another detail-type',
      tweak(LABEL_UPDATED, { 'detail-type': 'Secret Deleted' }),
      'detail-type Secret Deleted is not one the rotation function acts on',
    ],
    [
      'a read-only API call',
      tweak(API_CALL, {}, { eventName: 'GetSecretValue' }),
      'GetSecretValue does not change AWSCURRENT',
    ],
    [
      'a rotation that only started',
      tweak(SERVICE_EVENT, {}, { eventName: 'RotationStarted' }),
      'RotationStarted is not a rotation outcome the function acts on',
    ],
    [
      'an API call that failed',
      tweak(API_CALL, {}, { errorCode: 'AccessDenied', responseElements: null }),
      'PutSecretValue failed (AccessDenied)',
    ],
  ])('ignores %s with a reason', (_case, event, reason) => {
    // Act
    const result = readRotationHints(event);

    // Assess
    expect(result).toEqual({
      hints: [],
      failures: [],
      ignored: [{ eventId: event.id, reason }],
      malformed: [],
    });
  });

  it.each<[string, Json, string]>([
    [
      'RotationFailed naming its step',
      tweak(
        SERVICE_EVENT,
        {},
        {
          eventName: 'RotationFailed',
          errorMessage:
            'Error when executing lambda arn:aws:lambda:us-west-2:012345678901:function:rotate during createSecret step',
        },
      ),
      'RotationFailed during createSecret step',
    ],
    [
      'RotationAbandoned without a message',
      tweak(SERVICE_EVENT, {}, { eventName: 'RotationAbandoned' }),
      'RotationAbandoned',
    ],
  ])('reports %s as a failure, not a hint', (_case, event, reason) => {
    // Act
    const result = readRotationHints(event);

    // Assess
    expect(result).toEqual({
      hints: [],
      failures: [{ secretId: ARN, eventId: event.id, reason }],
      ignored: [],
      malformed: [],
    });
  });

  it('reads every good record of an SQS batch and lists each malformed one by messageId', () => {
    // Prepare
    const batch = {
      Records: [
        sqsRecord('m-label', LABEL_UPDATED),
        sqsRecord('m-not-json', '{"version":"0",'),
        sqsRecord('m-no-version', tweak(LABEL_UPDATED, {}, { versionId: undefined })),
        { ...sqsRecord('m-kinesis', API_CALL), eventSource: 'aws:kinesis' },
        sqsRecord('m-no-id', tweak(API_CALL, {}, { requestParameters: null, responseElements: null })),
        sqsRecord('m-service', SERVICE_EVENT),
        sqsRecord('m-ignored', tweak(API_CALL, {}, { eventName: 'TagResource' })),
      ],
    };

    // Act
    const result = readRotationHints(batch);

    // Assess
    expect(result.hints.map((hint) => [hint.messageId, hint.source])).toEqual([
      ['m-label', 'label-updated'],
      ['m-service', 'rotation-succeeded'],
    ]);
    expect(result.ignored).toEqual([
      { eventId: API_CALL.id, messageId: 'm-ignored', reason: 'TagResource does not change AWSCURRENT' },
    ]);
    expect(result.malformed).toEqual([
      { messageId: 'm-not-json', reason: 'body: expected JSON (an EventBridge event)' },
      {
        messageId: 'm-no-version',
        reason: 'body: detail.versionId: Invalid input: expected string, received undefined',
      },
      { messageId: 'm-kinesis', reason: 'not an SQS record: eventSource: Invalid input: expected "aws:sqs"' },
      {
        messageId: 'm-no-id',
        reason: 'body: detail: expected requestParameters.secretId or responseElements.arn (or aRN)',
      },
    ]);
    for (const value of inputValues(batch)) {
      for (const { reason } of result.malformed) expect(reason).not.toContain(value);
    }
  });

  it('returns nothing for an empty SQS batch', () => {
    // Act
    const result = readRotationHints({ Records: [] });

    // Assess
    expect(result).toEqual({ hints: [], failures: [], ignored: [], malformed: [] });
  });

  it.each<[string, unknown, string]>([
    ['null', null, 'not an EventBridge event: (root): Invalid input: expected object, received null'],
    [
      'a JSON string',
      DOCUMENTED_LABEL_UPDATED,
      'not an EventBridge event: (root): Invalid input: expected object, received string',
    ],
    [
      'an SQS event whose Records is not a list',
      { Records: { body: DOCUMENTED_LABEL_UPDATED } },
      'not an SQS event: Records: Invalid input: expected array, received object',
    ],
    [
      'an event without an id',
      tweak(LABEL_UPDATED, { id: undefined }),
      'not an EventBridge event: id: Invalid input: expected string, received undefined',
    ],
    [
      'an event without detail',
      { ...LABEL_UPDATED, detail: undefined },
      'not an EventBridge event: detail: Invalid input: expected record, received undefined',
    ],
    [
      'a label update without a version id',
      tweak(LABEL_UPDATED, {}, { versionId: undefined }),
      'not an EventBridge event: detail.versionId: Invalid input: expected string, received undefined',
    ],
    [
      'an API call that names no secret',
      tweak(API_CALL, {}, { requestParameters: null, responseElements: null }),
      'not an EventBridge event: detail: expected requestParameters.secretId or responseElements.arn (or aRN)',
    ],
    [
      'a rotation outcome that names no secret',
      tweak(SERVICE_EVENT, {}, { additionalEventData: null }),
      'not an EventBridge event: detail: expected additionalEventData.SecretId or serviceEventDetails.secretId',
    ],
  ])('throws InvalidInput for %s with one line that echoes no input', (_case, input, message) => {
    // Act
    const error = captureError(() => readRotationHints(input));

    // Assess
    expect(error).toBeInstanceOf(InvalidInput);
    expect((error as InvalidInput).message).toBe(message);
    for (const value of inputValues(input)) expect((error as InvalidInput).message).not.toContain(value);
  });
});

describe('coalesceBySecret', () => {
  const hint = (secretId: string, eventId: string, messageId: string, replayed = false): RotationHint => ({
    secretId,
    source: 'cloudtrail-api',
    eventId,
    eventTime: '2024-02-06T16:43:48Z',
    replayed,
    messageId,
  });

  it('merges a name, partial ARN and full ARN of one secret under the full ARN, keeping every record', () => {
    // Prepare
    const hints = [hint('mySecret', 'e1', 'm1'), hint(ARN.slice(0, -7), 'e2', 'm2'), hint(ARN, 'e3', 'm3')];

    // Act
    const coalesced = coalesceBySecret(hints);

    // Assess
    expect(coalesced).toEqual([
      {
        secretId: ARN,
        sources: ['cloudtrail-api'],
        eventIds: ['e1', 'e2', 'e3'],
        messageIds: ['m1', 'm2', 'm3'],
        versionIds: [],
        replayed: false,
      },
    ]);
  });

  it('keeps a duplicate delivery of one event once by event id but every message id', () => {
    // Act
    const [only] = coalesceBySecret([hint(ARN, 'e1', 'm1'), hint(ARN, 'e1', 'm2')]);

    // Assess
    expect(only).toMatchObject({ eventIds: ['e1'], messageIds: ['m1', 'm2'] });
  });

  it('keeps different secrets apart', () => {
    // Act
    const coalesced = coalesceBySecret([hint('mySecret', 'e1', 'm1'), hint('otherSecret', 'e2', 'm2')]);

    // Assess
    expect(coalesced.map((entry) => entry.secretId)).toEqual(['mySecret', 'otherSecret']);
  });

  it.each([
    ['every hint was a replay', [true, true], true],
    ['one hint was live', [true, false], false],
  ])('marks a secret replayed only when %s', (_case, flags, replayed) => {
    // Act
    const [only] = coalesceBySecret(flags.map((flag, index) => hint(ARN, `e${index}`, `m${index}`, flag)));

    // Assess
    expect(only?.replayed).toBe(replayed);
  });
});
