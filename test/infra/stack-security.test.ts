import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BASE_ENV,
  type Json,
  type QueueName,
  SYNTH_TIMEOUT,
  type Synthesized,
  synthesize,
} from './helpers.js';

const WATCHED = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:prod/aws/capa-AbC123';
const PREFIX_ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:cloud-credentials/';
const MGMT = BASE_ENV.managementKubeconfigSecretArn;
const ROLE = 'arn:aws:iam::210987654321:role/relay-eks';
const EKS_CLUSTERS = 'arn:aws:eks:*:123456789012:cluster/*';
/** Where Credential Propagated goes: the account's default bus, nothing else. */
const DEFAULT_BUS = 'arn:aws:events:eu-central-1:123456789012:event-bus/default';
const BULK_READS = ['secretsmanager:BatchGetSecretValue', 'secretsmanager:ListSecrets'];

let s: Synthesized;

// IAM and alarms do not depend on the bundles: one synthesis without esbuild for the whole file.
beforeAll(() => {
  s = synthesize(BASE_ENV, { skipBundling: true });
}, SYNTH_TIMEOUT);

/** A policy field that may hold one value or a list, as a list. */
const list = (value: unknown) => (Array.isArray(value) ? value : [value]);

describe('IAM', () => {
  const statements = () =>
    s
      .resources('AWS::IAM::Policy')
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Record<string, Json>[]);

  it('grants no wildcard action anywhere', () => {
    const actions = statements().flatMap((s) => list(s.Action) as string[]);

    expect(actions.filter((a) => a.includes('*'))).toEqual([]);
  });

  it('scopes every literal resource to a configured ARN, a watched-prefix pattern or a condition-bound "*"', () => {
    const allowed = new Set([WATCHED, `${PREFIX_ARN}*`, MGMT, ROLE, EKS_CLUSTERS, DEFAULT_BUS]);

    for (const statement of statements()) {
      for (const resource of list(statement.Resource).filter((r) => typeof r === 'string')) {
        if (resource === '*' && statement.Action !== 'kms:Decrypt') {
          // The sweep's bulk reads take no ARN; BatchGetSecretValue still needs GetSecretValue per secret.
          expect(statement.Action).toEqual([
            'secretsmanager:BatchGetSecretValue',
            'secretsmanager:ListSecrets',
          ]);
        } else if (resource === '*') {
          expect(statement).toMatchObject({
            Action: 'kms:Decrypt',
            Condition: { StringEquals: { 'kms:ViaService': 'secretsmanager.eu-central-1.amazonaws.com' } },
          });
        } else {
          expect(allowed).toContain(resource);
        }
      }
    }
  });

  it('reads secrets only from the watched set, the kubeconfig and the audit token', () => {
    const secretReads = statements().filter((s) =>
      list(s.Action).some((a: string) => a.startsWith('secretsmanager:') && !BULK_READS.includes(a)),
    );
    const resourcesRead = new Set(secretReads.flatMap((s) => list(s.Resource).map((r) => JSON.stringify(r))));

    expect([...resourcesRead].sort()).toEqual(
      [WATCHED, `${PREFIX_ARN}*`, MGMT, { Ref: s.logicalId(s.stack.node.findChild('AuditWebhookToken')) }]
        .map((r) => JSON.stringify(r))
        .sort(),
    );
  });

  it('lets the distribution function read the management kubeconfig and no watched secret', () => {
    const role = { Ref: s.logicalId(s.stack.functions.distribution?.role) };
    const own = s
      .resources('AWS::IAM::Policy')
      .filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([role]))
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Record<string, Json>[]);
    const reads = own.filter((s) => list(s.Action).some((a: string) => a.startsWith('secretsmanager:')));

    expect(own.length).toBeGreaterThan(0);
    expect(reads.flatMap((s) => list(s.Resource))).toEqual([MGMT]);
  });

  it('reserves concurrency for the audit webhook by default, and for no other function', () => {
    const reserved = Object.fromEntries(
      s
        .resources('AWS::Lambda::Function')
        .map(([id, fn]) => [id, fn.Properties.ReservedConcurrentExecutions]),
    );

    expect(reserved).toEqual({
      [s.functionId('rotation')]: undefined,
      [s.functionId('auditWebhook')]: 10,
      [s.functionId('distribution')]: undefined,
      [s.functionId('sweep')]: undefined,
    });
  });

  it('keeps every function log group when the stack is removed', () => {
    const groups = s.resources('AWS::Logs::LogGroup').map(([, g]) => g as Json);

    expect(groups).toHaveLength(4);
    for (const group of groups) expect(group).toMatchObject({ DeletionPolicy: 'Retain' });
  });

  it('lets the sweep list versions and batch-read values, which only GetSecretValue on a secret unlocks', () => {
    const sweepPolicies = s
      .resources('AWS::IAM::Policy')
      .filter(([, p]) =>
        JSON.stringify(p.Properties.Roles).includes(s.logicalId(s.stack.functions.sweep?.role)),
      );
    const sweepStatements = sweepPolicies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Json[]);

    expect(sweepStatements).toContainEqual({ Action: BULK_READS, Effect: 'Allow', Resource: '*' });
    expect(sweepStatements).toContainEqual(
      expect.objectContaining({
        Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
        Resource: [`${PREFIX_ARN}*`, WATCHED],
      }),
    );
  });

  it('assumes only the configured roles, and uses no managed policy without a VPC', () => {
    const assume = statements().filter((s) => list(s.Action).includes('sts:AssumeRole'));

    expect(assume.map((s) => s.Resource)).toEqual([ROLE, ROLE, ROLE]);
    s.template.allResourcesProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
  });

  it('lets the cluster-connecting functions describe only the EKS clusters of their own account', () => {
    const describe = statements().filter((s) => list(s.Action).includes('eks:DescribeCluster'));

    expect(describe.map((s) => [s.Action, s.Resource])).toEqual([
      ['eks:DescribeCluster', EKS_CLUSTERS],
      ['eks:DescribeCluster', EKS_CLUSTERS],
      ['eks:DescribeCluster', EKS_CLUSTERS],
    ]);
  });
});

