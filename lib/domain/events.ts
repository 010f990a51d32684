/**
 * What the rotation function accepts, read into hints. Every event is only a hint that a secret may have
 * a new AWSCURRENT; the caller re-reads the secret and converges, so duplicates, replays and stale events
 * are harmless.
 *
 * Input: a single EventBridge event, or an SQS event whose records each carry one EventBridge event as
 * their JSON `body` (EventBridge → SQS FIFO → function). Events from Secrets Manager:
 * - `Secret Label Updated`: acts when `detail.labelUpdated` is AWSCURRENT; the ARN is `resources[0]`.
 * - `AWS API Call via CloudTrail`: acts on PutSecretValue, UpdateSecret, UpdateSecretVersionStage and
 *   RestoreSecret that succeeded; the id is `requestParameters.secretId` (as the caller passed it: name,
 *   partial or full ARN), else `responseElements.arn` (`aRN` before February 2024).
 * - `AWS Service Event via CloudTrail`: RotationSucceeded acts (id in `additionalEventData.SecretId`, else
 *   `serviceEventDetails.secretId`); RotationFailed and RotationAbandoned become failures (no write).
 * A top-level `replay-name` marks an event replayed from an archive.
 *
 * Errors: input that is neither an SQS event nor an EventBridge event throws InvalidInput, and so does a
 * single EventBridge event that is malformed. Within an SQS batch a malformed record is reported in
 * `malformed` with its messageId (for a batch item failure) and the other records are still read.
 * Reasons are one line naming paths and expectations, never input values.
 */
import * as z from 'zod';
import { InvalidInput } from '../errors.js';
import { describeIssue } from './formats.js';
import { secretIdMatches, secretIdSpecificity } from './secret-id.js';

export type HintSource = 'label-updated' | 'cloudtrail-api' | 'rotation-succeeded';

/** A secret whose AWSCURRENT may have changed. */
export interface RotationHint {
  secretId: string;
  source: HintSource;
  eventId: string;
  eventTime: string;
  /** Only from `Secret Label Updated`; CloudTrail version ids are not reliable. */
  versionId?: string;
  replayed: boolean;
  messageId?: string;
}

/** A rotation that Secrets Manager reports as failed or abandoned: a metric and a log line, no write. */
export interface RotationFailure {
  secretId: string;
  eventId: string;
  messageId?: string;
  reason: string;
}

export interface IgnoredEvent {
  eventId: string;
  messageId?: string;
  reason: string;
}

export interface MalformedRecord {
  messageId?: string;
  reason: string;
}

export interface RotationHints {
  hints: RotationHint[];
  failures: RotationFailure[];
  ignored: IgnoredEvent[];
  malformed: MalformedRecord[];
}

/** The hints for one secret, with every event and SQS message that pointed at it. */
export interface CoalescedSecret {
  /** The most precise id seen (full ARN over partial ARN over name). */
  secretId: string;
  sources: HintSource[];
  eventIds: string[];
  messageIds: string[];
  versionIds: string[];
  /** True only when every hint was a replay. */
  replayed: boolean;
}

export const ACTIONABLE_API_CALLS = [
  'PutSecretValue',
  'UpdateSecret',
  'UpdateSecretVersionStage',
  'RestoreSecret',
] as const;

const ROTATION_FAILED = ['RotationFailed', 'RotationAbandoned'];
const ROTATION_STEP = /\b(createSecret|setSecret|testSecret|finishSecret)\b/;

/** The EventBridge envelope all accepted events share; `detail` is read per detail-type. */
export const eventBridgeEventSchema = z.looseObject({
  id: z.string().min(1),
  'detail-type': z.string().min(1),
  source: z.string().min(1),
  time: z.string().min(1),
  resources: z.array(z.string()).optional(),
  detail: z.record(z.string(), z.unknown()),
  'replay-name': z.string().optional(),
});

const nonEmpty = z.string().min(1);

/** `Secret Label Updated` (native Secrets Manager event). */
export const secretLabelUpdatedSchema = eventBridgeEventSchema.extend({
  detail: z.looseObject({ name: nonEmpty, labelUpdated: nonEmpty, versionId: nonEmpty }),
});

/** `AWS API Call via CloudTrail` for a Secrets Manager operation. */
export const apiCallSchema = eventBridgeEventSchema.extend({
  detail: z.looseObject({
    eventName: nonEmpty,
    errorCode: z.string().optional(),
    requestParameters: z.looseObject({ secretId: nonEmpty.optional() }).nullish(),
    responseElements: z.looseObject({ arn: nonEmpty.optional(), aRN: nonEmpty.optional() }).nullish(),
  }),
});

