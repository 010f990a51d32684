import { describe, expect, it } from 'vitest';
import { grantsCredential, labelQueryMatches } from '../../../lib/domain/access-management.js';
import type { KubeObject } from '../../../lib/domain/objects.js';

const accessManagement = (accessRules: unknown[]): KubeObject => ({
  apiVersion: 'k0rdent.mirantis.com/v1beta1',
  kind: 'AccessManagement',
  metadata: { name: 'kcm' },
  spec: { accessRules },
});
const credential = { name: 'aws-cred', labels: { tier: 'gold' } };
const teamA = { name: 'team-a', labels: { team: 'a' } };

describe('grantsCredential', () => {
  it.each([
    [
      'the deprecated credentials list and a target list',
      { targetNamespaces: { list: ['team-a'] }, credentials: ['aws-cred'] },
    ],
    ['credentials and no targetNamespaces (every namespace)', { credentials: ['aws-cred'] }],
    [
      'a target selector',
      { targetNamespaces: { selector: { matchLabels: { team: 'a' } } }, credentials: ['aws-cred'] },
    ],
    [
      'a target string selector',
      { targetNamespaces: { stringSelector: 'team in (a,b)' }, credentials: ['aws-cred'] },
    ],
    ['a Credential resource by name', { resources: [{ kind: 'Credential', names: ['aws-cred'] }] }],
    [
      'a Credential resource with the k0rdent group',
      { resources: [{ apiGroup: 'k0rdent.mirantis.com', kind: 'Credential', names: ['aws-cred'] }] },
    ],
    [
      'a Credential resource by selector',
      { resources: [{ kind: 'Credential', selector: { matchLabels: { tier: 'gold' } } }] },
    ],
    [
      'a Credential resource by string selector',
      { resources: [{ kind: 'Credential', stringSelector: 'tier=gold' }] },
    ],
    ['every Credential (a resource with no names or selector)', { resources: [{ kind: 'Credential' }] }],
  ])('grants by %s', (_case, rule) => {
    // Act
    const granted = grantsCredential([accessManagement([rule])], credential, teamA);

    // Assess
    expect(granted).toBe(true);
  });

  it.each([
    ['no AccessManagement at all', []],
    ['no rules', [accessManagement([])]],
    [
      'another namespace in the list',
      [accessManagement([{ targetNamespaces: { list: ['team-b'] }, credentials: ['aws-cred'] }])],
    ],
    ['another Credential', [accessManagement([{ credentials: ['azure-cred'] }])]],
    ['a rule for templates only', [accessManagement([{ clusterTemplateChains: ['aws'] }])]],
    [
      'a selector the namespace does not match',
      [
        accessManagement([
          { targetNamespaces: { selector: { matchLabels: { team: 'b' } } }, credentials: ['aws-cred'] },
        ]),
      ],
    ],
    [
      'a resource of another kind',
      [accessManagement([{ resources: [{ kind: 'ClusterTemplateChain', names: ['aws-cred'] }] }])],
    ],
    [
      'a Credential resource of another group',
      [accessManagement([{ resources: [{ apiGroup: 'example.com', kind: 'Credential' }] }])],
    ],
    [
      'a Credential selector that does not match',
      [accessManagement([{ resources: [{ kind: 'Credential', stringSelector: 'tier=silver' }] }])],
    ],
    ['a malformed rule', [accessManagement(['team-a'])]],
  ])('refuses with %s', (_case, objects) => {
    // Act
    const granted = grantsCredential(objects, credential, teamA);

    // Assess
    expect(granted).toBe(false);
  });
});

describe('labelQueryMatches', () => {
  const labels = { env: 'prod', team: 'a', tier: 'gold' };

  it.each([
    ['env=prod', true],
    ['env==prod', true],
    ['env!=prod', false],
    ['env!=dev', true],
    ['env in (prod, dev)', true],
    ['env notin (prod)', false],
    ['region notin (eu)', true],
    ['team', true],
    ['!team', false],
    ['!region', true],
    ['env=prod,team=a', true],
    ['env=prod,team=b', false],
    ['env in (dev),team=a', false],
    ['env ~ prod', false],
  ])('%s → %s', (query, expected) => {
    // Act
    const matched = labelQueryMatches(query, labels);

    // Assess
    expect(matched).toBe(expected);
  });
});
