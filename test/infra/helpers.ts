/** Shared set-up for the infrastructure tests: the real cdk.json context, fixtures and one synth. */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parseEnvironment, type RelayConfig } from '../../infra/config.js';
import { PROJECT_ROOT } from '../../infra/relay-app.js';
import {
  discoverEntries,
  FUNCTION_ENTRIES,
  type FunctionName,
  IdentityRelayStack,
} from '../../infra/stacks/identity-relay-stack.js';

/**
 * Timeout for anything that synthesizes: loading aws-cdk-lib and bundling with esbuild is CPU-bound and
 * takes minutes on a busy two-core machine, seconds on an idle one.
 */
export const SYNTH_TIMEOUT = 300_000;

/** The hello-world handler used where a real entry does not exist yet. */
export const HELLO_ENTRY = join(PROJECT_ROOT, 'test/infra/fixtures/hello/handler.ts');

/** The context of the repository's cdk.json (feature flags and example environments). */
export function cdkContext(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, 'cdk.json'), 'utf8')) as {
    context: Record<string, unknown>;
  };
  return cdkJson.context;
}

/** A valid environment: the baseline every test case tweaks. */
export const BASE_ENV = {
  account: '123456789012',
  region: 'eu-central-1',
  managementKubeconfigSecretArn:
    'arn:aws:secretsmanager:eu-central-1:123456789012:secret:relay/mgmt-kubeconfig-Qw3rTy',
  watchNamespaces: ['team-a'],
  watchedSecrets: {
    arns: ['arn:aws:secretsmanager:eu-central-1:123456789012:secret:prod/aws/capa-AbC123'],
    namePrefixes: ['cloud-credentials/'],
  },
  alarm: { email: 'oncall@example.com' },
  assumeRoleArns: ['arn:aws:iam::210987654321:role/relay-eks'],
  cloudTrailRule: true,
  relayUsername: 'system:serviceaccount:identity-relay-system:identity-relay',
};

/** Every function's entry: the real handler when it exists, else the hello fixture. */
export function entriesPreferringReal(): Record<FunctionName, string> {
  const real = discoverEntries(PROJECT_ROOT);
  const names = Object.keys(FUNCTION_ENTRIES) as FunctionName[];
  return Object.fromEntries(names.map((name) => [name, real[name] ?? HELLO_ENTRY])) as Record<
    FunctionName,
    string
  >;
}

/** Options of synthesize. */
export interface SynthOptions {
  entries?: Partial<Record<FunctionName, string>>;
  /** Skip esbuild (template-only tests); the bundles are then placeholders. */
  skipBundling?: boolean;
}

// biome-ignore lint/suspicious/noExplicitAny: synthesized CloudFormation is untyped JSON; the assertions check it.
export type Json = any;
/** One resource of a synthesized template. */
export type Resource = { Type: string; Properties: Record<string, Json> };
/** The stack's queues, by role. */
export type QueueName =
  | 'rotation'
  | 'rotationDlq'
  | 'distribution'
  | 'distributionDlq'
  | 'eventsDlq'
  | 'auditQuarantine';

/** A synthesized stack with lookups from constructs to their logical ids. */
export class Synthesized {
  constructor(
    readonly app: App,
    readonly stack: IdentityRelayStack,
    readonly config: RelayConfig,
    readonly template: Template,
    readonly outdir: string,
  ) {}

  /** Every resource of a type, as [logical id, resource]. */
  resources(type: string): [string, Resource][] {
    return Object.entries(this.template.findResources(type)) as [string, Resource][];
  }

  /** The logical id of a construct's CloudFormation resource. */
  logicalId(construct: { node: { defaultChild?: unknown } } | undefined): string {
    const child = construct?.node.defaultChild as { logicalId?: string } | undefined;
    if (!child?.logicalId) throw new Error('construct has no CloudFormation resource');
    return this.stack.resolve(child.logicalId) as string;
  }

  /** The logical id of a function. */
  functionId(name: FunctionName): string {
    return this.logicalId(this.stack.functions[name]?.function);
  }

  /** The logical id of a queue. */
  queueId(name: QueueName): string {
    const { rotation, distribution, eventsDeadLetters, auditQuarantine } = this.stack.queues;
    const queues = {
      rotation: rotation.queue,
      rotationDlq: rotation.deadLetterQueue,
      distribution: distribution.queue,
      distributionDlq: distribution.deadLetterQueue,
      eventsDlq: eventsDeadLetters,
      auditQuarantine,
    };
    return this.logicalId(queues[name]);
  }
}

/** Builds the stack for a raw environment object, as `cdk synth` would with the same context. */
export function synthesize(rawEnv: unknown, options: SynthOptions = {}): Synthesized {
  const config = parseEnvironment('test', rawEnv);
  const outdir = mkdtempSync(join(tmpdir(), 'identity-relay-cdk-'));
  const context = { ...cdkContext(), ...(options.skipBundling && { 'aws:cdk:bundling-stacks': [] }) };
  const app = new App({ context, outdir });
  const stack = new IdentityRelayStack(app, 'IdentityRelay-test', {
    env: { account: config.account, region: config.region },
    config,
    projectRoot: PROJECT_ROOT,
    entries: options.entries ?? entriesPreferringReal(),
  });
  return new Synthesized(app, stack, config, Template.fromStack(stack), outdir);
}