describe('alarms', () => {
  const alarms = () => s.resources('AWS::CloudWatch::Alarm').map(([, a]) => a.Properties);
  const topicRef = () => ({ Ref: Object.keys(s.template.findResources('AWS::SNS::Topic'))[0] });

  it.each(['rotationDlq', 'distributionDlq', 'eventsDlq', 'auditQuarantine'] as QueueName[])(
    'fires on the first visible message in %s and notifies the topic',
    (dlq) => {
      const alarm = alarms().find(
        (a) =>
          a.MetricName === 'ApproximateNumberOfMessagesVisible' &&
          a.Dimensions?.[0]?.Value?.['Fn::GetAtt']?.[0] === s.queueId(dlq),
      );

      expect(alarm).toMatchObject({
        Namespace: 'AWS/SQS',
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        Threshold: 1,
        AlarmActions: [topicRef()],
      });
    },
  );

  it('watches errors of every function and the age of both work queues', () => {
    const errors = alarms()
      .filter((a) => a.MetricName === 'Errors')
      .map((a) => a.Dimensions[0].Value.Ref);
    const ages = alarms().filter((a) => a.MetricName === 'ApproximateAgeOfOldestMessage');

    expect(errors.sort()).toEqual(
      (['rotation', 'auditWebhook', 'distribution', 'sweep'] as const).map((n) => s.functionId(n)).sort(),
    );
    expect(ages.map((a) => a.Threshold)).toEqual([900, 900]);
  });

  it('alarms on RotationFailed summed over every function that emits it', () => {
    expect(alarms()).toContainEqual(
      expect.objectContaining({
        Threshold: 1,
        AlarmActions: [topicRef()],
        Metrics: [
          expect.objectContaining({
            Expression: 'SELECT SUM(RotationFailed) FROM SCHEMA("IdentityRelay", service)',
          }),
        ],
      }),
    );
  });

  it('subscribes the on-call e-mail and shows the propagation metrics on the dashboard', () => {
    s.template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'oncall@example.com',
    });
    const body = JSON.stringify(s.resources('AWS::CloudWatch::Dashboard')[0]?.[1].Properties.DashboardBody);

    for (const metric of [
      'PropagationLatency',
      'Writes',
      'NoOps',
      'RegionFailures',
      'SecretsManagerCalls',
      'AuditEventsDropped',
    ]) {
      expect(body).toContain(`MetricName=\\\\\\"${metric}\\\\\\"`);
    }
    expect(body).toContain("'p99'");
  });
});

