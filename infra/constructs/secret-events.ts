/**
 * EventBridge rules on the default bus that turn Secrets Manager changes of the watched secrets into
 * jobs on the rotation queue, each with an archive of exactly the events it matches (the replay source).
 */
import { Duration, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { partitionOf, type RelayConfig, sourceAccountIds } from '../config.js';

/** CloudTrail API calls that change a secret's value or staging labels. */
export const CLOUDTRAIL_API_EVENTS = [
  'PutSecretValue',
  'UpdateSecret',
  'UpdateSecretVersionStage',
  'RestoreSecret',
];
/** CloudTrail service events of managed rotation. */
export const CLOUDTRAIL_SERVICE_EVENTS = ['RotationSucceeded', 'RotationFailed', 'RotationAbandoned'];

function secretArnBase(config: RelayConfig): string {
  return `arn:${partitionOf(config.region)}:secretsmanager:${config.region}:${config.account}:secret:`;
}

/** The watched secrets named by full ARN: this account's, and those of the source accounts. */
function exactArns(config: RelayConfig): string[] {
  return [...config.watchedSecrets.arns, ...(config.sourceAccounts?.arns ?? [])];
}

/** Matches the watched secrets' full ARNs exactly and the name prefixes as ARN prefixes. */
function arnMatchers(config: RelayConfig): string[] {
  const base = secretArnBase(config);
  return events.Match.anyOf(
    ...exactArns(config).map((arn) => events.Match.exactString(arn)),
    ...config.watchedSecrets.namePrefixes.map((prefix) => events.Match.prefix(`${base}${prefix}`)),
  );
}

/**
 * Matches a CloudTrail `secretId` request parameter, which holds whatever the caller passed: a name,
 * a partial ARN (no random suffix) or a full ARN.
 */
function secretIdMatchers(config: RelayConfig): string[] {
  const base = secretArnBase(config);
  const exact = exactArns(config).flatMap((arn) => {
    const partial = arn.slice(0, -'-XXXXXX'.length);
    // A name alone says nothing of the account: only this account's secrets match by name.
    return arn.startsWith(base) ? [arn, partial, partial.slice(base.length)] : [arn, partial];
  });
  return events.Match.anyOf(
    ...exact.map((id) => events.Match.exactString(id)),
    ...config.watchedSecrets.namePrefixes.flatMap((prefix) => [
      events.Match.prefix(prefix),
      events.Match.prefix(`${base}${prefix}`),
    ]),
  );
}

/** `Secret Label Updated` with AWSCURRENT for the watched secrets (native, no trail needed). */
export function labelUpdatedPattern(config: RelayConfig): events.EventPattern {
  return {
    source: ['aws.secretsmanager'],
    detailType: ['Secret Label Updated'],
    resources: arnMatchers(config),
    detail: { labelUpdated: ['AWSCURRENT'] },
  };
}

/** CloudTrail API calls and rotation service events for the watched secrets (needs a trail). */
export function cloudTrailPattern(config: RelayConfig): events.EventPattern {
  const arns = arnMatchers(config);
  return {
    source: ['aws.secretsmanager'],
    detailType: ['AWS API Call via CloudTrail', 'AWS Service Event via CloudTrail'],
    detail: {
      eventSource: ['secretsmanager.amazonaws.com'],
      $or: [
        {
          eventName: CLOUDTRAIL_API_EVENTS,
          // A refused call changed nothing.
          errorCode: events.Match.doesNotExist(),
          requestParameters: { secretId: secretIdMatchers(config) },
        },
        { eventName: CLOUDTRAIL_SERVICE_EVENTS, additionalEventData: { SecretId: arns } },
        // Seen in some accounts instead of additionalEventData; accepted as a fallback.
        { eventName: CLOUDTRAIL_SERVICE_EVENTS, serviceEventDetails: { secretId: arns } },
      ],
    },
  };
}

/** Properties of SecretEvents. */
export interface SecretEventsProps {
  config: RelayConfig;
  /** The rotation FIFO queue the rules deliver to. */
  queue: sqs.IQueue;
  /** A standard queue for events EventBridge could not deliver after its retries. */
  deadLetterQueue: sqs.IQueue;
}

/** The rules, their archives and their SQS targets. */
export class SecretEvents extends Construct {
  readonly rules: events.Rule[] = [];
  readonly archives: events.Archive[] = [];

  constructor(scope: Construct, id: string, props: SecretEventsProps) {
    super(scope, id);
    const bus = events.EventBus.fromEventBusName(this, 'DefaultBus', 'default');
    const sources = sourceAccountIds(props.config);
    if (sources.length > 0) this.acceptFrom(props.config, sources);
    this.watch('LabelUpdated', bus, labelUpdatedPattern(props.config), props);
    if (props.config.cloudTrailRule) this.watch('CloudTrail', bus, cloudTrailPattern(props.config), props);
  }

  /**
   * Lets the source accounts (or their organization) put Secrets Manager events on this account's
   * default bus, and nothing else: their SourceForwarder rules forward `aws.secretsmanager` events
   * here, where the rules above match the watched ARNs like local ones.
   */
  private acceptFrom(config: RelayConfig, accounts: string[]): void {
    const partition = partitionOf(config.region);
    const organization = config.sourceAccounts?.organizationId;
    new events.CfnEventBusPolicy(this, 'SourceAccountsPolicy', {
      eventBusName: 'default',
      statementId: 'identity-relay-source-accounts',
      statement: {
        Sid: 'identity-relay-source-accounts',
        Effect: 'Allow',
        Principal: organization ? '*' : { AWS: accounts.map((a) => `arn:${partition}:iam::${a}:root`) },
        Action: 'events:PutEvents',
        Resource: `arn:${partition}:events:${config.region}:${config.account}:event-bus/default`,
        Condition: {
          StringEquals: {
            'events:source': 'aws.secretsmanager',
            ...(organization ? { 'aws:PrincipalOrgID': organization } : {}),
          },
        },
      },
    });
  }

  private watch(
    id: string,
    bus: events.IEventBus,
    pattern: events.EventPattern,
    props: SecretEventsProps,
  ): void {
    const rule = new events.Rule(this, `${id}Rule`, {
      eventBus: bus,
      eventPattern: pattern,
      description: `identity-relay: ${id} events of the watched secrets to the rotation queue`,
    });
    // Keep the envelope whole (no input transformer): the function parses the documented event shape.
    rule.addTarget(
      // A standard queue: no message group, so no secret's events wait behind another's.
      new targets.SqsQueue(props.queue, {
        deadLetterQueue: props.deadLetterQueue,
        retryAttempts: 185,
        maxEventAge: Duration.hours(24),
      }),
    );
    this.rules.push(rule);
    this.archives.push(
      new events.Archive(this, `${id}Archive`, {
        sourceEventBus: bus,
        eventPattern: pattern,
        retention: Duration.days(props.config.archiveRetentionDays),
        description: `identity-relay: ${id} events, replayable by the on-call`,
      }),
    );
  }
}

/** Acknowledges that the rule-target dead-letter queue has no dead-letter queue of its own. */
export function acknowledgeTargetDeadLetterQueue(queue: Construct): void {
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason:
      'This queue is itself the dead-letter queue of the EventBridge rule targets (which must be a standard ' +
      'queue); nothing consumes it but the on-call replay, and an alarm fires on its first message.',
  });
}
