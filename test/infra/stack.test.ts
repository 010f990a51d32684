import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/relay-app.js';
import { discoverEntries, type FunctionName } from '../../infra/stacks/identity-relay-stack.js';
import {
  BASE_ENV,
  type Json,
  type Resource,
  SYNTH_TIMEOUT,
  type Synthesized,
  synthesize,
} from './helpers.js';

const WATCHED = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:prod/aws/capa-AbC123';
const PREFIX_ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:cloud-credentials/';

let s: Synthesized;

// One synthesis with real bundling for the whole file: the real handler entries where they exist.
beforeAll(() => {
  s = synthesize(BASE_ENV);
}, SYNTH_TIMEOUT);

describe('EventBridge rules', () => {
  it('forwards AWSCURRENT label moves of exactly the watched secrets', () => {
    s.template.hasResourceProperties('AWS::Events::Rule', {
      EventBusName: 'default',
      EventPattern: {
        source: ['aws.secretsmanager'],
        'detail-type': ['Secret Label Updated'],
        resources: [WATCHED, { prefix: PREFIX_ARN }],
        detail: { labelUpdated: ['AWSCURRENT'] },
      },
    });
  });

  it('forwards CloudTrail API calls and rotation service events when cloudTrailRule is on', () => {
    const [, rule] =
      s
        .resources('AWS::Events::Rule')
        .find(([, r]) => r.Properties.EventPattern['detail-type'].includes('AWS API Call via CloudTrail')) ??
      [];
    const branches = rule?.Properties.EventPattern.detail.$or as Record<string, Json>[];

    expect(branches.map((b) => b.eventName)).toEqual([
      ['PutSecretValue', 'UpdateSecret', 'UpdateSecretVersionStage', 'RestoreSecret'],
      ['RotationSucceeded', 'RotationFailed', 'RotationAbandoned'],
      ['RotationSucceeded', 'RotationFailed', 'RotationAbandoned'],
    ]);
    expect(branches[0]?.requestParameters.secretId).toEqual([
      WATCHED,
      WATCHED.replace('-AbC123', ''),
      'prod/aws/capa',
      { prefix: 'cloud-credentials/' },
      { prefix: PREFIX_ARN },
    ]);
    expect(branches[0]?.errorCode).toEqual([{ exists: false }]);
    expect(branches[1]?.additionalEventData.SecretId).toEqual([WATCHED, { prefix: PREFIX_ARN }]);
  });

  it('delivers every rule to the standard rotation queue, with no message group, and a standard DLQ', () => {
    const rotationQueue = s.queueId('rotation');
    const eventsDlq = s.queueId('eventsDlq');

    for (const [, rule] of s.resources('AWS::Events::Rule')) {
      expect(rule.Properties.Targets).toEqual([
        expect.objectContaining({
          Arn: { 'Fn::GetAtt': [rotationQueue, 'Arn'] },
          DeadLetterConfig: { Arn: { 'Fn::GetAtt': [eventsDlq, 'Arn'] } },
        }),
      ]);
      // Keep the envelope whole: the function parses the documented event shape.
      expect(rule.Properties.Targets[0]).not.toHaveProperty('InputTransformer');
      expect(rule.Properties.Targets[0]).not.toHaveProperty('SqsParameters');
    }
    expect(s.template.toJSON().Resources[eventsDlq].Properties).not.toHaveProperty('FifoQueue');
  });

  it('archives exactly what each rule matches, for the configured retention', () => {
    const rules = s.resources('AWS::Events::Rule').map(([, r]) => r.Properties.EventPattern);
    const archives = s.resources('AWS::Events::Archive').map(([, r]) => r.Properties);

    expect(archives.map((a) => a.EventPattern)).toEqual(rules);
    expect(archives.map((a) => a.RetentionDays)).toEqual([30, 30]);
    expect(rules.map((r) => r['detail-type'])).toEqual([
      ['Secret Label Updated'],
      ['AWS API Call via CloudTrail', 'AWS Service Event via CloudTrail'],
    ]);
  });
});

