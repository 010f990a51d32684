import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { hintFor } from '../../../lib/cli/format.js';
import { classify, parseReplayText } from '../../../lib/cli/replay.js';

const event = {
  id: 'e-1',
  'detail-type': 'Secret Label Updated',
  source: 'aws.secretsmanager',
  time: '2026-11-23T00:00:00Z',
  resources: ['arn:aws:secretsmanager:us-east-1:123456789012:secret:a-AbCdEf'],
  detail: { name: 'a', labelUpdated: 'AWSCURRENT', versionId: 'v1' },
};
const audit = (verb: string, name: string) => ({
  auditID: `a-${verb}-${name}`,
  stage: 'ResponseComplete',
  verb,
  objectRef: { resource: 'secrets', namespace: 'kcm-system', name, apiVersion: 'v1' },
  responseStatus: { code: 200 },
});
const job = {
  resource: 'regions',
  kind: 'Region',
  apiVersion: 'k0rdent.mirantis.com/v1beta1',
  name: 'eu',
  verb: 'update',
  auditID: 'j-1',
};

describe('replay input', () => {
  it('reads one JSON document, an array, or JSON lines', () => {
    expect(parseReplayText(JSON.stringify(event))).toHaveLength(1);
    expect(parseReplayText(JSON.stringify([event, event]))).toHaveLength(2);
    expect(parseReplayText(`${JSON.stringify(event)}\n\n${JSON.stringify(event)}\n`)).toHaveLength(2);
  });

  it('sorts EventBridge events, SQS records, audit EventLists, CloudWatch Logs events and jobs', () => {
    // Prepare
    const logs = {
      messageType: 'DATA_MESSAGE',
      logEvents: [{ id: '1', message: JSON.stringify(audit('patch', 'b')) }],
    };
    const items = [
      event,
      {
        Records: [
          { messageId: 'm-1', body: JSON.stringify(event) },
          { messageId: 'm-2', body: JSON.stringify(job) },
        ],
      },
      { kind: 'EventList', apiVersion: 'audit.k8s.io/v1', items: [audit('update', 'a'), audit('get', 'a')] },
      { awslogs: { data: gzipSync(JSON.stringify(logs)).toString('base64') } },
      job,
      { hello: 'world' },
    ];

    // Act
    const input = classify(items);

    // Assess
    expect(input.rotationRecords.map((r) => r.messageId)).toEqual(['e-1', 'm-1']);
    expect(input.jobs.map((j) => j.messageId)).toEqual(['m-2', 'a-update-a', 'a-patch-b', 'j-1']);
    expect(input.audit).toEqual({ received: 3, kept: 2, dropped: 1, quarantined: 0 });
    expect(input.unsupported).toEqual([expect.stringMatching(/^item 6: not an EventBridge event/)]);
  });
});

describe('hintFor', () => {
  it.each([
    ['SourceNotFound: source secret x does not exist', /identity-relay.dev\/source/],
    ['ClusterUnreachable: cluster eu unreachable: ECONNREFUSED', /resync --region/],
    ['Forbidden: forbidden: list Secret in cluster eu (HTTP 403)', /RBAC/],
    ['InvalidCredentialFormat: value does not match format aws-static', /resync --secret/],
    ['Something: else', /--verbose/],
  ])('answers %s with one line', (error, hint) => {
    expect(hintFor(error)).toMatch(hint);
    expect(hintFor(error)).not.toContain('\n');
  });
});