describe('a private, imported-topic environment without the CloudTrail rule', {
  timeout: SYNTH_TIMEOUT,
}, () => {
  let synthesized: Synthesized | undefined;
  const variant = () => {
    synthesized ??= synthesize(
      {
        ...BASE_ENV,
        cloudTrailRule: false,
        vpc: {
          vpcId: 'vpc-0123456789abcdef0',
          subnetIds: ['subnet-0123456789abcdef0'],
          securityGroupIds: ['sg-0123456789abcdef0'],
        },
        alarm: { snsTopicArn: 'arn:aws:sns:eu-central-1:123456789012:platform-alarms' },
      },
      { skipBundling: true },
    );
    return synthesized;
  };

  it(
    'attaches every function but the webhook to the subnets, alarms to the imported topic, and has one rule',
    () => {
      const v = variant();
      const t = v.template;

      for (const name of ['rotation', 'distribution', 'sweep'] as const) {
        expect(
          v.resources('AWS::Lambda::Function').find(([id]) => id === v.functionId(name))?.[1].Properties
            .VpcConfig,
        ).toEqual({ SubnetIds: ['subnet-0123456789abcdef0'], SecurityGroupIds: ['sg-0123456789abcdef0'] });
      }
      t.hasResourceProperties('AWS::Lambda::Function', {
        Environment: { Variables: Match.objectLike({ AUDIT_TOKEN_SECRET_ARN: Match.anyValue() }) },
        VpcConfig: Match.absent(),
      });
      t.allResourcesProperties('AWS::CloudWatch::Alarm', {
        AlarmActions: ['arn:aws:sns:eu-central-1:123456789012:platform-alarms'],
      });
      t.resourceCountIs('AWS::SNS::Topic', 0);
      expect(
        Object.values(t.findResources('AWS::Events::Rule')).map(
          (r) => r.Properties.EventPattern['detail-type'],
        ),
      ).toEqual([['Secret Label Updated']]);
    },
    SYNTH_TIMEOUT,
  );

  it(
    'grants network interfaces only in the configured subnets, to the three VPC functions, and no managed policy',
    () => {
      const v = variant();
      const statements = v
        .resources('AWS::IAM::Policy')
        .map(([, p]) => ({
          roles: p.Properties.Roles as Json[],
          ec2: (p.Properties.PolicyDocument.Statement as Record<string, Json>[]).filter((s) =>
            JSON.stringify(s.Action).includes('ec2:'),
          ),
        }))
        .filter((p) => p.ec2.length > 0);
      const roleOf = (name: 'rotation' | 'distribution' | 'sweep' | 'auditWebhook') => [
        { Ref: v.logicalId(v.stack.functions[name]?.role) },
      ];

      v.template.allResourcesProperties('AWS::IAM::Role', { ManagedPolicyArns: Match.absent() });
      expect(statements.map((p) => p.roles).sort()).toEqual(
        [roleOf('rotation'), roleOf('distribution'), roleOf('sweep')].sort(),
      );
      for (const { ec2 } of statements) {
        // CDK merges statements on the same resource: the sweep's bulk reads share the `*` statement.
        const wide = ec2.filter((s) => s.Resource === '*');
        expect(wide.map((s) => list(s.Action).filter((a: string) => a.startsWith('ec2:')))).toEqual([
          ['ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets'],
        ]);
        expect(JSON.stringify(ec2)).toContain('subnet/subnet-0123456789abcdef0');
        expect(ec2.find((s) => JSON.stringify(s.Action).includes('DeleteNetworkInterface'))).toMatchObject({
          Condition: { ArnEquals: { 'ec2:Subnet': [expect.anything()] } },
        });
      }
    },
    SYNTH_TIMEOUT,
  );
});

describe('binding scopes and cluster hosts', () => {
  it(
    'reach every function that connects to clusters as BINDING_SCOPES, CLUSTER_HOSTS and the token ARN, and not the webhook',
    () => {
      // Prepare
      const bindingScopes = { 'team-a': { arns: [WATCHED], namePrefixes: ['team-a/'] } };
      const clusterHosts = ['*.eks.amazonaws.com', '10.0.0.0/16'];

      // Act
      const scoped = synthesize({ ...BASE_ENV, bindingScopes, clusterHosts }, { skipBundling: true });

      // Assess
      const variables = scoped
        .resources('AWS::Lambda::Function')
        .map(([, f]) => (f.Properties.Environment as { Variables: Record<string, Json> }).Variables);
      const withPolicy = variables.filter((v) => v.BINDING_SCOPES !== undefined);
      expect(withPolicy).toHaveLength(3);
      for (const v of withPolicy) {
        expect(JSON.parse(String(v.BINDING_SCOPES))).toEqual(bindingScopes);
        expect(v.CLUSTER_HOSTS).toBe(clusterHosts.join(','));
        expect(v.AUDIT_TOKEN_SECRET_ARN).toEqual({
          Ref: scoped.logicalId(scoped.stack.node.findChild('AuditWebhookToken')),
        });
        expect(v.ALLOW_LOOPBACK_CLUSTERS).toBeUndefined();
      }
      const webhook = variables.find((v) => v.QUARANTINE_QUEUE_URL !== undefined);
      expect(webhook).toBeDefined();
      expect(webhook?.BINDING_SCOPES).toBeUndefined();
    },
    SYNTH_TIMEOUT,
  );
});
