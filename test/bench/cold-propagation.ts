// Row 8: cold propagation. A fresh Node process loads the rotation bundle exactly as CDK deploys it,
// with a deployed function's environment contract (functions/shared/runtime.ts): the management
// kubeconfig read from Secrets Manager, Regions' kubeconfigs read from the management cluster, TLS set
// up from scratch. It handles its first rotation event through to every region (R = 2); then, in the
// same process, a few more (warm). Reported: ms from process start to the first handler return, and its
// ratio to the warm ones of the same process and bundle.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { kubernetesCluster } from '../../lib/adapters/kubernetes.js';
import { bundle } from './cold-start.js';
import { median, round } from './instrument.js';
import { type Bench, SYSTEM, sqsEvent, unique } from './setup.js';
import type { Row } from './table.js';

const GOAL = 2;
const WARM_EVENTS = 3;

// The child: imports the bundle (the cold start), then handles one event per stdin line, printing
// its figures; `performance.now()` counts from the child's own start.
const CHILD = `
import { createInterface } from 'node:readline';
const { handler } = await import(process.env.BUNDLE);
const imported = performance.now();
const context = () => ({ functionName: 'identity-relay-rotation', functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:identity-relay-rotation',
  memoryLimitInMB: '512', awsRequestId: crypto.randomUUID(), logGroupName: 'bench', logStreamName: 'bench',
  getRemainingTimeInMillis: () => 60000, callbackWaitsForEmptyEventLoop: false });
for await (const line of createInterface({ input: process.stdin })) {
  const started = performance.now();
  const out = await handler(JSON.parse(line), context());
  const done = performance.now();
  process.stdout.write(JSON.stringify({ imported, started, done, failed: out?.batchItemFailures?.length ?? 0 }) + '\\n');
}
`;

interface Answer {
  imported: number;
  started: number;
  done: number;
  failed: number;
}

/** One fresh process: its cold propagation (from process start) and its warm ones (per event). */
async function processRun(
  bench: Bench,
  arn: string,
  env: NodeJS.ProcessEnv,
  verify: (versionId: string) => Promise<boolean>,
): Promise<{ coldMs: number; importMs: number; warmMs: number[] }> {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD], {
    env,
    stdio: ['pipe', 'pipe', 'ignore'],
  });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const handle = async (): Promise<Answer> => {
    const { versionId, event } = await bench.rotate(arn);
    child.stdin.write(`${JSON.stringify(sqsEvent([event]))}\n`);
    const next = await lines.next();
    if (next.done) throw new Error('bench: the cold-propagation process ended early');
    const answer = JSON.parse(String(next.value)) as Answer;
    if (answer.failed > 0 || !(await verify(versionId)))
      throw new Error('bench: a cold propagation did not reach every region');
    return answer;
  };
  try {
    const cold = await handle();
    const warmMs: number[] = [];
    for (let i = 0; i < WARM_EVENTS; i++) {
      const warm = await handle();
      warmMs.push(warm.done - warm.started);
    }
    return { coldMs: cold.done, importMs: cold.imported, warmMs };
  } finally {
    child.stdin.end();
    child.kill();
  }
}

export async function coldPropagation(
  bench: Bench,
  root: string,
  regional: string[],
  repeats: number,
): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), 'identity-relay-cold-'));
  try {
    const file = join(dir, 'rotation.mjs');
    const bytes = await bundle(join(root, 'functions', 'rotation', 'handler.ts'), file);
    const regions: Record<string, string> = {};
    for (const cluster of regional.slice(0, 2)) {
      const name = unique('cold-r');
      await bench.region(name, cluster);
      regions[name] = cluster;
    }
    const { arn, names } = await bench.scenario(regions, 1);
    const kubeconfig = readFileSync(bench.info.clusters.mgmt?.kubeconfig ?? '', 'utf8');
    const secret = await bench.aws.send(
      new CreateSecretCommand({
        Name: unique('identity-relay/management-kubeconfig'),
        SecretString: kubeconfig,
      }),
    );
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      BUNDLE: file,
      AWS_REGION: bench.info.aws.region,
      AWS_ENDPOINT_URL: bench.info.aws.endpoint,
      AWS_ACCESS_KEY_ID: 'bench',
      AWS_SECRET_ACCESS_KEY: 'bench',
      MANAGEMENT_KUBECONFIG_SECRET_ARN: secret.ARN ?? '',
      SYSTEM_NAMESPACE: SYSTEM,
      WATCH_NAMESPACES: SYSTEM,
      ALLOW_LOOPBACK_CLUSTERS: 'true',
      POWERTOOLS_LOG_LEVEL: 'ERROR',
      POWERTOOLS_METRICS_DISABLED: 'true',
    };
    const clusters = ['mgmt', ...Object.values(regions)].map((c) =>
      kubernetesCluster(c, bench.kubeConfig(c)),
    );
    const ref = { apiVersion: 'v1', kind: 'Secret', namespace: SYSTEM, name: names[0] ?? '' };
    const verify = async (versionId: string) => {
      const held = await Promise.all(clusters.map((c) => c.get(ref)));
      return held.every((s) => s?.metadata.annotations?.['identity-relay.dev/source-version'] === versionId);
    };
    // The first run creates the copies: the measured ones update them, as a rotation does.
    await processRun(bench, arn, env, verify);
    const runs = [];
    for (let i = 0; i < repeats; i++) runs.push(await processRun(bench, arn, env, verify));
    const cold = median(runs.map((r) => r.coldMs));
    const warm = median(runs.flatMap((r) => r.warmMs));
    const ratio = round(cold / warm, 2);
    return {
      id: 8,
      name: 'cold propagation (R=2)',
      figure: `${round(cold)} ms from process start to every region (import ${round(median(runs.map((r) => r.importMs)))} ms), warm ${round(warm)} ms in the same process: ${ratio}×; bundle ${round(bytes / 2 ** 20, 2)} MB`,
      goal: `cold ≤ ${GOAL} × warm`,
      met: ratio <= GOAL,
      details: {
        repeats,
        warmEventsPerProcess: WARM_EVENTS,
        coldMs: round(cold),
        warmMs: round(warm),
        ratio,
        importMs: runs.map((r) => round(r.importMs)),
        coldRunsMs: runs.map((r) => round(r.coldMs)),
        bundleMb: round(bytes / 2 ** 20, 2),
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
