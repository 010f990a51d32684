/**
 * The work queues: SQS FIFO with its own FIFO dead-letter queue, SQS-managed encryption and TLS only.
 */
import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** Properties of a FifoWorkQueue. */
export interface FifoWorkQueueProps {
  /** At least six times the consumer's timeout, as Lambda advises, so retries of throttled batches fit. */
  visibilityTimeout: Duration;
  /** Receives before a message moves to the dead-letter queue. */
  maxReceiveCount: number;
  /** Many message groups (one per object) benefit from per-group throughput limits. */
  highThroughput?: boolean;
}

/** A FIFO work queue and its FIFO dead-letter queue. */
export class FifoWorkQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;

  constructor(scope: Construct, id: string, props: FifoWorkQueueProps) {
    super(scope, id);
    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      fifo: true,
      contentBasedDeduplication: true,
      // The longest SQS keeps anything: the on-call has two weeks to replay a dead letter.
      retentionPeriod: Duration.days(14),
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });
    this.queue = new sqs.Queue(this, 'Queue', {
      fifo: true,
      // EventBridge and the webhook may deliver the same envelope twice; SQS drops the copy for 5 min.
      contentBasedDeduplication: true,
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
