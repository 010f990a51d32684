import { spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { recordPid, waitFor } from './processes.js';
import type { ClusterInfo, TestbedInfo } from './testbed.js';

// Fault control for tests: stop a testbed apiserver (or etcd) and start it again with its recorded
// command line. Each test file runs in its own worker with the testbed info as global setup gave it, so
// a recorded PID may belong to a process an earlier file already replaced: the live one is looked up.

/** Stops a cluster's apiserver (SIGKILL: the way a crashed node goes) and waits until it is gone. */
export async function killApiserver(cluster: ClusterInfo): Promise<void> {
  const pid = livePid(cluster.command[0] ?? '', `--secure-port=${cluster.port}`) ?? cluster.pid;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitFor(`apiserver ${cluster.name} to exit`, async () => !alive(pid), 10_000, 50);
}

/**
 * Starts a cluster's apiserver again on the same port and waits for it to answer. Returns the new PID
 * (also recorded, so the testbed stops it at the end of the run).
 */
export async function restartApiserver(info: TestbedInfo, cluster: ClusterInfo): Promise<number> {
  const [command, ...args] = cluster.command;
  if (!command) throw new Error(`no command recorded for ${cluster.name}`);
  await waitFor(`port ${cluster.port} released`, () => portFree(cluster.port), 20_000, 100);
  const pid = startDetached(info.dir, `${cluster.name}-restarted`, command, args);
  cluster.pid = pid;
  await waitForApiserver(cluster, 120_000);
  return pid;
}

/**
 * Restarts the shared etcd (SIGTERM, then the recorded command on the same data dir) and waits until
 * etcd and every apiserver of the testbed answer again: all of them depend on it.
 */
export async function restartEtcd(info: TestbedInfo): Promise<void> {
  const [command, ...args] = info.etcd.command;
  if (!command) throw new Error('no command recorded for etcd');
  const pid = livePid(command, info.etcd.url) ?? info.etcd.pid;
  try {
    process.kill(pid, 'SIGTERM');
    await waitFor('etcd to exit', async () => !alive(pid), 15_000, 50).catch(() => {
      process.kill(pid, 'SIGKILL');
    });
  } catch {
    // already gone
  }
  for (const url of [info.etcd.url, args[args.indexOf('--listen-peer-urls') + 1] ?? '']) {
    const port = Number(new URL(url).port);
    await waitFor(`port ${port} released`, () => portFree(port), 20_000, 100);
  }
  info.etcd.pid = startDetached(info.dir, 'etcd-restarted', command, args);
  await waitFor(
    'etcd restarted',
    async () => (await fetch(`${info.etcd.url}/health`, { signal: AbortSignal.timeout(2000) })).ok,
    60_000,
    100,
  );
  await Promise.all(Object.values(info.clusters).map((cluster) => waitForApiserver(cluster, 120_000)));
}

async function waitForApiserver(cluster: ClusterInfo, timeoutMs: number): Promise<void> {
  const kc = new KubeConfig();
  kc.loadFromString(readFileSync(cluster.kubeconfig, 'utf8'));
  const core = kc.makeApiClient(CoreV1Api);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  // Ready when the custom resources are served too: a restarted apiserver answers 503 for them ("before
  // all known HTTP paths have been installed") for a moment after it answers for built-in kinds.
  await waitFor(
    `apiserver ${cluster.name} ready`,
    async () =>
      (await core.listNamespace({ limit: 1 })).items !== undefined &&
      (await objects.list('k0rdent.mirantis.com/v1beta1', 'ProviderInterface')).items !== undefined &&
      (await objects.list('infrastructure.cluster.x-k8s.io/v1beta2', 'AWSClusterStaticIdentity')).items !==
        undefined,
    timeoutMs,
    250,
  );
}

/**
 * Starts a process whose output goes straight to a log file (not through a pipe: the test worker that
 * starts it exits before the testbed does, and a Go program writing to a closed pipe dies of SIGPIPE).
 */
function startDetached(dir: string, name: string, command: string, args: string[]): number {
  const fd = openSync(join(dir, `${name}-${Date.now()}.log`), 'a');
  const child = spawn(command, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  child.unref();
  const pid = child.pid ?? -1;
  recordPid(dir, `${name}-${pid}`, pid, command);
  return pid;
}

/**
 * Whether a port can be listened on again. A killed process's group leader turns zombie before its
 * other threads have closed the listening socket, so "exited" is not yet "port released".
 */
function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** The running process started as `command` whose arguments include `marker` (Linux /proc). */
function livePid(command: string, marker: string): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv[0] === command && argv.includes(marker)) return Number(entry);
    } catch {
      // the process ended while we looked
    }
  }
  return undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A killed child of this process stays a zombie until reaped; it no longer serves.
    return !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ');
  } catch {
    return false;
  }
}
