import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  importNetwork,
  RelayFunction,
  type RelayFunctionProps,
} from '../../infra/constructs/relay-function.js';
import { PROJECT_ROOT } from '../../infra/relay-app.js';
import { cdkContext, HELLO_ENTRY, SYNTH_TIMEOUT } from './helpers.js';

const SECRET = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:relay/mgmt-kubeconfig-Qw3rTy';
const PREFIX = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:team/*';
const ROLES = ['arn:aws:iam::210987654321:role/a', 'arn:aws:iam::210987654321:role/b'];

const BASE_PROPS: RelayFunctionProps = {
  entry: HELLO_ENTRY,
  projectRoot: PROJECT_ROOT,
  description: 'hello',
  serviceName: 'identity-relay-hello',
  timeout: Duration.seconds(10),
  memorySize: 256,
  architecture: 'arm64',
  logRetentionDays: 14,
};

function newStack(): { app: App; stack: Stack; outdir: string } {
  const outdir = mkdtempSync(join(tmpdir(), 'identity-relay-cdk-'));
  const app = new App({ context: cdkContext(), outdir });
  return {
    app,
    stack: new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-central-1' } }),
    outdir,
  };
}

function statements(template: Template): unknown[] {
  return Object.values(template.findResources('AWS::IAM::Policy')).flatMap(
    (policy) =>
      (policy as { Properties: { PolicyDocument: { Statement: unknown[] } } }).Properties.PolicyDocument
        .Statement,
  );
}

/** Replaces `{ Fn::Join: ['', ['arn:', { Ref: AWS::Partition }, …]] }` by the string it makes in partition aws. */
function withPartition(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withPartition);
  if (typeof value !== 'object' || value === null) return value;
  const join = (value as { 'Fn::Join'?: [string, unknown[]] })['Fn::Join'];
  if (join)
    return join[1]
      .map((part) =>
        typeof part === 'string'
          ? part
          : (part as { Ref?: string }).Ref === 'AWS::Partition'
            ? 'aws'
            : JSON.stringify(part),
      )
      .join(join[0]);
  return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, withPartition(inner)]));
}

