import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { CoreV1Api, KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { issue } from '../testbed/pki.js';
import { freePort, type Managed, startProcess, stopProcess, waitFor } from '../testbed/processes.js';
import type { TestbedInfo } from '../testbed/testbed.js';

/** The audit Policy identity-relay ships (infra/k8s/audit/audit-policy.yaml): watched resources at Metadata. */
export function shippedAuditPolicy(): string {
  return readFileSync(new URL('../../infra/k8s/audit/audit-policy.yaml', import.meta.url), 'utf8');
}

/**
 * The kubeconfig kube-apiserver uses to reach an audit webhook with a bearer token. The server must be
 * https: client-go attaches a kubeconfig's credentials only to TLS transports.
 */
export function webhookKubeconfig(url: string, token: string, caFile: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: identity-relay',
    '  cluster:',
    `    server: ${url}`,
    `    certificate-authority: ${caFile}`,
    'users:',
    '- name: kube-apiserver',
    '  user:',
    `    token: ${token}`,
    'contexts:',
    '- name: webhook',
    '  context:',
    '    cluster: identity-relay',
    '    user: kube-apiserver',
    'current-context: webhook',
    '',
  ].join('\n');
}

/** A request as an HTTP receiver sees it. */
export interface ReceivedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** An HTTPS listener on 127.0.0.1 (a certificate from the testbed's CA) that answers with `handle`. */
export async function startReceiver(
  info: TestbedInfo,
  handle: (request: ReceivedRequest) => Promise<{ statusCode: number; body: string }>,
): Promise<{ url: string; close(): Promise<void> }> {
  const pki = dirname(info.caFile);
  const pair = issue(
    pki,
    { cert: info.caFile, key: join(pki, 'ca.key') },
    `audit-receiver-${randomUUID().slice(0, 8)}`,
    '/CN=audit-receiver',
    'server',
  );
  const tls = { cert: readFileSync(pair.cert), key: readFileSync(pair.key) };
  const server = createServer(tls, (req, res) => {
    readBody(req)
      .then((body) =>
        handle({ method: req.method ?? 'GET', path: req.url ?? '/', headers: flatHeaders(req), body }),
      )
      .then(
        (answer) => {
          res.writeHead(answer.statusCode, { 'content-type': 'text/plain' });
          res.end(answer.body);
        },
        () => {
          res.writeHead(500);
          res.end('receiver failed\n');
        },
      );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}/audit`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The Lambda Function URL event (API Gateway v2 payload) for a received request. */
export function functionUrlEvent(request: ReceivedRequest): Record<string, unknown> {
  const text = (request.headers['content-type'] ?? '').includes('json');
  const now = new Date();
  return {
    version: '2.0',
    routeKey: '$default',
    rawPath: request.path,
    rawQueryString: '',
    headers: request.headers,
    requestContext: {
      accountId: 'anonymous',
      apiId: 'relaytest',
      domainName: 'relaytest.lambda-url.us-east-1.on.aws',
      domainPrefix: 'relaytest',
      http: {
        method: request.method,
        path: request.path,
        protocol: 'HTTP/1.1',
        sourceIp: '127.0.0.1',
        userAgent: request.headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: '$default',
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    body: text ? request.body.toString('utf8') : request.body.toString('base64'),
    isBase64Encoded: !text,
  };
}

/** An extra kube-apiserver on the testbed's `mgmt` etcd prefix, sending its audit events to a webhook. */
export interface AuditedApiserver {
  url: string;
  pid: number;
  kubeconfig: KubeConfig;
  stop(): Promise<void>;
}

/**
 * Starts a second apiserver for `mgmt` (same etcd prefix, so it serves the same objects, as in an HA
 * control plane) with `--audit-policy-file` and `--audit-webhook-config-file`. Stopped by PID at the
 * end (`stop`), or by the testbed's clean-up, which reads the PID it records.
 */
export async function startAuditedApiserver(
  info: TestbedInfo,
  options: { webhookUrl: string; token: string; policy: string; batchMaxWait: string; batchMaxSize?: number },
): Promise<AuditedApiserver> {
  const mgmt = info.clusters.mgmt;
  const [command, ...base] = mgmt?.command ?? [];
  if (!mgmt || !command) throw new Error('testbed has no mgmt apiserver command');
  const port = await freePort();
  const name = `mgmt-audited-${port}`;
  const dir = join(info.dir, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'policy.yaml'), options.policy);
  writeFileSync(
    join(dir, 'webhook.kubeconfig'),
    webhookKubeconfig(options.webhookUrl, options.token, info.caFile),
  );
  const args = [
    ...base.filter((arg) => !arg.startsWith('--secure-port=') && !arg.startsWith('--cert-dir=')),
    `--secure-port=${port}`,
    `--cert-dir=${join(dir, 'certs')}`,
    `--audit-policy-file=${join(dir, 'policy.yaml')}`,
    `--audit-webhook-config-file=${join(dir, 'webhook.kubeconfig')}`,
    '--audit-webhook-mode=batch',
    `--audit-webhook-batch-max-wait=${options.batchMaxWait}`,
    `--audit-webhook-batch-max-size=${options.batchMaxSize ?? 400}`,
    '--audit-webhook-initial-backoff=1s',
  ];
  const managed: Managed = startProcess(info.dir, name, command, args);
  const url = `https://127.0.0.1:${port}`;
  const kubeconfig = new KubeConfig();
  kubeconfig.loadFromString(readFileSync(mgmt.kubeconfig, 'utf8').replace(mgmt.url, url));
  const core = kubeconfig.makeApiClient(CoreV1Api);
  const objects = KubernetesObjectApi.makeApiClient(kubeconfig);
  // Ready when the custom resources are served too: until then the apiserver answers 503 ("before all
  // known HTTP paths have been installed") for them.
  await waitFor(
    `audited apiserver ${name}`,
    async () =>
      (await core.listNamespace({ limit: 1 })).items !== undefined &&
      (await objects.list('infrastructure.cluster.x-k8s.io/v1beta2', 'AWSClusterStaticIdentity')).items !==
        undefined &&
      (await objects.list('k0rdent.mirantis.com/v1beta1', 'Credential')).items !== undefined,
    180_000,
    500,
  );
  return { url, pid: managed.child.pid ?? -1, kubeconfig, stop: () => stopProcess(managed) };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function flatHeaders(req: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return headers;
}

/** SQS records as the distribution queue delivers job bodies to the worker. */
export function sqsJobEvent(bodies: string[]): { Records: Array<Record<string, unknown>> } {
  return {
    Records: bodies.map((body) => ({
      messageId: randomUUID(),
      receiptHandle: 'test',
      body,
      attributes: {},
      messageAttributes: {},
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:identity-relay-distribution.fifo',
      awsRegion: 'us-east-1',
    })),
  };
}
