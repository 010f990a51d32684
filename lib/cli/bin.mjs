#!/usr/bin/env node
// The `identity-relay` bin: runs the TypeScript CLI through tsx from the package's own dependencies, so
// there is no build step and the on-call engineer runs exactly the code in the repository.
import { register } from 'tsx/esm/api';

const major = Number(process.versions.node.split('.')[0]);
if (major < 22) {
  process.stderr.write(
    `identity-relay needs Node.js 22+, found ${process.versions.node}; run it as \`npx identity-relay\` inside the project (npm puts Node.js 22 first on PATH)\n`,
  );
  process.exit(2);
}
register();
await import('./main.ts');
