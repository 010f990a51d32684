import { parseRestartDeployments } from '../domain/binding.js';
import { ANNOTATIONS, type KubeObject } from '../domain/objects.js';
import { describeError } from '../errors.js';
import type { Cluster, Log } from '../ports.js';

// Consumers that cache credentials (Cluster API's AWS provider keeps a session per identity in all but
// the first controller that notices a change) pick up a new value only when restarted. A binding may
// name Deployments to restart in each target after its copy changed: identity-relay then does what
// `kubectl rollout restart` does, a new pod-template annotation. Off unless a binding asks for it.

/**
 * Restarts the Deployments the written Secrets' bindings name, each once; returns `namespace/name` of
 * each restart, and logs the ones that failed (a missing Deployment, no RBAC) without failing the target.
 */
export async function restartConsumers(
  cluster: Cluster,
  written: KubeObject[],
  now: Date,
  log: Log,
): Promise<string[]> {
  const deployments = new Map<string, { namespace: string; name: string }>();
  for (const source of written) {
    const text = source.metadata.annotations?.[ANNOTATIONS.restartDeployments];
    if (!text) continue;
    try {
      for (const d of parseRestartDeployments(text)) deployments.set(`${d.namespace}/${d.name}`, d);
    } catch (error) {
      log.warn('restart annotation ignored', { secret: source.metadata.name, error: describeError(error) });
    }
  }
  const restarted: string[] = [];
  for (const [key, { namespace, name }] of deployments) {
    const existing = await cluster
      .get({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name })
      .catch(() => undefined);
    if (!existing) {
      log.warn('restart skipped: Deployment not found or not readable', {
        cluster: cluster.name,
        deployment: key,
      });
      continue;
    }
    try {
      await cluster.apply({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name, namespace },
        spec: { template: { metadata: { annotations: { [ANNOTATIONS.restartedAt]: now.toISOString() } } } },
      });
      restarted.push(key);
    } catch (error) {
      log.warn('restart failed', { cluster: cluster.name, deployment: key, error: describeError(error) });
    }
  }
  if (restarted.length > 0)
    log.info('consumers restarted', { cluster: cluster.name, deployments: restarted });
  return restarted;
}
