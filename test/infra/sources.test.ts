import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnvironment } from '../../infra/config.js';
import { parseForwarderConfig, SourceForwarderStack } from '../../infra/stacks/source-forwarder-stack.js';
import { BASE_ENV, type Json, SYNTH_TIMEOUT, synthesize } from './helpers.js';

// Secrets in other accounts (a security account) and EKS audit logs: what the stack wires for them.

const SECURITY = '345678901234';
const REMOTE = `arn:aws:secretsmanager:eu-central-1:${SECURITY}:secret:capa/static-ZxY987`;
const REMOTE_KEY = `arn:aws:kms:eu-central-1:${SECURITY}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
const WITH_SOURCES = {
  ...BASE_ENV,
  sourceAccounts: { arns: [REMOTE], kmsKeyArns: [REMOTE_KEY] },
  eksAuditLogs: [{ clusterName: 'mgmt-eks' }, { clusterName: 'other', logGroupName: '/custom/audit' }],
};
const list = (value: unknown) => (Array.isArray(value) ? value : [value]);

describe('sources in other accounts', { timeout: SYNTH_TIMEOUT }, () => {
  const s = synthesize(WITH_SOURCES, { skipBundling: true });
  const statements = () =>
    s
      .resources('AWS::IAM::Policy')
      .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Array<Record<string, Json>>);

  it('lets exactly the source accounts put Secrets Manager events on the default bus', () => {
    s.template.resourceCountIs('AWS::Events::EventBusPolicy', 1);
    s.template.hasResourceProperties('AWS::Events::EventBusPolicy', {
      EventBusName: 'default',
      Statement: {
        Effect: 'Allow',
        Principal: { AWS: [`arn:aws:iam::${SECURITY}:root`] },
        Action: 'events:PutEvents',
        Resource: 'arn:aws:events:eu-central-1:123456789012:event-bus/default',
        Condition: { StringEquals: { 'events:source': 'aws.secretsmanager' } },
      },
    });
  });

  it('matches the remote secret in the rotation rules like a local one', () => {
    const rules = s.resources('AWS::Events::Rule').map(([, r]) => JSON.stringify(r.Properties.EventPattern));

    expect(rules.length).toBeGreaterThan(0);
    for (const pattern of rules) expect(pattern).toContain(REMOTE);
  });

  it('reads the remote secret by its ARN, and decrypts with its key only through Secrets Manager', () => {
    const reads = statements().filter((st) => list(st.Action).includes('secretsmanager:GetSecretValue'));
    const decrypt = statements().filter((st) => list(st.Action).includes('kms:Decrypt'));

    expect(JSON.stringify(reads.map((st) => st.Resource))).toContain(REMOTE);
    expect(decrypt.some((st) => JSON.stringify(st.Resource).includes(REMOTE_KEY))).toBe(true);
    for (const st of decrypt)
      expect(st.Condition).toMatchObject({
        StringEquals: { 'kms:ViaService': expect.stringContaining('secretsmanager') },
      });
  });

  it('admits the organization instead of account principals when an organization id is given', () => {
    const org = synthesize(
      { ...WITH_SOURCES, sourceAccounts: { arns: [REMOTE], organizationId: 'o-abc123def456' } },
      { skipBundling: true },
    );

    org.template.hasResourceProperties('AWS::Events::EventBusPolicy', {
      Statement: Match.objectLike({
        Principal: '*',
        Condition: {
          StringEquals: { 'events:source': 'aws.secretsmanager', 'aws:PrincipalOrgID': 'o-abc123def456' },
        },
      }),
    });
  });

  it('subscribes the audit function to each EKS cluster audit log group, invokable from that group only', () => {
    const webhook = s.functionId('auditWebhook');
    const filters = s.resources('AWS::Logs::SubscriptionFilter').map(([, f]) => f.Properties);
    const permissions = s
      .resources('AWS::Lambda::Permission')
      .map(([, p]) => p.Properties)
      .filter((p) => p.Principal === 'logs.amazonaws.com');

    expect(filters.map((f) => f.LogGroupName).sort()).toEqual(['/aws/eks/mgmt-eks/cluster', '/custom/audit']);
    for (const filter of filters) {
      expect(filter.DestinationArn).toEqual({ 'Fn::GetAtt': [webhook, 'Arn'] });
      expect(filter.FilterPattern).toContain('$.kind = "Event"');
    }
    expect(permissions).toHaveLength(2);
    for (const permission of permissions) {
      expect(permission.FunctionName).toEqual({ 'Fn::GetAtt': [webhook, 'Arn'] });
      expect(JSON.stringify(permission.SourceArn)).toMatch(
        /log-group:(\/aws\/eks\/mgmt-eks\/cluster|\/custom\/audit):\*/,
      );
    }
  });

  it('finds nothing for cdk-nag to report', () => {
    const report = new AwsSolutionsChecks().validateScope(s.app);

    expect(report.violations.map((v) => `${v.ruleName} ${v.violatingResources[0]?.constructPath}`)).toEqual(
      [],
    );
  });

  it.each([
    [
      'a remote ARN in this account',
      { arns: ['arn:aws:secretsmanager:eu-central-1:123456789012:secret:x-AbC123'] },
      "sourceAccounts.arns[0] is in this stack's account 123456789012: list it in watchedSecrets",
    ],
    [
      'a remote ARN in another region',
      { arns: [`arn:aws:secretsmanager:us-east-1:${SECURITY}:secret:x-AbC123`] },
      'sourceAccounts.arns[0] must be in region eu-central-1',
    ],
    ['an empty list', { arns: [] }, 'sourceAccounts.arns must be a non-empty list of full secret ARNs'],
    [
      'a bad organization id',
      { arns: [REMOTE], organizationId: 'org-1' },
      'sourceAccounts.organizationId must be an AWS Organizations id',
    ],
  ])('refuses %s with one line naming the key', (_case, sourceAccounts, message) => {
    expect(() => parseEnvironment('test', { ...BASE_ENV, sourceAccounts })).toThrow(ConfigError);
    expect(() => parseEnvironment('test', { ...BASE_ENV, sourceAccounts })).toThrow(message);
  });
});

describe('the source account forwarder', { timeout: SYNTH_TIMEOUT }, () => {
  const forwarder = parseForwarderConfig({
    account: SECURITY,
    region: 'eu-central-1',
    relayAccount: '123456789012',
    secretArns: [REMOTE],
  });
  const app = new App();
  const stack = new SourceForwarderStack(app, 'Forwarder', {
    env: { account: SECURITY, region: 'eu-central-1' },
    forwarder,
  });
  const template = Template.fromStack(stack);

  it("forwards the secrets' Secrets Manager events to identity-relay's default bus, nothing else", () => {
    template.resourceCountIs('AWS::Events::Rule', 1);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.secretsmanager'],
        'detail-type': ['Secret Label Updated'],
        resources: [REMOTE],
        detail: { labelUpdated: ['AWSCURRENT'] },
      },
      Targets: [Match.objectLike({ Arn: 'arn:aws:events:eu-central-1:123456789012:event-bus/default' })],
    });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: [
          {
            Action: 'events:PutEvents',
            Effect: 'Allow',
            Resource: 'arn:aws:events:eu-central-1:123456789012:event-bus/default',
          },
        ],
      },
    });
  });

  it('finds nothing for cdk-nag to report', () => {
    const report = new AwsSolutionsChecks().validateScope(app);

    expect(report.violations.map((v) => v.ruleName)).toEqual([]);
  });

  it.each([
    [{ account: SECURITY, region: 'eu-central-1', relayAccount: '1', secretArns: [REMOTE] }, 'relayAccount'],
    [
      { account: SECURITY, region: 'eu-central-1', relayAccount: '123456789012', secretArns: [] },
      'secretArns',
    ],
    [
      { account: '999999999999', region: 'eu-central-1', relayAccount: '123456789012', secretArns: [REMOTE] },
      `${REMOTE} is not in account 999999999999`,
    ],
  ])('refuses bad settings with one line naming the key (%#)', (settings, says) => {
    expect(() => parseForwarderConfig(settings)).toThrow(says);
  });
});
