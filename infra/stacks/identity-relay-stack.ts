/**
 * The identity-relay stack: triggers (EventBridge rules, audit Function URL, Scheduler), queues with
 * dead-letter queues, the four functions through the house construct, and alarms.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as destinations from 'aws-cdk-lib/aws-logs-destinations';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import {
  allWatchNamespaces,
  type RelayConfig,
  watchedKmsKeyArns,
  watchedSecretResources,
} from '../config.js';
import { Monitoring } from '../constructs/monitoring.js';
import { targetDeadLetterQueue, WorkQueue } from '../constructs/queues.js';
import { importNetwork, RelayFunction, TIMEOUTS } from '../constructs/relay-function.js';
import { acknowledgeTargetDeadLetterQueue, SecretEvents } from '../constructs/secret-events.js';

/** The functions identity-relay deploys. */
export type FunctionName = 'rotation' | 'auditWebhook' | 'distribution' | 'sweep';

/** Where each function's handler lives, relative to the repository root (a contract with functions/). */
export const FUNCTION_ENTRIES: Readonly<Record<FunctionName, string>> = {
  rotation: 'functions/rotation/handler.ts',
  auditWebhook: 'functions/audit-webhook/handler.ts',
  distribution: 'functions/distribution/handler.ts',
  sweep: 'functions/sweep/handler.ts',
};

/**
 * The handler entries that exist under `projectRoot`. The stack deploys a function only when its entry
 * exists, so the infrastructure can be synthesised and deployed while functions are still being written.
 */
export function discoverEntries(projectRoot: string): Partial<Record<FunctionName, string>> {
  const found: Partial<Record<FunctionName, string>> = {};
  for (const [name, relative] of Object.entries(FUNCTION_ENTRIES) as [FunctionName, string][]) {
    const path = join(projectRoot, relative);
    if (existsSync(path)) found[name] = path;
  }
  return found;
}

/** Properties of the IdentityRelayStack. */
export interface IdentityRelayStackProps extends StackProps {
  config: RelayConfig;
  projectRoot: string;
  /** Absolute handler paths; a function whose entry is absent is not deployed. */
  entries: Partial<Record<FunctionName, string>>;
}

// Receives before a job lands in its dead-letter queue.
const MAX_RECEIVE_COUNT = 5;

/** Everything identity-relay runs in one AWS account and region. */
export class IdentityRelayStack extends Stack {
  readonly functions: Partial<Record<FunctionName, RelayFunction>> = {};
  readonly queues: {
    rotation: WorkQueue;
    distribution: WorkQueue;
    eventsDeadLetters: sqs.Queue;
    auditQuarantine: sqs.Queue;
  };

