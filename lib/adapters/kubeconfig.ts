import type { RequestOptions } from 'node:https';
import { load as loadYaml } from 'js-yaml';
import * as z from 'zod';
import type { HostPolicy } from '../domain/hosts.js';
import { InvalidInput, RelayError, UnsupportedAuth } from '../errors.js';
import type { Cluster } from '../ports.js';
import type { EksTokenSpec, EksTokens } from './eks-token.js';
import { hostGuard } from './host-guard.js';
import { type ConnectionSource, HttpError } from './kube-http.js';

/** How identity-relay may reach clusters: decided by configuration, never by the kubeconfig alone. */
export interface AccessOptions {
  /** Accept `insecure-skip-tls-verify: true` (env `ALLOW_INSECURE_TLS=true`); refused otherwise. */
  allowInsecureTls?: boolean;
  /** The context to use instead of `current-context`. */
  context?: string;
  /** Mints EKS tokens for `aws eks get-token` / `aws-iam-authenticator` exec users. */
  eks?: EksTokens;
  /** Where servers may be (docs/threat-model.md › Threat model); absent: any host but the always-refused ones and loopback. */
  hosts?: HostPolicy;
  /** Every address of a hostname (default: the system resolver, as the connection itself resolves). */
  lookup?: (hostname: string) => Promise<string[]>;
}

/** One cluster's endpoint and credentials, validated; data fields are base64 PEM. */
export interface ClusterAccess {
  server: string;
  caData?: string;
  tlsServerName?: string;
  skipTlsVerify: boolean;
  /** Resolves the server's hostname and throws Refused if an address is refused; absent for an IP literal. */
  checkAddresses?: () => Promise<void>;
  auth:
    | { kind: 'static'; token?: string; certData?: string; keyData?: string }
    | { kind: 'eks'; spec: EksTokenSpec };
}

const ClusterSchema = z.object({
  server: z.string().min(1),
  'certificate-authority-data': z.string().optional(),
  'certificate-authority': z.string().optional(),
  'insecure-skip-tls-verify': z.boolean().optional(),
  'tls-server-name': z.string().optional(),
  'proxy-url': z.string().optional(),
});
const ExecSchema = z.object({
  command: z.string().min(1),
  args: z.array(z.string()).nullish(),
  env: z.array(z.object({ name: z.string(), value: z.string() })).nullish(),
});
const UserSchema = z.object({
  token: z.string().optional(),
  tokenFile: z.string().optional(),
  'client-certificate-data': z.string().optional(),
  'client-key-data': z.string().optional(),
  'client-certificate': z.string().optional(),
  'client-key': z.string().optional(),
  username: z.string().optional(),
  exec: ExecSchema.optional(),
  'auth-provider': z.object({ name: z.string() }).optional(),
});
const KubeconfigSchema = z.object({
  clusters: z.array(z.object({ name: z.string().min(1), cluster: ClusterSchema })).min(1),
  users: z.array(z.object({ name: z.string().min(1), user: UserSchema.nullish() })).default([]),
  contexts: z
    .array(
      z.object({
        name: z.string().min(1),
        context: z.object({ cluster: z.string(), user: z.string().optional() }),
      }),
    )
    .min(1),
  'current-context': z.string().optional(),
});
type User = z.infer<typeof UserSchema>;
type Exec = z.infer<typeof ExecSchema>;

