import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveBinaries, resolveMotoServer } from './assets.js';
import { applyCrds } from './crds.js';
import { renderKubeconfig } from './kubeconfig.js';
import { createCa, createSigningKey, issue, type Pair } from './pki.js';
import {
  freePort,
  killRecorded,
  type Managed,
  reapOrphans,
  startProcess,
  stopProcess,
  waitFor,
} from './processes.js';
import { installRbac } from './rbac.js';

export const CLUSTERS = ['mgmt', 'region-a', 'region-b'] as const;
export type ClusterName = (typeof CLUSTERS)[number];

/** What a test needs to reach one cluster of the testbed. Plain data: it crosses into test workers. */
export interface ClusterInfo {
  name: string;
  url: string;
  port: number;
  /** Kubeconfig file with the admin client certificate (O=system:masters). */
  kubeconfig: string;
  /** Kubeconfig file with the admin bearer token (from the apiserver's token file). */
  tokenKubeconfig: string;
  /** Kubeconfig file of identity-relay's own user (O=identity-relay), bound only by infra/k8s RBAC. */
  relayKubeconfig: string;
  pid: number;
  /** Command line that started this apiserver, so a fault test can start it again. */
  command: string[];
}

export interface TestbedInfo {
  dir: string;
  caFile: string;
  etcd: { url: string; pid: number; command: string[] };
  clusters: Record<string, ClusterInfo>;
  aws: { endpoint: string; pid: number; region: string };
  startupSeconds: Record<string, number>;
}

export interface Testbed {
  info: TestbedInfo;
  stop(): Promise<void>;
}

const RUNS_ROOT = join(tmpdir(), 'identity-relay-testbed');
const READY_TIMEOUT_MS = 180_000;

/** Options for the apiservers: extra flags per cluster (e.g. an audit webhook on `mgmt`). */
export interface StartOptions {
  clusters?: readonly string[];
  extraArgs?: Record<string, string[]>;
}

/**
 * Starts one etcd, one kube-apiserver per cluster (sharing etcd through distinct prefixes) and moto's
 * AWS endpoint, all on 127.0.0.1; installs the CRDs; returns once every part answers as ready.
 */
