/**
 * What a source account deploys when its secrets are watched by identity-relay in another account: a
 * rule on its default bus that forwards the Secrets Manager events of those secrets to identity-relay's
 * account, whose bus accepts them (`sourceAccounts` in cdk.json). Nothing else leaves the account.
 */
import { Stack, type StackProps } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type { Construct } from 'constructs';
import { z } from 'zod';

/** The cdk.json context key of the forwarder's settings. */
export const FORWARDER_CONTEXT_KEY = 'identity-relay:source-forwarder';

const ACCOUNT = /^\d{12}$/;
const FULL_SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;

const forwarderSchema = z.strictObject({
  account: z.string().regex(ACCOUNT, 'must be this source account id (12 digits)'),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1'),
  relayAccount: z.string().regex(ACCOUNT, "must be identity-relay's account id (12 digits)"),
  secretArns: z
    .array(z.string().regex(FULL_SECRET_ARN, 'must be a full secret ARN ending in -<6 characters>'))
    .min(1, 'must list at least one secret ARN'),
});

/** The validated settings of one source account's forwarder. */
export type ForwarderConfig = z.output<typeof forwarderSchema>;

/** Validates the forwarder's context; throws one line naming the key. */
export function parseForwarderConfig(value: unknown): ForwarderConfig {
  const result = forwarderSchema.safeParse(value);
  if (result.success) {
    const foreign = result.data.secretArns.find((arn) => arn.split(':')[4] !== result.data.account);
    if (!foreign) return result.data;
    throw new Error(
      `cdk.json context ${FORWARDER_CONTEXT_KEY}.secretArns: ${foreign} is not in account ${result.data.account}`,
    );
  }
  const issue = result.error.issues[0];
  const path = issue?.path.map(String).join('.') ?? '';
  throw new Error(
    `cdk.json context ${FORWARDER_CONTEXT_KEY}${path ? `.${path}` : ''} ${issue?.message ?? 'is invalid'}`,
  );
}

/** The forwarding rule: the watched secrets' Secrets Manager events, to identity-relay's default bus. */
export class SourceForwarderStack extends Stack {
  readonly rule: events.Rule;

  constructor(scope: Construct, id: string, props: StackProps & { forwarder: ForwarderConfig }) {
    super(scope, id, props);
    const { forwarder } = props;
    const partition = forwarder.secretArns[0]?.split(':')[1] ?? 'aws';
    const relayBus = events.EventBus.fromEventBusArn(
      this,
      'RelayBus',
      `arn:${partition}:events:${forwarder.region}:${forwarder.relayAccount}:event-bus/default`,
    );
    this.rule = new events.Rule(this, 'ForwardSecretEvents', {
      description: "identity-relay: the watched secrets' Secrets Manager events, to identity-relay's account",
      eventPattern: {
        source: ['aws.secretsmanager'],
        detailType: ['Secret Label Updated'],
        resources: forwarder.secretArns,
        detail: { labelUpdated: ['AWSCURRENT'] },
      },
    });
    // The target creates a role that may put events on that one bus only.
    this.rule.addTarget(new targets.EventBus(relayBus));
  }
}
