import { type Binding, readBinding } from '../domain/binding.js';
import { type KubeObject, LABELS } from '../domain/objects.js';
import type { BindingPolicy } from '../domain/policy.js';
import { describeError, InvalidInput } from '../errors.js';
import type { Cluster } from '../ports.js';
import { allTargets, type CredentialClosure, type Graph, hasTarget, loadGraph } from './graph.js';

/** What an on-call command looks at: everything, one bound Secret, one Credential or one Region. */
export type Scope =
  | { kind: 'all' }
  | { kind: 'secret'; namespace: string; name: string }
  | { kind: 'credential'; namespace: string; name: string }
  | { kind: 'region'; name: string };

/** A bound Secret of the management cluster; `error` when its annotations do not make a binding. */
export interface BoundSecretState {
  object: KubeObject;
  name: string;
  binding?: Binding;
  error?: string;
}

/** The part of the management cluster a scope covers, read once. */
export interface ScopedState {
  graph: Graph;
  bindings: BoundSecretState[];
  /** Regional Credentials in scope, each with what its identity needs. */
  closures: CredentialClosure[];
  /** Regions in scope that exist in the management cluster. */
  regions: string[];
}

export interface ScopeDeps {
  mgmt: Cluster;
  systemNamespace: string;
  watchNamespaces: string[];
  bindingPolicy?: BindingPolicy;
}

/** Reads the bound Secrets and the k0rdent graph, and narrows both to `scope`; throws InvalidInput for an unknown name. */
export async function resolveScope(deps: ScopeDeps, scope: Scope): Promise<ScopedState> {
  const [graph, bound] = await Promise.all([
    loadGraph(deps.mgmt, deps.systemNamespace),
    listBound(deps, scope),
  ]);
  let closures = graph.closures;
  let bindings = bound;
  if (scope.kind === 'secret') {
    bindings = bound.filter((b) => b.name === `${scope.namespace}/${scope.name}`);
    closures = closures.filter((c) => usesSecret(c, scope.namespace, scope.name));
  } else if (scope.kind === 'credential') {
    closures = closures.filter(
      (c) => c.credential.namespace === scope.namespace && c.credential.name === scope.name,
    );
    if (closures.length === 0)
      throw new InvalidInput(
        `Credential ${scope.namespace}/${scope.name} not found in the management cluster, or it has neither spec.region nor AccessManagement's managed label`,
      );
  } else if (scope.kind === 'region') {
    if (!hasTarget(graph, scope.name))
      throw new InvalidInput(
        `Region ${scope.name} not found in the management cluster (or it names no kubeconfig)`,
      );
    closures = closures.filter((c) => c.target === scope.name);
  }
  if (scope.kind === 'credential' || scope.kind === 'region')
    bindings = bound.filter((b) => closures.some((c) => usesSecret(c, ...splitName(b.name))));
  const regions = scope.kind === 'all' ? allTargets(graph) : [...new Set(closures.map((c) => c.target))];
  if (scope.kind === 'region' && !regions.includes(scope.name)) regions.push(scope.name);
  return { graph, bindings, closures, regions: regions.sort() };
}

/** `NS/NAME` from a command line; throws InvalidInput naming the flag. */
export function parseObjectName(flag: string, text: string): { namespace: string; name: string } {
  const [namespace, name, extra] = text.split('/');
  if (!namespace || !name || extra !== undefined)
    throw new InvalidInput(`${flag} expects NAMESPACE/NAME, got "${text.slice(0, 80)}"`);
  return { namespace, name };
}

async function listBound(deps: ScopeDeps, scope: Scope): Promise<BoundSecretState[]> {
  const namespaces = new Set(deps.watchNamespaces);
  // A Secret named on the command line is looked at even outside the watched namespaces.
  if (scope.kind === 'secret') namespaces.add(scope.namespace);
  const lists = await Promise.all(
    [...namespaces].map((namespace) =>
      deps.mgmt.list('v1', 'Secret', { namespace, labelSelector: `${LABELS.bound}=true` }),
    ),
  );
  const bound = lists.flat().map((object): BoundSecretState => {
    const name = `${object.metadata.namespace}/${object.metadata.name}`;
    try {
      return { object, name, binding: readBinding(object, deps.bindingPolicy) };
    } catch (error) {
      return { object, name, error: describeError(error) };
    }
  });
  if (scope.kind === 'secret' && !bound.some((b) => b.name === `${scope.namespace}/${scope.name}`))
    throw new InvalidInput(
      `Secret ${scope.namespace}/${scope.name} is not a bound Secret (label ${LABELS.bound}=true) in the management cluster`,
    );
  return bound.sort((a, b) => a.name.localeCompare(b.name));
}

function usesSecret(closure: CredentialClosure, namespace: string, name: string): boolean {
  return closure.items.some(
    ({ object }) =>
      object.apiVersion === 'v1' &&
      object.kind === 'Secret' &&
      object.metadata.namespace === namespace &&
      object.metadata.name === name,
  );
}

function splitName(text: string): [string, string] {
  const [namespace = '', name = ''] = text.split('/');
  return [namespace, name];
}
