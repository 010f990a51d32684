// Generators and fakes for the property-based faults: valid inputs of every schema, mutations of them,
// and ports that record writes instead of making them.
import fc from 'fast-check';
import type { KubeObject } from '../../lib/domain/objects.js';
import { secretIdMatches } from '../../lib/domain/secret-id.js';
import { SourceNotFound } from '../../lib/errors.js';
import type { Cluster, SecretSource } from '../../lib/ports.js';

export const SOURCE_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:identity-relay/prop-AbCdEf';
const OTHER_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:identity-relay/other-XyZxYz';

/** A reason fit for a log line or an HTTP answer: one non-empty line. */
export function oneLine(text: unknown): boolean {
  return typeof text === 'string' && text.length > 0 && !/[\r\n\u2028\u2029]/.test(text);
}

const secretId = fc.constantFrom(SOURCE_ARN, OTHER_ARN, 'identity-relay/prop', 'identity-relay/prop-AbCdEf');
const envelope = (detailType: string, detail: fc.Arbitrary<Record<string, unknown>>) =>
  fc.record(
    {
      version: fc.constant('0'),
      id: fc.uuid(),
      'detail-type': fc.constant(detailType),
      source: fc.constantFrom('aws.secretsmanager', 'aws.secretsmanager', 'custom.app'),
      account: fc.constant('123456789012'),
      time: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
      region: fc.constant('us-east-1'),
      resources: fc.array(secretId, { maxLength: 1 }),
      detail,
      'replay-name': fc.string(),
    },
    { requiredKeys: ['version', 'id', 'detail-type', 'source', 'time', 'detail'] },
  );

/** Every event the rotation function documents, valid, for the bound secret or another one. */
export const rotationEvent: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  envelope(
    'Secret Label Updated',
    fc.record({
      name: fc.constant('identity-relay/prop'),
      labelUpdated: fc.constantFrom('AWSCURRENT', 'AWSPENDING'),
      versionId: fc.uuid(),
    }),
  ),
  envelope(
    'AWS API Call via CloudTrail',
    fc.record({
      eventName: fc.constantFrom(
        'PutSecretValue',
        'UpdateSecret',
        'UpdateSecretVersionStage',
        'RestoreSecret',
        'GetSecretValue',
      ),
      requestParameters: fc.record({ secretId }),
      responseElements: fc.record({ arn: secretId }),
    }),
  ),
  envelope(
    'AWS Service Event via CloudTrail',
    fc.record({
      eventName: fc.constantFrom(
        'RotationSucceeded',
        'RotationFailed',
        'RotationAbandoned',
        'RotationStarted',
      ),
      errorMessage: fc.constantFrom('failed during setSecret step', 'x'),
      additionalEventData: fc.record({ SecretId: secretId }),
    }),
  ),
);

const auditEvent = fc.record({
  kind: fc.constant('Event'),
  apiVersion: fc.constant('audit.k8s.io/v1'),
  level: fc.constantFrom('Metadata', 'Request'),
  auditID: fc.uuid(),
  stage: fc.constantFrom('ResponseComplete', 'ResponseStarted'),
  verb: fc.constantFrom('create', 'update', 'patch', 'delete', 'get'),
  user: fc.record({
    username: fc.constantFrom('alice', 'system:serviceaccount:identity-relay-system:identity-relay'),
  }),
  objectRef: fc.oneof(
    fc.record({
      resource: fc.constant('secrets'),
      namespace: fc.constant('kcm-system'),
      name: fc.string({ minLength: 1 }),
      apiVersion: fc.constant('v1'),
    }),
    fc.record({
      resource: fc.constantFrom('credentials', 'regions'),
      apiGroup: fc.constant('k0rdent.mirantis.com'),
      name: fc.string({ minLength: 1 }),
      apiVersion: fc.constant('v1beta1'),
    }),
  ),
  responseStatus: fc.record({ code: fc.constantFrom(200, 201, 404, 409) }),
  stageTimestamp: fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
  requestObject: fc.constant({ data: { token: 'cmVkYWN0ZWQ=' } }),
});

