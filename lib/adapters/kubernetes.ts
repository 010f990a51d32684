import {
  ApiException,
  CoreV1Api,
  type CoreV1Event,
  type KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
} from '@kubernetes/client-node';
import { FIELD_MANAGER, type KubeObject, type ObjectRef } from '../domain/objects.js';
import {
  ClusterUnreachable,
  Forbidden,
  InvalidInput,
  NotServed,
  RelayError,
  TransientFailure,
  WriteConflict,
} from '../errors.js';
import type { Cluster, ClusterConnector, ClusterEvent } from '../ports.js';
import { type AccessOptions, parseKubeconfig, refreshingCluster } from './kubeconfig.js';

/** KubernetesObjectApi with its discovery lookup opened up, to tell namespaced kinds from cluster-scoped. */
class ObjectApi extends KubernetesObjectApi {
  /** The kind's scope; undefined when the cluster does not serve it (an unknown group/version answers 404). */
  async namespaced(apiVersion: string, kind: string): Promise<boolean | undefined> {
    try {
      return (await this.resource(apiVersion, kind))?.namespaced;
    } catch (error) {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    }
  }
}

const PAGE = 500;
const THROTTLE_ATTEMPTS = 4;
/**
 * The longest identity-relay waits for one answer. A server that accepts connections and never answers
 * (a blackholed region) would otherwise hold its invocation, and every secret and region sharing it,
 * until the function's own timeout.
 */
export const REQUEST_TIMEOUT_MS = 10_000;

/** The Cluster port over a KubeConfig; `name` labels results and errors. */
export function kubernetesCluster(
  name: string,
  kc: KubeConfig,
  options: { timeoutMs?: number } = {},
): Cluster {
  const objects = kc.makeApiClient(ObjectApi);
  const core = kc.makeApiClient(CoreV1Api);
  const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  const call = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await withTimeout(
          fn(),
          timeoutMs,
          () => new ClusterUnreachable(name, `${what}: no answer in ${timeoutMs} ms`),
        );
      } catch (error) {
        // 429 is the apiserver asking to come back shortly (priority and fairness, storage warming up).
        if (error instanceof ApiException && error.code === 429 && attempt < THROTTLE_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
          continue;
        }
        throw translate(name, what, error);
      }
    }
  };

  // Asked before a get or list: an unserved kind is NotServed, never "not found" or "unreachable".
  // Discovery answers are cached by the client, so a served kind costs no extra request.
  const scopeOf = async (apiVersion: string, kind: string): Promise<boolean> => {
    const namespaced = await call(`discover ${kind}`, () => objects.namespaced(apiVersion, kind));
    if (namespaced === undefined) throw new NotServed(name, apiVersion, kind);
    return namespaced;
  };

  return {
    name,
    async get(ref) {
      await scopeOf(ref.apiVersion, ref.kind);
      return call(`get ${describe(ref)}`, () =>
        objects
          .read<KubeObject>({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: header(ref) })
          .catch((error: unknown) => {
            if (error instanceof ApiException && error.code === 404) return undefined;
            throw error;
          }),
      );
    },
    async list(apiVersion, kind, options = {}) {
      await scopeOf(apiVersion, kind);
      const items: KubeObject[] = [];
      let continueToken: string | undefined;
      do {
        const page = await call(`list ${kind}`, () =>
          objects
            .list<KubeObject>(
              apiVersion,
              kind,
              options.namespace,
              undefined,
              undefined,
              undefined,
              options.fieldSelector,
              options.labelSelector,
              PAGE,
              continueToken,
            )
            .catch((error: unknown) => {
              // The kind vanished between discovery and the list (its CRD was just removed).
              if (error instanceof ApiException && error.code === 404)
                throw new NotServed(name, apiVersion, kind);
              throw error;
            }),
        );
        // List items omit apiVersion and kind; put them back so items are whole objects.
        for (const item of page.items) items.push({ ...item, apiVersion, kind });
        continueToken = page.metadata?._continue || undefined;
      } while (continueToken);
      return items;
    },
    async apply(object) {
      return call(`apply ${describe(object)}`, () =>
        objects.patch<KubeObject>(
          object,
          undefined,
          undefined,
          FIELD_MANAGER,
          true,
          PatchStrategy.ServerSideApply,
        ),
      );
    },
    async create(object) {
      return call(`create ${describe(object)}`, () =>
        objects.create<KubeObject>(object, undefined, undefined, FIELD_MANAGER),
      );
    },
    async removeLabels(ref, labels) {
      const patch = {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { ...header(ref), labels: Object.fromEntries(labels.map((label) => [label, null])) },
      };
      await call(`remove labels from ${describe(ref)}`, () =>
        objects.patch(
          patch as unknown as KubeObject,
          undefined,
          undefined,
          FIELD_MANAGER,
          undefined,
          PatchStrategy.MergePatch,
        ),
      );
    },
    async annotate(ref, annotations, resourceVersion) {
      const patch = {
        apiVersion: ref.apiVersion,
        kind: ref.kind,
        metadata: { ...header(ref), annotations, ...(resourceVersion ? { resourceVersion } : {}) },
      };
      await call(`annotate ${describe(ref)}`, () =>
        objects.patch(
          patch as unknown as KubeObject,
          undefined,
          undefined,
          FIELD_MANAGER,
          undefined,
          PatchStrategy.MergePatch,
        ),
      );
    },
    async delete(ref) {
      await call(`delete ${describe(ref)}`, () =>
        objects
          .delete({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: header(ref) })
          .catch((error: unknown) => {
            if (error instanceof ApiException && error.code === 404) return undefined;
            throw error;
          }),
      );
    },
    async isNamespaced(apiVersion, kind) {
      return scopeOf(apiVersion, kind);
    },
    async recordEvent(regarding, event: ClusterEvent) {
      const namespace = regarding.metadata.namespace ?? 'default';
      const now = new Date();
      const body: CoreV1Event = {
        metadata: { generateName: `${regarding.metadata.name}.`, namespace },
        involvedObject: {
          apiVersion: regarding.apiVersion,
          kind: regarding.kind,
          name: regarding.metadata.name,
          namespace,
          ...(regarding.metadata.uid ? { uid: regarding.metadata.uid } : {}),
        },
        type: event.type,
        reason: event.reason,
        message: event.message,
        source: { component: FIELD_MANAGER },
        reportingComponent: FIELD_MANAGER,
        reportingInstance: FIELD_MANAGER,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      };
      await call(`record event on ${describe(regarding)}`, () =>
        core.createNamespacedEvent({ namespace, body }),
      );
    },
  };
}

