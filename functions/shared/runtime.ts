import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { MiddlewareObj } from '@middy/core';
import { eventBridgePublisher } from '../../lib/adapters/eventbridge.js';
import { clusterFromKubeconfig, kubeconfigConnector } from '../../lib/adapters/kubernetes.js';
import { powertoolsLog } from '../../lib/adapters/log.js';
import { powertoolsMetrics } from '../../lib/adapters/metrics.js';
import {
  policiesFromEnvironment,
  type RelayEnvironment,
  readEnvironment,
} from '../../lib/adapters/relay-environment.js';
import { rememberingSource, secretsManagerSource } from '../../lib/adapters/secrets-manager.js';
import { sqsQueue, sqsVisibility } from '../../lib/adapters/sqs.js';
import { DEFAULT_IDENTITY_KINDS, identityResources } from '../../lib/domain/audit.js';
import { InvalidInput } from '../../lib/errors.js';
import type {
  EventPublisher,
  JobQueue,
  Log,
  MessageVisibility,
  MetricsSink,
  SecretSource,
} from '../../lib/ports.js';
import { type AuditIntakeDeps, secretTokenVerifier } from '../../lib/use-cases/audit-intake.js';
import { regionHandOff } from '../../lib/use-cases/hand-off.js';
import type { RotateDeps } from '../../lib/use-cases/rotate.js';

/** What a function needs: telemetry now, and its clients on first use (created once per container). */
export interface Runtime {
  log: Log;
  metrics: MetricsSink;
  deps(): Promise<RotateDeps>;
  /** Secrets Manager calls made so far by this container (for the SecretsManagerCalls metric). */
  sourceCalls?(): number;
  /** The queue the function consumes (backoff) and its dead-letter queue (records of what is not retried). */
  /** Where failed messages go, and where a unit out of tries is announced. */
  queues?: {
    visibility?: MessageVisibility;
    deadLetters?: JobQueue;
    events?: EventPublisher;
    maxReceiveCount?: number;
  };
  /** The handler's middy chain: the Lambda request id on every log line, metrics published even on a throw. */
  middlewares?: MiddlewareObj[];
}

/**
 * The runtime of a deployed function, from its environment (the contract in docs/deploy.md › Configuration).
 * Nothing is read or connected until the first invocation.
 */
export function runtimeFromEnvironment(service: string, env: NodeJS.ProcessEnv = process.env): Runtime {
  // One read of the environment (lib/adapters/relay-environment.ts); a bad value fails every
  // invocation with the variable's name, as a failed start-up.
  let config: RelayEnvironment | undefined;
  let invalid: unknown;
  try {
    config = readEnvironment(env);
  } catch (error) {
    invalid = error;
  }
  const logger = new Logger({ serviceName: service });
  const metrics = new Metrics({
    namespace: config?.POWERTOOLS_METRICS_NAMESPACE ?? 'IdentityRelay',
    serviceName: service,
  });
  // Every value read from Secrets Manager is remembered, so the log masks it wherever it would appear.
  const seen = new Set<string>();
  const log = powertoolsLog(logger, seen);
  const base = secretsManagerSource(new SecretsManagerClient({}));
  let deps: Promise<RotateDeps> | undefined;
  const sqs = new SQSClient({});
  const events = config?.EVENT_BUS_NAME
    ? eventBridgePublisher(new EventBridgeClient({}), config.EVENT_BUS_NAME)
    : undefined;
  return {
    log,
    metrics: publishedByMiddleware(powertoolsMetrics(metrics)),
    middlewares: chain(logger, metrics),
    queues: {
      ...(config?.WORK_QUEUE_URL ? { visibility: sqsVisibility(sqs, config.WORK_QUEUE_URL) } : {}),
      ...(config?.DEAD_LETTER_QUEUE_URL ? { deadLetters: sqsQueue(sqs, config.DEAD_LETTER_QUEUE_URL) } : {}),
      ...(events ? { events } : {}),
      ...(config?.MAX_RECEIVE_COUNT ? { maxReceiveCount: config.MAX_RECEIVE_COUNT } : {}),
    },
    sourceCalls: () => Object.values(base.calls).reduce((sum, n) => sum + n, 0),
    deps() {
      if (!config) return Promise.reject(invalid);
      deps ??= buildDeps(config, log, rememberingSource(base, seen), sqs, events).catch((error: unknown) => {
        deps = undefined; // a failed start-up is retried on the next invocation
        throw error;
      });
      return deps;
    },
  };
}