describe('queues', () => {
  it('the rotation queue is standard, redriving to its standard DLQ after 5 receives: no secret waits behind another', () => {
    const all = s.template.toJSON().Resources as Record<string, Resource>;
    const queue = all[s.queueId('rotation')]?.Properties;
    const dlq = all[s.queueId('rotationDlq')]?.Properties;

    expect(queue).toMatchObject({
      VisibilityTimeout: 360,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [s.queueId('rotationDlq'), 'Arn'] },
        maxReceiveCount: 5,
      },
    });
    expect(queue).not.toHaveProperty('FifoQueue');
    expect(dlq).not.toHaveProperty('FifoQueue');
    expect(dlq).toMatchObject({ MessageRetentionPeriod: 14 * 24 * 3600 });
  });

  it('the distribution queue is FIFO with content-based dedup, redriving to its FIFO DLQ after 5 receives', () => {
    const all = s.template.toJSON().Resources as Record<string, Resource>;

    expect(all[s.queueId('distribution')]?.Properties).toMatchObject({
      FifoQueue: true,
      ContentBasedDeduplication: true,
      VisibilityTimeout: 720,
      RedrivePolicy: {
        deadLetterTargetArn: { 'Fn::GetAtt': [s.queueId('distributionDlq'), 'Arn'] },
        maxReceiveCount: 5,
      },
    });
    expect(all[s.queueId('distributionDlq')]?.Properties).toMatchObject({
      FifoQueue: true,
      MessageRetentionPeriod: 14 * 24 * 3600,
    });
  });

  it('encrypts every queue with SQS-managed keys and refuses non-TLS access', () => {
    const queues = s.resources('AWS::SQS::Queue');
    const policies = s.resources('AWS::SQS::QueuePolicy');

    expect(queues.map(([, q]) => q.Properties.SqsManagedSseEnabled)).toEqual(queues.map(() => true));
    for (const [id] of queues) {
      const policy = policies.find(([, p]) => JSON.stringify(p.Properties.Queues).includes(`"${id}"`));
      expect(policy?.[1].Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });
});