/** Validates kubeconfig text and picks its context; `cluster` names the cluster in every error. */
export function parseKubeconfig(cluster: string, text: string, options: AccessOptions = {}): ClusterAccess {
  let raw: unknown;
  try {
    raw = loadYaml(text);
  } catch (error) {
    // The YAML error quotes the offending line, which may hold a token: only our message is shown.
    throw new InvalidInput(`cluster ${cluster}: kubeconfig is not YAML`, error);
  }
  const parsed = KubeconfigSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new InvalidInput(`cluster ${cluster}: kubeconfig is invalid: ${issues.join('; ')}`);
  }
  const config = parsed.data;
  const contextName =
    options.context ??
    config['current-context'] ??
    (config.contexts.length === 1 ? config.contexts[0]?.name : undefined);
  const context = config.contexts.find((c) => c.name === contextName)?.context;
  if (!context)
    throw new InvalidInput(`cluster ${cluster}: kubeconfig has no context ${contextName ?? '(none named)'}`);
  const entry = config.clusters.find((c) => c.name === context.cluster)?.cluster;
  if (!entry) throw new InvalidInput(`cluster ${cluster}: kubeconfig has no cluster ${context.cluster}`);
  const user = config.users.find((u) => u.name === context.user)?.user ?? {};

  const server = URL.parse(entry.server.includes('://') ? entry.server : `https://${entry.server}`);
  if (!server) throw new InvalidInput(`cluster ${cluster}: server is not a URL`);
  // Credentials never travel in clear text, and a Lambda has no use for a loopback apiserver.
  if (server.protocol !== 'https:') throw new InvalidInput(`cluster ${cluster}: server must be https://`);
  const checkAddresses = hostGuard(cluster, server.hostname, options.hosts, options.lookup);
  if (entry['proxy-url']) throw new InvalidInput(`cluster ${cluster}: proxy-url is not supported`);
  if (entry['certificate-authority'] && !entry['certificate-authority-data'])
    throw new InvalidInput(
      `cluster ${cluster}: certificate-authority is a file; inline certificate-authority-data`,
    );
  const skipTlsVerify = entry['insecure-skip-tls-verify'] === true;
  if (skipTlsVerify && !options.allowInsecureTls)
    throw new InvalidInput(
      `cluster ${cluster}: insecure-skip-tls-verify is refused unless ALLOW_INSECURE_TLS=true is configured`,
    );
  const serverUrl = server.toString().replace(/\/$/, '');
  return {
    server: serverUrl,
    ...(entry['certificate-authority-data']
      ? { caData: pemData(cluster, 'certificate-authority-data', entry['certificate-authority-data']) }
      : {}),
    ...(entry['tls-server-name'] ? { tlsServerName: entry['tls-server-name'] } : {}),
    skipTlsVerify,
    ...(checkAddresses ? { checkAddresses } : {}),
    auth: userAuth(cluster, user, serverUrl),
  };
}

function userAuth(cluster: string, user: User, server: string): ClusterAccess['auth'] {
  if (user.exec) return { kind: 'eks', spec: eksSpec(cluster, user.exec, server) };
  if (user['auth-provider'])
    throw new UnsupportedAuth(
      cluster,
      `auth-provider ${user['auth-provider'].name} is not supported inside Lambda`,
    );
  if (user.tokenFile || user['client-certificate'] || user['client-key'])
    throw new UnsupportedAuth(
      cluster,
      'kubeconfig refers to credential files; inline token or client-*-data',
    );
  if (user.username)
    throw new UnsupportedAuth(cluster, 'basic authentication (username/password) is not supported');
  const cert = user['client-certificate-data'];
  const key = user['client-key-data'];
  if (Boolean(cert) !== Boolean(key))
    throw new InvalidInput(`cluster ${cluster}: client-certificate-data and client-key-data go together`);
  if (!user.token && !cert)
    throw new UnsupportedAuth(cluster, 'kubeconfig user has no token, client certificate or EKS exec');
  return {
    kind: 'static',
    ...(user.token ? { token: user.token } : {}),
    ...(cert && key
      ? {
          certData: pemData(cluster, 'client-certificate-data', cert),
          keyData: pemData(cluster, 'client-key-data', key),
        }
      : {}),
  };
}

/** Reads the two EKS token exec plugins; any other plugin cannot run in Lambda (no binaries). */
function eksSpec(cluster: string, exec: Exec, server: string): EksTokenSpec {
  const command = exec.command.split(/[\\/]/).pop() ?? exec.command;
  const args = exec.args ?? [];
  const env = new Map((exec.env ?? []).map((e) => [e.name, e.value]));
  const envRegion = env.get('AWS_REGION') ?? env.get('AWS_DEFAULT_REGION');
  let clusterId: string | undefined;
  let roleArn: string | undefined;
  if (command === 'aws' && args.includes('eks') && args.includes('get-token')) {
    clusterId = flag(args, '--cluster-name') ?? flag(args, '--cluster-id');
    roleArn = flag(args, '--role-arn');
  } else if (command === 'aws-iam-authenticator' && args.includes('token')) {
    clusterId = flag(args, '-i') ?? flag(args, '--cluster-id');
    roleArn = flag(args, '-r') ?? flag(args, '--role');
  } else {
    // Subcommand words only, up to the first flag: a flag's value may be a secret (`--client-secret`).
    const firstFlag = args.findIndex((a) => a.startsWith('-'));
    const words = (firstFlag === -1 ? args : args.slice(0, firstFlag)).slice(0, 2);
    const plugin = [command, ...words].join(' ');
    throw new UnsupportedAuth(cluster, `exec plugin "${plugin}" cannot run inside Lambda`);
  }
  if (!clusterId) throw new UnsupportedAuth(cluster, `exec plugin ${command} names no cluster`);
  const region = flag(args, '--region') ?? envRegion;
  return { clusterId, server, ...(roleArn ? { roleArn } : {}), ...(region ? { region } : {}) };
}

