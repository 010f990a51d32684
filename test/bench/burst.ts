// Row 6: a burst of 1,000 events for 100 secrets (stale versions, CloudTrail duplicates of the same
// rotations, repeats, shuffled) delivered in SQS batches of 10 through the rotation handler. Every
// binding must end at AWSCURRENT with exactly one write per real change.
import { randomUUID } from 'node:crypto';
import { createHandler } from '../../functions/rotation/handler.js';
import { kubernetesCluster } from '../../lib/adapters/kubernetes.js';
import { lambdaContext } from '../helpers/lambda.js';
import { memorySampler, Probe, round } from './instrument.js';
import { type Bench, boundSecret, SYSTEM, sqsEvent, unique } from './setup.js';
import type { Row } from './table.js';

const SECRETS = 100;
const EVENTS = 1000;
const BATCH = 10;
const REGIONAL = 10; // of the 100 secrets, this many are also used by a Credential in one Region
// Concurrent invocations: the rotation queue is a standard queue, consumed by up to 5 invocations at
// once (the stack's maxConcurrency). Events are dealt to them by secret, as one batch after another
// would reach them; BENCH_BURST_CONCURRENCY=1 measures one invocation at a time.
const CONCURRENCY = Math.max(1, Number(process.env.BENCH_BURST_CONCURRENCY ?? 5));

function cloudTrail(arn: string): Record<string, unknown> {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'AWS API Call via CloudTrail',
    source: 'aws.secretsmanager',
    time: new Date().toISOString(),
    resources: [],
    detail: { eventName: 'PutSecretValue', requestParameters: { secretId: arn }, responseElements: { arn } },
  };
}

/**
 * Writes beyond one per change: the same version applied again to an object (two invocations converging
 * one region at once), or an older version applied after the newest (a stale plan overwriting a fresh one).
 */
function extraWrites(probe: Probe, secrets: Array<{ name: string; versions: string[] }>) {
  const finalOf = new Map(secrets.map((s) => [s.name, s.versions.at(-1)]));
  const written = new Map<string, string[]>();
  for (const { role, object, version } of probe.applied) {
    if (!object.startsWith('Secret ') || !version) continue;
    const key = `${role} ${object}`;
    written.set(key, [...(written.get(key) ?? []), version]);
  }
  let duplicates = 0;
  let regressions = 0;
  for (const [key, versions] of written) {
    const final = finalOf.get(key.split('/').at(-1) ?? '');
    const firstFinal = versions.indexOf(final ?? '');
    duplicates += versions.length - new Set(versions).size;
    if (firstFinal >= 0) regressions += versions.slice(firstFinal).filter((v) => v !== final).length;
  }
  return { duplicates, regressions };
}

/** The shard of an event's secret (its message group): the ARN, from either event shape. */
function groupShard(event: Record<string, unknown>): number {
  const detail = event.detail as { requestParameters?: { secretId?: string } };
  const arn = (event.resources as string[])[0] || detail.requestParameters?.secretId || '';
  let hash = 0;
  for (const char of arn) hash = (hash * 31 + char.charCodeAt(0)) >>> 0;
  return hash % CONCURRENCY;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j] as T, items[i] as T];
  }
  return items;
}

/** Counts object writes (applies, label releases, deletes); Kubernetes Events are not object writes. */
function objectWrites(probe: Probe): number {
  return [...probe.ops.entries()]
    .filter(([op]) => / (apply|release|delete)/.test(op))
    .reduce((sum, [, n]) => sum + n, 0);
}

