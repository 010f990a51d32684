// Rows 1–3: fan-out scaling, distance from the floor, no-op economy. A propagation is one rotation event
// handed to the real rotation handler until it returns with every region applied.
import { createHandler } from '../../functions/rotation/handler.js';
import { kubernetesCluster } from '../../lib/adapters/kubernetes.js';
import { settleAll } from '../../lib/use-cases/concurrency.js';
import { lambdaContext } from '../helpers/lambda.js';
import { median, Probe, percentile, round, rssMb, timed } from './instrument.js';
import { type Bench, SYSTEM, sqsEvent, unique } from './setup.js';
import type { Row } from './table.js';

interface Rig {
  bench: Bench;
  probe: Probe;
  handler: ReturnType<typeof createHandler>;
  calls: { getSecretValue: number };
  arn: string;
  names: string[];
}

/** A scenario over the first `r` regional clusters with `bindings` bound Secrets, warmed up (copies exist). */
async function rig(bench: Bench, clusters: string[], bindings: number): Promise<Rig> {
  const regions: Record<string, string> = {};
  for (const cluster of clusters) {
    const name = unique('bench-r');
    await bench.region(name, cluster);
    regions[name] = cluster;
  }
  const { arn, names } = await bench.scenario(regions, bindings);
  const probe = new Probe();
  const { runtime, calls } = bench.runtime(probe);
  const handler = createHandler(runtime);
  const r: Rig = { bench, probe, handler, calls, arn, names };
  for (let i = 0; i < 2; i++) await propagate(r); // creates the copies, then warms the clients
  return r;
}

/** One rotation through the handler; returns the wall time and what the ports saw. */
async function propagate(r: Rig, event?: Record<string, unknown>) {
  const next = event ?? (await r.bench.rotate(r.arn)).event;
  r.probe.reset();
  const before = r.calls.getSecretValue;
  const { ms, value } = await timed(() => r.handler(sqsEvent([next]), lambdaContext()));
  if (value?.batchItemFailures.length) throw new Error('bench: a propagation failed; see the testbed logs');
  const timeline = [...r.probe.timeline].sort((a, b) => a.start - b.start);
  // Propagated: the last regional write has completed (what a user waits for); the handler then
  // records its Events and returns.
  const regionWrites = timeline.filter((t) => t.op.startsWith('region apply')).map((t) => t.end);
  return {
    ms,
    propagatedMs: regionWrites.length > 0 ? Math.max(...regionWrites) : ms,
    event: next,
    getSecretValue: r.calls.getSecretValue - before,
    count: { ...r.probe.count },
    split: { ...r.probe.ms },
    ops: r.probe.opList(),
    timeline,
  };
}

/**
 * Row 1: propagation time for R = 1 … regional clusters, and the apiservers' memory. Every rig exists
 * before any is measured and the rounds interleave, so each R sees the same management graph and noise.
 */
export async function fanOutScaling(bench: Bench, regional: string[], runs: number): Promise<Row> {
  const rigs: Rig[] = [];
  for (let r = 1; r <= regional.length; r++) rigs.push(await rig(bench, regional.slice(0, r), 1));
  const samples = rigs.map(() => [] as Array<Awaited<ReturnType<typeof propagate>>>);
  for (let i = 0; i < runs; i++) for (const [k, rg] of rigs.entries()) samples[k]?.push(await propagate(rg));
  const byR = samples.map((s, k) => ({
    r: k + 1,
    p50Ms: round(median(s.map((x) => x.ms))),
    k8sReads: median(s.map((x) => x.count.read)),
    k8sWrites: median(s.map((x) => x.count.write)),
    getSecretValue: s.map((x) => x.getSecretValue),
  }));
  const memory = Object.fromEntries(Object.values(bench.info.clusters).map((c) => [c.name, rssMb(c.pid)]));
  const at = (r: number) => byR.find((x) => x.r === r)?.p50Ms ?? Number.NaN;
  const ratio = round(at(3) / at(1), 2);
  return {
    id: 1,
    name: 'fan-out scaling',
    figure: `${byR.map((x) => `R=${x.r} ${x.p50Ms} ms`).join(', ')}; R3/R1 = ${ratio}×; apiserver RSS ${Object.values(memory).join('/')} MB`,
    goal: 'time(R=3) ≤ 1.5 × time(R=1)',
    met: Number.isNaN(ratio) ? null : ratio <= 1.5,
    details: { runsPerR: runs, byR, apiserverRssMb: memory },
  };
}