async function buildDeps(
  config: RelayEnvironment,
  log: Log,
  source: SecretSource,
  sqs: SQSClient,
  events: EventPublisher | undefined,
): Promise<RotateDeps> {
  const kubeconfigSecret = config.MANAGEMENT_KUBECONFIG_SECRET_ARN;
  if (!kubeconfigSecret)
    throw new InvalidInput(
      'MANAGEMENT_KUBECONFIG_SECRET_ARN is not set (the secret holding the management kubeconfig)',
    );
  const policies = policiesFromEnvironment(config);
  const kubeconfig = await source.getCurrent(kubeconfigSecret);
  const now = () => new Date();
  return {
    source,
    // A region that fails goes to its own retried job on the distribution queue (docs/units-of-work.md › Units of work).
    ...(config.DISTRIBUTION_QUEUE_URL
      ? { handOff: regionHandOff(sqsQueue(sqs, config.DISTRIBUTION_QUEUE_URL), now) }
      : {}),
    ...(events ? { events } : {}),
    mgmt: clusterFromKubeconfig('mgmt', kubeconfig.secretString, policies.management),
    connector: kubeconfigConnector(policies.regions),
    bindingPolicy: policies.bindingPolicy,
    log,
    systemNamespace: config.SYSTEM_NAMESPACE,
    watchNamespaces: config.watchNamespaces,
    now,
  };
}

/**
 * Powertools' middy middlewares: the Lambda context (request id, cold start) on every log line, and the
 * stored metrics published after every invocation, a thrown one included.
 */
function chain(logger: Logger, metrics: Metrics): MiddlewareObj[] {
  return [injectLambdaContext(logger), logMetrics(metrics)];
}

/** The sink whose `flush` the handlers call, when logMetrics already publishes: nothing goes out twice. */
function publishedByMiddleware(sink: MetricsSink): MetricsSink {
  return { ...sink, flush: () => {} };
}

/** What the audit-webhook function needs: telemetry now, its clients and configuration on first use. */
export interface AuditRuntime {
  log: Log;
  metrics: MetricsSink;
  middlewares?: MiddlewareObj[];
  deps(): Promise<AuditIntakeDeps>;
}

/** The audit-webhook function's runtime, from its environment (docs/triggers.md › Configuration). */
export function auditRuntimeFromEnvironment(
  service: string,
  env: NodeJS.ProcessEnv = process.env,
): AuditRuntime {
  const logger = new Logger({ serviceName: service });
  const powertools = new Metrics({
    namespace: env.POWERTOOLS_METRICS_NAMESPACE || 'IdentityRelay',
    serviceName: service,
  });
  const metrics = publishedByMiddleware(powertoolsMetrics(powertools));
  const log = powertoolsLog(logger);
  let deps: AuditIntakeDeps | undefined;
  return {
    log,
    metrics,
    middlewares: chain(logger, powertools),
    async deps() {
      deps ??= auditDeps(env, { log, metrics });
      return deps;
    },
  };
}

function auditDeps(env: NodeJS.ProcessEnv, telemetry: { log: Log; metrics: MetricsSink }): AuditIntakeDeps {
  const config = readEnvironment(env);
  const { AUDIT_TOKEN_SECRET_ARN: tokenArn, DISTRIBUTION_QUEUE_URL: queueUrl } = config;
  if (!tokenArn || !queueUrl)
    throw new InvalidInput(
      [
        tokenArn ? '' : 'AUDIT_TOKEN_SECRET_ARN is not set (the bearer token secret)',
        queueUrl ? '' : 'DISTRIBUTION_QUEUE_URL is not set (the SQS FIFO job queue)',
      ]
        .filter(Boolean)
        .join('; '),
    );
  const sqs = new SQSClient({});
  const kinds = config.IDENTITY_KINDS ?? [...DEFAULT_IDENTITY_KINDS];
  return {
    ...telemetry,
    queue: sqsQueue(sqs, queueUrl),
    ...(config.QUARANTINE_QUEUE_URL ? { quarantine: sqsQueue(sqs, config.QUARANTINE_QUEUE_URL) } : {}),
    token: secretTokenVerifier(secretsManagerSource(new SecretsManagerClient({})), tokenArn),
    filter: { identityResources: identityResources(kinds), relayUsername: config.RELAY_USERNAME },
    // The same namespaces the other functions read (the system namespace is always one of them).
    namespaces: new Set([config.SYSTEM_NAMESPACE, ...config.WATCH_NAMESPACES]),
    maxBodyBytes: config.AUDIT_MAX_BODY_BYTES,
    now: () => new Date(),
  };
}
