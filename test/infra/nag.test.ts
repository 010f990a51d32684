import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Validations } from 'aws-cdk-lib';
import { Annotations, Match } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { describe, expect, it } from 'vitest';
import { ENVIRONMENTS_CONTEXT_KEY } from '../../infra/config.js';
import { PROJECT_ROOT } from '../../infra/relay-app.js';
import { BASE_ENV, cdkContext, SYNTH_TIMEOUT, synthesize } from './helpers.js';

const examples = cdkContext()[ENVIRONMENTS_CONTEXT_KEY] as Record<string, unknown>;

const cases: [string, unknown][] = [
  ...Object.entries(examples).map(([name, env]): [string, unknown] => [`cdk.json ${name}`, env]),
  ['the test baseline (CloudTrail rule, assumed roles)', BASE_ENV],
  [
    'a VPC with customer managed keys',
    {
      ...BASE_ENV,
      watchedSecrets: {
        ...BASE_ENV.watchedSecrets,
        kmsKeyArns: ['arn:aws:kms:eu-central-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'],
      },
      vpc: {
        vpcId: 'vpc-0123456789abcdef0',
        subnetIds: ['subnet-0123456789abcdef0'],
        securityGroupIds: ['sg-0123456789abcdef0'],
      },
    },
  ],
];

function acknowledgements(root: IConstruct): { path: string; id: string; reason: string }[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id,
          reason,
        })),
      ),
  );
}

describe('cdk-nag AwsSolutions', { timeout: SYNTH_TIMEOUT }, () => {
  // Template-level checks only: bundling is skipped, every function still exists (fixture entries).
  it.each(cases)(
    'finds nothing unacknowledged in %s',
    (_name, env) => {
      const { app, stack } = synthesize(env, { skipBundling: true });

      const report = new AwsSolutionsChecks().validateScope(app);

      expect(
        report.violations.map((v) => `${v.severity} ${v.ruleName} ${v.violatingResources[0]?.constructPath}`),
      ).toEqual([]);
      expect(Annotations.fromStack(stack).findError('*', Match.anyValue())).toEqual([]);
      expect(Annotations.fromStack(stack).findWarning('*', Match.anyValue())).toEqual([]);
    },
    SYNTH_TIMEOUT,
  );

  it('gives every acknowledgement a reason and scopes none to the stack or app', () => {
    const env = cases.at(-1)?.[1];
    const { app } = synthesize(env, { skipBundling: true });

    const acks = acknowledgements(app);

    expect(acks.map((a) => a.id.replace(/^Annotation::/i, '').replace(/\[.*\]$/, '')).sort()).toEqual(
      expect.arrayContaining(['AwsSolutions-L1', 'AwsSolutions-SMG4', 'AwsSolutions-SQS3']),
    );
    for (const ack of acks) {
      expect(ack.reason.length).toBeGreaterThan(40);
      expect(ack.path.split('/').length).toBeGreaterThan(1);
    }
  });
});

describe('the CDK app entry', () => {
  it(
    'synthesises the example environment with the AwsSolutions checks as a synth-time validation',
    () => {
      const outdir = mkdtempSync(join(tmpdir(), 'identity-relay-cdk-'));

      // What `cdk synth -c env=example` runs: the app with the cdk.json context, output in CDK_OUTDIR.
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'infra/bin/app.ts'], {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        env: {
          ...process.env,
          CDK_CONTEXT_JSON: JSON.stringify({ ...cdkContext(), env: 'example' }),
          CDK_OUTDIR: outdir,
        },
      });

      expect({
        status: run.status,
        stderr: run.stderr.split('\n').filter((l) => /error|violation/i.test(l)),
      }).toEqual({
        status: 0,
        stderr: [],
      });
      expect(existsSync(join(outdir, 'IdentityRelay-example.template.json'))).toBe(true);
      const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8')) as {
        pluginReports: unknown[];
      };
      expect(report.pluginReports).toEqual([]);
    },
    SYNTH_TIMEOUT,
  );
});