  constructor(scope: Construct, id: string, props: IdentityRelayStackProps) {
    super(scope, id, props);
    const { config } = props;

    const rotation = new WorkQueue(this, 'RotationQueue', {
      fifo: false,
      visibilityTimeout: Duration.seconds(TIMEOUTS.rotation.toSeconds() * 6),
      maxReceiveCount: MAX_RECEIVE_COUNT,
    });
    const distribution = new WorkQueue(this, 'DistributionQueue', {
      fifo: true,
      visibilityTimeout: Duration.seconds(TIMEOUTS.distribution.toSeconds() * 6),
      maxReceiveCount: MAX_RECEIVE_COUNT,
      highThroughput: true,
    });
    const eventsDeadLetters = targetDeadLetterQueue(this, 'EventsDeadLetterQueue');
    acknowledgeTargetDeadLetterQueue(eventsDeadLetters);
    // Audit items the webhook could not read are kept here, never dropped with their batch.
    const auditQuarantine = targetDeadLetterQueue(this, 'AuditQuarantineQueue');
    Validations.of(auditQuarantine).acknowledge({
      id: 'AwsSolutions-SQS3',
      reason:
        'This queue is itself a dead-letter store: the audit webhook puts unreadable audit items here; nothing ' +
        'consumes it but the on-call engineer, and an alarm fires on its first message.',
    });
    this.queues = { rotation, distribution, eventsDeadLetters, auditQuarantine };

    const secretEvents = new SecretEvents(this, 'SecretEvents', {
      config,
      queue: rotation.queue,
      deadLetterQueue: eventsDeadLetters,
    });

    const auditToken = new secretsmanager.Secret(this, 'AuditWebhookToken', {
      description: 'identity-relay: bearer token kube-apiserver presents to the audit webhook',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
    });
    Validations.of(auditToken).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'Rotating the token needs the new value in every kube-apiserver webhook kubeconfig first; the ' +
        'function re-reads the secret on a mismatch, so operators rotate it by hand (docs/deploy.md › Deploying identity-relay).',
    });

    const network = config.vpc && importNetwork(this, config.vpc);
    const make = (name: FunctionName, description: string, timeout: Duration): RelayFunction | undefined => {
      const entry = props.entries[name];
      if (entry === undefined) return undefined;
      const fn = new RelayFunction(this, name.charAt(0).toUpperCase() + name.slice(1), {
        entry,
        projectRoot: props.projectRoot,
        description: `identity-relay: ${description}`,
        serviceName: `identity-relay-${FUNCTION_ENTRIES[name].split('/')[1]}`,
        timeout,
        memorySize: config.memorySize,
        architecture: config.architecture,
        logRetentionDays: config.logRetentionDays,
        reservedConcurrency: config.reservedConcurrency[name],
        // The internet-facing webhook needs no cluster endpoint: it stays outside the VPC.
        network: name === 'auditWebhook' ? undefined : network,
      });
      this.functions[name] = fn;
      return fn;
    };
    const secretResources = watchedSecretResources(config);
    const kmsKeyArns = watchedKmsKeyArns(config);
    const namespaces = allWatchNamespaces(config);
    // What every function that talks to the clusters needs.
    const clusterAccess = (fn: RelayFunction) => {
      fn.bindManagementKubeconfig(config.managementKubeconfigSecretArn, kmsKeyArns)
        .bindNamespaces(config.systemNamespace, namespaces)
        .bindAssumeRoles(config.assumeRoleArns)
        .bindEksDescribeCluster()
        // docs/threat-model.md › Threat model. The token secret is named (never a binding's source), not readable.
        .setEnvironment('AUDIT_TOKEN_SECRET_ARN', auditToken.secretArn);
      if (config.bindingScopes) fn.setEnvironment('BINDING_SCOPES', JSON.stringify(config.bindingScopes));
      if (config.clusterHosts.length > 0) fn.setEnvironment('CLUSTER_HOSTS', config.clusterHosts.join(','));
      return fn;
    };

    // `Credential Propagated` / `Credential Propagation Failed` go on the account's default bus, where a
    // rotation workflow's rule waits for them (README: the closed loop).
    const propagationBus = events.EventBus.fromEventBusName(this, 'PropagationBus', 'default');

    const rotationFn = make('rotation', 'applies rotated secrets to the clusters', TIMEOUTS.rotation);
    if (rotationFn) {
      // A standard queue: batches of 10 let the function coalesce duplicates, five run at once, and a
      // failing secret retries alone; regions that fail go to their own jobs on the distribution queue.
      clusterAccess(rotationFn)
        .bindWatchedSecrets(secretResources, kmsKeyArns)
        .bindWorkQueue(rotation, { batchSize: 10, maxConcurrency: 5 })
        .bindQueueSend('DISTRIBUTION_QUEUE_URL', distribution.queue)
        .bindPropagationEvents(propagationBus);
    }

    const webhookFn = make('auditWebhook', 'kube-apiserver audit webhook', TIMEOUTS.auditWebhook);
    if (webhookFn) {
      // Internet-facing: it holds no cluster credentials, only the token and the right to enqueue.
      webhookFn
        .bindAuditToken(auditToken)
        .bindQueueSend('DISTRIBUTION_QUEUE_URL', distribution.queue)
        .bindQueueSend('QUARANTINE_QUEUE_URL', auditQuarantine)
        .bindNamespaces(config.systemNamespace, namespaces);
      if (config.relayUsername) webhookFn.setEnvironment('RELAY_USERNAME', config.relayUsername);
      subscribeEksAuditLogs(this, webhookFn, config);
      // kube-apiserver cannot sign AWS requests; the function checks the bearer token itself.
      const url = webhookFn.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
      new CfnOutput(this, 'AuditWebhookUrl', {
        value: url.url,
        description: 'server: of the webhook kubeconfig',
      });
    }

    const distributionFn = make(
      'distribution',
      'converges regions after cluster-side changes',
      TIMEOUTS.distribution,
    );
    if (distributionFn) {
      // It copies Kubernetes objects only: no read of the watched secrets.
      clusterAccess(distributionFn)
        .bindWorkQueue(distribution, { batchSize: 10, maxConcurrency: 5 })
        .bindQueueSend('DISTRIBUTION_QUEUE_URL', distribution.queue)
        .bindPropagationEvents(propagationBus);
    }

    const sweepFn = make('sweep', 'scheduled drift sweep', TIMEOUTS.sweep);
    if (sweepFn) {
      clusterAccess(sweepFn)
        .bindWatchedSecrets(secretResources, kmsKeyArns)
        .bindPropagationEvents(propagationBus);
      scheduleSweep(this, sweepFn, config.sweepIntervalMinutes);
    }

    const monitoring = new Monitoring(this, 'Monitoring', {
      config,
      deadLetterQueues: {
        RotationDeadLetterQueue: rotation.deadLetterQueue,
        DistributionDeadLetterQueue: distribution.deadLetterQueue,
        EventsDeadLetterQueue: eventsDeadLetters,
        AuditQuarantineQueue: auditQuarantine,
      },
      workQueues: {
        RotationQueue: { queue: rotation.queue, maxAge: Duration.minutes(15) },
        DistributionQueue: { queue: distribution.queue, maxAge: Duration.minutes(15) },
      },
      functions: Object.fromEntries(
        Object.entries(this.functions).map(([name, fn]) => [name, fn.function] as const),
      ),
    });

    const outputs: Record<string, string> = {
      AuditTokenSecretArn: auditToken.secretArn,
      RotationQueueUrl: rotation.queue.queueUrl,
      RotationDeadLetterQueueUrl: rotation.deadLetterQueue.queueUrl,
      DistributionQueueUrl: distribution.queue.queueUrl,
      DistributionDeadLetterQueueUrl: distribution.deadLetterQueue.queueUrl,
      EventsDeadLetterQueueUrl: eventsDeadLetters.queueUrl,
      AuditQuarantineQueueUrl: auditQuarantine.queueUrl,
      AlarmTopicArn: monitoring.topic.topicArn,
    };
    // For EKS access entries / aws-auth: map these roles to the Kubernetes group identity-relay.
    for (const [name, fn] of Object.entries(this.functions)) {
      outputs[`${name.charAt(0).toUpperCase()}${name.slice(1)}RoleArn`] = fn.role.roleArn;
    }
    secretEvents.archives.forEach((archive, index) => {
      outputs[`Archive${index + 1}Name`] = archive.archiveName;
    });
    for (const [id, value] of Object.entries(outputs)) new CfnOutput(this, id, { value });
  }
}

