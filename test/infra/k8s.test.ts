import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadAllYaml } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../infra/relay-app.js';

type Rule = { apiGroups?: string[]; resources?: string[]; resourceNames?: string[]; verbs: string[] };
type Doc = {
  kind: string;
  metadata?: { name?: string; namespace?: string };
  rules?: Rule[];
  subjects?: { kind: string; name: string; namespace?: string }[];
  roleRef?: { kind: string; name: string };
};

function load(relative: string): Doc[] {
  return loadAllYaml(readFileSync(join(PROJECT_ROOT, 'infra/k8s', relative), 'utf8')) as Doc[];
}

function rulesOf(docs: Doc[], kind: 'ClusterRole' | 'Role'): Rule[] {
  return docs.filter((d) => d.kind === kind).flatMap((d) => d.rules ?? []);
}

// The Cluster API identity kinds the testbed installs must all be covered.
const testbedIdentityKinds = readdirSync(join(PROJECT_ROOT, 'test/testbed/crds'))
  .filter((file) => file.endsWith('.infrastructure.cluster.x-k8s.io.yaml'))
  .map((file) => file.split('.')[0]);

const management = [
  ...load('management/rbac.yaml'),
  ...load('management/secrets-role.yaml'),
  ...load('management/kubeconfig-role.yaml'),
  ...load('management/access-copies-role.yaml'),
];
const regional = [...load('regional/rbac.yaml'), ...load('regional/token-secret-policy.yaml')];

describe.each([
  ['management', management],
  ['regional', regional],
])('%s RBAC', (_cluster, docs) => {
  it('uses no wildcard group, resource or verb', () => {
    const all = [...rulesOf(docs, 'ClusterRole'), ...rulesOf(docs, 'Role')];

    expect(all.flatMap((r) => [...(r.apiGroups ?? []), ...(r.resources ?? []), ...r.verbs])).not.toContain(
      '*',
    );
  });

  it('grants Secrets only through namespaced Roles', () => {
    expect(rulesOf(docs, 'ClusterRole').filter((r) => r.resources?.includes('secrets'))).toEqual([]);
  });

  it('binds every role to the identity-relay ServiceAccount and group', () => {
    const bindings = docs.filter((d) => d.kind === 'RoleBinding' || d.kind === 'ClusterRoleBinding');

    expect(bindings.length).toBeGreaterThan(0);
    for (const binding of bindings) {
      expect(binding.subjects).toEqual([
        { kind: 'ServiceAccount', name: 'identity-relay', namespace: 'identity-relay-system' },
        expect.objectContaining({ kind: 'Group', name: 'identity-relay' }),
      ]);
    }
  });

  it('names every identity kind the testbed installs', () => {
    const identityRule = rulesOf(docs, 'ClusterRole').find((r) =>
      r.apiGroups?.includes('infrastructure.cluster.x-k8s.io'),
    );

    expect(identityRule?.resources).toEqual(expect.arrayContaining(testbedIdentityKinds));
  });
});

describe('management RBAC', () => {
  it('only reads the k0rdent and identity objects (and Namespace labels; never ClusterDeployments, never watching) and only creates Events', () => {
    expect(rulesOf(management, 'ClusterRole')).toEqual([
      {
        apiGroups: ['k0rdent.mirantis.com'],
        resources: ['credentials', 'regions', 'providerinterfaces', 'accessmanagements'],
        verbs: ['get', 'list'],
      },
      expect.objectContaining({ apiGroups: ['infrastructure.cluster.x-k8s.io'], verbs: ['get', 'list'] }),
      { apiGroups: [''], resources: ['namespaces'], verbs: ['list'] },
      { apiGroups: [''], resources: ['events'], verbs: ['create'] },
    ]);
  });

  it('may get, list and patch Secrets in the namespace it is applied to, and never create or delete them', () => {
    const role = management.find((d) => d.kind === 'Role' && d.metadata?.name === 'identity-relay-secrets');

    expect(role?.metadata?.namespace).toBe('kcm-system');
    expect(role?.rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list', 'patch'] },
    ]);
  });

  it('writes AccessManagement copies (Secrets, the namespaced identity kind) only through a per-namespace Role', () => {
    const role = management.find(
      (d) => d.kind === 'Role' && d.metadata?.name === 'identity-relay-access-copies',
    );
    const writes = ['get', 'list', 'create', 'patch', 'delete'];

    expect(role?.rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], verbs: writes },
      {
        apiGroups: ['infrastructure.cluster.x-k8s.io'],
        resources: ['azureclusteridentities'],
        verbs: writes,
      },
    ]);
  });

  it('reads a ClusterDeployment kubeconfig only by name, with get alone', () => {
    const role = management.find(
      (d) => d.kind === 'Role' && d.metadata?.name === 'identity-relay-region-kubeconfigs',
    );

    expect(role?.rules).toEqual([
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['example-kubeconfig'], verbs: ['get'] },
    ]);
  });
});

