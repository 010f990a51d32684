import type { KubeObject, ObjectRef } from './domain/objects.js';
import type { EventReason, MetricName } from './domain/telemetry.js';

// The narrow interfaces the use-cases need; adapters implement them over injected clients.

/** AWSCURRENT of a Secrets Manager secret, as read once per secret per batch. */
export interface SourceValue {
  arn: string;
  name: string;
  versionId: string;
  createdDate?: Date;
  secretString: string;
}

/** Secrets Manager, as identity-relay uses it. */
export interface SecretSource {
  /** Reads AWSCURRENT (one GetSecretValue). */
  getCurrent(secretId: string): Promise<SourceValue>;
  /** The version AWSCURRENT points at, without reading the value (one DescribeSecret). */
  currentVersion(secretId: string): Promise<{ arn: string; name: string; versionId: string }>;
  /**
   * One page of ListSecrets (up to 100 secrets, no value), filtered to names starting with one of
   * `namePrefixes` (at most 10) when given. The sweep's bulk read; the Secrets Manager adapter has it.
   */
  listVersions?(options: { namePrefixes?: string[]; nextToken?: string }): Promise<SourceVersionPage>;
  /** AWSCURRENT of up to 20 secrets in one BatchGetSecretValue; each secret is read or fails on its own. */
  getCurrentBatch?(secretIds: string[]): Promise<BatchRead[]>;
}

/** A secret as ListSecrets reports it: where AWSCURRENT points, never the value. */
export interface ListedVersion {
  arn: string;
  name: string;
  /** Undefined when no version carries AWSCURRENT. */
  versionId?: string;
}

/** One page of ListSecrets. */
export interface SourceVersionPage {
  versions: ListedVersion[];
  nextToken?: string;
}

/** One secret of a BatchGetSecretValue call: its value, or why it could not be read. */
export type BatchRead = { secretId: string; value: SourceValue } | { secretId: string; error: Error };

/** A Kubernetes Event, as shown by `kubectl describe`. */
export interface ClusterEvent {
  type: 'Normal' | 'Warning';
  reason: EventReason;
  message: string;
}

/** One Kubernetes cluster, as identity-relay reads and writes it. */
export interface Cluster {
  /** The name used in results and errors (`mgmt` or the Region's name). */
  readonly name: string;
  get(ref: ObjectRef): Promise<KubeObject | undefined>;
  /**
   * Every object of a kind. With `cached`, served from the apiserver's watch cache (as an informer reads):
   * no wait for the cache to catch up with etcd, which a consistent list of a quiet kind pays (up to
   * 100 ms); never older than this client's previous list of the same objects, but it may miss a change
   * made a few milliseconds ago.
   */
  list(
    apiVersion: string,
    kind: string,
    options?: { namespace?: string; labelSelector?: string; fieldSelector?: string; cached?: boolean },
  ): Promise<KubeObject[]>;
  /**
   * Server-side apply with field manager `identity-relay`, taking ownership of the fields it sets; with
   * `metadata.resourceVersion` set, only if the object is still at that version (else WriteConflict).
   */
  apply(object: KubeObject): Promise<KubeObject>;
  /** Creates an object that must not exist yet (WriteConflict if it does); absent: `apply` creates. */
  create?(object: KubeObject): Promise<KubeObject>;
  /** Removes labels whoever owns them (a JSON merge patch). */
  removeLabels(ref: ObjectRef, labels: string[]): Promise<void>;
  /**
   * Sets (a string) or removes (null) annotations with a JSON merge patch; with `resourceVersion`, only
   * if the object is still at that version (else WriteConflict): a compare-and-swap.
   */
  annotate(
    ref: ObjectRef,
    annotations: Record<string, string | null>,
    resourceVersion?: string,
  ): Promise<void>;
  /** Deletes an object; an absent object is not an error. */
  delete(ref: ObjectRef): Promise<void>;
  isNamespaced(apiVersion: string, kind: string): Promise<boolean>;
  recordEvent(regarding: KubeObject, event: ClusterEvent): Promise<void>;
}

/** Where identity-relay announces what it finished: an EventBridge bus, source `identity-relay`. */
export interface EventPublisher {
  /** Puts one event; rejects (retryable) when the bus did not take it. */
  publish(
    detailType: 'Credential Propagated' | 'Credential Propagation Failed',
    detail: object,
  ): Promise<void>;
}

/** Opens a regional cluster from its kubeconfig text; implementations cache clients per kubeconfig. */
export interface ClusterConnector {
  connect(name: string, kubeconfig: string, version: string): Cluster;
}

/** Structured log lines; implementations redact anything that could be a secret value. */
export interface Log {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Metrics (CloudWatch EMF in Lambda); the names are the vocabulary of lib/domain/telemetry.ts. */
export interface MetricsSink {
  count(name: MetricName, value: number, dimensions?: Record<string, string>): void;
  milliseconds(name: MetricName, value: number): void;
  /** Writes what was recorded (once per invocation). */
  flush(): void;
}

/** One message for a queue; FIFO queues need the group and deduplication ids. */
export interface QueueMessage {
  body: string;
  groupId?: string;
  deduplicationId?: string;
  /** String message attributes (a dead-letter record's `ERROR_CODE` / `ERROR_MESSAGE`). */
  attributes?: Record<string, string>;
}

/** An SQS queue identity-relay sends work to; `send` resolves only once every message is accepted. */
export interface JobQueue {
  send(messages: QueueMessage[]): Promise<void>;
}

/** The queue a function consumes: how a failed message is put back later (backoff). */
export interface MessageVisibility {
  /** Makes a received message visible again after `seconds` (ChangeMessageVisibility). */
  delay(receiptHandle: string, seconds: number): Promise<void>;
}