describe('functions', () => {
  it('runs every function on Node.js 22, arm64, JSON logs to its own group', () => {
    const fns = s.resources('AWS::Lambda::Function');

    expect(fns).toHaveLength(4);
    for (const [, fn] of fns) {
      expect(fn.Properties).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        LoggingConfig: { LogFormat: 'JSON', LogGroup: { Ref: expect.any(String) } },
      });
    }
  });

  it('consumes both queues with partial batch failure reporting', () => {
    const mappings = s.resources('AWS::Lambda::EventSourceMapping').map(([, m]) => m.Properties);

    expect(mappings).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          FunctionName: { Ref: s.functionId('rotation') },
          EventSourceArn: { 'Fn::GetAtt': [s.queueId('rotation'), 'Arn'] },
          FunctionResponseTypes: ['ReportBatchItemFailures'],
        }),
        expect.objectContaining({
          FunctionName: { Ref: s.functionId('distribution') },
          EventSourceArn: { 'Fn::GetAtt': [s.queueId('distribution'), 'Arn'] },
          FunctionResponseTypes: ['ReportBatchItemFailures'],
        }),
      ]),
    );
    expect(mappings.map((m) => m.FunctionResponseTypes)).toEqual(
      mappings.map(() => ['ReportBatchItemFailures']),
    );
  });

  it.each([
    [
      'rotation',
      [
        'MANAGEMENT_KUBECONFIG_SECRET_ARN',
        'SYSTEM_NAMESPACE',
        'WATCH_NAMESPACES',
        'ASSUME_ROLE_ARNS',
        'AUDIT_TOKEN_SECRET_ARN', // named so no binding can copy it; never read
        'WORK_QUEUE_URL', // its own queue: backoff of failed messages
        'DEAD_LETTER_QUEUE_URL', // records of what cannot be retried
        'DISTRIBUTION_QUEUE_URL', // failed regions, handed to their own jobs
        'EVENT_BUS_NAME', // Credential Propagated / Credential Propagation Failed
        'MAX_RECEIVE_COUNT', // the last delivery before the dead-letter queue
      ],
    ],
    [
      'distribution',
      [
        'MANAGEMENT_KUBECONFIG_SECRET_ARN',
        'SYSTEM_NAMESPACE',
        'WATCH_NAMESPACES',
        'ASSUME_ROLE_ARNS',
        'AUDIT_TOKEN_SECRET_ARN', // named so no binding can copy it; never read
        'WORK_QUEUE_URL',
        'DEAD_LETTER_QUEUE_URL',
        'DISTRIBUTION_QUEUE_URL',
        'EVENT_BUS_NAME',
        'MAX_RECEIVE_COUNT',
      ],
    ],
    [
      'sweep',
      [
        'MANAGEMENT_KUBECONFIG_SECRET_ARN',
        'SYSTEM_NAMESPACE',
        'WATCH_NAMESPACES',
        'ASSUME_ROLE_ARNS',
        'AUDIT_TOKEN_SECRET_ARN', // named so no binding can copy it; never read
        'EVENT_BUS_NAME',
      ],
    ],
    [
      'auditWebhook',
      [
        'SYSTEM_NAMESPACE',
        'WATCH_NAMESPACES',
        'AUDIT_TOKEN_SECRET_ARN',
        'DISTRIBUTION_QUEUE_URL',
        'QUARANTINE_QUEUE_URL',
        'RELAY_USERNAME',
      ],
    ],
  ] as [FunctionName, string[]][])('gives %s exactly its contract variables', (name, expected) => {
    const [, fn] = s.resources('AWS::Lambda::Function').find(([id]) => id === s.functionId(name)) ?? [];
    const variables = fn?.Properties.Environment.Variables as Record<string, unknown>;
    const common = ['NODE_OPTIONS', 'POWERTOOLS_SERVICE_NAME', 'POWERTOOLS_METRICS_NAMESPACE'];

    expect(Object.keys(variables).sort()).toEqual([...common, ...expected].sort());
    expect(variables).toMatchObject({
      POWERTOOLS_METRICS_NAMESPACE: 'IdentityRelay',
      WATCH_NAMESPACES: 'kcm-system,team-a',
    });
  });

  it.each(['rotation', 'distribution', 'sweep'] as FunctionName[])(
    'lets %s put events on the default bus only, and says which',
    (name) => {
      const [, fn] = s.resources('AWS::Lambda::Function').find(([id]) => id === s.functionId(name)) ?? [];
      const role = s.logicalId(s.stack.functions[name]?.role);
      const statements = s
        .resources('AWS::IAM::Policy')
        .filter(([, policy]) =>
          (policy.Properties.Roles as Array<{ Ref?: string }>).some((r) => r.Ref === role),
        )
        .flatMap(
          ([, policy]) => policy.Properties.PolicyDocument.Statement as Array<Record<string, unknown>>,
        );
      const putEvents = statements.filter((st) => st.Action === 'events:PutEvents');

      expect(fn?.Properties.Environment.Variables.EVENT_BUS_NAME).toBe('default');
      expect(putEvents).toHaveLength(1);
      expect(JSON.stringify(putEvents[0]?.Resource)).toContain(':event-bus/default');
    },
  );

  it('exposes the audit webhook through a Function URL with auth NONE (the token is checked inside)', () => {
    s.template.hasResourceProperties('AWS::Lambda::Url', {
      AuthType: 'NONE',
      TargetFunctionArn: { 'Fn::GetAtt': [s.functionId('auditWebhook'), 'Arn'] },
    });
    s.template.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: { ExcludePunctuation: true, PasswordLength: 64 },
    });
  });

  it('runs the sweep from EventBridge Scheduler at the configured rate with a flexible window', () => {
    s.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(30 minutes)',
      FlexibleTimeWindow: { Mode: 'FLEXIBLE', MaximumWindowInMinutes: 15 },
      Target: Match.objectLike({ Arn: { 'Fn::GetAtt': [s.functionId('sweep'), 'Arn'] } }),
    });
  });

  it(
    'bundles every real handler entry into an ESM module Node.js can import',
    () => {
      const real = discoverEntries(PROJECT_ROOT);

      for (const name of Object.keys(real) as FunctionName[]) {
        const [, fn] = s.resources('AWS::Lambda::Function').find(([id]) => id === s.functionId(name)) ?? [];
        const asset = join(
          s.outdir,
          `asset.${String(fn?.Properties.Code.S3Key).replace('.zip', '')}`,
          'index.mjs',
        );
        const script = `const m = await import(${JSON.stringify(asset)}); process.stdout.write(typeof m.handler);`;

        // Importing must not need the cloud: clients are created on first invocation (STYLE.md).
        const loaded = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
          encoding: 'utf8',
          env: { PATH: process.env.PATH, AWS_REGION: 'eu-central-1' },
        });

        // node:http comes as CommonJS (infra/node-http.cjs): an ESM import of it loads Node's fetch too.
        const esmHttp = /from\s*["']node:http["']/.test(readFileSync(asset, 'utf8'));
        expect({ name, loaded, esmHttp }).toEqual({ name, loaded: 'function', esmHttp: false });
      }
    },
    SYNTH_TIMEOUT,
  );
});
