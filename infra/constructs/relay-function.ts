/**
 * The one way identity-relay builds a Lambda function: Node.js 22 ESM bundle, explicit log group and
 * role, and `bind*` helpers that set an environment variable and grant exactly the IAM it implies.
 */
import { Annotations, ArnFormat, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import type * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { BUNDLING } from '../bundling.js';

/** The CloudWatch namespace every identity-relay metric is emitted under. */
export const METRICS_NAMESPACE = 'IdentityRelay';

/** Private subnets and security groups for functions that must reach private cluster endpoints. */
export interface RelayNetwork {
  vpc: ec2.IVpc;
  subnets: ec2.ISubnet[];
  securityGroups: ec2.ISecurityGroup[];
}

/** Imports a VPC, its subnets and security groups by id (no lookup, so synth works offline). */
export function importNetwork(
  scope: Construct,
  ids: { vpcId: string; subnetIds: string[]; securityGroupIds: string[] },
): RelayNetwork {
  return {
    // The functions get their subnets explicitly; the VPC object only carries the id, so its zone list
    // is a placeholder (the real one would need a lookup).
    vpc: ec2.Vpc.fromVpcAttributes(scope, 'Vpc', { vpcId: ids.vpcId, availabilityZones: ['unused'] }),
    subnets: ids.subnetIds.map((id) => {
      const subnet = ec2.Subnet.fromSubnetId(scope, `Subnet-${id}`, id);
      Annotations.of(subnet).acknowledgeWarning(
        '@aws-cdk/aws-ec2:noSubnetRouteTableId',
        'Lambda needs only the subnet id; identity-relay manages no routes.',
      );
      return subnet;
    }),
    securityGroups: ids.securityGroupIds.map((id) =>
      ec2.SecurityGroup.fromSecurityGroupId(scope, `SecurityGroup-${id}`, id, { mutable: false }),
    ),
  };
}

/** Properties of a RelayFunction. */
export interface RelayFunctionProps {
  /** Absolute path of the TypeScript handler file; it must export `handler`. */
  entry: string;
  /** The repository root: its package-lock.json pins what gets bundled. */
  projectRoot: string;
  description: string;
  /** POWERTOOLS_SERVICE_NAME: the `service` dimension of the function's metrics and its log field. */
  serviceName: string;
  timeout: Duration;
  memorySize: number;
  architecture: 'arm64' | 'x86_64';
  logRetentionDays: number;
  reservedConcurrency?: number;
  network?: RelayNetwork;
}

/** How a queue consumer reads its batches. */
export interface QueueConsumerOptions {
  batchSize: number;
  /** Caps concurrent invocations without reserving account concurrency (2 or more). */
  maxConcurrency?: number;
}

/** A NodejsFunction with the project's runtime, bundling, logging and least-privilege bindings. */
export class RelayFunction extends Construct {
  readonly function: nodejs.NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  private readonly region: string;

  constructor(scope: Construct, id: string, props: RelayFunctionProps) {
    super(scope, id);
    this.region = Stack.of(this).region;

    this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: props.logRetentionDays as logs.RetentionDays,
      // Kept when the stack is removed: the logs are the record of what was written where.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // An explicit role instead of the default one: no AWS managed policy, logs only to our own group.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `identity-relay ${id} function`,
    });
    this.logGroup.grantWrite(this.role);

    this.function = new nodejs.NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      projectRoot: props.projectRoot,
      depsLockFilePath: `${props.projectRoot}/package-lock.json`,
      description: props.description,
      // Node.js 22 is the major the whole test suite runs on (README); move both together.
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: props.architecture === 'arm64' ? lambda.Architecture.ARM_64 : lambda.Architecture.X86_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      reservedConcurrentExecutions: props.reservedConcurrency,
      ...(props.network && {
        vpc: props.network.vpc,
        vpcSubnets: { subnets: props.network.subnets },
        securityGroups: props.network.securityGroups,
      }),
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
      },
      // infra/bundling.ts: the same settings the benchmarks build and measure.
      bundling: {
        format: BUNDLING.format as nodejs.OutputFormat,
        target: BUNDLING.target,
        mainFields: [...BUNDLING.mainFields],
        banner: BUNDLING.banner,
        minify: BUNDLING.minify,
        keepNames: BUNDLING.keepNames,
        charset: BUNDLING.charset as nodejs.Charset,
        externalModules: [...BUNDLING.external],
        esbuildArgs: { '--alias': Object.entries(BUNDLING.alias).map(([from, to]) => `${from}=${to}`) },
        sourceMap: true,
        sourceMapMode: nodejs.SourceMapMode.EXTERNAL,
        sourcesContent: false,
        logLevel: nodejs.LogLevel.WARNING,
      },
    });

    Validations.of(this.function).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'Pinned to Node.js 22, the major the tests run on (README); upgraded together with the toolchain.',
    });

    if (props.network) this.grantNetworkInterfaces(props.network);
  }

  /** Sets an environment variable the handler reads. */
  setEnvironment(name: string, value: string): this {
    this.function.addEnvironment(name, value);
    return this;
  }

  /** MANAGEMENT_KUBECONFIG_SECRET_ARN, with read on exactly that secret (and its CMK via Secrets Manager). */
  bindManagementKubeconfig(secretArn: string, kmsKeyArns?: string[]): this {
    this.setEnvironment('MANAGEMENT_KUBECONFIG_SECRET_ARN', secretArn);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretArn] }),
    );
    this.grantDecryptVia([secretArn], kmsKeyArns);
    return this;
  }

  /**
   * Read (GetSecretValue, DescribeSecret) on the watched secrets only: exact ARNs and `<prefix>*` patterns;
   * plus the sweep's bulk reads, ListSecrets and BatchGetSecretValue, which take no resource.
   */
  bindWatchedSecrets(resources: string[], kmsKeyArns?: string[]): this {
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        resources,
      }),
    );
    // Neither action can be scoped to ARNs. ListSecrets returns names and version ids, never a value;
    // BatchGetSecretValue also needs GetSecretValue on each secret, so values stay limited to `resources`.
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:ListSecrets', 'secretsmanager:BatchGetSecretValue'],
        resources: ['*'],
      }),
    );
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'secretsmanager:ListSecrets and BatchGetSecretValue support no resource ARN; values are still read ' +
        'only through GetSecretValue on the watched secrets. Any kms:Decrypt on "*" is limited by ' +
        'kms:ViaService and the SecretARN encryption context.',
    });
    for (const pattern of resources.filter((resource) => resource.includes('*'))) {
      Validations.of(this.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${pattern}]`,
        reason: 'The operator configured this secret name prefix (watchedSecrets.namePrefixes) as the scope.',
      });
    }
    this.grantDecryptVia(resources, kmsKeyArns);
    return this;
  }

  /** SYSTEM_NAMESPACE and WATCH_NAMESPACES (comma-separated; always includes the system namespace). */
  bindNamespaces(systemNamespace: string, watchNamespaces: string[]): this {
    this.setEnvironment('SYSTEM_NAMESPACE', systemNamespace);
    this.setEnvironment('WATCH_NAMESPACES', watchNamespaces.join(','));
    return this;
  }

  /** `<envName>` = the queue URL, with send rights on that queue only. */
  bindQueueSend(envName: string, queue: sqs.IQueue): this {
    this.setEnvironment(envName, queue.queueUrl);
    queue.grantSendMessages(this.role);
    return this;
  }

  /**
   * Consumes a work queue (partial batch failures; WORK_QUEUE_URL for the function's own backoff, which
   * the consume grant's ChangeMessageVisibility allows) and records what cannot be retried on its
   * dead-letter queue (DEAD_LETTER_QUEUE_URL, send only).
   */
  bindWorkQueue(
    work: { queue: sqs.IQueue; deadLetterQueue: sqs.IQueue; maxReceiveCount?: number },
    options: QueueConsumerOptions,
  ): this {
    this.setEnvironment('WORK_QUEUE_URL', work.queue.queueUrl);
    // The delivery after which SQS dead-letters a message: its failure is announced as final.
    if (work.maxReceiveCount) this.setEnvironment('MAX_RECEIVE_COUNT', String(work.maxReceiveCount));
    return this.bindQueueConsume(work.queue, options).bindQueueSend(
      'DEAD_LETTER_QUEUE_URL',
      work.deadLetterQueue,
    );
  }

  /**
   * EVENT_BUS_NAME, with events:PutEvents on that bus only: `Credential Propagated` and `Credential
   * Propagation Failed` (source identity-relay), which a rotation workflow waits for.
   */
  bindPropagationEvents(bus: events.IEventBus): this {
    this.setEnvironment('EVENT_BUS_NAME', bus.eventBusName);
    bus.grantPutEventsTo(this.function);
    return this;
  }

  /** Consumes the queue as an event source that reports partial batch failures. */
  bindQueueConsume(queue: sqs.IQueue, options: QueueConsumerOptions): this {
    this.function.addEventSource(
      new SqsEventSource(queue, {
        batchSize: options.batchSize,
        reportBatchItemFailures: true,
        maxConcurrency: options.maxConcurrency,
      }),
    );
    return this;
  }

  /** AUDIT_TOKEN_SECRET_ARN, with read on exactly that secret. */
  bindAuditToken(secret: secretsmanager.ISecret): this {
    this.setEnvironment('AUDIT_TOKEN_SECRET_ARN', secret.secretArn);
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secret.secretArn] }),
    );
    return this;
  }

  /** ASSUME_ROLE_ARNS (comma-separated), with sts:AssumeRole on exactly those roles; no-op when empty. */
  bindAssumeRoles(roleArns: string[]): this {
    if (roleArns.length === 0) return this;
    this.setEnvironment('ASSUME_ROLE_ARNS', roleArns.join(','));
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['sts:AssumeRole'], resources: roleArns }),
    );
    return this;
  }

  /**
   * What Lambda needs to attach the function to its subnets, instead of the managed VPC-access policy
   * (logs and network interfaces on "*"): creating interfaces only in the configured subnets with the
   * configured security groups, and changing or deleting only interfaces in those subnets. EC2 allows
   * the two Describe calls on "*" only.
   */
  private grantNetworkInterfaces(network: RelayNetwork): void {
    const stack = Stack.of(this);
    const ec2Arn = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'ec2', resource, resourceName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    const subnetArns = network.subnets.map((subnet) => ec2Arn('subnet', subnet.subnetId));
    const securityGroupArns = network.securityGroups.map((group) =>
      ec2Arn('security-group', group.securityGroupId),
    );
    const interfaces = ec2Arn('network-interface', '*');
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:CreateNetworkInterface'],
        resources: [interfaces, ...subnetArns, ...securityGroupArns],
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          'ec2:DeleteNetworkInterface',
          'ec2:AssignPrivateIpAddresses',
          'ec2:UnassignPrivateIpAddresses',
        ],
        resources: [interfaces],
        conditions: { ArnEquals: { 'ec2:Subnet': subnetArns } },
      }),
    );
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
        resources: ['*'],
      }),
    );
    Validations.of(this.role).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::${interfaces}]`,
        reason:
          'Interface ids are chosen by Lambda at attach time; creation is limited to the configured subnets ' +
          'and security groups, other changes by the ec2:Subnet condition.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'ec2:DescribeNetworkInterfaces and ec2:DescribeSubnets support no resource-level permissions.',
      },
    );
  }

  /**
   * eks:DescribeCluster on this account's clusters: an EKS token is minted only for a kubeconfig whose
   * server is the cluster's endpoint (clusters of other accounts are described as the assumed role).
   */
  bindEksDescribeCluster(): this {
    const stack = Stack.of(this);
    const clusters = `arn:${stack.partition}:eks:*:${stack.account}:cluster/*`;
    this.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['eks:DescribeCluster'], resources: [clusters] }),
    );
    Validations.of(this.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${clusters}]`,
      reason:
        'Regions name their EKS clusters at run time (Region kubeconfigs); DescribeCluster reads only the endpoint to compare.',
    });
    return this;
  }

  /**
   * kms:Decrypt only through Secrets Manager in this region and only for the given secrets (their ARN
   * is the encryption context Secrets Manager sends). Secrets under the AWS managed key need no grant;
   * customer managed keys are named by `kmsKeyArns` when known, else any key under those conditions.
   */
  private grantDecryptVia(secretResources: string[], kmsKeyArns?: string[]): void {
    const scoped = kmsKeyArns !== undefined && kmsKeyArns.length > 0;
    const statement = new iam.PolicyStatement({
      actions: ['kms:Decrypt'],
      resources: scoped ? kmsKeyArns : ['*'],
      conditions: {
        StringEquals: { 'kms:ViaService': `secretsmanager.${this.region}.amazonaws.com` },
        StringLike: { 'kms:EncryptionContext:SecretARN': secretResources },
      },
    });
    this.role.addToPrincipalPolicy(statement);
    if (!scoped) {
      Validations.of(this.role).acknowledge({
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'kms:Decrypt on "*" is limited by kms:ViaService to Secrets Manager and by the SecretARN encryption ' +
          'context to the bound secrets; the CMK ARNs are not configured (watchedSecrets.kmsKeyArns).',
      });
    }
  }
}

/** Function timeouts; SQS visibility timeouts are derived from them. */
export const TIMEOUTS = {
  rotation: Duration.minutes(1),
  auditWebhook: Duration.seconds(15),
  distribution: Duration.minutes(2),
  sweep: Duration.minutes(5),
} as const;