describe('regional RBAC', () => {
  it('writes the identity kinds cluster-wide and Secrets only in the system namespace, never replacing them', () => {
    const writes = ['get', 'list', 'create', 'patch', 'delete'];

    expect(rulesOf(regional, 'ClusterRole')).toEqual([
      expect.objectContaining({ apiGroups: ['infrastructure.cluster.x-k8s.io'], verbs: writes }),
      // kcm's lookups in the target, and its EnsureNamespace: read ProviderInterfaces, create a missing namespace.
      { apiGroups: ['k0rdent.mirantis.com'], resources: ['providerinterfaces'], verbs: ['get', 'list'] },
      { apiGroups: [''], resources: ['namespaces'], verbs: ['get', 'create'] },
    ]);
    expect(regional.filter((d) => d.kind === 'Role').map((d) => [d.metadata?.namespace, d.rules])).toEqual([
      ['kcm-system', [{ apiGroups: [''], resources: ['secrets'], verbs: writes }]],
    ]);
  });

  it('ships a denying admission policy on Secret writes by the identity-relay ServiceAccount and group', () => {
    const policy = regional.find((d) => d.kind === 'ValidatingAdmissionPolicy') as unknown as {
      metadata: { name: string };
      spec: { matchConditions: { expression: string }[]; validations: { expression: string }[] };
    };
    const binding = regional.find((d) => d.kind === 'ValidatingAdmissionPolicyBinding') as unknown as {
      spec: { policyName: string; validationActions: string[] };
    };

    expect(binding.spec).toEqual({ policyName: policy.metadata.name, validationActions: ['Deny'] });
    expect(policy.spec.matchConditions[0]?.expression).toContain(
      'system:serviceaccount:identity-relay-system:identity-relay',
    );
    expect(policy.spec.matchConditions[0]?.expression).toContain("g == 'identity-relay'");
    expect(policy.spec.validations[0]?.expression).toContain('kubernetes.io/service-account-token');
  });
});

describe('audit policy', () => {
  const [policy] = load('audit/audit-policy.yaml') as unknown as {
    apiVersion: string;
    omitStages: string[];
    rules: { level: string; verbs?: string[]; resources?: { group: string; resources: string[] }[] }[];
  }[];

  it('logs the watched resources at Metadata for writes, omits RequestReceived and drops the rest', () => {
    expect(policy?.apiVersion).toBe('audit.k8s.io/v1');
    expect(policy?.omitStages).toEqual(['RequestReceived']);
    expect(policy?.rules.map((r) => r.level)).toEqual(['Metadata', 'None']);
    expect(policy?.rules[0]?.verbs).toEqual(['create', 'update', 'patch', 'delete']);
    expect(policy?.rules[0]?.resources?.slice(0, 2)).toEqual([
      { group: '', resources: ['secrets'] },
      { group: 'k0rdent.mirantis.com', resources: ['credentials', 'regions', 'providerinterfaces'] },
    ]);
    expect(policy?.rules[0]?.resources?.[2]?.resources).toEqual(expect.arrayContaining(testbedIdentityKinds));
  });
});

describe('audit webhook kubeconfig template', () => {
  it('points at the Function URL with the generated bearer token', () => {
    const [kubeconfig] = load('audit/audit-webhook-kubeconfig.yaml') as unknown as {
      clusters: { cluster: { server: string } }[];
      users: { user: { token: string } }[];
    }[];

    expect(kubeconfig?.clusters[0]?.cluster.server).toBe(`\${AUDIT_WEBHOOK_URL}`);
    expect(kubeconfig?.users[0]?.user.token).toBe(`\${AUDIT_WEBHOOK_TOKEN}`);
  });
});
