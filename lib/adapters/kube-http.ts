import { Agent, type AgentOptions, type RequestOptions, request } from 'node:https';
import { createSecureContext, type SecureContextOptions } from 'node:tls';

// The Kubernetes API over Node's own https: JSON in, JSON out, one keep-alive agent per cluster so a warm
// function reuses its TLS connections between invocations. What to send (server, CA, client certificate,
// bearer token) comes from a ConnectionSource: a KubeConfig of @kubernetes/client-node (the CLI, the
// tests: exec plugins and every auth it knows) or the validated access of a Region's kubeconfig.

/** Where a cluster is and how to authenticate each request; a KubeConfig is one. */
export interface ConnectionSource {
  getCurrentCluster(): { server: string } | null;
  /** Sets the TLS options (`ca`, `cert`, `key`, `servername`, `rejectUnauthorized`) and auth headers. */
  applyToHTTPSOptions(opts: RequestOptions): Promise<void>;
}

/** An answer of the apiserver that is not a success: its status code and body (never shown as is). */
export class HttpError extends Error {
  constructor(
    readonly code: number,
    readonly body: string,
  ) {
    super(`HTTP ${code}`);
    this.name = 'HttpError';
  }
}

/** One request: a path under the server, its query, and a body sent as `contentType`. */
export interface KubeRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | undefined>;
  body?: unknown;
  contentType?: string;
}

/** What goes into the one TLS secure context of a client (its trust and its own certificate). */
const CONTEXT_FIELDS = ['ca', 'cert', 'key', 'pfx', 'passphrase'] as const;

/** A client for one cluster: `send` resolves with the parsed JSON answer (undefined when empty). */
export function kubeHttp(source: ConnectionSource, options: { idleTimeoutMs: number }) {
  let agent: Agent | undefined;
  let tls: AgentOptions = {};
  return {
    async send<T>(req: KubeRequest): Promise<T> {
      const server = source.getCurrentCluster()?.server;
      if (!server) throw new Error('kubeconfig has no current cluster');
      const opts: RequestOptions = {};
      await source.applyToHTTPSOptions(opts);
      // Built once: the TLS material of a connection source does not change (a new one is a new client).
      // One secure context for every connection: parsing the CA and the key again for each of the dozen
      // connections a cold function opens at once cost milliseconds each.
      if (!agent) {
        const material: SecureContextOptions = {};
        for (const field of CONTEXT_FIELDS)
          if (opts[field] !== undefined) Object.assign(material, { [field]: opts[field] });
        tls = {
          secureContext: createSecureContext(material),
          ...(opts.servername !== undefined ? { servername: opts.servername } : {}),
          ...(opts.rejectUnauthorized !== undefined ? { rejectUnauthorized: opts.rejectUnauthorized } : {}),
        };
        agent = new Agent({ ...tls, keepAlive: true, maxSockets: 16 });
      }
      const url = new URL(server);
      const query = new URLSearchParams();
      for (const [key, value] of Object.entries(req.query ?? {}))
        if (value !== undefined) query.set(key, value);
      const body = req.body === undefined ? undefined : JSON.stringify(req.body);
      const headers: Record<string, string> = { Accept: 'application/json' };
      for (const [key, value] of Object.entries(opts.headers ?? {}))
        if (value !== undefined) headers[key] = String(value);
      if (body !== undefined) {
        headers['Content-Type'] = req.contentType ?? 'application/json';
        headers['Content-Length'] = String(Buffer.byteLength(body));
      }
      const path = `${url.pathname.replace(/\/$/, '')}${req.path}${query.size > 0 ? `?${query}` : ''}`;
      return new Promise<T>((resolve, reject) => {
        const call = request(
          { ...tls, hostname: url.hostname, port: url.port || 443, path, method: req.method, headers, agent },
          (response) => {
            const chunks: Buffer[] = [];
            response.on('data', (chunk: Buffer) => chunks.push(chunk));
            response.on('error', reject);
            response.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              const status = response.statusCode ?? 0;
              if (status < 200 || status >= 300) return reject(new HttpError(status, text));
              try {
                resolve((text ? JSON.parse(text) : undefined) as T);
              } catch (error) {
                reject(error);
              }
            });
          },
        );
        // A server that stops answering mid-way frees its socket instead of holding it.
        call.setTimeout(options.idleTimeoutMs, () =>
          call.destroy(Object.assign(new Error('socket idle'), { code: 'ETIMEDOUT' })),
        );
        call.on('error', reject);
        call.end(body);
      });
    },
  };
}
