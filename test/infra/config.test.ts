import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  allWatchNamespaces,
  ConfigError,
  ENVIRONMENTS_CONTEXT_KEY,
  loadConfig,
  parseEnvironment,
  watchedSecretResources,
} from '../../infra/config.js';
import { PROJECT_ROOT } from '../../infra/relay-app.js';
import { BASE_ENV, cdkContext, SYNTH_TIMEOUT } from './helpers.js';

const KEY = `cdk.json context ${ENVIRONMENTS_CONTEXT_KEY}.test`;

function errorOf(action: () => unknown): ConfigError {
  try {
    action();
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw error;
  }
  throw new Error('expected a ConfigError');
}

function context(values: Record<string, unknown>) {
  return { tryGetContext: (key: string) => values[key] };
}

describe('parseEnvironment', () => {
  it('applies the documented defaults to a minimal environment', () => {
    const { alarm, assumeRoleArns, cloudTrailRule, relayUsername, ...minimal } = BASE_ENV;

    const config = parseEnvironment('test', minimal);

    expect(config).toMatchObject({
      name: 'test',
      systemNamespace: 'kcm-system',
      sweepIntervalMinutes: 30,
      archiveRetentionDays: 30,
      logRetentionDays: 30,
      architecture: 'arm64',
      memorySize: 512,
      assumeRoleArns: [],
      cloudTrailRule: false,
      alarm: {},
      reservedConcurrency: { auditWebhook: 10 },
    });
    expect(config.vpc).toBeUndefined();
  });

  it.each([
    ['a missing account', { account: undefined }, `${KEY}.account is required: a 12-digit AWS account id`],
    ['a short account', { account: '1234' }, `${KEY}.account must be a 12-digit AWS account id`],
    ['a bad region', { region: 'europe' }, `${KEY}.region must be an AWS region such as eu-west-1`],
    [
      'a partial kubeconfig secret ARN',
      { managementKubeconfigSecretArn: 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:kubeconfig' },
      `${KEY}.managementKubeconfigSecretArn must be a full Secrets Manager secret ARN ending in -<6 characters>`,
    ],
    [
      'a cluster host given as a URL',
      { clusterHosts: ['*.eks.amazonaws.com', 'https://api.example.com'] },
      `${KEY}.clusterHosts[1] "https://api.example.com" is a URL: give its hostname only`,
    ],
    [
      'a binding scope keyed by something other than a namespace',
      { bindingScopes: { Team_A: { namePrefixes: ['team-a/'] } } },
      `${KEY}.bindingScopes.Team_A has a key that is not a Kubernetes namespace name (DNS label)`,
    ],
    [
      'a binding scope ARN of another region',
      {
        bindingScopes: {
          'team-a': { arns: ['arn:aws:secretsmanager:us-east-1:123456789012:secret:a/b-AbC123'] },
        },
      },
      `${KEY}.bindingScopes.team-a.arns[0] must be in account 123456789012 and region eu-central-1 (the functions read only watched secrets)`,
    ],
    [
      'no watched secret at all',
      { watchedSecrets: { arns: [], namePrefixes: [] } },
      `${KEY}.watchedSecrets must list at least one secret in arns or namePrefixes`,
    ],
    [
      'a watched secret in another region',
      { watchedSecrets: { arns: ['arn:aws:secretsmanager:us-east-1:123456789012:secret:prod/capa-AbC123'] } },
      `${KEY}.watchedSecrets.arns[0] must be in account 123456789012 and region eu-central-1 (events from elsewhere never reach this stack)`,
    ],
    [
      'a wildcard in a name prefix',
      { watchedSecrets: { namePrefixes: ['team/*'] } },
      `${KEY}.watchedSecrets.namePrefixes[0] must be a secret name prefix (letters, digits and /_+=.@-, no wildcards)`,
    ],
    [
      'an empty subnet list',
      { vpc: { vpcId: 'vpc-0123456789abcdef0', subnetIds: [], securityGroupIds: ['sg-0123456789abcdef0'] } },
      `${KEY}.vpc.subnetIds must be a non-empty list of subnet ids`,
    ],
    [
      'a sweep every minute',
      { sweepIntervalMinutes: 1 },
      `${KEY}.sweepIntervalMinutes must be an integer from 5 to 1440`,
    ],
    [
      'a retention CloudWatch does not offer',
      { logRetentionDays: 42 },
      `${KEY}.logRetentionDays must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653`,
    ],
    ['an unknown architecture', { architecture: 'arm' }, `${KEY}.architecture must be "arm64" or "x86_64"`],
    ['a bad alarm e-mail', { alarm: { email: 'on-call' } }, `${KEY}.alarm.email must be an e-mail address`],
    ['a bad role ARN', { assumeRoleArns: ['role/eks'] }, `${KEY}.assumeRoleArns[0] must be an IAM role ARN`],
    ['a string for a flag', { cloudTrailRule: 'yes' }, `${KEY}.cloudTrailRule must be true or false`],
    [
      'an invalid namespace',
      { watchNamespaces: ['Team_A'] },
      `${KEY}.watchNamespaces[0] must be a Kubernetes namespace name (DNS label)`,
    ],
    [
      'a misspelt key',
      { sweepInterval: 10 },
      `cdk.json context unknown key ${ENVIRONMENTS_CONTEXT_KEY}.test.sweepInterval (check the spelling against docs/deploy.md › Deploying identity-relay)`,
    ],
  ])('rejects %s with one line naming the key', (_case, tweak, expected) => {
    const raw = {
      ...BASE_ENV,
      ...tweak,
      ...('watchedSecrets' in tweak && {
        watchedSecrets: { ...BASE_ENV.watchedSecrets, ...tweak.watchedSecrets },
      }),
    };

    const error = errorOf(() => parseEnvironment('test', raw));

    expect(error.message).toBe(expected);
  });

  it('says how many more problems there are, still on one line', () => {
    const error = errorOf(() => parseEnvironment('test', { ...BASE_ENV, account: 'x', region: 'y' }));

    expect(error.message).toBe(`${KEY}.account must be a 12-digit AWS account id (and 1 more)`);
  });
});

describe('loadConfig', () => {
  const environments = { [ENVIRONMENTS_CONTEXT_KEY]: { test: BASE_ENV, other: BASE_ENV } };

  it('picks the environment named by -c env', () => {
    expect(loadConfig(context({ ...environments, env: 'other' })).name).toBe('other');
  });

  it.each([
    ['no -c env', {}, 'context env is required: pass -c env=<name>, one of: test, other'],
    [
      'an unknown env',
      { env: 'prod' },
      `context env must name an entry of ${ENVIRONMENTS_CONTEXT_KEY}, one of: test, other`,
    ],
  ])('rejects %s', (_case, extra, expected) => {
    expect(errorOf(() => loadConfig(context({ ...environments, ...extra }))).message).toBe(expected);
  });

  it('accepts every example environment in cdk.json', () => {
    const repo = cdkContext();
    const names = Object.keys(repo[ENVIRONMENTS_CONTEXT_KEY] as object);

    const configs = names.map((env) => loadConfig(context({ ...repo, env })));

    expect(configs.map((c) => c.account)).toEqual(['111111111111', '222222222222']);
  });
});

describe('derived values', () => {
  it('scopes secret resources to exact ARNs and <prefix>* patterns in the configured account', () => {
    const config = parseEnvironment('test', BASE_ENV);

    expect(watchedSecretResources(config)).toEqual([
      'arn:aws:secretsmanager:eu-central-1:123456789012:secret:prod/aws/capa-AbC123',
      'arn:aws:secretsmanager:eu-central-1:123456789012:secret:cloud-credentials/*',
    ]);
  });

  it('keeps the webhook reservation when only other functions are reserved', () => {
    const config = parseEnvironment('test', { ...BASE_ENV, reservedConcurrency: { rotation: 5 } });

    expect(config.reservedConcurrency).toEqual({ rotation: 5, auditWebhook: 10 });
  });

  it('lists the system namespace first and once', () => {
    const config = parseEnvironment('test', { ...BASE_ENV, watchNamespaces: ['team-a', 'kcm-system'] });

    expect(allWatchNamespaces(config)).toEqual(['kcm-system', 'team-a']);
  });
});

describe('infra/bin/app.ts', () => {
  it(
    'exits 1 with exactly one line on stderr naming the bad key',
    () => {
      const repo = cdkContext();
      const envs = repo[ENVIRONMENTS_CONTEXT_KEY] as Record<string, Record<string, unknown>>;
      const broken = {
        ...repo,
        env: 'example',
        [ENVIRONMENTS_CONTEXT_KEY]: { example: { ...envs.example, memorySize: 64 } },
      };

      // The CDK CLI runs the app exactly like this: context in CDK_CONTEXT_JSON, output in CDK_OUTDIR.
      const run = spawnSync(process.execPath, ['--import', 'tsx', 'infra/bin/app.ts'], {
        cwd: PROJECT_ROOT,
        encoding: 'utf8',
        env: {
          ...process.env,
          CDK_CONTEXT_JSON: JSON.stringify(broken),
          CDK_OUTDIR: mkdtempSync(join(tmpdir(), 'identity-relay-cdk-')),
        },
      });

      expect(run.status).toBe(1);
      expect(run.stderr.trimEnd().split('\n')).toEqual([
        `cdk.json context ${ENVIRONMENTS_CONTEXT_KEY}.example.memorySize must be an integer from 128 to 10240`,
      ]);
    },
    SYNTH_TIMEOUT,
  );
});
