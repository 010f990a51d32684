import { createHash, createHmac, type Hash, type Hmac } from 'node:crypto';
import { DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { AssumeRoleCommand, type STSClient } from '@aws-sdk/client-sts';
import { SignatureV4 } from '@smithy/signature-v4';
import { Forbidden, Refused, RelayError } from '../errors.js';

/** AWS credentials as the SDK resolves them (the function's own, or an assumed role's). */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** What an `aws eks get-token` / `aws-iam-authenticator token` exec asks for. */
export interface EksTokenSpec {
  /** EKS cluster name (or, for aws-iam-authenticator, the cluster ID): the signed `x-k8s-aws-id`. */
  clusterId: string;
  /** Role to assume first (`--role-arn` / `-r`); absent means the function's own credentials. */
  roleArn?: string;
  /** STS region to sign for; absent means the function's region. */
  region?: string;
  /** The kubeconfig's server URL: a token is minted only if it is this cluster's EKS endpoint. */
  server: string;
}

/** Mints EKS bearer tokens in process, caching each until shortly before it expires. */
export interface EksTokens {
  token(spec: EksTokenSpec): Promise<string>;
  /** Forgets a cached token (after a 401), so the next `token` mints a new one. */
  invalidate(spec: EksTokenSpec): void;
}

// EKS accepts a token for 15 minutes after signing whatever X-Amz-Expires says; like `aws eks get-token`
// (which reports 14 minutes) we stop using it a minute early so a request never races the expiry.
export const TOKEN_LIFETIME_MS = 15 * 60_000;
export const REFRESH_MARGIN_MS = 60_000;
/** How long a cluster's DescribeCluster endpoint is trusted before it is asked again. */
export const ENDPOINT_TTL_MS = 5 * 60_000;
const TOKEN_PREFIX = 'k8s-aws-v1.';

/** Node's hash in the shape the SigV4 signer wants (what @smithy/hash-node does, without the package). */
class Sha256 {
  private readonly hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

type SourceData = string | ArrayBuffer | ArrayBufferView;

function bytes(data: SourceData): string | Uint8Array {
  if (typeof data === 'string') return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  return new Uint8Array(data);
}

/**
 * The EKS token for `clusterId`: `k8s-aws-v1.` + unpadded base64url of an STS GetCallerIdentity URL
 * presigned (SigV4 query string, 60 s) with the `x-k8s-aws-id` header signed in, as `aws eks get-token` makes it.
 */
export async function presignEksToken(
  clusterId: string,
  region: string,
  credentials: AwsCredentials,
  signingDate: Date,
): Promise<string> {
  const hostname = `sts.${region}.${region.startsWith('cn-') ? 'amazonaws.com.cn' : 'amazonaws.com'}`;
  const signer = new SignatureV4({ service: 'sts', region, credentials, sha256: Sha256 });
  const signed = await signer.presign(
    {
      method: 'GET',
      protocol: 'https:',
      hostname,
      path: '/',
      query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
      headers: { host: hostname, 'x-k8s-aws-id': clusterId },
    },
    { expiresIn: 60, signingDate },
  );
  // Operation parameters first, then the auth parameters, as botocore orders them.
  const order = [
    'Action',
    'Version',
    'X-Amz-Algorithm',
    'X-Amz-Credential',
    'X-Amz-Date',
    'X-Amz-Expires',
    'X-Amz-SignedHeaders',
    'X-Amz-Security-Token',
    'X-Amz-Signature',
  ];
  const params = signed.query ?? {};
  const query = order
    .filter((key) => typeof params[key] === 'string')
    .map((key) => `${key}=${rfc3986(String(params[key]))}`)
    .join('&');
  const url = `https://${hostname}/?${query}`;
  return TOKEN_PREFIX + Buffer.from(url).toString('base64url');
}

function rfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/** Where EKS tokens get their credentials, region and clock. */
export interface EksTokenOptions {
  /** STS, for AssumeRole of a kubeconfig's role ARN. */
  sts: Pick<STSClient, 'send'>;
  /** The function's own credentials (e.g. `sts.config.credentials`). */
  credentials: () => Promise<AwsCredentials>;
  /** The function's region, used when the kubeconfig names none. */
  region: string;
  /** Roles the deployment may assume (env ASSUME_ROLE_ARNS, granted by the stack); absent means any. */
  allowedRoles?: readonly string[];
  /** The endpoint DescribeCluster reports for a cluster (see `describeClusterEndpoint`). */
  clusterEndpoint: ClusterEndpoint;
  now?: () => Date;
}

/** What an EKS endpoint check asks: the cluster, the region and the credentials the token would be signed with. */
export interface ClusterEndpointRequest {
  clusterName: string;
  region: string;
  credentials: AwsCredentials;
}

/** The `cluster.endpoint` DescribeCluster reports; throws Refused when there is no such cluster. */
export type ClusterEndpoint = (request: ClusterEndpointRequest) => Promise<string>;

/**
 * EKS tokens from the function's own credentials or an assumed role, cached per cluster, role and region.
 * A token is handed out only for a kubeconfig whose server is the cluster's real endpoint (DescribeCluster
 * with the same credentials, cached `ENDPOINT_TTL_MS`): a kubeconfig that names a real cluster but points
 * at another server would otherwise receive a token it could replay against that cluster.
 */
export function eksTokens(options: EksTokenOptions): EksTokens {
  const now = options.now ?? (() => new Date());
  const cache = new Map<string, { token: Promise<string>; expiresAt: number }>();
  const endpoints = new Map<string, { endpoint: Promise<string>; at: number }>();
  const keyOf = (spec: EksTokenSpec) =>
    JSON.stringify([spec.clusterId, spec.roleArn ?? '', spec.region ?? '']);

  const credentialsFor = async (spec: EksTokenSpec): Promise<AwsCredentials> => {
    // Fail with the fix in the message rather than with STS's AccessDenied.
    if (spec.roleArn && options.allowedRoles && !options.allowedRoles.includes(spec.roleArn))
      throw new Forbidden(`sts:AssumeRole on ${spec.roleArn} (not in ASSUME_ROLE_ARNS)`);
    return spec.roleArn ? assumeRole(options.sts, spec.roleArn) : options.credentials();
  };

  const endpointOf = (spec: EksTokenSpec, credentials: () => Promise<AwsCredentials>): Promise<string> => {
    const key = keyOf(spec);
    const at = now().getTime();
    const cached = endpoints.get(key);
    if (cached && at - cached.at < ENDPOINT_TTL_MS) return cached.endpoint;
    const region = spec.region ?? options.region;
    const endpoint = credentials().then((c) =>
      options.clusterEndpoint({ clusterName: spec.clusterId, region, credentials: c }),
    );
    remember(endpoints, key, { endpoint, at }, endpoint);
    return endpoint;
  };

  return {
    async token(spec) {
      let credentials: Promise<AwsCredentials> | undefined;
      const once = () => {
        credentials ??= credentialsFor(spec);
        return credentials;
      };
      const endpoint = hostOf(await endpointOf(spec, once));
      if (endpoint === undefined || endpoint !== hostOf(spec.server))
        throw new Refused(
          `kubeconfig server ${hostOf(spec.server) ?? '(none)'} is not the endpoint of EKS cluster ${spec.clusterId} (DescribeCluster: ${endpoint ?? '(none)'}); no token minted`,
        );
      const key = keyOf(spec);
      const at = now();
      const cached = cache.get(key);
      if (cached && at.getTime() < cached.expiresAt - REFRESH_MARGIN_MS) return cached.token;
      const token = once().then((c) => presignEksToken(spec.clusterId, spec.region ?? options.region, c, at));
      remember(cache, key, { token, expiresAt: at.getTime() + TOKEN_LIFETIME_MS }, token);
      return token;
    },
    invalidate(spec) {
      cache.delete(keyOf(spec));
      endpoints.delete(keyOf(spec));
    },
  };
}

/** Stores `entry` under `key` and removes it again if `promise` fails, so the next call asks again. */
function remember<T>(map: Map<string, T>, key: string, entry: T, promise: Promise<unknown>): void {
  map.set(key, entry);
  promise.catch(() => {
    if (map.get(key) === entry) map.delete(key);
  });
}

/** `host[:port]` of a URL, lower case, the default https port left out; undefined when it is no URL. */
function hostOf(url: string): string | undefined {
  return URL.parse(url.includes('://') ? url : `https://${url}`)?.host.toLowerCase();
}

/**
 * The production ClusterEndpoint: DescribeCluster through the EKS API of the cluster's region, signed
 * with the token's own credentials (an assumed role describes the clusters of its account).
 */
export function describeClusterEndpoint(
  makeClient: (region: string, credentials: AwsCredentials) => Pick<EKSClient, 'send'> = (
    region,
    credentials,
  ) => new EKSClient({ region, credentials }),
): ClusterEndpoint {
  return async ({ clusterName, region, credentials }) => {
    let endpoint: string | undefined;
    try {
      const out = await makeClient(region, credentials).send(
        new DescribeClusterCommand({ name: clusterName }),
      );
      endpoint = out.cluster?.endpoint;
    } catch (error) {
      const name = (error as { name?: string }).name ?? '';
      if (name === 'ResourceNotFoundException')
        throw new Refused(
          `EKS cluster ${clusterName} not found in ${region} (DescribeCluster); no token minted`,
        );
      if (name === 'AccessDeniedException' || name === 'AccessDenied')
        throw new Forbidden(`eks:DescribeCluster on ${clusterName} in ${region}`, error);
      throw new RelayError(`DescribeCluster ${clusterName} in ${region} failed: ${name || 'error'}`, {
        retryable: true,
        cause: error,
      });
    }
    if (!endpoint)
      throw new Refused(`EKS cluster ${clusterName} in ${region} has no endpoint yet; no token minted`);
    return endpoint;
  };
}

async function assumeRole(sts: Pick<STSClient, 'send'>, roleArn: string): Promise<AwsCredentials> {
  try {
    const out = await sts.send(
      new AssumeRoleCommand({ RoleArn: roleArn, RoleSessionName: 'identity-relay', DurationSeconds: 900 }),
    );
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey)
      throw new RelayError(`AssumeRole ${roleArn} returned no credentials`, { retryable: true });
    return { accessKeyId: c.AccessKeyId, secretAccessKey: c.SecretAccessKey, sessionToken: c.SessionToken };
  } catch (error) {
    if (error instanceof RelayError) throw error;
    const name = (error as { name?: string }).name ?? '';
    if (name === 'AccessDenied' || name === 'AccessDeniedException')
      throw new Forbidden(`sts:AssumeRole on ${roleArn}`, error);
    throw new RelayError(`AssumeRole ${roleArn} failed: ${name || 'error'}`, {
      retryable: true,
      cause: error,
    });
  }
}