/** A webhook body as kube-apiserver sends it. */
export const validEventList = fc.record({
  kind: fc.constant('EventList'),
  apiVersion: fc.constant('audit.k8s.io/v1'),
  items: fc.array(auditEvent, { minLength: 1, maxLength: 5 }),
});

/** SQS records carrying each value as the JSON body. */
export function sqsOf(body: fc.Arbitrary<unknown>): fc.Arbitrary<{ Records: unknown[] }> {
  return fc.array(body, { maxLength: 5 }).map((bodies) => ({
    Records: bodies.map((value, i) => ({
      messageId: `m${i}`,
      body: JSON.stringify(value) ?? 'undefined',
      eventSource: 'aws:sqs',
    })),
  }));
}

const mutation = fc.record({
  at: fc.nat(),
  kind: fc.constantFrom('delete', 'replace', 'multiline', 'empty'),
  value: fc.anything(),
});

/** A valid value with 1–3 of its fields deleted, replaced by anything, turned multi-line or emptied. */
export function mutated<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.tuple(valid, fc.array(mutation, { minLength: 1, maxLength: 3 })).map(([value, mutations]) => {
    const copy = structuredClone(value) as unknown;
    for (const m of mutations) {
      const paths = pathsOf(copy, []);
      const path = paths[m.at % Math.max(paths.length, 1)];
      if (!path || path.length === 0) continue;
      const parent = path
        .slice(0, -1)
        .reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], copy) as Record<
        string,
        unknown
      >;
      const key = path[path.length - 1] as string;
      if (m.kind === 'delete') delete parent[key];
      else if (m.kind === 'replace') parent[key] = m.value;
      else if (m.kind === 'multiline') parent[key] = `${String(parent[key])}\nsecond line\r\u2028`;
      else parent[key] = '';
    }
    return copy;
  });
}

function pathsOf(node: unknown, at: string[]): string[][] {
  if (node === null || typeof node !== 'object') return [at];
  return [
    at,
    ...Object.keys(node).flatMap((key) => pathsOf((node as Record<string, unknown>)[key], [...at, key])),
  ];
}

/** A management cluster holding one Secret bound to SOURCE_ARN and nothing else; it records writes. */
export function fakeCluster(): Cluster & { writes: string[] } {
  const writes: string[] = [];
  const bound: KubeObject = {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: 'bound',
      namespace: 'kcm-system',
      labels: { 'identity-relay.dev/bound': 'true' },
      annotations: { 'identity-relay.dev/source': SOURCE_ARN, 'identity-relay.dev/format': 'aws-static' },
    },
  };
  return {
    name: 'mgmt',
    writes,
    get: async () => undefined,
    list: async (_apiVersion, kind, options) =>
      kind === 'Secret' && options?.labelSelector?.includes('bound') ? [bound] : [],
    apply: async (object) => {
      writes.push(`apply ${object.kind} ${object.metadata.name}`);
      return object;
    },
    removeLabels: async (ref) => void writes.push(`release ${ref.name}`),
    annotate: async (ref) => void writes.push(`annotate ${ref.name}`),
    delete: async (ref) => void writes.push(`delete ${ref.name}`),
    isNamespaced: async () => true,
    recordEvent: async (regarding, event) =>
      void writes.push(`event ${event.reason} ${regarding.metadata.name}`),
  };
}

/** Secrets Manager holding only SOURCE_ARN, with `value` at AWSCURRENT. */
export function fakeSource(value: string): SecretSource {
  const current = { arn: SOURCE_ARN, name: 'identity-relay/prop', versionId: 'v-1', secretString: value };
  return {
    getCurrent: async (id) => {
      if (!secretIdMatches(SOURCE_ARN, id)) throw new SourceNotFound(id, 'does not exist');
      return current;
    },
    currentVersion: async (id) => {
      if (!secretIdMatches(SOURCE_ARN, id)) throw new SourceNotFound(id, 'does not exist');
      return current;
    },
  };
}