/**
 * Runs the sweep every `intervalMinutes` with a flexible window (jitter spreads the sweep's API calls
 * instead of hitting every cluster on the minute). A hand-written target, because the library's
 * LambdaInvoke also grants invoke on every version (`<arn>:*`), which the sweep does not need.
 */
function scheduleSweep(scope: Construct, sweep: RelayFunction, intervalMinutes: number): scheduler.Schedule {
  const stack = Stack.of(scope);
  const role = new iam.Role(scope, 'SweepScheduleRole', {
    assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
      conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
    }),
    description: 'identity-relay: EventBridge Scheduler invokes the sweep',
  });
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({ actions: ['lambda:InvokeFunction'], resources: [sweep.function.functionArn] }),
  );
  const target: scheduler.IScheduleTarget = {
    bind: () => ({
      arn: sweep.function.functionArn,
      role,
      // A missed sweep is replaced by the next one; retry briefly, never past the next run.
      retryPolicy: { maximumRetryAttempts: 2, maximumEventAgeInSeconds: intervalMinutes * 60 },
    }),
  };
  return new scheduler.Schedule(scope, 'SweepSchedule', {
    description: 'identity-relay: drift sweep',
    schedule: scheduler.ScheduleExpression.rate(Duration.minutes(intervalMinutes)),
    timeWindow: scheduler.TimeWindow.flexible(Duration.minutes(Math.min(15, Math.ceil(intervalMinutes / 2)))),
    target,
  });
}

/**
 * EKS clusters have no audit webhook: their audit Events go to CloudWatch Logs. A subscription filter
 * per configured cluster sends the audit Events that can touch identities (the kinds identity-relay
 * reads, at ResponseComplete) to the audit function, with the permission for CloudWatch Logs to invoke
 * it from exactly that log group.
 */
function subscribeEksAuditLogs(scope: Construct, webhook: RelayFunction, config: RelayConfig): void {
  for (const [index, eks] of config.eksAuditLogs.entries()) {
    const logGroup = logs.LogGroup.fromLogGroupName(
      scope,
      `EksAuditLogGroup${index}`,
      eks.logGroupName ?? `/aws/eks/${eks.clusterName}/cluster`,
    );
    new logs.SubscriptionFilter(scope, `EksAuditSubscription${index}`, {
      logGroup,
      destination: new destinations.LambdaDestination(webhook.function),
      filterPattern: logs.FilterPattern.literal(EKS_AUDIT_FILTER),
      filterName: `identity-relay-${eks.clusterName}`,
    });
  }
}

/** Audit Events (not the group's other control-plane logs) of the objects identity-relay follows. */
export const EKS_AUDIT_FILTER =
  '{ $.kind = "Event" && $.stage = "ResponseComplete" && ($.objectRef.resource = "secrets" || ' +
  '$.objectRef.resource = "credentials" || $.objectRef.resource = "regions" || ' +
  '$.objectRef.resource = "providerinterfaces" || $.objectRef.apiGroup = "infrastructure.cluster.x-k8s.io") }';