/** `AWS Service Event via CloudTrail` (rotation outcomes). */
export const serviceEventSchema = eventBridgeEventSchema.extend({
  detail: z.looseObject({
    eventName: nonEmpty,
    errorMessage: z.string().optional(),
    additionalEventData: z.looseObject({ SecretId: nonEmpty.optional() }).nullish(),
    serviceEventDetails: z.looseObject({ secretId: nonEmpty.optional() }).nullish(),
  }),
});

/** One SQS record as Lambda receives it; `body` is the EventBridge event as JSON text. */
export const sqsRecordSchema = z.looseObject({
  messageId: nonEmpty,
  body: z.string(),
  eventSource: z.literal('aws:sqs'),
});

const sqsEventSchema = z.looseObject({ Records: z.array(z.unknown()) });

type EventBridgeEvent = z.infer<typeof eventBridgeEventSchema>;

type Outcome =
  | { kind: 'hint'; hint: RotationHint }
  | { kind: 'failure'; failure: RotationFailure }
  | { kind: 'ignored'; ignored: IgnoredEvent }
  | { kind: 'malformed'; reason: string };

/** Reads a rotation-function input (SQS batch or single EventBridge event) into hints. */
export function readRotationHints(input: unknown): RotationHints {
  const result: RotationHints = { hints: [], failures: [], ignored: [], malformed: [] };
  if (isRecord(input) && 'Records' in input) {
    const sqs = sqsEventSchema.safeParse(input);
    if (!sqs.success) throw new InvalidInput(`not an SQS event: ${firstIssue(sqs.error)}`);
    for (const record of sqs.data.Records) collect(result, readRecord(record), messageIdOf(record));
    return result;
  }
  const outcome = readEvent(input);
  if (outcome.kind === 'malformed') throw new InvalidInput(`not an EventBridge event: ${outcome.reason}`);
  collect(result, outcome, undefined);
  return result;
}

/** One entry per secret, merging hints whose ids can name the same secret; every id is kept. */
export function coalesceBySecret(hints: readonly RotationHint[]): CoalescedSecret[] {
  const groups: CoalescedSecret[] = [];
  for (const hint of hints) {
    const group = groups.find((candidate) => secretIdMatches(candidate.secretId, hint.secretId));
    if (group === undefined) {
      groups.push({
        secretId: hint.secretId,
        sources: [hint.source],
        eventIds: [hint.eventId],
        messageIds: hint.messageId === undefined ? [] : [hint.messageId],
        versionIds: hint.versionId === undefined ? [] : [hint.versionId],
        replayed: hint.replayed,
      });
      continue;
    }
    if (secretIdSpecificity(hint.secretId) > secretIdSpecificity(group.secretId))
      group.secretId = hint.secretId;
    addOnce(group.sources, hint.source);
    addOnce(group.eventIds, hint.eventId);
    if (hint.messageId !== undefined) addOnce(group.messageIds, hint.messageId);
    if (hint.versionId !== undefined) addOnce(group.versionIds, hint.versionId);
    group.replayed &&= hint.replayed;
  }
  return groups;
}

function collect(result: RotationHints, outcome: Outcome, messageId: string | undefined): void {
  const withId = messageId === undefined ? {} : { messageId };
  if (outcome.kind === 'hint') result.hints.push({ ...outcome.hint, ...withId });
  else if (outcome.kind === 'failure') result.failures.push({ ...outcome.failure, ...withId });
  else if (outcome.kind === 'ignored') result.ignored.push({ ...outcome.ignored, ...withId });
  else result.malformed.push({ ...withId, reason: outcome.reason });
}

function readRecord(record: unknown): Outcome {
  const parsed = sqsRecordSchema.safeParse(record);
  if (!parsed.success) return { kind: 'malformed', reason: `not an SQS record: ${firstIssue(parsed.error)}` };
  let body: unknown;
  try {
    body = JSON.parse(parsed.data.body);
  } catch {
    return { kind: 'malformed', reason: 'body: expected JSON (an EventBridge event)' };
  }
  const outcome = readEvent(body);
  return outcome.kind === 'malformed' ? { kind: 'malformed', reason: `body: ${outcome.reason}` } : outcome;
}

