// Measuring without touching the product: the ports are wrapped, each call counted and timed by kind
// (AWS read, Kubernetes read, Kubernetes write), and statistics are plain functions.
import { readFileSync } from 'node:fs';
import type { KubeObject } from '../../lib/domain/objects.js';
import type { Cluster, ClusterConnector, SecretSource } from '../../lib/ports.js';

/** `discovery` is apart: the client answers most scope lookups from its cache, without a request. */
export type CallKind = 'aws' | 'read' | 'write' | 'discovery';

/** Calls seen through wrapped ports: per kind the count and the summed milliseconds, per cluster the ops. */
export class Probe {
  count: Record<CallKind, number> = { aws: 0, read: 0, write: 0, discovery: 0 };
  ms: Record<CallKind, number> = { aws: 0, read: 0, write: 0, discovery: 0 };
  ops = new Map<string, number>();
  /** Every apply in the order they completed: which object, the source version it carried, and when. */
  applied: Array<{ role: string; object: string; version?: string; at: number }> = [];
  /** Every call since the last reset, with its start and end (ms after the reset): where the time goes. */
  timeline: Array<{ op: string; start: number; end: number }> = [];
  private t0 = performance.now();

  reset(): void {
    this.t0 = performance.now();
    this.timeline = [];
    this.applied = [];
    this.count = { aws: 0, read: 0, write: 0, discovery: 0 };
    this.ms = { aws: 0, read: 0, write: 0, discovery: 0 };
    this.ops.clear();
  }

  async time<T>(kind: CallKind, op: string, fn: () => Promise<T>): Promise<T> {
    const started = performance.now();
    try {
      return await fn();
    } finally {
      this.timeline.push({ op, start: round(started - this.t0), end: round(performance.now() - this.t0) });
      this.ms[kind] += performance.now() - started;
      this.count[kind] += 1;
      this.ops.set(op, (this.ops.get(op) ?? 0) + 1);
    }
  }

  /** `op×n` per operation, sorted, for the report. */
  opList(): string[] {
    return [...this.ops.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([op, n]) => `${op}×${n}`);
  }
}

/** A Cluster whose calls `probe` counts and times; `role` names it in the op list (mgmt or region). */
export function probedCluster(cluster: Cluster, probe: Probe, role: string): Cluster {
  const read = <T>(op: string, fn: () => Promise<T>) => probe.time('read', `${role} ${op}`, fn);
  const write = <T>(op: string, fn: () => Promise<T>) => probe.time('write', `${role} ${op}`, fn);
  const recorded = <T>(object: KubeObject, result: T): T => {
    probe.applied.push({
      role,
      object: `${object.kind} ${object.metadata.namespace ?? ''}/${object.metadata.name}`,
      version: object.metadata.annotations?.['identity-relay.dev/source-version'],
      at: performance.now(),
    });
    return result;
  };
  return {
    name: cluster.name,
    get: (ref) => read(`get ${ref.kind}`, () => cluster.get(ref)),
    list: (apiVersion, kind, options) => read(`list ${kind}`, () => cluster.list(apiVersion, kind, options)),
    isNamespaced: (apiVersion, kind) =>
      probe.time('discovery', `${role} discovery`, () => cluster.isNamespaced(apiVersion, kind)),
    apply: async (object) =>
      recorded(object, await write(`apply ${object.kind}`, () => cluster.apply(object))),
    create: async (object) =>
      recorded(
        object,
        await write(`apply ${object.kind}`, () =>
          cluster.create ? cluster.create(object) : cluster.apply(object),
        ),
      ),
    removeLabels: (ref, labels) => write('release', () => cluster.removeLabels(ref, labels)),
    annotate: (ref, annotations, resourceVersion) =>
      write('annotate', () => cluster.annotate(ref, annotations, resourceVersion)),
    delete: (ref) => write('delete', () => cluster.delete(ref)),
    recordEvent: (regarding, event) => write('event', () => cluster.recordEvent(regarding, event)),
  };
}

export function probedConnector(base: ClusterConnector, probe: Probe): ClusterConnector {
  // One wrapper per client, as the connector keeps one client per cluster: what is kept per client
  // (discovery, ProviderInterfaces) is kept across propagations here too.
  const wrapped = new WeakMap<Cluster, Cluster>();
  return {
    connect: (name, kubeconfig, version) => {
      const cluster = base.connect(name, kubeconfig, version);
      let probed = wrapped.get(cluster);
      if (!probed) {
        probed = probedCluster(cluster, probe, 'region');
        wrapped.set(cluster, probed);
      }
      return probed;
    },
  };
}

export function probedSource(source: SecretSource, probe: Probe): SecretSource {
  return {
    getCurrent: (id) => probe.time('aws', 'GetSecretValue', () => source.getCurrent(id)),
    currentVersion: (id) => probe.time('aws', 'DescribeSecret', () => source.currentVersion(id)),
  };
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? Number.NaN;
}

export const median = (values: number[]): number => percentile(values, 50);

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await fn();
  return { ms: performance.now() - started, value };
}

/** Samples this process's RSS and heap every 25 ms until stopped; returns the peaks in MB. */
export function memorySampler(): { stop(): { rssMb: number; heapMb: number } } {
  let rss = process.memoryUsage().rss;
  let heap = process.memoryUsage().heapUsed;
  const timer = setInterval(() => {
    const usage = process.memoryUsage();
    rss = Math.max(rss, usage.rss);
    heap = Math.max(heap, usage.heapUsed);
  }, 25);
  return {
    stop() {
      clearInterval(timer);
      return { rssMb: round(rss / 2 ** 20), heapMb: round(heap / 2 ** 20) };
    },
  };
}

/** Resident memory of a process in MB (Linux /proc), or NaN when unreadable. */
export function rssMb(pid: number): number {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('VmRSS:'));
    return round(Number(line?.split(/\s+/)[1]) / 1024);
  } catch {
    return Number.NaN;
  }
}

export function round(value: number, digits = 1): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