describe('RelayFunction', { timeout: SYNTH_TIMEOUT }, () => {
  let template: Template;
  let app: App;
  let outdir: string;

  beforeAll(() => {
    const built = newStack();
    ({ app, outdir } = built);
    new RelayFunction(built.stack, 'Hello', { ...BASE_PROPS, reservedConcurrency: 3 });
    template = Template.fromStack(built.stack);
  }, SYNTH_TIMEOUT);

  it('runs Node.js 22 on arm64 with the configured memory, timeout and reserved concurrency', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs22.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 256,
      Timeout: 10,
      ReservedConcurrentExecutions: 3,
      Environment: {
        Variables: {
          NODE_OPTIONS: '--enable-source-maps',
          POWERTOOLS_SERVICE_NAME: 'identity-relay-hello',
          POWERTOOLS_METRICS_NAMESPACE: 'IdentityRelay',
        },
      },
    });
  });

  it('logs JSON to its own log group with the configured retention, kept when the stack is removed', () => {
    const groups = template.findResources('AWS::Logs::LogGroup', { Properties: { RetentionInDays: 14 } });
    const [groupId] = Object.keys(groups);

    expect(Object.values(groups)).toMatchObject([
      { DeletionPolicy: 'Retain', UpdateReplacePolicy: 'Retain' },
    ]);
    template.hasResourceProperties('AWS::Lambda::Function', {
      LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: groupId } },
    });
  });

  it('has a role without managed policies that may write only to its log group', () => {
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    expect(statements(template)).toEqual([
      {
        Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [expect.stringMatching(/^HelloLogs/), 'Arn'] },
      },
    ]);
  });

  it('bundles an ESM module with a require shim and a source map, which Node.js loads and runs', () => {
    const code = template.findResources('AWS::Lambda::Function');
    const [fn] = Object.values(code) as { Properties: { Code: { S3Key: string } } }[];
    const asset = join(outdir, `asset.${fn?.Properties.Code.S3Key.replace('.zip', '')}`);

    const source = readFileSync(join(asset, 'index.mjs'), 'utf8');
    const output = execFileSync(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(join(asset, 'index.mjs'))}); console.log(JSON.stringify(await m.handler({ Records: [] })));`,
      ],
      { encoding: 'utf8' },
    );

    expect(source.startsWith("import { createRequire as __createRequire } from 'node:module';")).toBe(true);
    expect(existsSync(join(asset, 'index.mjs.map'))).toBe(true);
    expect(JSON.parse(output)).toEqual({
      statusCode: 200,
      body: '{"hello":"identity-relay","kind":"batch"}',
    });
  });

  it('passes the AwsSolutions checks on its own', () => {
    expect(new AwsSolutionsChecks().validateScope(app).violations).toEqual([]);
  });
});

describe('RelayFunction bind helpers', { timeout: SYNTH_TIMEOUT }, () => {
  // Bundling is skipped here: only the environment and IAM each helper adds are under test.
  function bound(bind: (fn: RelayFunction, stack: Stack) => void): Template {
    const outdir = mkdtempSync(join(tmpdir(), 'identity-relay-cdk-'));
    const app = new App({ context: { ...cdkContext(), 'aws:cdk:bundling-stacks': [] }, outdir });
    const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-central-1' } });
    bind(new RelayFunction(stack, 'Hello', BASE_PROPS), stack);
    return Template.fromStack(stack);
  }

  const viaSecretsManager = (secrets: string[], keys: string | string[] = '*') => ({
    Action: 'kms:Decrypt',
    Effect: 'Allow',
    Resource: keys,
    Condition: {
      StringEquals: { 'kms:ViaService': 'secretsmanager.eu-central-1.amazonaws.com' },
      StringLike: { 'kms:EncryptionContext:SecretARN': secrets },
    },
  });

  it('bindManagementKubeconfig sets the ARN and grants GetSecretValue on exactly that secret', () => {
    const template = bound((fn) => fn.bindManagementKubeconfig(SECRET));

    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ MANAGEMENT_KUBECONFIG_SECRET_ARN: SECRET }) },
    });
    expect(statements(template).slice(1)).toEqual([
      { Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: SECRET },
      viaSecretsManager([SECRET]),
    ]);
  });

  it('bindWatchedSecrets grants read on exact ARNs and prefix patterns, the bulk reads, decrypt on named keys', () => {
    const key = 'arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab';

    const template = bound((fn) => fn.bindWatchedSecrets([SECRET, PREFIX], [key]));

    expect(statements(template).slice(1)).toEqual([
      {
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
        Effect: 'Allow',
        Resource: [SECRET, PREFIX],
      },
      // The sweep's ListSecrets and BatchGetSecretValue take no ARN; values still need the read above.
      {
        Action: ['secretsmanager:BatchGetSecretValue', 'secretsmanager:ListSecrets'],
        Effect: 'Allow',
        Resource: '*',
      },
      viaSecretsManager([SECRET, PREFIX], key),
    ]);
  });

  it('bindNamespaces sets SYSTEM_NAMESPACE and a comma-separated WATCH_NAMESPACES and grants nothing', () => {
    const template = bound((fn) => fn.bindNamespaces('kcm-system', ['kcm-system', 'team-a']));

    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          SYSTEM_NAMESPACE: 'kcm-system',
          WATCH_NAMESPACES: 'kcm-system,team-a',
        }),
      },
    });
    expect(statements(template)).toHaveLength(1);
  });

  it('bindQueueSend sets the queue URL and grants sending to that queue only', () => {
    const template = bound((fn, stack) =>
      fn.bindQueueSend('DISTRIBUTION_QUEUE_URL', new sqs.Queue(stack, 'Q')),
    );
    const [queueId] = Object.keys(template.findResources('AWS::SQS::Queue'));

    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ DISTRIBUTION_QUEUE_URL: { Ref: queueId } }) },
    });
    expect(statements(template).slice(1)).toEqual([
      {
        Action: ['sqs:GetQueueAttributes', 'sqs:GetQueueUrl', 'sqs:SendMessage'],
        Effect: 'Allow',
        Resource: { 'Fn::GetAtt': [queueId, 'Arn'] },
      },
    ]);
  });

  it('bindQueueConsume reads the queue with partial batch failure reporting', () => {
    const template = bound((fn, stack) =>
      fn.bindQueueConsume(new sqs.Queue(stack, 'Q'), { batchSize: 7, maxConcurrency: 2 }),
    );

    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      BatchSize: 7,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      ScalingConfig: { MaximumConcurrency: 2 },
    });
  });

  it('bindAuditToken sets the token ARN and grants GetSecretValue on that secret only', () => {
    const template = bound((fn, stack) => fn.bindAuditToken(new secretsmanager.Secret(stack, 'Token')));
    const [secretId] = Object.keys(template.findResources('AWS::SecretsManager::Secret'));

    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ AUDIT_TOKEN_SECRET_ARN: { Ref: secretId } }) },
    });
    expect(statements(template).slice(1)).toEqual([
      { Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: { Ref: secretId } },
    ]);
  });

  it('bindAssumeRoles sets ASSUME_ROLE_ARNS and grants sts:AssumeRole on exactly those roles', () => {
    const template = bound((fn) => fn.bindAssumeRoles(ROLES));

    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ASSUME_ROLE_ARNS: ROLES.join(',') }) },
    });
    expect(statements(template).slice(1)).toEqual([
      { Action: 'sts:AssumeRole', Effect: 'Allow', Resource: ROLES },
    ]);
  });

  it('bindAssumeRoles with no roles adds neither variable nor permission', () => {
    const template = bound((fn) => fn.bindAssumeRoles([]));

    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ ASSUME_ROLE_ARNS: Match.absent() }) },
    });
    expect(statements(template)).toHaveLength(1);
  });

  it('attaches to the given subnets and security groups with a network-interface policy scoped to them', () => {
    const outdir = mkdtempSync(join(tmpdir(), 'identity-relay-cdk-'));
    const app = new App({ context: { ...cdkContext(), 'aws:cdk:bundling-stacks': [] }, outdir });
    const stack = new Stack(app, 'Test', { env: { account: '123456789012', region: 'eu-central-1' } });
    const network = importNetwork(stack, {
      vpcId: 'vpc-0123456789abcdef0',
      subnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
      securityGroupIds: ['sg-0123456789abcdef0'],
    });
    const ec2 = (resource: string) => `arn:aws:ec2:eu-central-1:123456789012:${resource}`;
    const subnets = [ec2('subnet/subnet-0123456789abcdef0'), ec2('subnet/subnet-0fedcba9876543210')];

    new RelayFunction(stack, 'Hello', { ...BASE_PROPS, architecture: 'x86_64', network });
    const template = Template.fromStack(stack);

    template.hasResourceProperties('AWS::Lambda::Function', {
      Architectures: ['x86_64'],
      VpcConfig: {
        SubnetIds: ['subnet-0123456789abcdef0', 'subnet-0fedcba9876543210'],
        SecurityGroupIds: ['sg-0123456789abcdef0'],
      },
    });
    template.hasResourceProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
    expect(withPartition(statements(template).slice(1))).toEqual([
      {
        Action: 'ec2:CreateNetworkInterface',
        Effect: 'Allow',
        Resource: [ec2('network-interface/*'), ec2('security-group/sg-0123456789abcdef0'), ...subnets],
      },
      {
        Action: [
          'ec2:AssignPrivateIpAddresses',
          'ec2:DeleteNetworkInterface',
          'ec2:UnassignPrivateIpAddresses',
        ],
        Effect: 'Allow',
        Resource: ec2('network-interface/*'),
        Condition: { ArnEquals: { 'ec2:Subnet': subnets } },
      },
      {
        Action: ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
        Effect: 'Allow',
        Resource: '*',
      },
    ]);
    expect(new AwsSolutionsChecks().validateScope(app).violations).toEqual([]);
    expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
  });
});