function readEvent(input: unknown): Outcome {
  const envelope = eventBridgeEventSchema.safeParse(input);
  if (!envelope.success) return { kind: 'malformed', reason: firstIssue(envelope.error) };
  const event = envelope.data;
  const ignore = (reason: string): Outcome => ({
    kind: 'ignored',
    ignored: { eventId: event.id, reason: printable(reason) },
  });
  if (event.source !== 'aws.secretsmanager') return ignore('source is not aws.secretsmanager');
  switch (event['detail-type']) {
    case 'Secret Label Updated':
      return readLabelUpdated(input, event, ignore);
    case 'AWS API Call via CloudTrail':
      return readApiCall(input, event, ignore);
    case 'AWS Service Event via CloudTrail':
      return readServiceEvent(input, event, ignore);
    default:
      return ignore(`detail-type ${event['detail-type']} is not one the rotation function acts on`);
  }
}

function readLabelUpdated(input: unknown, event: EventBridgeEvent, ignore: (r: string) => Outcome): Outcome {
  const parsed = secretLabelUpdatedSchema.safeParse(input);
  if (!parsed.success) return { kind: 'malformed', reason: firstIssue(parsed.error) };
  const { detail } = parsed.data;
  if (detail.labelUpdated !== 'AWSCURRENT') return ignore(`label ${detail.labelUpdated} is not AWSCURRENT`);
  // resources[0] is the full ARN; the name also resolves, should an event ever arrive without it.
  const secretId = event.resources?.[0] || detail.name;
  return {
    kind: 'hint',
    hint: { ...hintBase(event, secretId, 'label-updated'), versionId: detail.versionId },
  };
}

function readApiCall(input: unknown, event: EventBridgeEvent, ignore: (r: string) => Outcome): Outcome {
  const parsed = apiCallSchema.safeParse(input);
  if (!parsed.success) return { kind: 'malformed', reason: firstIssue(parsed.error) };
  const { detail } = parsed.data;
  if (!(ACTIONABLE_API_CALLS as readonly string[]).includes(detail.eventName)) {
    return ignore(`${detail.eventName} does not change AWSCURRENT`);
  }
  if (detail.errorCode !== undefined) return ignore(`${detail.eventName} failed (${detail.errorCode})`);
  const secretId =
    detail.requestParameters?.secretId ?? detail.responseElements?.arn ?? detail.responseElements?.aRN;
  if (secretId === undefined) {
    return {
      kind: 'malformed',
      reason: 'detail: expected requestParameters.secretId or responseElements.arn (or aRN)',
    };
  }
  return { kind: 'hint', hint: hintBase(event, secretId, 'cloudtrail-api') };
}

function readServiceEvent(input: unknown, event: EventBridgeEvent, ignore: (r: string) => Outcome): Outcome {
  const parsed = serviceEventSchema.safeParse(input);
  if (!parsed.success) return { kind: 'malformed', reason: firstIssue(parsed.error) };
  const { detail } = parsed.data;
  const failed = ROTATION_FAILED.includes(detail.eventName);
  if (detail.eventName !== 'RotationSucceeded' && !failed) {
    return ignore(`${detail.eventName} is not a rotation outcome the function acts on`);
  }
  const secretId = detail.additionalEventData?.SecretId ?? detail.serviceEventDetails?.secretId;
  if (secretId === undefined) {
    return {
      kind: 'malformed',
      reason: 'detail: expected additionalEventData.SecretId or serviceEventDetails.secretId',
    };
  }
  if (!failed) return { kind: 'hint', hint: hintBase(event, secretId, 'rotation-succeeded') };
  const step = ROTATION_STEP.exec(detail.errorMessage ?? '')?.[1];
  const reason = step === undefined ? detail.eventName : `${detail.eventName} during ${step} step`;
  return { kind: 'failure', failure: { secretId, eventId: event.id, reason: printable(reason) } };
}

function hintBase(event: EventBridgeEvent, secretId: string, source: HintSource): RotationHint {
  return {
    secretId,
    source,
    eventId: event.id,
    eventTime: event.time,
    replayed: event['replay-name'] !== undefined,
  };
}

/** Reasons quote event fields (detail-type, eventName): kept to one short line, whatever the event holds. */
function printable(reason: string): string {
  const line = reason.replace(/[\p{Cc}\u2028\u2029]+/gu, ' ');
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}

function firstIssue(error: z.ZodError): string {
  const [issue] = error.issues;
  return issue === undefined ? 'invalid' : describeIssue(issue);
}

function messageIdOf(record: unknown): string | undefined {
  return isRecord(record) && typeof record.messageId === 'string' ? record.messageId : undefined;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function addOnce<T>(list: T[], item: T): void {
  if (!list.includes(item)) list.push(item);
}
