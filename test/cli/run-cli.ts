import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { awsStaticIdentity } from '../helpers/k0rdent.js';
import { testbed } from '../helpers/testbed-clients.js';

/** The package's `bin` entry, run as a user's shell would run it. */
const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = resolve(ROOT, 'lib/cli/bin.mjs');

/** Everything the CLI printed in this test file, to scan for secret values at the end. */
export const printed: string[] = [];

/** One run of the CLI: exit code and what it printed. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The operator's environment against the testbed: management kubeconfig and the AWS endpoint. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const info = testbed();
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    KUBECONFIG: info.clusters.mgmt?.kubeconfig,
    AWS_ENDPOINT_URL: info.aws.endpoint,
    AWS_REGION: info.aws.region,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    // The testbed's regions are on 127.0.0.1 (the local-testing switch; never set in a deployment).
    ALLOW_LOOPBACK_CLUSTERS: 'true',
    ...extra,
  };
}

/** Spawns `identity-relay ARGS` (the real binary, a new Node.js process) and waits for it to exit. */
export function cli(
  args: string[],
  options: { stdin?: string; env?: Record<string, string>; npx?: boolean } = {},
): Promise<CliRun> {
  return new Promise((done, fail) => {
    const child = options.npx
      ? spawn('npx', ['--no-install', 'identity-relay', ...args], { env: cliEnv(options.env), cwd: ROOT })
      : spawn(process.execPath, [BIN, ...args], { env: cliEnv(options.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.on('error', fail);
    child.on('close', (code) => {
      printed.push(stdout, stderr);
      done({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/** An AWS static identity bound to a new Secrets Manager secret, with a Credential in `region`. */
export async function awsIdentity(
  region: string,
  initial: string,
): Promise<{ id: string; arn: string; team: string }> {
  const { name, namespaces, source } = await awsStaticIdentity([region], initial);
  return { id: name, arn: source.arn, team: namespaces[0] ?? '' };
}
