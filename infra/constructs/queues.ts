/**
 * The work queues, each with its own dead-letter queue of the same type, SQS-managed encryption and TLS
 * only: the rotation queue is standard (every message is a level-triggered hint, so order does not
 * matter and no message waits behind another), the distribution queue FIFO with one group per object or
 * region.
 */
import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Properties of a WorkQueue. */
export interface WorkQueueProps {
  /** FIFO (message groups, deduplication) or standard. */
  fifo: boolean;
  /** At least six times the consumer's timeout, as Lambda advises, so retries of throttled batches fit. */
  visibilityTimeout: Duration;
  /** Receives before a message moves to the dead-letter queue. */
  maxReceiveCount: number;
  /** Many message groups (one per object) benefit from per-group throughput limits. */
  highThroughput?: boolean;
}

/** A work queue and its dead-letter queue. */
export class WorkQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  /** Deliveries before SQS moves a message to the dead-letter queue. */
  readonly maxReceiveCount: number;

  constructor(scope: Construct, id: string, props: WorkQueueProps) {
    super(scope, id);
    this.maxReceiveCount = props.maxReceiveCount;
    const fifo = props.fifo ? { fifo: true, contentBasedDeduplication: true } : {};
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      ...fifo,
      // The longest SQS keeps anything: the on-call has two weeks to replay a dead letter.
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      // FIFO: the webhook may deliver the same envelope twice; SQS drops the copy for 5 min.
      ...fifo,
      visibilityTimeout: props.visibilityTimeout,
      retentionPeriod: Duration.days(4),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.maxReceiveCount },
      ...(props.highThroughput && {
        deduplicationScope: sqs.DeduplicationScope.MESSAGE_GROUP,
        fifoThroughputLimit: sqs.FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      }),
    });
  }
}

/** A standard queue: EventBridge accepts only standard queues as a rule target's dead-letter queue. */
export function targetDeadLetterQueue(scope: Construct, id: string): sqs.Queue {
  return new sqs.Queue(scope, id, {
    retentionPeriod: Duration.days(14),
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
  });
}
