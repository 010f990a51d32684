/** CDK entry point (`cdk.json` "app"): `npx cdk synth -c env=<name>`. */
import { ConfigError } from '../config.js';
import { buildRelayApp, PROJECT_ROOT } from '../relay-app.js';
import { FUNCTION_ENTRIES, type FunctionName } from '../stacks/identity-relay-stack.js';

try {
  const { app, stack } = buildRelayApp({ nag: true });
  const missing = (Object.keys(FUNCTION_ENTRIES) as FunctionName[]).filter((name) => !stack.functions[name]);
  if (missing.length > 0) {
    // Not an error: a function is deployed once its handler exists (see discoverEntries).
    console.warn(
      `identity-relay: not deploying ${missing.join(', ')} (no ${missing.map((n) => FUNCTION_ENTRIES[n]).join(', ')} under ${PROJECT_ROOT})`,
    );
  }
  app.synth();
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  // One line naming the key: the whole point of validating the context.
  console.error(error.message);
  process.exitCode = 1;
}
