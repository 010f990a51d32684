/**
 * Alarms for everything that means "a credential may not have reached a cluster", sent to one SNS
 * topic, and a dashboard of the propagation metrics the functions emit.
 */
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { MetricName } from '../../lib/domain/telemetry.js';
import type { RelayConfig } from '../config.js';
import { METRICS_NAMESPACE } from './relay-function.js';

/** A queue whose oldest message must not grow older than `maxAge`. */
export interface WatchedQueue {
  queue: sqs.IQueue;
  maxAge: Duration;
}

/** Properties of Monitoring. */
export interface MonitoringProps {
  config: RelayConfig;
  /** Dead-letter queues by display name: any message in one is an alarm. */
  deadLetterQueues: Record<string, sqs.IQueue>;
  workQueues: Record<string, WatchedQueue>;
  functions: Record<string, lambda.IFunction>;
}

/**
 * Every metric the functions emit, one line per emitting function: Powertools adds a `service`
 * dimension whose value each function chooses, so the dashboard searches instead of naming it.
 */
export function relayMetrics(
  metricName: MetricName,
  statistic = 'Sum',
  extraDimensions: string[] = [],
): cloudwatch.IMetric {
  const schema = [METRICS_NAMESPACE, 'service', ...extraDimensions].join(',');
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${schema}} MetricName="${metricName}"', '${statistic}', 300)`,
    usingMetrics: {},
    label: metricName,
    period: Duration.minutes(5),
  });
}

/** A Metrics Insights query summing one metric over all functions, usable in an alarm. */
export function relayMetricTotal(metricName: MetricName): cloudwatch.IMetric {
  return new cloudwatch.MathExpression({
    expression: `SELECT SUM(${metricName}) FROM SCHEMA("${METRICS_NAMESPACE}", service)`,
    usingMetrics: {},
    label: metricName,
    period: Duration.minutes(5),
  });
}

/** The alarm topic, alarms and dashboard. */
export class Monitoring extends Construct {
  readonly topic: sns.ITopic;
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { alarm } = props.config;
    this.topic = alarm.snsTopicArn
      ? sns.Topic.fromTopicArn(this, 'Topic', alarm.snsTopicArn)
      : new sns.Topic(this, 'Topic', { displayName: 'identity-relay alarms', enforceSSL: true });
    if (alarm.email) this.topic.addSubscription(new subscriptions.EmailSubscription(alarm.email));

    for (const [name, queue] of Object.entries(props.deadLetterQueues)) {
      this.alarm(
        `${name}NotEmpty`,
        queue.metricApproximateNumberOfMessagesVisible({
          statistic: 'Maximum',
          period: Duration.minutes(1),
        }),
        1,
        `A message reached ${name}: a change was not delivered. Inspect it and replay it with the CLI.`,
      );
    }
    for (const [name, { queue, maxAge }] of Object.entries(props.workQueues)) {
      this.alarm(
        `${name}OldestMessage`,
        queue.metricApproximateAgeOfOldestMessage({
          statistic: 'Maximum',
          period: Duration.minutes(1),
        }),
        maxAge.toSeconds(),
        `${name} is not draining: its oldest message is older than ${maxAge.toHumanString()}.`,
      );
    }
    for (const [name, fn] of Object.entries(props.functions)) {
      this.alarm(
        `${name}Errors`,
        fn.metricErrors({ statistic: 'Sum', period: Duration.minutes(5) }),
        1,
        `The ${name} function failed; see its log group.`,
      );
    }
    this.alarm(
      'RotationFailed',
      relayMetricTotal('RotationFailed'),
      1,
      'A rotated value failed its format schema or Secrets Manager rotation failed; the old credentials stay.',
    );

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `identity-relay-${props.config.name}`,
      defaultInterval: Duration.hours(3),
      widgets: [
        [
          graph('Propagation latency p50 / p99 (ms)', [
            relayMetrics('PropagationLatency', 'p50'),
            relayMetrics('PropagationLatency', 'p99'),
          ]),
          graph('Writes and no-ops', [relayMetrics('Writes'), relayMetrics('NoOps')]),
          graph('Region failures by region', [relayMetrics('RegionFailures', 'Sum', ['Region'])]),
        ],
        [
          graph('Secrets Manager calls', [relayMetrics('SecretsManagerCalls')]),
          graph(
            'Audit events',
            (['AuditEventsReceived', 'AuditEventsKept', 'AuditEventsDropped'] as const).map((m) =>
              relayMetrics(m),
            ),
          ),
          graph('Rotation failures', [relayMetrics('RotationFailed')]),
          // Each is also a record on its dead-letter queue, whose alarm fires.
          graph('Recorded, not retried, by reason', [relayMetrics('NonRetryable', 'Sum', ['Reason'])]),
        ],
        [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 24 })],
      ],
    });
  }

  private alarm(id: string, metric: cloudwatch.IMetric, threshold: number, description: string): void {
    const alarm = new cloudwatch.Alarm(this, id, {
      metric,
      threshold,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // No data means no messages, no errors, no failures.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: `identity-relay: ${description}`,
    });
    alarm.addAlarmAction(new actions.SnsAction(this.topic));
    this.alarms.push(alarm);
  }
}

function graph(title: string, metrics: cloudwatch.IMetric[]): cloudwatch.GraphWidget {
  return new cloudwatch.GraphWidget({ title, left: metrics, width: 8 });
}
