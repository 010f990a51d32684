// Run by `npm test` before vitest: checks the Node.js major and obtains the testbed's binaries, so the
// one-time build shows its progress in the terminal instead of inside a test hook.
import { resolveBinaries, resolveMotoServer, TestbedSetupError } from './assets.js';

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  console.error(
    `identity-relay: tests need Node.js 22+ (the Lambda runtime), found ${process.versions.node}; run them through npm (npm test), which uses the node from node_modules/.bin`,
  );
  process.exit(2);
}

try {
  const started = Date.now();
  resolveBinaries({ build: true });
  resolveMotoServer({ install: true });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  console.error(`testbed: binaries ready (${seconds}s), Node.js ${process.versions.node}`);
} catch (error) {
  if (error instanceof TestbedSetupError) {
    console.error(error.message);
    process.exit(3);
  }
  throw error;
}
