import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ETCD_VERSION, KUBERNETES_VERSION, MOTO_VERSION } from './versions.js';

/** Where the testbed keeps what it builds or installs: outside the repository, keyed by version. */
export function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache');
  return join(base, 'identity-relay');
}

export interface Binaries {
  kubeApiserver: string;
  etcd: string;
}

/** Thrown when a testbed part cannot be had; the message is one line saying what to do. */
export class TestbedSetupError extends Error {
  override name = 'TestbedSetupError';
}

/**
 * Finds kube-apiserver and etcd the envtest way (TEST_ASSET_*, then KUBEBUILDER_ASSETS), else in the
 * cache, building them from the Go module proxy on first use when `build` is true.
 */
export function resolveBinaries(options: { build: boolean }): Binaries {
  const fromEnv = {
    kubeApiserver: process.env.TEST_ASSET_KUBE_APISERVER,
    etcd: process.env.TEST_ASSET_ETCD,
  };
  const assets = process.env.KUBEBUILDER_ASSETS;
  const cached = join(cacheRoot(), 'bin', `k8s-${KUBERNETES_VERSION}-etcd-${ETCD_VERSION}`);
  const kubeApiserver =
    fromEnv.kubeApiserver ?? (assets ? join(assets, 'kube-apiserver') : join(cached, 'kube-apiserver'));
  const etcd = fromEnv.etcd ?? (assets ? join(assets, 'etcd') : join(cached, 'etcd'));
  if (existsSync(kubeApiserver) && existsSync(etcd)) return { kubeApiserver, etcd };
  if (assets || fromEnv.kubeApiserver || fromEnv.etcd) {
    throw new TestbedSetupError(
      `testbed: kube-apiserver or etcd missing at ${kubeApiserver} / ${etcd} (from TEST_ASSET_* or KUBEBUILDER_ASSETS); fix the path or unset those variables to build them`,
    );
  }
  if (!options.build) {
    throw new TestbedSetupError(
      'testbed: kube-apiserver and etcd are not built yet; run `npm test` once (it builds them)',
    );
  }
  const script = join(dirname(fileURLToPath(import.meta.url)), 'build-binaries.sh');
  const result = spawnSync('bash', [script, KUBERNETES_VERSION, ETCD_VERSION, cached], { stdio: 'inherit' });
  if (result.status !== 0) {
    throw new TestbedSetupError(
      `testbed: building kube-apiserver ${KUBERNETES_VERSION} / etcd ${ETCD_VERSION} failed (exit ${result.status}); needs Go 1.24+ and the Go module proxy, or set KUBEBUILDER_ASSETS`,
    );
  }
  return { kubeApiserver, etcd };
}

/** Finds moto's server in its cached virtualenv, creating the virtualenv on first use when `install` is true. */
export function resolveMotoServer(options: { install: boolean }): string {
  const venv = join(cacheRoot(), `moto-${MOTO_VERSION}`);
  const server = join(venv, 'bin', 'moto_server');
  if (existsSync(server)) return server;
  if (!options.install) {
    throw new TestbedSetupError('testbed: moto is not installed yet; run `npm test` once (it installs it)');
  }
  const python = findPython();
  process.stderr.write(`testbed: installing moto[server]==${MOTO_VERSION} into ${venv} (first run only)\n`);
  try {
    execFileSync(python, ['-m', 'venv', venv], { stdio: 'inherit' });
    execFileSync(
      join(venv, 'bin', 'pip'),
      ['install', '--quiet', '--disable-pip-version-check', `moto[server]==${MOTO_VERSION}`],
      {
        stdio: 'inherit',
      },
    );
  } catch (error) {
    throw new TestbedSetupError(
      `testbed: installing moto ${MOTO_VERSION} with ${python} failed (${(error as Error).message.split('\n')[0]}); needs Python 3.9+ with venv and PyPI`,
    );
  }
  return server;
}

function findPython(): string {
  for (const candidate of ['python3', 'python']) {
    const probe = spawnSync(candidate, ['-c', 'import sys, venv; assert sys.version_info >= (3, 9)'], {
      stdio: 'ignore',
    });
    if (probe.status === 0) return candidate;
  }
  throw new TestbedSetupError(
    'testbed: Python 3.9+ with the venv module is needed for moto (apt-get install python3-venv)',
  );
}
