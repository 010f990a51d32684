/**
 * One error hierarchy for identity-relay. Adapters decide the class once, from status codes and SDK
 * exception names; callers branch on `retryable`, never on message text. Messages are one line and
 * never contain a secret value.
 */
export class RelayError extends Error {
  /** Whether trying the same work again can succeed (transient) or not (permanent). */
  readonly retryable: boolean;

  constructor(message: string, options: { retryable: boolean; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.retryable = options.retryable;
  }
}

/** The input (an event, a CLI argument, a configuration value) does not have the expected shape. */
export class InvalidInput extends RelayError {
  constructor(message: string, cause?: unknown) {
    super(message, { retryable: false, cause });
  }
}

/** A secret value failed its format's schema; `issues` name fields, never values. */
export class InvalidCredentialFormat extends RelayError {
  readonly format: string;
  readonly issues: string[];

  constructor(format: string, issues: string[]) {
    super(`value does not match format ${format}: ${issues.join('; ')}`, { retryable: false });
    this.format = format;
    this.issues = issues;
  }
}

/** The Secrets Manager secret does not exist, or is scheduled for deletion. */
export class SourceNotFound extends RelayError {
  readonly secretId: string;

  constructor(secretId: string, detail: string, cause?: unknown) {
    super(`source secret ${secretId} ${detail}`, { retryable: false, cause });
    this.secretId = secretId;
  }
}

/** The caller lacks permission (IAM or Kubernetes RBAC). */
export class Forbidden extends RelayError {
  constructor(what: string, cause?: unknown) {
    super(`forbidden: ${what}`, { retryable: false, cause });
  }
}

/** A cluster (management or regional) could not be reached or answered with a server error. */
export class ClusterUnreachable extends RelayError {
  readonly cluster: string;

  constructor(cluster: string, detail: string, cause?: unknown) {
    super(`cluster ${cluster} unreachable: ${detail}`, { retryable: true, cause });
    this.cluster = cluster;
  }
}

/** A Kubernetes object write was refused for a reason a retry may fix (conflict, throttling). */
export class TransientFailure extends RelayError {
  constructor(message: string, cause?: unknown) {
    super(message, { retryable: true, cause });
  }
}

/** A kubeconfig uses an authentication method identity-relay cannot perform inside Lambda. */
export class UnsupportedAuth extends RelayError {
  readonly cluster: string;

  constructor(cluster: string, detail: string) {
    super(`cluster ${cluster}: ${detail}`, { retryable: false });
    this.cluster = cluster;
  }
}

/** The cluster does not serve an apiVersion/kind: its CRD is not installed, or a reference names it wrongly. */
export class NotServed extends RelayError {
  readonly cluster: string;

  constructor(cluster: string, apiVersion: string, kind: string) {
    super(`cluster ${cluster} does not serve ${apiVersion} ${kind}`, { retryable: false });
    this.cluster = cluster;
  }
}

/** A write's precondition no longer holds (the object changed since it was read): re-read and re-plan. */
export class WriteConflict extends RelayError {
  constructor(message: string, cause?: unknown) {
    super(message, { retryable: true, cause });
  }
}

/** identity-relay refuses the work by policy (tenant scope, host allowlist): it would act as a confused deputy. */
export class Refused extends RelayError {
  constructor(message: string) {
    super(`refused: ${message}`, { retryable: false });
  }
}

/** A one-line description of any thrown value, safe to log (no stack, no response body). */
export function describeError(error: unknown): string {
  if (error instanceof RelayError) return `${error.name}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${firstLine(error.message)}`;
  return 'unknown error';
}

function firstLine(text: string): string {
  const line = text.split('\n', 1)[0] ?? '';
  return line.length > 200 ? `${line.slice(0, 200)}…` : line;
}
