import { readFileSync } from 'node:fs';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { recordPid, startProcess, waitFor } from './processes.js';
import type { ClusterInfo, TestbedInfo } from './testbed.js';

// Fault control for tests: stop a testbed apiserver and start it again with its recorded command line.

/** Stops a cluster's apiserver (SIGKILL: the way a crashed node goes) and waits until it is gone. */
export async function killApiserver(cluster: ClusterInfo): Promise<void> {
  try {
    process.kill(cluster.pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitFor(`apiserver ${cluster.name} to exit`, async () => !alive(cluster.pid), 10_000, 50);
}

/**
 * Starts a cluster's apiserver again on the same port and waits for it to answer. Returns the new PID
 * (also recorded, so the testbed stops it at the end of the run).
 */
export async function restartApiserver(info: TestbedInfo, cluster: ClusterInfo): Promise<number> {
  const [command, ...args] = cluster.command;
  if (!command) throw new Error(`no command recorded for ${cluster.name}`);
  const started = startProcess(info.dir, `${cluster.name}-restarted-${Date.now()}`, command, args);
  started.child.unref();
  const pid = started.child.pid ?? -1;
  recordPid(info.dir, `${cluster.name}-restarted-${pid}`, pid, command);
  cluster.pid = pid;
  const kc = new KubeConfig();
  kc.loadFromString(readFileSync(cluster.kubeconfig, 'utf8'));
  const core = kc.makeApiClient(CoreV1Api);
  await waitFor(
    `apiserver ${cluster.name} restarted`,
    async () => (await core.listNamespace({ limit: 1 })).items !== undefined,
    120_000,
    250,
  );
  return pid;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