export async function burst(bench: Bench, regionalCluster: string): Promise<Row> {
  // Prepare: 100 sources and bound Secrets, 10 of them also in a Region; synced once, so the copies exist.
  const region = unique('bench-burst');
  await bench.region(region, regionalCluster);
  const team = unique('team');
  await bench.namespace('mgmt', team);
  const base = unique('burst');
  const secrets: Array<{ name: string; arn: string; versions: string[] }> = [];
  for (let i = 0; i < SECRETS; i++) {
    const name = `${base}-${i}`;
    secrets.push({ name, arn: await bench.createSource(`identity-relay/${name}`), versions: [] });
  }
  const objects = secrets.map((s) => boundSecret(s.name, s.arn));
  for (const s of secrets.slice(0, REGIONAL)) {
    objects.push(
      {
        apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2',
        kind: 'AWSClusterStaticIdentity',
        metadata: { name: s.name },
        spec: { secretRef: s.name, allowedNamespaces: {} },
      },
      {
        apiVersion: 'k0rdent.mirantis.com/v1beta1',
        kind: 'Credential',
        metadata: { name: s.name, namespace: team },
        spec: {
          region,
          identityRef: {
            apiVersion: 'infrastructure.cluster.x-k8s.io/v1beta2',
            kind: 'AWSClusterStaticIdentity',
            name: s.name,
          },
        },
      },
    );
  }
  await bench.apply('mgmt', objects);
  const probe = new Probe();
  const { runtime, calls } = bench.runtime(probe);
  const handler = createHandler(runtime);
  for (let i = 0; i < SECRETS; i += BATCH)
    await handler(sqsEvent(secrets.slice(i, i + BATCH).map((s) => cloudTrail(s.arn))), lambdaContext());

  // Each secret rotates 1–3 times; every version's event is kept (the older ones are stale by delivery).
  const events: Array<Record<string, unknown>> = [];
  for (const [i, s] of secrets.entries()) {
    for (let k = 0; k <= i % 3; k++) {
      const { versionId, event } = await bench.rotate(s.arn);
      s.versions.push(versionId);
      events.push(event, cloudTrail(s.arn));
    }
  }
  while (events.length < EVENTS)
    events.push({ ...(events[Math.floor(Math.random() * events.length)] ?? {}), id: randomUUID() });
  shuffle(events);
  const realChanges = SECRETS + REGIONAL; // each mgmt Secret once, each regional copy of a changed Secret once

  // Act
  probe.reset();
  const reads = calls.getSecretValue;
  const memory = memorySampler();
  const started = performance.now();
  let failedMessages = 0;
  let delivered = 0;
  const shards = Array.from({ length: CONCURRENCY }, () => [] as Array<Record<string, unknown>>);
  for (const event of events) shards[groupShard(event)]?.push(event);
  await Promise.all(
    shards.map(async (shard) => {
      for (let i = 0; i < shard.length; i += BATCH) {
        const response = await handler(sqsEvent(shard.slice(i, i + BATCH)), lambdaContext());
        failedMessages += response?.batchItemFailures.length ?? 0;
        delivered += Math.min(BATCH, shard.length - i);
        if (delivered % 250 < BATCH)
          process.stderr.write(`${delivered} events (${round((performance.now() - started) / 1000)} s)… `);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const peak = memory.stop();

  // Assess: every binding at AWSCURRENT, in mgmt and in the Region.
  const mgmt = kubernetesCluster('mgmt', bench.kubeConfig('mgmt'));
  const regional = kubernetesCluster(regionalCluster, bench.kubeConfig(regionalCluster));
  let atCurrent = 0;
  let regionalAtCurrent = 0;
  for (const [i, s] of secrets.entries()) {
    const ref = { apiVersion: 'v1', kind: 'Secret', namespace: SYSTEM, name: s.name };
    const secret = await mgmt.get(ref);
    const current = s.versions.at(-1);
    if (secret?.metadata.annotations?.['identity-relay.dev/source-version'] === current) atCurrent += 1;
    if (
      i < REGIONAL &&
      (await regional.get(ref))?.metadata.annotations?.['identity-relay.dev/source-version'] === current
    )
      regionalAtCurrent += 1;
  }
  const writes = objectWrites(probe);
  const { duplicates, regressions } = extraWrites(probe, secrets);
  return {
    id: 6,
    name: 'burst (1,000 events, 100 secrets)',
    figure: `${atCurrent}/${SECRETS} bindings and ${regionalAtCurrent}/${REGIONAL} regional copies at AWSCURRENT; writes ${writes} for ${realChanges} real changes (${duplicates} repeated, ${regressions} back to an older version); ${round(seconds)} s with ${CONCURRENCY} invocation(s) at a time (${Math.round(events.length / seconds)} events/s), GetSecretValue ${calls.getSecretValue - reads}; peak RSS ${peak.rssMb} MB, heap ${peak.heapMb} MB`,
    goal: 'all at AWSCURRENT; writes = real changes, none older; GetSecretValue ≤ 130',
    met:
      atCurrent === SECRETS &&
      regionalAtCurrent === REGIONAL &&
      writes === realChanges &&
      regressions === 0 &&
      calls.getSecretValue - reads <= 130 &&
      failedMessages === 0,
    details: {
      events: events.length,
      batchSize: BATCH,
      concurrency: CONCURRENCY,
      seconds: round(seconds, 2),
      writes,
      realChanges,
      duplicateWrites: duplicates,
      regressiveWrites: regressions,
      failedMessages,
      getSecretValue: calls.getSecretValue - reads,
      k8sRequests: probe.count.read + probe.count.write,
      peak,
    },
  };
}
