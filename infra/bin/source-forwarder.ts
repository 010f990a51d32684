/**
 * CDK entry point for a source account:
 * `npx cdk deploy -a "npx tsx infra/bin/source-forwarder.ts"` with the context key
 * `identity-relay:source-forwarder` ({ account, region, relayAccount, secretArns }) in cdk.json or -c.
 */
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  FORWARDER_CONTEXT_KEY,
  parseForwarderConfig,
  SourceForwarderStack,
} from '../stacks/source-forwarder-stack.js';

const app = new App();
try {
  const forwarder = parseForwarderConfig(app.node.tryGetContext(FORWARDER_CONTEXT_KEY));
  new SourceForwarderStack(app, 'IdentityRelaySourceForwarder', {
    env: { account: forwarder.account, region: forwarder.region },
    forwarder,
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  app.synth();
} catch (error) {
  console.error((error as Error).message);
  process.exitCode = 1;
}