/** Row 2: p50/p99 of a full propagation (R=2) over the median bare server-side apply of the same Secret. */
export async function distanceFromFloor(bench: Bench, regional: string[], runs: number): Promise<Row> {
  const rg = await rig(bench, regional.slice(0, 2), 1);
  const samples: Array<Awaited<ReturnType<typeof propagate>>> = [];
  for (let i = 0; i < runs; i++) samples.push(await propagate(rg));
  // The floor: the same client (the Kubernetes adapter) applying the same Secret to one apiserver.
  const cluster = kubernetesCluster(regional[0] ?? '', bench.kubeConfig(regional[0] ?? ''));
  const ref = { apiVersion: 'v1', kind: 'Secret', namespace: SYSTEM, name: rg.names[0] ?? '' };
  const copy = await cluster.get(ref);
  const bare: number[] = [];
  for (let i = 0; i < runs; i++) {
    const data = {
      ...(copy?.data as Record<string, string>),
      SecretAccessKey: Buffer.from(unique('floor')).toString('base64'),
    };
    const object = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: ref.name, namespace: SYSTEM },
      data,
    };
    bare.push((await timed(() => cluster.apply(object))).ms);
  }
  const floor = median(bare);
  // Read throughput of the same client, 32 in flight: the unit the scale model prices graph reads with.
  const reads = await timed(() => settleAll(Array.from({ length: 800 }), 32, () => cluster.get(ref)));
  const getsPerSecond = Math.round(800 / (reads.ms / 1000));
  const p = (values: number[]) => ({ p50: median(values), p99: percentile(values, 99) });
  const propagated = p(samples.map((s) => s.propagatedMs));
  const returned = p(samples.map((s) => s.ms));
  const split = (kind: 'aws' | 'read' | 'write') => round(median(samples.map((s) => s.split[kind])));
  // Where the time goes: the calls of the median propagation, in the order they started.
  const typical = [...samples].sort((a, b) => a.propagatedMs - b.propagatedMs)[
    Math.floor(samples.length / 2)
  ];
  const calls = (kind: 'aws' | 'read' | 'write') => median(samples.map((s) => s.count[kind]));
  const times = (x: { p50: number; p99: number }) =>
    `p50 ${round(x.p50)} ms = ${round(x.p50 / floor)}×, p99 ${round(x.p99)} ms = ${round(x.p99 / floor)}×`;
  return {
    id: 2,
    name: 'distance from the floor (R=2)',
    figure: `every region holds it: ${times(propagated)}; handler returns (Events recorded): ${times(returned)}; of bare SSA ${round(floor)} ms; median summed call time: AWS ${split('aws')} ms (${calls('aws')}), k8s reads ${split('read')} ms (${calls('read')}), writes ${split('write')} ms (${calls('write')}); ${getsPerSecond} gets/s at 32 in flight`,
    goal: 'p50 ≤ 6×, p99 ≤ 12× (every region holds it)',
    met: propagated.p50 / floor <= 6 && propagated.p99 / floor <= 12,
    details: {
      runs,
      p50Ms: round(propagated.p50),
      p99Ms: round(propagated.p99),
      handlerP50Ms: round(returned.p50),
      handlerP99Ms: round(returned.p99),
      bareSsaMedianMs: round(floor),
      p50Ratio: round(propagated.p50 / floor, 2),
      p99Ratio: round(propagated.p99 / floor, 2),
      handlerP50Ratio: round(returned.p50 / floor, 2),
      handlerP99Ratio: round(returned.p99 / floor, 2),
      medianSummedMs: { aws: split('aws'), k8sReads: split('read'), k8sWrites: split('write') },
      medianCalls: { aws: calls('aws'), k8sReads: calls('read'), k8sWrites: calls('write') },
      getsPerSecond,
      note: 'summed call times overlap: regions converge in parallel',
      medianTimeline: typical?.timeline.map((t) => `${t.start}–${t.end} ms ${t.op}`),
    },
  };
}

/** Row 3: a repeated event writes nothing; one GetSecretValue per rotation whatever R and bindings. */
export async function economy(bench: Bench, regional: string[]): Promise<Row> {
  const shapes = [
    { r: 1, bindings: 1 },
    { r: regional.length, bindings: 1 },
    { r: regional.length, bindings: 5 },
  ];
  const perShape = [];
  for (const shape of shapes) {
    const rg = await rig(bench, regional.slice(0, shape.r), shape.bindings);
    const rotation = await propagate(rg);
    const repeat = await propagate(rg, rotation.event);
    perShape.push({
      ...shape,
      getSecretValuePerRotation: rotation.getSecretValue,
      rotationRequests: rotation.count.read + rotation.count.write,
      rotationDiscoveryLookups: rotation.count.discovery,
      rotationOps: rotation.ops,
      repeatWrites: repeat.count.write,
      repeatGetSecretValue: repeat.getSecretValue,
      repeatRequests: repeat.count.read + repeat.count.write,
      repeatOps: repeat.ops,
    });
  }
  const noWrites = perShape.every((s) => s.repeatWrites === 0);
  const oneRead = perShape.every((s) => s.getSecretValuePerRotation === 1);
  const first = perShape[0];
  return {
    id: 3,
    name: 'no-op and economy',
    figure: `repeat writes ${perShape.map((s) => s.repeatWrites).join('/')}; GetSecretValue per rotation ${perShape.map((s) => `${s.getSecretValuePerRotation} (R=${s.r}, ${s.bindings} binding${s.bindings > 1 ? 's' : ''})`).join(', ')}; k8s requests per rotation (discovery lookups aside) ${perShape.map((s) => s.rotationRequests).join('/')}`,
    goal: 'repeat: writes = 0; Secrets Manager reads = 1 per rotation',
    met: noWrites && oneRead,
    details: { shapes: perShape, requestsR1: first?.rotationOps },
  };
}