/**
 * Connects to clusters from kubeconfig text, keeping one client per cluster (per container) until its
 * kubeconfig version (the Secret's resourceVersion) changes.
 */
export function kubeconfigConnector(options: AccessOptions = {}): ClusterConnector {
  const cache = new Map<string, { version: string; cluster: Cluster }>();
  return {
    connect(name, kubeconfig, version) {
      const cached = cache.get(name);
      if (cached && cached.version === version) return cached.cluster;
      const cluster = clusterFromKubeconfig(name, kubeconfig, options);
      cache.set(name, { version, cluster });
      return cluster;
    },
  };
}

/** A Cluster from kubeconfig text: validated, EKS tokens minted in process, rebuilt once on a 401 or TLS failure. */
export function clusterFromKubeconfig(
  name: string,
  kubeconfig: string,
  options: AccessOptions = {},
): Cluster {
  const access = parseKubeconfig(name, kubeconfig, options);
  return refreshingCluster(name, access, options.eks, (kc) => kubernetesCluster(name, kc));
}

/** Settles like `promise`, or rejects with `timedOut()` after `ms`; the timer never keeps the process alive. */
function withTimeout<T>(promise: Promise<T>, ms: number, timedOut: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), ms);
    timer.unref();
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function header(ref: ObjectRef): { name: string; namespace?: string } {
  return ref.namespace ? { name: ref.name, namespace: ref.namespace } : { name: ref.name };
}

function describe(ref: ObjectRef | KubeObject): string {
  const { kind } = ref;
  const name = 'metadata' in ref ? ref.metadata.name : ref.name;
  const namespace = 'metadata' in ref ? ref.metadata.namespace : ref.namespace;
  return `${kind} ${namespace ? `${namespace}/` : ''}${name}`;
}

/**
 * Decides the error class once, from the HTTP status or the socket error code. The ApiException's own
 * message embeds the whole response body, which may hold Secret data: it is never copied into ours.
 */
function translate(cluster: string, what: string, error: unknown): RelayError {
  if (error instanceof ApiException) {
    const reason = statusReason(error.body);
    if (error.code === 401 || error.code === 403)
      return new Forbidden(`${what} in cluster ${cluster} (HTTP ${error.code}${reason})`, error);
    // 409: the object changed since it was read (a write's resourceVersion precondition): re-read, re-plan.
    if (error.code === 409)
      return new WriteConflict(`${what} in cluster ${cluster}: HTTP 409${reason}`, error);
    if (error.code === 429)
      return new TransientFailure(`${what} in cluster ${cluster}: HTTP ${error.code}${reason}`, error);
    if (error.code >= 500)
      return new ClusterUnreachable(cluster, `${what}: HTTP ${error.code}${reason}`, error);
    return new InvalidInput(`${what} in cluster ${cluster}: HTTP ${error.code}${reason}`, error);
  }
  if (error instanceof RelayError) return error;
  const code = (error as { code?: string }).code ?? (error as { cause?: { code?: string } }).cause?.code;
  return new ClusterUnreachable(
    cluster,
    `${what}: ${code ?? (error as Error).name ?? 'connection failed'}`,
    error,
  );
}

/** The `reason` of a Kubernetes Status body (e.g. `Invalid`, `Conflict`): a word, never data. */
function statusReason(body: unknown): string {
  const parsed = typeof body === 'string' ? safeJson(body) : body;
  const reason = (parsed as { reason?: unknown } | undefined)?.reason;
  return typeof reason === 'string' && /^[A-Za-z]+$/.test(reason) ? `, ${reason}` : '';
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
