// Row 4: a realistic 400-event audit batch through the audit-webhook handler (bearer token, parse,
// filter, coalesce; the SQS send stubbed at the JobQueue port) against JSON.parse of the same body.
import { randomUUID } from 'node:crypto';
import { createHandler } from '../../functions/audit-webhook/handler.js';
import { DEFAULT_IDENTITY_KINDS, identityResources } from '../../lib/domain/audit.js';
import { secretTokenVerifier } from '../../lib/use-cases/audit-intake.js';
import { lambdaContext } from '../helpers/lambda.js';
import { median, round } from './instrument.js';
import { discardingLog, discardingMetrics } from './setup.js';
import type { Row } from './table.js';

const RELAY_USER = 'system:serviceaccount:identity-relay-system:identity-relay';
const TOKEN = 'bench-audit-token-0123456789abcdef';

/** What kube-apiserver sends at the Metadata level: one batch of `count` events of a busy management cluster. */
export function auditBody(count: number): string {
  const mix: Array<[number, () => Record<string, string>]> = [
    [
      0.55,
      () => ({
        resource: 'secrets',
        apiVersion: 'v1',
        namespace: pick(['kcm-system', 'team-a', 'team-b']),
        name: `secret-${int(50)}`,
      }),
    ],
    [
      0.1,
      () => ({
        resource: 'secrets',
        apiVersion: 'v1',
        namespace: 'kcm-system',
        name: `secret-${int(50)}`,
        user: RELAY_USER,
      }),
    ],
    [
      0.1,
      () => ({
        resource: 'credentials',
        apiGroup: 'k0rdent.mirantis.com',
        apiVersion: 'v1beta1',
        namespace: 'team-a',
        name: `cred-${int(20)}`,
      }),
    ],
    [
      0.05,
      () => ({
        resource: 'regions',
        apiGroup: 'k0rdent.mirantis.com',
        apiVersion: 'v1beta1',
        name: `region-${int(5)}`,
      }),
    ],
    [
      0.1,
      () => ({
        resource: 'awsclusterstaticidentities',
        apiGroup: 'infrastructure.cluster.x-k8s.io',
        apiVersion: 'v1beta2',
        name: `id-${int(20)}`,
      }),
    ],
    [
      0.1,
      () => ({
        resource: 'leases',
        apiGroup: 'coordination.k8s.io',
        apiVersion: 'v1',
        namespace: 'kube-system',
        name: 'kcm-controller',
      }),
    ],
  ];
  const items = Array.from({ length: count }, (_, i) => {
    // A low-discrepancy walk through the mix: the shares hold in every batch size.
    const roll = (i * 0.618034) % 1;
    let cumulative = 0;
    const entry =
      mix.find(([share]) => {
        cumulative += share;
        return roll < cumulative;
      }) ?? mix[0];
    const { user, ...ref } = entry?.[1]() ?? {};
    const verb = pick(['update', 'patch', 'create', 'delete', 'update']);
    const at = new Date(Date.now() - (count - i) * 10).toISOString();
    const group = ref.apiGroup ? `/apis/${ref.apiGroup}/${ref.apiVersion}` : '/api/v1';
    return {
      kind: 'Event',
      apiVersion: 'audit.k8s.io/v1',
      level: 'Metadata',
      auditID: randomUUID(),
      stage: 'ResponseComplete',
      requestURI: `${group}${ref.namespace ? `/namespaces/${ref.namespace}` : ''}/${ref.resource}/${ref.name}?fieldManager=kubectl-client-side-apply`,
      verb,
      user: {
        username: user ?? 'system:serviceaccount:kcm-system:kcm-controller-manager',
        uid: randomUUID(),
        groups: ['system:serviceaccounts', 'system:serviceaccounts:kcm-system', 'system:authenticated'],
        extra: { 'authentication.kubernetes.io/pod-name': ['kcm-controller-manager-7d9f8-abcde'] },
      },
      sourceIPs: ['10.0.12.7'],
      userAgent: 'manager/v0.0.0 (linux/amd64) kubernetes/$Format',
      objectRef: { ...ref, uid: randomUUID(), resourceVersion: String(100000 + i) },
      responseStatus: { metadata: {}, code: verb === 'create' ? 201 : 200 },
      requestReceivedTimestamp: at,
      stageTimestamp: at,
      annotations: {
        'authorization.k8s.io/decision': 'allow',
        'authorization.k8s.io/reason': 'RBAC: allowed by ClusterRoleBinding',
      },
    };
  });
  return JSON.stringify({ kind: 'EventList', apiVersion: 'audit.k8s.io/v1', metadata: {}, items });
}

export async function auditIntake(iterations: number): Promise<Row> {
  let jobs = 0;
  const runtime = {
    log: discardingLog(),
    metrics: discardingMetrics(),
    deps: async () => deps,
  };
  const source = {
    getCurrent: async () => ({ arn: 'arn', name: 'token', versionId: 'v1', secretString: TOKEN }),
    currentVersion: async () => ({ arn: 'arn', name: 'token', versionId: 'v1' }),
  };
  const deps = {
    queue: {
      send: async (messages: unknown[]) => {
        jobs = messages.length;
      },
    },
    token: secretTokenVerifier(source, 'token'),
    filter: { identityResources: identityResources([...DEFAULT_IDENTITY_KINDS]), relayUsername: RELAY_USER },
    maxBodyBytes: 6 * 1024 * 1024,
    log: runtime.log,
    metrics: runtime.metrics,
    now: () => new Date(),
  };
  const handler = createHandler(runtime);
  const body = auditBody(400);
  const event = {
    version: '2.0',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body,
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST' } },
  };
  const context = lambdaContext();
  const handled: number[] = [];
  const parsed: number[] = [];
  for (let i = 0; i < iterations + 20; i++) {
    let started = performance.now();
    const response = await handler(event, context);
    if (response?.statusCode !== 200)
      throw new Error(`bench: audit webhook answered ${response?.statusCode}`);
    if (i >= 20) handled.push(performance.now() - started);
    started = performance.now();
    JSON.parse(body);
    if (i >= 20) parsed.push(performance.now() - started);
  }
  const handlerMs = median(handled);
  const parseMs = median(parsed);
  const ratio = round(handlerMs / parseMs, 2);
  return {
    id: 4,
    name: 'audit intake (400 events)',
    figure: `handler ${round(handlerMs, 2)} ms vs JSON.parse ${round(parseMs, 2)} ms = ${ratio}×; ${Math.round(400 / (handlerMs / 1000))} events/s; ${jobs} jobs from 400 events; body ${round(body.length / 1024)} KiB`,
    goal: '≤ 3× JSON.parse',
    met: ratio <= 3,
    details: {
      iterations,
      handlerMedianMs: round(handlerMs, 3),
      jsonParseMedianMs: round(parseMs, 3),
      ratio,
      jobs,
      bodyBytes: body.length,
    },
  };
}

function pick<T>(values: T[]): T {
  return values[int(values.length)] as T;
}

function int(n: number): number {
  return Math.floor(Math.random() * n);
}
