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
import { type ConnectionSource, HttpError, type KubeRequest, kubeHttp } from './kube-http.js';
import { type AccessOptions, parseKubeconfig, refreshingCluster } from './kubeconfig.js';

/** One kind as discovery describes it. */
interface ApiResource {
  name: string;
  kind: string;
  namespaced: boolean;
}

const PAGE = 500;
const THROTTLE_ATTEMPTS = 4;
/**
 * The longest identity-relay waits for one answer. A server that accepts connections and never answers
 * (a blackholed region) would otherwise hold its invocation, and every secret and region sharing it,
 * until the function's own timeout.
 */
export const REQUEST_TIMEOUT_MS = 10_000;

/**
 * The Cluster port over one cluster's connection (a KubeConfig, or a Region's validated access);
 * `name` labels results and errors.
 */
export function kubernetesCluster(
  name: string,
  source: ConnectionSource,
  options: { timeoutMs?: number } = {},
): Cluster {
  const timeoutMs = options.timeoutMs ?? REQUEST_TIMEOUT_MS;
  const http = kubeHttp(source, { idleTimeoutMs: timeoutMs });
  const call = async <T>(what: string, req: KubeRequest): Promise<T> => {
    for (let attempt = 1; ; attempt++) {
      try {
        return await withTimeout(
          http.send<T>(req),
          timeoutMs,
          () => new ClusterUnreachable(name, `${what}: no answer in ${timeoutMs} ms`),
        );
      } catch (error) {
        // 429 is the apiserver asking to come back shortly (priority and fairness, storage warming up).
        if (error instanceof HttpError && error.code === 429 && attempt < THROTTLE_ATTEMPTS) {
          await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
          continue;
        }
        throw translate(name, what, error);
      }
    }
  };

  // Discovery, one list per group/version, kept for the client's life; a kind missing from a kept
  // list is looked up once more (its CRD may be new). An unserved group/version is never kept.
  const discovered = new Map<string, ApiResource[]>();
  const lookup = async (apiVersion: string): Promise<ApiResource[] | undefined> => {
    const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
    const list = await call<{ resources?: ApiResource[] }>(`discover ${apiVersion}`, {
      method: 'GET',
      path,
    }).catch((error: unknown) => {
      if (error instanceof RelayError && error.cause instanceof HttpError && error.cause.code === 404)
        return undefined;
      throw error;
    });
    if (!list) return undefined;
    const resources = (list.resources ?? []).filter((r) => !r.name.includes('/'));
    discovered.set(apiVersion, resources);
    return resources;
  };
  // Asked before every request: an unserved kind is NotServed, never "not found" or "unreachable".
  const resourceOf = async (apiVersion: string, kind: string): Promise<ApiResource> => {
    const found =
      discovered.get(apiVersion)?.find((r) => r.kind === kind) ??
      (await lookup(apiVersion))?.find((r) => r.kind === kind);
    if (!found) throw new NotServed(name, apiVersion, kind);
    return found;
  };
  const pathOf = async (ref: { apiVersion: string; kind: string; namespace?: string; name?: string }) => {
    const resource = await resourceOf(ref.apiVersion, ref.kind);
    const root = ref.apiVersion.includes('/') ? `/apis/${ref.apiVersion}` : `/api/${ref.apiVersion}`;
    const namespace =
      resource.namespaced && ref.namespace ? `/namespaces/${encodeURIComponent(ref.namespace)}` : '';
    return `${root}${namespace}/${resource.name}${ref.name ? `/${encodeURIComponent(ref.name)}` : ''}`;
  };
  // The resourceVersion each list (path and selectors) was last served at: a cached list is never older.
  const listed = new Map<string, string>();
  const absentIs404 = <T>(promise: Promise<T>): Promise<T | undefined> =>
    promise.catch((error: unknown) => {
      if (error instanceof RelayError && error.cause instanceof HttpError && error.cause.code === 404)
        return undefined;
      throw error;
    });

  return {
    name,
    async get(ref) {
      const path = await pathOf(ref);
      return absentIs404(call<KubeObject>(`get ${describe(ref)}`, { method: 'GET', path }));
    },
    async list(apiVersion, kind, listOptions = {}) {
      const path = await pathOf({
        apiVersion,
        kind,
        ...(listOptions.namespace ? { namespace: listOptions.namespace } : {}),
      });
      const items: KubeObject[] = [];
      const selectors = {
        labelSelector: listOptions.labelSelector,
        fieldSelector: listOptions.fieldSelector,
      };
      const key = `${path}?${selectors.labelSelector ?? ''}&${selectors.fieldSelector ?? ''}`;
      // From the watch cache: no older than this client's last list of the same objects (any, at first).
      const seen = listed.get(key);
      const cached = listOptions.cached
        ? seen
          ? { resourceVersion: seen, resourceVersionMatch: 'NotOlderThan' }
          : { resourceVersion: '0' }
        : {};
      let continueToken: string | undefined;
      do {
        const page = await call<{
          items: KubeObject[];
          metadata?: { continue?: string; resourceVersion?: string };
        }>(`list ${kind}`, {
          method: 'GET',
          path,
          // A continued page carries its resourceVersion in the token.
          query: {
            ...selectors,
            limit: String(PAGE),
            ...(continueToken ? { continue: continueToken } : cached),
          },
        }).catch((error: unknown) => {
          // The kind vanished between discovery and the list (its CRD was just removed).
          if (error instanceof RelayError && error.cause instanceof HttpError && error.cause.code === 404)
            throw new NotServed(name, apiVersion, kind);
          throw error;
        });
        // List items omit apiVersion and kind; put them back so items are whole objects.
        for (const item of page.items ?? []) items.push({ ...item, apiVersion, kind });
        if (!continueToken && page.metadata?.resourceVersion) listed.set(key, page.metadata.resourceVersion);
        continueToken = page.metadata?.continue || undefined;
      } while (continueToken);
      return items;
    },
    async apply(object) {
      const path = await pathOf({ ...object, ...header(object.metadata) });
      return call<KubeObject>(`apply ${describe(object)}`, {
        method: 'PATCH',
        path,
        query: { fieldManager: FIELD_MANAGER, force: 'true' },
        body: object,
        contentType: 'application/apply-patch+yaml',
      });
    },
    async create(object) {
      const { name: _name, ...where } = header(object.metadata);
      const path = await pathOf({ apiVersion: object.apiVersion, kind: object.kind, ...where });
      return call<KubeObject>(`create ${describe(object)}`, {
        method: 'POST',
        path,
        query: { fieldManager: FIELD_MANAGER },
        body: object,
      });
    },
    async removeLabels(ref, labels) {
      const metadata = { labels: Object.fromEntries(labels.map((label) => [label, null])) };
      await call(`remove labels from ${describe(ref)}`, mergePatch(await pathOf(ref), metadata));
    },
    async annotate(ref, annotations, resourceVersion) {
      const metadata = { annotations, ...(resourceVersion ? { resourceVersion } : {}) };
      await call(`annotate ${describe(ref)}`, mergePatch(await pathOf(ref), metadata));
    },
    async delete(ref) {
      const path = await pathOf(ref);
      await absentIs404(call(`delete ${describe(ref)}`, { method: 'DELETE', path }));
    },
    async isNamespaced(apiVersion, kind) {
      return (await resourceOf(apiVersion, kind)).namespaced;
    },
    async recordEvent(regarding, event: ClusterEvent) {
      const namespace = regarding.metadata.namespace ?? 'default';
      const now = new Date().toISOString();
      const body = {
        apiVersion: 'v1',
        kind: 'Event',
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
      await call(`record event on ${describe(regarding)}`, {
        method: 'POST',
        path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/events`,
        body,
      });
    },
  };
}

function mergePatch(path: string, metadata: Record<string, unknown>): KubeRequest {
  return { method: 'PATCH', path, body: { metadata }, contentType: 'application/merge-patch+json' };
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

function header(ref: { name: string; namespace?: string }): { name: string; namespace?: string } {
  return ref.namespace ? { name: ref.name, namespace: ref.namespace } : { name: ref.name };
}

function describe(ref: ObjectRef | KubeObject): string {
  const { kind } = ref;
  const name = 'metadata' in ref ? ref.metadata.name : ref.name;
  const namespace = 'metadata' in ref ? ref.metadata.namespace : ref.namespace;
  return `${kind} ${namespace ? `${namespace}/` : ''}${name}`;
}

/**
 * Decides the error class once, from the HTTP status or the socket error code. The response body may
 * hold Secret data: only its `reason` word is ever copied into ours.
 */
function translate(cluster: string, what: string, error: unknown): RelayError {
  if (error instanceof HttpError) {
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