/** The value of `--name value` or `--name=value`. */
function flag(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === name) return args[i + 1];
    if (arg.startsWith(`${name}=`)) return arg.slice(name.length + 1);
  }
  return undefined;
}

/** Kubeconfig data fields are base64 PEM; a PEM pasted as is is accepted too. */
function pemData(cluster: string, field: string, value: string): string {
  if (value.includes('-----BEGIN')) return Buffer.from(value).toString('base64');
  if (!Buffer.from(value, 'base64').toString('utf8').includes('-----BEGIN'))
    throw new InvalidInput(`cluster ${cluster}: ${field} is not base64 PEM`);
  return value.replace(/\s+/g, '');
}

/**
 * The connection to a cluster of exactly the validated access (a minted token replaces the EKS exec):
 * the CA, the client certificate or the bearer token of each request.
 */
export function connectionOf(access: ClusterAccess, token?: string): ConnectionSource {
  const auth = access.auth.kind === 'static' ? access.auth : { token };
  const pem = (data: string | undefined) => (data ? Buffer.from(data, 'base64') : undefined);
  return {
    getCurrentCluster: () => ({ server: access.server }),
    async applyToHTTPSOptions(opts: RequestOptions) {
      const ca = pem(access.caData);
      if (ca) opts.ca = ca;
      if (access.tlsServerName) opts.servername = access.tlsServerName;
      if (access.skipTlsVerify) opts.rejectUnauthorized = false;
      if ('certData' in auth && auth.certData) {
        opts.cert = pem(auth.certData);
        opts.key = pem(auth.keyData);
      }
      if (auth.token) opts.headers = { ...opts.headers, Authorization: `Bearer ${auth.token}` };
    },
  };
}

/**
 * A Cluster over `access` that builds its client on first use, switches to a fresh client whenever the
 * EKS token is renewed, and after a 401 or a TLS failure rebuilds the client (and re-mints the token)
 * and tries the call once more.
 */
export function refreshingCluster(
  name: string,
  access: ClusterAccess,
  eks: EksTokens | undefined,
  makeCluster: (connection: ConnectionSource) => Cluster,
): Cluster {
  let built: { token: string | undefined; cluster: Cluster } | undefined;
  const current = async (): Promise<Cluster> => {
    // The host first: no token is minted and no request made for a server that is refused.
    await access.checkAddresses?.();
    let token: string | undefined;
    if (access.auth.kind === 'eks') {
      if (!eks) throw new UnsupportedAuth(name, 'EKS token exec needs AWS credentials, none are configured');
      token = await eks.token(access.auth.spec);
    }
    if (!built || built.token !== token) built = { token, cluster: makeCluster(connectionOf(access, token)) };
    return built.cluster;
  };
  const run = async <T>(fn: (cluster: Cluster) => Promise<T>): Promise<T> => {
    const used = await current();
    try {
      return await fn(used);
    } catch (error) {
      if (!needsRebuild(error)) throw error;
      // Concurrent calls failing together rebuild once: only the first finds its client still current.
      if (built?.cluster === used) {
        built = undefined;
        if (access.auth.kind === 'eks') eks?.invalidate(access.auth.spec);
      }
      return fn(await current());
    }
  };
  return {
    name,
    get: (ref) => run((c) => c.get(ref)),
    list: (apiVersion, kind, options) => run((c) => c.list(apiVersion, kind, options)),
    apply: (object) => run((c) => c.apply(object)),
    create: (object) => run((c) => (c.create ? c.create(object) : c.apply(object))),
    removeLabels: (ref, labels) => run((c) => c.removeLabels(ref, labels)),
    annotate: (ref, annotations, resourceVersion) =>
      run((c) => c.annotate(ref, annotations, resourceVersion)),
    delete: (ref) => run((c) => c.delete(ref)),
    isNamespaced: (apiVersion, kind) => run((c) => c.isNamespaced(apiVersion, kind)),
    recordEvent: (regarding, event) => run((c) => c.recordEvent(regarding, event)),
  };
}

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|EPROTO$)/;

/** A 401 (expired token, rotated credentials) or a TLS failure, as the Kubernetes adapter reports them. */
function needsRebuild(error: unknown): boolean {
  if (!(error instanceof RelayError)) return false;
  const cause = error.cause;
  if (cause instanceof HttpError) return cause.code === 401;
  const code =
    (cause as { code?: unknown } | undefined)?.code ??
    (cause as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return typeof code === 'string' && TLS_CODE.test(code);
}
