import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { KubeConfig } from '@kubernetes/client-node';
import { kubeconfigConnector, kubernetesCluster } from '../../lib/adapters/kubernetes.js';
import { powertoolsLog } from '../../lib/adapters/log.js';
import { powertoolsMetrics } from '../../lib/adapters/metrics.js';
import { secretsManagerSource } from '../../lib/adapters/secrets-manager.js';
import { InvalidInput } from '../../lib/errors.js';
import type { Log, MetricsSink } from '../../lib/ports.js';
import type { RotateDeps } from '../../lib/use-cases/rotate.js';

/** What a function needs: telemetry now, and its clients on first use (created once per container). */
export interface Runtime {
  log: Log;
  metrics: MetricsSink;
  deps(): Promise<RotateDeps>;
}

/**
 * The runtime of a deployed function, from its environment (the contract in README › Configuration).
 * Nothing is read or connected until the first invocation.
 */
export function runtimeFromEnvironment(service: string, env: NodeJS.ProcessEnv = process.env): Runtime {
  const logger = new Logger({ serviceName: service });
  const metrics = new Metrics({
    namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? 'IdentityRelay',
    serviceName: service,
  });
  const log = powertoolsLog(logger);
  let deps: Promise<RotateDeps> | undefined;
  return {
    log,
    metrics: powertoolsMetrics(metrics),
    deps() {
      deps ??= buildDeps(env, log).catch((error: unknown) => {
        deps = undefined; // a failed start-up is retried on the next invocation
        throw error;
      });
      return deps;
    },
  };
}

async function buildDeps(env: NodeJS.ProcessEnv, log: Log): Promise<RotateDeps> {
  const kubeconfigSecret = env.MANAGEMENT_KUBECONFIG_SECRET_ARN;
  if (!kubeconfigSecret)
    throw new InvalidInput(
      'MANAGEMENT_KUBECONFIG_SECRET_ARN is not set (the secret holding the management kubeconfig)',
    );
  const source = secretsManagerSource(new SecretsManagerClient({}));
  const kubeconfig = await source.getCurrent(kubeconfigSecret);
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfig.secretString);
  const systemNamespace = env.SYSTEM_NAMESPACE || 'kcm-system';
  return {
    source,
    mgmt: kubernetesCluster('mgmt', kc),
    connector: kubeconfigConnector(),
    log,
    systemNamespace,
    watchNamespaces: (env.WATCH_NAMESPACES || systemNamespace)
      .split(',')
      .map((n) => n.trim())
      .filter(Boolean),
    now: () => new Date(),
  };
}
