import { homedir } from 'node:os';
import { join } from 'node:path';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { KubeConfig } from '@kubernetes/client-node';
import { kubeconfigConnector, kubernetesCluster } from '../adapters/kubernetes.js';
import { redact } from '../adapters/log.js';
import { policiesFromEnvironment, readEnvironment } from '../adapters/relay-environment.js';
import { rememberingSource, secretsManagerSource } from '../adapters/secrets-manager.js';
import { InvalidInput } from '../errors.js';
import type { Log, MetricsSink } from '../ports.js';
import type { RotateDeps } from '../use-cases/rotate.js';
import type { Command } from './args.js';

/** What every CLI command runs with: the functions' dependencies, built from the operator's environment. */
export type CliDeps = RotateDeps & { metrics: MetricsSink };

/**
 * The management cluster from `--kubeconfig` / `KUBECONFIG` (any auth kubectl supports, exec plugins
 * included: this runs on the operator's machine), regions through the same connector, host allowlist,
 * role list and binding scopes as the functions,
 * AWS clients from the SDK's own variables. `seen` collects every secret value read, so output can mask it.
 */
export function cliDeps(
  command: Command,
  env: NodeJS.ProcessEnv,
  io: { stderr: (line: string) => void; seen: Set<string> },
): CliDeps {
  // The functions' own variables and rules (the same schema): allowlists, role list, binding scopes.
  const config = readEnvironment(env);
  const kc = new KubeConfig();
  const path = command.kubeconfig ?? config.KUBECONFIG?.split(':')[0] ?? join(homedir(), '.kube', 'config');
  try {
    kc.loadFromFile(path);
  } catch (error) {
    throw new InvalidInput(`kubeconfig ${path} could not be read (set --kubeconfig or KUBECONFIG)`, error);
  }
  if (command.context) kc.setCurrentContext(command.context);
  if (!kc.getCurrentCluster())
    throw new InvalidInput(`kubeconfig ${path} has no current cluster (use --context NAME)`);
  const policies = policiesFromEnvironment(config);
  const systemNamespace = command.systemNamespace ?? config.SYSTEM_NAMESPACE;
  return {
    source: rememberingSource(secretsManagerSource(new SecretsManagerClient({})), io.seen),
    mgmt: kubernetesCluster('mgmt', kc),
    // An operator acts on what they just changed: every list is consistent.
    consistentLists: true,
    connector: kubeconfigConnector(policies.regions),
    bindingPolicy: policies.bindingPolicy,
    log: stderrLog(io.stderr, command.verbose, io.seen),
    metrics: { count: () => {}, milliseconds: () => {}, flush: () => {} },
    systemNamespace,
    watchNamespaces:
      command.watchNamespaces ??
      (config.WATCH_NAMESPACES.length > 0 ? config.WATCH_NAMESPACES : [systemNamespace]),
    now: () => new Date(),
  };
}

/** The use-cases' log lines on stderr: warnings and errors always, info with --verbose; redacted like the functions'. */
function stderrLog(write: (line: string) => void, verbose: boolean, seen: ReadonlySet<string>): Log {
  const emit =
    (level: string, show: boolean) =>
    (message: string, fields: Record<string, unknown> = {}) => {
      if (show) write(`${level}: ${message} ${JSON.stringify(redact(fields, seen))}`);
    };
  return { info: emit('info', verbose), warn: emit('warn', verbose), error: emit('error', true) };
}
