/**
 * Builds the CDK app for one environment: the single place that turns cdk.json context into stacks,
 * used by `infra/bin/app.ts` and by the tests so both synthesise the same thing.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, type AppProps, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { loadConfig, type RelayConfig } from './config.js';
import { discoverEntries, type FunctionName, IdentityRelayStack } from './stacks/identity-relay-stack.js';

/** The repository root (infra/ sits directly under it). */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Options of buildRelayApp. */
export interface RelayAppOptions extends AppProps {
  /** Handler entries; by default the ones that exist under functions/. */
  entries?: Partial<Record<FunctionName, string>>;
  /** Register cdk-nag's AwsSolutions pack as a synth-time validation (the CLI path). */
  nag?: boolean;
}

/** The app, its one stack and the validated configuration; throws ConfigError on bad context. */
export function buildRelayApp(options: RelayAppOptions = {}): {
  app: App;
  stack: IdentityRelayStack;
  config: RelayConfig;
} {
  const { entries, nag = false, ...appProps } = options;
  const app = new App(appProps);
  const config = loadConfig(app.node);
  const stack = new IdentityRelayStack(app, `IdentityRelay-${config.name}`, {
    env: { account: config.account, region: config.region },
    description: `identity-relay (${config.name}): rotated credentials to every cluster`,
    config,
    projectRoot: PROJECT_ROOT,
    entries: entries ?? discoverEntries(PROJECT_ROOT),
  });
  Tags.of(app).add('project', 'identity-relay');
  Tags.of(app).add('identity-relay:environment', config.name);
  // Any unacknowledged AwsSolutions finding fails synth; acknowledgements sit next to their resource.
  if (nag) Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack, config };
}
