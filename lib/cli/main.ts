// The `identity-relay` entry (started by bin.mjs through tsx): runs one command and sets the exit code.
import { readFileSync } from 'node:fs';
import { runCli } from './run.js';

process.exitCode = await runCli(process.argv.slice(2), process.env, {
  stdout: process.stdout,
  stderr: process.stderr,
  readStdin: () => readFileSync(0, 'utf8'),
});