export async function startTestbed(options: StartOptions = {}): Promise<Testbed> {
  const clusters = options.clusters ?? CLUSTERS;
  const binaries = resolveBinaries({ build: false });
  const motoServer = resolveMotoServer({ install: false });
  reapOrphans(RUNS_ROOT);
  const dir = join(RUNS_ROOT, `run-${process.pid}-${randomBytes(3).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  const managed: Managed[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(managed.map((m) => stopProcess(m)));
    managed.length = 0;
    killRecorded(dir); // processes a test restarted

    if (!process.env.TESTBED_KEEP_DIR) rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    for (const m of managed) m.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', () => {
    for (const m of managed) m.child.kill('SIGKILL');
  });

  try {
    const started = Date.now();
    const startupSeconds: Record<string, number> = {};
    const pki = join(dir, 'pki');
    mkdirSync(pki);
    const ca = createCa(pki);
    const admin = issue(pki, ca, 'admin', '/O=system:masters/CN=admin', 'client');
    const relay = issue(pki, ca, 'relay', '/O=identity-relay/CN=identity-relay', 'client');
    const adminToken = randomBytes(24).toString('hex');
    const tokenFile = join(pki, 'tokens.csv');
    writeFileSync(tokenFile, `${adminToken},admin-token,admin-token-uid,"system:masters"\n`);

    const etcdPort = await freePort();
    const etcdPeerPort = await freePort();
    const etcdUrl = `http://127.0.0.1:${etcdPort}`;
    const etcdArgs = [
      '--name',
      'testbed',
      '--data-dir',
      join(dir, 'etcd'),
      '--listen-client-urls',
      etcdUrl,
      '--advertise-client-urls',
      etcdUrl,
      '--listen-peer-urls',
      `http://127.0.0.1:${etcdPeerPort}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${etcdPeerPort}`,
      '--initial-cluster',
      `testbed=http://127.0.0.1:${etcdPeerPort}`,
      '--unsafe-no-fsync=true',
      '--log-level',
      'warn',
    ];
    const etcd = startProcess(dir, 'etcd', binaries.etcd, etcdArgs);
    managed.push(etcd);

    const motoPort = await freePort();
    const moto = startProcess(dir, 'moto', motoServer, ['-H', '127.0.0.1', '-p', String(motoPort)]);
    managed.push(moto);
    const awsEndpoint = `http://127.0.0.1:${motoPort}`;

    await waitFor('etcd', () => httpOk(`${etcdUrl}/health`), READY_TIMEOUT_MS, 100).catch(failWith(etcd));
    startupSeconds.etcd = (Date.now() - started) / 1000;

    const infos: Record<string, ClusterInfo> = {};
    const apiservers = await Promise.all(
      clusters.map(async (name) => {
        const port = await freePort();
        const serving = issue(pki, ca, `${name}-serving`, `/CN=${name}`, 'server');
        const sa = createSigningKey(pki, `${name}-sa`);
        const args = apiserverArgs({
          name,
          port,
          etcdUrl,
          ca,
          serving,
          sa,
          tokenFile,
          dir,
          extra: options.extraArgs?.[name] ?? [],
        });
        const proc = startProcess(dir, name, binaries.kubeApiserver, args);
        managed.push(proc);
        const url = `https://127.0.0.1:${port}`;
        const kubeconfig = join(dir, `${name}.kubeconfig`);
        const tokenKubeconfig = join(dir, `${name}-token.kubeconfig`);
        const relayKubeconfig = join(dir, `${name}-relay.kubeconfig`);
        writeFileSync(
          relayKubeconfig,
          renderKubeconfig(name, url, ca.cert, { certFile: relay.cert, keyFile: relay.key }),
        );
        writeFileSync(
          kubeconfig,
          renderKubeconfig(name, url, ca.cert, { certFile: admin.cert, keyFile: admin.key }),
        );
        writeFileSync(tokenKubeconfig, renderKubeconfig(name, url, ca.cert, { token: adminToken }));
        infos[name] = {
          name,
          url,
          port,
          kubeconfig,
          tokenKubeconfig,
          relayKubeconfig,
          pid: proc.child.pid ?? -1,
          command: [binaries.kubeApiserver, ...args],
        };
        return { name, proc, url };
      }),
    );
    await Promise.all([
      waitFor('moto (AWS endpoint)', () => httpOk(`${awsEndpoint}/moto-api/`), READY_TIMEOUT_MS).catch(
        failWith(moto),
      ),
      ...apiservers.map(async ({ name, proc, url }) => {
        await waitFor(
          `kube-apiserver ${name}`,
          () => apiserverReady(url, ca, admin),
          READY_TIMEOUT_MS,
          500,
        ).catch(failWith(proc));
        startupSeconds[name] = (Date.now() - started) / 1000;
        const adminKubeconfig = readFileSync(infos[name]?.kubeconfig ?? '', 'utf8');
        await applyCrds(adminKubeconfig);
        await installRbac(adminKubeconfig, name === 'mgmt' ? 'management' : 'regional');
      }),
    ]);
    startupSeconds.total = (Date.now() - started) / 1000;

    const info: TestbedInfo = {
      dir,
      caFile: ca.cert,
      etcd: { url: etcdUrl, pid: etcd.child.pid ?? -1, command: [binaries.etcd, ...etcdArgs] },
      clusters: infos,
      aws: { endpoint: awsEndpoint, pid: moto.child.pid ?? -1, region: 'us-east-1' },
      startupSeconds,
    };
    writeFileSync(join(dir, 'testbed.json'), JSON.stringify(info, null, 2));
    return { info, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

interface ApiserverArgs {
  name: string;
  port: number;
  etcdUrl: string;
  ca: Pair;
  serving: Pair;
  sa: Pair;
  tokenFile: string;
  dir: string;
  extra: string[];
}

function apiserverArgs(a: ApiserverArgs): string[] {
  return [
    `--etcd-servers=${a.etcdUrl}`,
    `--etcd-prefix=/${a.name}/registry`,
    '--bind-address=127.0.0.1',
    `--secure-port=${a.port}`,
    `--cert-dir=${join(a.dir, `${a.name}-certs`)}`,
    `--tls-cert-file=${a.serving.cert}`,
    `--tls-private-key-file=${a.serving.key}`,
    `--client-ca-file=${a.ca.cert}`,
    `--token-auth-file=${a.tokenFile}`,
    '--authorization-mode=RBAC',
    `--service-account-issuer=https://127.0.0.1:${a.port}/`,
    `--service-account-key-file=${a.sa.cert}`,
    `--service-account-signing-key-file=${a.sa.key}`,
    '--service-cluster-ip-range=10.0.0.0/24',
    '--disable-admission-plugins=ServiceAccount',
    '--endpoint-reconciler-type=none',
    '--allow-privileged=true',
    ...a.extra,
  ];
}

function failWith(proc: Managed) {
  return (error: Error): never => {
    const tail = logTail(proc.logFile);
    throw new Error(`${error.message}; last lines of ${proc.logFile}:\n${tail}`);
  };
}

function logTail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

async function httpOk(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2000) });
  return response.ok;
}

function apiserverReady(url: string, ca: Pair, admin: Pair): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request(
      `${url}/readyz`,
      {
        ca: readFileSync(ca.cert),
        cert: readFileSync(admin.cert),
        key: readFileSync(admin.key),
        timeout: 2000,
      },
      (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      },
    );
    req.on('error', () => resolve(false));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}
